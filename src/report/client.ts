/**
 * The report's only script: the all-trials table (sort, filter, paginate). Plain ES5-ish JS shipped
 * as a string; it reads the rows from a JSON <script> block and builds cells with textContent only,
 * so no data is ever parsed as HTML. Only one page of rows is in the DOM at a time, which keeps the
 * page fast at 10,000+ trials.
 */
export const TABLE_SCRIPT = String.raw`(function () {
  'use strict';
  var source = document.getElementById('trial-data');
  var root = document.getElementById('trials-table');
  if (!source || !root) return;
  var data = JSON.parse(source.textContent);
  var cols = data.columns, rows = data.rows, settings = data.settings, errors = data.errors;
  var iSetting = cols.findIndex(function (c) { return c.name === 'setting'; });
  var iError = cols.findIndex(function (c) { return c.name === 'error'; });
  var facetNames = ['imbalance', 'loss', 'state'];
  var st = { sort: cols.findIndex(function (c) { return c.name === data.sort; }), dir: data.dir, page: 0, size: 100, text: [], facets: {} };

  function cell(r, i) {
    var v = r[i];
    if (i === iSetting) return settings[v];
    if (i === iError) return v === null ? null : errors[v];
    return v;
  }
  var hay = new Array(rows.length);
  function haystack(k) {
    if (hay[k] === undefined) {
      var parts = [];
      for (var i = 0; i < cols.length; i++) { var v = cell(rows[k], i); if (v !== null && cols[i].type === 'text') parts.push(String(v)); }
      parts.push('seed=' + cell(rows[k], cols.findIndex(function (c) { return c.name === 'seed'; })));
      hay[k] = parts.join(' \u0001 ').toLowerCase();
    }
    return hay[k];
  }

  var controls = document.createElement('div');
  controls.className = 'table-controls';
  var search = document.createElement('input');
  search.type = 'search';
  search.placeholder = 'Filter: words that must all appear (e.g. ' + data.example + ')';
  search.setAttribute('aria-label', 'filter trials');
  controls.appendChild(search);
  var selects = {};
  facetNames.forEach(function (name) {
    var i = cols.findIndex(function (c) { return c.name === name; });
    if (i < 0) return;
    var seen = {};
    var values = [];
    rows.forEach(function (r) { var v = cell(r, i); if (v !== null && !seen[v]) { seen[v] = 1; values.push(String(v)); } });
    values.sort();
    var sel = document.createElement('select');
    sel.setAttribute('aria-label', name);
    var all = document.createElement('option');
    all.value = '';
    all.textContent = 'any ' + name;
    sel.appendChild(all);
    values.forEach(function (v) { var o = document.createElement('option'); o.value = v; o.textContent = v; sel.appendChild(o); });
    sel.addEventListener('change', function () { st.facets[name] = { col: i, value: sel.value }; st.page = 0; update(); });
    selects[name] = sel;
    controls.appendChild(sel);
  });
  var sizeSel = document.createElement('select');
  sizeSel.setAttribute('aria-label', 'rows per page');
  [50, 100, 500, 1000].forEach(function (n) { var o = document.createElement('option'); o.value = String(n); o.textContent = n + ' per page'; if (n === st.size) o.selected = true; sizeSel.appendChild(o); });
  sizeSel.addEventListener('change', function () { st.size = Number(sizeSel.value); st.page = 0; update(); });
  controls.appendChild(sizeSel);
  root.appendChild(controls);

  var wrap = document.createElement('div');
  wrap.className = 'table-wrap';
  var table = document.createElement('table');
  table.className = 'trials';
  var thead = document.createElement('thead');
  var hr = document.createElement('tr');
  var headers = cols.map(function (c, i) {
    var th = document.createElement('th');
    th.scope = 'col';
    if (c.type !== 'text') th.className = 'num';
    var b = document.createElement('button');
    b.type = 'button';
    b.textContent = c.label;
    b.title = 'sort by ' + c.label;
    b.addEventListener('click', function () {
      if (st.sort === i) st.dir = st.dir === 'asc' ? 'desc' : 'asc';
      else { st.sort = i; st.dir = c.type === 'text' ? 'asc' : 'desc'; }
      st.page = 0;
      update();
    });
    th.appendChild(b);
    hr.appendChild(th);
    return th;
  });
  thead.appendChild(hr);
  table.appendChild(thead);
  var tbody = document.createElement('tbody');
  table.appendChild(tbody);
  wrap.appendChild(table);
  root.appendChild(wrap);

  var pager = document.createElement('div');
  pager.className = 'pager';
  var prev = document.createElement('button');
  prev.type = 'button';
  prev.textContent = '‹ previous';
  var next = document.createElement('button');
  next.type = 'button';
  next.textContent = 'next ›';
  var status = document.createElement('span');
  status.className = 'pager-status';
  status.setAttribute('aria-live', 'polite');
  pager.appendChild(prev);
  pager.appendChild(status);
  pager.appendChild(next);
  root.appendChild(pager);
  prev.addEventListener('click', function () { if (st.page > 0) { st.page--; render(); } });
  next.addEventListener('click', function () { if ((st.page + 1) * st.size < view.length) { st.page++; render(); } });
  search.addEventListener('input', function () {
    st.text = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    st.page = 0;
    update();
  });

  var view = [];
  function compare(a, b) {
    var va = cell(rows[a], st.sort), vb = cell(rows[b], st.sort);
    if (va === null || vb === null) return va === null && vb === null ? a - b : va === null ? 1 : -1;
    var d = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va) < String(vb) ? -1 : String(va) > String(vb) ? 1 : 0;
    if (st.dir === 'desc') d = -d;
    return d || a - b;
  }
  function update() {
    view = [];
    for (var k = 0; k < rows.length; k++) {
      var ok = true;
      for (var f in st.facets) { var fc = st.facets[f]; if (fc.value && String(cell(rows[k], fc.col)) !== fc.value) { ok = false; break; } }
      if (ok && st.text.length) { var h = haystack(k); for (var t = 0; t < st.text.length; t++) if (h.indexOf(st.text[t]) < 0) { ok = false; break; } }
      if (ok) view.push(k);
    }
    if (st.sort >= 0) view.sort(compare);
    headers.forEach(function (th, i) { th.setAttribute('aria-sort', i === st.sort ? (st.dir === 'asc' ? 'ascending' : 'descending') : 'none'); });
    render();
  }
  function fmt(v, c) {
    if (v === null || v === undefined) return '';
    if (c.type === 'num' && typeof v === 'number') return Math.abs(v) >= 1000 ? v.toFixed(0) : String(v);
    return String(v);
  }
  function render() {
    var frag = document.createDocumentFragment();
    var end = Math.min(view.length, (st.page + 1) * st.size);
    for (var j = st.page * st.size; j < end; j++) {
      var r = rows[view[j]];
      var tr = document.createElement('tr');
      for (var i = 0; i < cols.length; i++) {
        var td = document.createElement('td');
        var v = cell(r, i);
        td.textContent = fmt(v, cols[i]);
        if (cols[i].type !== 'text') td.className = 'num';
        else if (cols[i].name === 'state') td.className = 'state state-' + String(v);
        else if (i === iError && v) { td.className = 'err'; td.title = v; }
        else if (cols[i].name === 'key') td.className = 'mono';
        tr.appendChild(td);
      }
      frag.appendChild(tr);
    }
    tbody.textContent = '';
    tbody.appendChild(frag);
    var from = view.length ? st.page * st.size + 1 : 0;
    status.textContent = from + '–' + end + ' of ' + view.length.toLocaleString('en-US') + (view.length !== rows.length ? ' matching (' + rows.length.toLocaleString('en-US') + ' trials)' : ' trials');
    prev.disabled = st.page === 0;
    next.disabled = end >= view.length;
  }
  update();
})();`;

/**
 * The report page: one self-contained HTML file. Styles and the one script are inline, charts are
 * inline SVG, the trial rows are a JSON block. A Content-Security-Policy forbids every network
 * request and every script but ours (by hash). Every string from the database goes through esc().
 */
import { createHash } from 'node:crypto';
import { formatDuration } from '../duration.js';
import { METRICS } from '../types.js';
import {
  BAND_COLORS,
  decisionSpec,
  heatmapSpec,
  lossCurveGammas,
  lossCurvesSpec,
  metricsVsImbalanceSpec,
  POINT_COLORS,
  SERIES_COLORS,
  trainingCurvesSpec,
} from './charts.js';
import { TABLE_SCRIPT } from './client.js';
import type { Contender, GroupSummary, ReportModel } from './data.js';
import { renderSvg } from './render.js';
import { type MeanCI, type PairedDiff, type Verdict, verdictOf } from './stats.js';

/** Escape text for HTML content and attribute values. */
export function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** JSON safe to embed in a <script> element: no '<', '>', '&' or line separators survive literally. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const MINUS = '\u2212';

/** 3 decimals, proper minus sign; '—' for null. */
export function num(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const s = v !== 0 && Math.abs(v) < 10 ** -digits ? v.toPrecision(2) : v.toFixed(digits);
  return s.replace('-', MINUS);
}

export function signed(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const s = num(Math.abs(v), digits);
  if (s === num(0, digits)) return s;
  return (v > 0 ? '+' : MINUS) + s;
}

/** "0.712 ± 0.031" (n ≥ 2), "0.712 (n=1, no CI)", "—". */
function meanText(ci: MeanCI): string {
  if (ci.mean === null) return '—';
  if (ci.n < 2 || ci.half === null) return `${num(ci.mean)} (n=1, no CI)`;
  return `${num(ci.mean)} ± ${num(ci.half)}`;
}

/** Display form of a setting label: "bce" -> "BCE", "weighted_bce(α=0.9)" -> "weighted BCE (α=0.9)". */
function pretty(label: string | null | undefined): string {
  return String(label ?? '')
    .replace(/^bce\b/, 'BCE')
    .replace(/^weighted_bce\(/, 'weighted BCE (');
}

/** "+0.012 [−0.010, +0.034]", "+0.012 (n=1, no CI)", or "identical on every seed". */
function deltaText(d: PairedDiff): string {
  if (d.mean === null) return '—';
  if (d.ties === d.n) return d.n === 1 ? 'identical (n=1)' : `identical on all ${d.n} seeds`;
  if (d.n < 2 || d.lo === null || d.hi === null) return `${signed(d.mean)} (n=1, no CI)`;
  return `${signed(d.mean)} [${signed(d.lo)}, ${signed(d.hi)}]`;
}

const VERDICT_TEXT: Record<Verdict, string> = {
  better: 'better than BCE',
  worse: 'worse than BCE',
  unclear: 'no clear difference',
  same: 'BCE is best',
  n1: 'one seed: no CI',
  none: 'no BCE baseline',
};

function badge(v: Verdict): string {
  return `<span class="badge badge-${v}">${esc(VERDICT_TEXT[v])}</span>`;
}

function imbalanceTitle(g: { imbalance: string; minority_fraction: number | null }): string {
  if (g.minority_fraction === null) return esc(g.imbalance);
  const pct = Math.round(g.minority_fraction * 1000) / 10;
  return `${esc(g.imbalance)} <span class="muted">(minority ${esc(pct)}%)</span>`;
}

function duration(ms: number): string {
  return Number.isFinite(ms) && ms > 0 ? formatDuration(ms) : '—';
}

// ---------------------------------------------------------------- the answer

function contender(gs: GroupSummary, role: Contender['role']): Contender | undefined {
  return gs.contenders.find((c) => c.role === role);
}

/** "95% CI −0.01 to +0.02, better on 2 of 3 seeds" (or the n=1 / tie forms). */
function ciClause(d: PairedDiff): string {
  if (d.ties === d.n) return `identical on ${d.n === 1 ? 'the only seed' : `all ${d.n} seeds`}`;
  if (d.n < 2 || d.lo === null || d.hi === null) return 'one seed, no CI';
  return `95% CI ${signed(d.lo)} to ${signed(d.hi)}, better on ${d.better} of ${d.n} seeds`;
}

/** One sentence per imbalance ratio, for the top of the page. */
function answerClause(m: ReportModel, gs: GroupSummary): string {
  const g = gs.group;
  const metric = esc(m.metricLabel);
  const where = `<b>${esc(gs.imbalance)}</b>`;
  if (!g.best) return `${where}: no complete trials yet.`;
  const win = contender(gs, 'winner') as Contender;
  const tie = gs.tiedWithBest.length
    ? ` (tied with ${esc(
        gs.tiedWithBest
          .map((s) => pretty(s.label))
          .slice(0, 3)
          .join(', '),
      )}${gs.tiedWithBest.length > 3 ? '…' : ''})`
    : '';
  const name = `<b>${esc(pretty(g.best.label))}</b>${tie}`;
  const d = win.vsBce?.[m.metric];
  const focal = g.bestFocal && g.bestFocal !== g.best ? contender(gs, 'best focal') : undefined;
  const fd = focal?.vsBce?.[m.metric];
  const focalNote = focal && fd ? ` The best focal setting, ${esc(pretty(focal.setting.label))}, is ${signed(fd.mean)} vs BCE (${ciClause(fd)}).` : '';
  switch (gs.verdict) {
    case 'better':
      return `${where}: ${name} beats BCE by <b>${signed(d?.mean)}</b> ${metric} (${ciClause(d as PairedDiff)}).${focalNote}`;
    case 'worse':
      return `${where}: ${name} has the best mean, but seed by seed it is worse than BCE (${ciClause(d as PairedDiff)}).${focalNote}`;
    case 'unclear':
      return `${where}: ${name} is best, but only ${signed(d?.mean)} ${metric} over BCE — within noise (${ciClause(d as PairedDiff)}).${focalNote}`;
    case 'same':
      return `${where}: plain <b>BCE</b> is the best setting.${focalNote}`;
    case 'n1':
      return `${where}: ${name} is ${signed(d?.mean)} ${metric} over BCE on a single seed — no confidence interval; add seeds to be sure.${focalNote}`;
    case 'none':
      return `${where}: ${name} is best at ${num(win.stats[m.metric].mean)} ${metric} (BCE was not run at this ratio).`;
  }
}

function answerCard(m: ReportModel, gs: GroupSummary): string {
  const g = gs.group;
  const win = contender(gs, 'winner') as Contender;
  const bce = contender(gs, 'BCE');
  const st = win.stats[m.metric];
  const partial = st.n < gs.seedsPlanned ? ` <span class="warn">(${st.n} of ${gs.seedsPlanned} seeds done)</span>` : '';
  let compare: string;
  let delta = '';
  let foot = badge(gs.verdict);
  if (gs.verdict === 'same') {
    const focal = g.bestFocal ? contender(gs, 'best focal') : undefined;
    const fd = focal?.vsBce?.[m.metric];
    compare = focal ? `best focal: ${esc(pretty(focal.setting.label))} ${esc(meanText(focal.stats[m.metric]))}` : 'no focal setting completed';
    if (fd) delta = `<div class="delta">Δ ${signed(fd.mean)}</div><div class="delta-ci">${esc(ciClause(fd))}</div>`;
  } else if (bce) {
    const d = win.vsBce?.[m.metric] as PairedDiff;
    compare = `BCE ${esc(meanText(bce.stats[m.metric]))}`;
    delta = `<div class="delta">Δ ${signed(d.mean)}</div><div class="delta-ci">${d.n >= 2 && d.lo !== null ? `95% CI [${signed(d.lo)}, ${signed(d.hi)}]` : esc(ciClause(d))}</div>`;
    if (d.n) foot += ` <span class="muted">better on ${d.better} of ${d.n} seed${d.n === 1 ? '' : 's'}</span>`;
  } else {
    compare = 'BCE was not run at this ratio';
  }
  return `<div class="card verdict-${gs.verdict}">
  <div class="card-head">${imbalanceTitle(gs)}</div>
  <div class="winner">${esc(pretty(g.best?.label))}</div>${
    gs.tiedWithBest.length
      ? `<div class="tie">tied with ${esc(
          gs.tiedWithBest
            .slice(0, 2)
            .map((s) => pretty(s.label))
            .join(', '),
        )}${gs.tiedWithBest.length > 2 ? ` and ${gs.tiedWithBest.length - 2} more` : ''}</div>`
      : ''
  }
  <div class="score"><span class="big">${num(st.mean)}</span> <span class="pm">${st.half !== null ? `± ${num(st.half)}` : '(n=1)'}</span> <span class="muted small">${esc(m.metricLabel)}</span>${partial}</div>
  <div class="vs">${compare}</div>
  ${delta}
  <div class="card-foot">${foot}</div>
</div>`;
}

/** The one-line answer over all ratios. */
function verdictLine(groups: GroupSummary[]): string {
  const list = (gs: GroupSummary[]) => gs.map((g) => `<b>${esc(g.imbalance)}</b>`).join(', ');
  const better = groups.filter((g) => g.verdict === 'better');
  const unclear = groups.filter((g) => g.verdict === 'unclear' || g.verdict === 'worse');
  const n1 = groups.filter((g) => g.verdict === 'n1');
  const same = groups.filter((g) => g.verdict === 'same');
  const kinds = new Set(better.map((g) => g.group.best?.loss));
  const who = kinds.size === 1 && kinds.has('focal') ? 'Focal loss' : kinds.size === 1 && kinds.has('weighted_bce') ? 'Weighted BCE' : 'A tuned loss';
  const parts: string[] = [];
  if (better.length) parts.push(`${who} clearly beats BCE at ${better.length === groups.length ? 'every imbalance ratio' : list(better)}`);
  if (unclear.length)
    parts.push(
      `${parts.length ? 'no' : 'No'} setting is clearly better than BCE at ${unclear.length === groups.length ? 'any imbalance ratio' : list(unclear)}`,
    );
  if (same.length) parts.push(`${parts.length ? 'plain' : 'Plain'} BCE is the best setting at ${same.length === groups.length ? 'every ratio' : list(same)}`);
  if (n1.length) parts.push(`${parts.length ? 'with' : 'With'} one seed there is no CI at ${list(n1)}`);
  return parts.length ? `<p class="verdict-line">${parts.join('; ')}.</p>` : '';
}

function answerSection(m: ReportModel): string {
  const groups = m.groups.filter((g) => g.group.best);
  if (!groups.length) {
    return `<section id="answer" class="answer"><h2>The answer</h2><p class="lead">No trial has completed yet${m.running ? ' — the sweep is still running' : ''}. ${m.counts.failed ? `${m.counts.failed} failed: see <a href="#failures">failed trials</a>.` : ''}</p></section>`;
  }
  return `<section id="answer" class="answer">
<h2>The answer <span class="muted small">best setting at each imbalance ratio by ${esc(m.metricLabel)} (${m.higherIsBetter ? 'higher' : 'lower'} is better), mean ± 95% CI over seeds, on the test split</span></h2>
${verdictLine(groups)}
<div class="cards">${groups.map((gs) => answerCard(m, gs)).join('\n')}</div>
<ul class="lead">${groups.map((gs) => `<li>${answerClause(m, gs)}</li>`).join('')}</ul>
<p class="fine">Δ is the best setting minus the best BCE setting at the same ratio, paired by seed (same seed = same dataset, split and initialisation), with a Student-t 95% CI over seeds. “Better than BCE” means the whole CI is on the better side of zero. The best setting is picked on these same test scores, so its margin is optimistic when many settings are close; trust margins whose CI clears zero comfortably.</p>
</section>`;
}

// ---------------------------------------------------------------- 1. summary

function summarySection(m: ReportModel): string {
  const s = m.analysis.sweep;
  const c = m.counts;
  const last = m.runs.at(-1);
  const machine = m.machine
    ? [
        m.machine.cpu,
        m.machine.cores !== undefined ? `${m.machine.cores} cores` : null,
        m.machine.memory_gb !== undefined ? `${m.machine.memory_gb} GB` : null,
        m.machine.os,
      ]
        .filter(Boolean)
        .join(' · ')
    : '—';
  const versions = m.versions
    ? Object.entries(m.versions)
        .map(([k, v]) => `${k} ${v}`)
        .join(' · ')
    : '—';
  const trialsText = [
    `<b>${c.complete}</b> complete`,
    `<b class="${c.failed ? 'bad' : ''}">${c.failed}</b> failed`,
    c.interrupted ? `<b class="bad">${c.interrupted}</b> interrupted` : '',
    c.running ? `${c.running} running` : '',
    c.queued ? `${c.queued} not run yet` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  const rows: [string, string][] = [
    ['Sweep', esc(s.name)],
    [
      'Objective',
      `${esc(METRICS[s.objective]?.label ?? s.objective)}${m.metric !== s.objective ? ` <span class="warn">(this report ranks by ${esc(m.metricLabel)}, from --objective)</span>` : ''}`,
    ],
    ['Trials', `${trialsText} <span class="muted">of ${c.total} in the spec</span>`],
    [
      'Grid',
      `${m.analysis.settings.length} settings × ${m.seeds.length} seed${m.seeds.length === 1 ? '' : 's'} (${esc(m.seeds.join(', '))}) over ${m.groups.length} imbalance ratio${m.groups.length === 1 ? '' : 's'}${m.otherParams.length ? `; also swept: ${esc(m.otherParams.join(', '))}` : ''}`,
    ],
    [
      'Wall time',
      `${duration(m.wallMs)} <span class="muted">over ${m.runs.length} run${m.runs.length === 1 ? '' : 's'}${last ? `; last run ${esc(last.status)}, started ${esc(last.started_at)}` : ''}</span>`,
    ],
    ['Backend', m.backends.length ? m.backends.map(([b, n]) => `${esc(b)} <span class="muted">(${n} trials)</span>`).join(', ') : esc(last?.backend ?? '—')],
    ['Workers', last ? `${esc(last.workers ?? '—')} ${esc(last.mode === 'redis' ? 'distributed (Redis)' : 'local threads')}` : '—'],
    ['Machine', esc(machine)],
    ['Versions', `<span class="small">${esc(versions)}</span>`],
    ['Database', `<code>${esc(m.dbPath)}</code>`],
    ['Spec file', s.spec_file ? `<code>${esc(s.spec_file)}</code>` : '—'],
    ['Report', `generated ${esc(m.generatedAt)}`],
  ];
  return `<section id="summary">
<h2>1. Summary</h2>
<dl class="facts">${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>
<details><summary>Sweep spec (YAML)</summary><pre class="spec">${esc(s.spec_text)}</pre></details>
</section>`;
}

// ---------------------------------------------------------------- 2. best settings

function bestTable(m: ReportModel, gs: GroupSummary): string {
  const cons = gs.contenders;
  const head = cons
    .map((c) => {
      const label = `<th scope="col"><span class="role role-${esc(c.role.replace(/ /g, '-'))}">${esc(c.role)}</span><br><span class="setting">${esc(pretty(c.setting.label))}</span></th>`;
      return c.vsBce ? `${label}<th scope="col" class="delta-col">Δ vs BCE<br><span class="muted small">paired, 95% CI</span></th>` : label;
    })
    .join('');
  const body = m.metrics
    .map((metric) => {
      const cells = cons
        .map((c) => {
          const v = `<td class="num">${esc(meanText(c.stats[metric]))}</td>`;
          if (!c.vsBce) return v;
          const d = c.vsBce[metric];
          const verdict = { better: 'pos', worse: 'neg' }[verdictOf(d, METRICS[metric].higherIsBetter) as string] ?? '';
          return `${v}<td class="num delta-col ${verdict}">${esc(deltaText(d))}${d.n ? ` <span class="muted small">${d.better}/${d.n}</span>` : ''}</td>`;
        })
        .join('');
      return `<tr${metric === m.metric ? ' class="objective"' : ''}><th scope="row">${esc(METRICS[metric].label)}${metric === m.metric ? ' <span class="muted small">(objective)</span>' : ''}</th>${cells}</tr>`;
    })
    .join('');
  const seeds = cons.map((c) => `${esc(c.role)}: ${c.stats[m.metric].n}`).join(', ');
  return `<div class="group"><h3>${imbalanceTitle(gs)} ${badge(gs.verdict)}</h3>
<div class="table-wrap"><table class="best"><thead><tr><th></th>${head}</tr></thead><tbody>${body}</tbody></table></div>
<p class="caption">Mean ± 95% CI half-width over seeds (seeds per setting — ${seeds}). Δ columns: that setting minus BCE, paired by seed, mean [95% CI]; the small n/m is how many of the paired seeds it was better on. Green: the CI is entirely on the better side; red: entirely on the worse side.</p></div>`;
}

function bestSection(m: ReportModel): string {
  const groups = m.groups.filter((g) => g.group.best);
  return `<section id="best">
<h2>2. Best settings per imbalance ratio</h2>
<p>For each ratio: the best setting by ${esc(m.metricLabel)}, the best focal and weighted-BCE settings when different, and the BCE baseline, each on the key metrics.</p>
${groups.length ? groups.map((g) => bestTable(m, g)).join('\n') : '<p class="empty">No complete trials yet.</p>'}
</section>`;
}

// ---------------------------------------------------------------- charts

function figure(svg: string, caption: string, cls = ''): string {
  return `<figure class="chart ${cls}">${svg}${caption ? `<figcaption>${caption}</figcaption>` : ''}</figure>`;
}

async function heatmapSection(m: ReportModel): Promise<string> {
  const parts: string[] = [];
  for (const gs of m.groups) {
    const cells = m.heat.filter((c) => c.imbalance === gs.imbalance);
    if (!cells.length) continue;
    const svg = await renderSvg(heatmapSpec(cells, m.metricLabel, m.higherIsBetter));
    parts.push(`<div class="heat"><h3>${imbalanceTitle(gs)}</h3>${figure(svg, '')}</div>`);
  }
  return `<section id="heatmaps">
<h2>3. γ × α heatmaps of ${esc(m.metricLabel)}</h2>
<p>Mean ${esc(m.metricLabel)} over seeds for every γ (rows) and α (columns) at each imbalance ratio. Row γ = 0 holds plain BCE (α none) and weighted BCE; ★ marks the best cell. Colour scales are per ratio.${m.heatNote ? ` ${esc(m.heatNote)}` : ''}</p>
${parts.length ? `<div class="heats">${parts.join('\n')}</div>` : '<p class="empty">No complete trials yet.</p>'}
</section>`;
}

async function vsImbalanceSection(m: ReportModel): Promise<string> {
  const imbalances = m.groups.map((g) => g.imbalance);
  const labels = m.metrics.map((x) => METRICS[x].label);
  const svg = m.metricPoints.length ? await renderSvg(metricsVsImbalanceSpec(m.metricPoints, imbalances, labels)) : '';
  const weighted = m.metricPoints.some((p) => p.series === 'best weighted BCE');
  return `<section id="vs-imbalance">
<h2>4. Metrics against imbalance ratio</h2>
<p>BCE vs the best focal setting${weighted ? ' vs the best weighted BCE' : ''} at each ratio (chosen by ${esc(m.metricLabel)}), on each key metric: mean and 95% CI over seeds (CIs clipped to the metric's range).${weighted ? '' : ' Weighted BCE was not swept.'}</p>
${svg ? figure(svg, '') : '<p class="empty">No complete trials yet.</p>'}
</section>`;
}

async function lossSection(m: ReportModel): Promise<string> {
  const swept = [...new Set(m.analysis.settings.filter((s) => s.loss === 'focal' && s.gamma !== null).map((s) => s.gamma as number))];
  const gammas = lossCurveGammas(swept);
  const svg = await renderSvg(lossCurvesSpec(gammas, swept));
  return `<section id="loss-functions">
<h2>5. The loss functions</h2>
<p>Focal loss FL(p<sub>t</sub>) = −α<sub>t</sub>(1 − p<sub>t</sub>)<sup>γ</sup> log p<sub>t</sub>, where p<sub>t</sub> is the predicted probability of the true class. γ = 0 is cross-entropy (CE/BCE). Larger γ shrinks the loss of well-classified examples (p<sub>t</sub> &gt; 0.6) by orders of magnitude, so training focuses on the hard ones; α<sub>t</sub> (α for the minority, 1 − α for the majority; “inverse” = the majority fraction) re-weights the classes and is left at 1 here. Solid lines: γ values in this sweep; dashed: for reference.</p>
${figure(svg, '')}
</section>`;
}

async function trainingSection(m: ReportModel): Promise<string> {
  const imbalances = m.groups.map((g) => g.imbalance).filter((i) => m.curves.some((c) => c.imbalance === i));
  const svg = m.curves.length ? await renderSvg(trainingCurvesSpec(m.curves, imbalances)) : '';
  return `<section id="training">
<h2>6. Training curves of the best trials</h2>
<p>BCE vs the best focal setting at each ratio (and the overall winner when it is neither), one line per seed. Training loss is each trial's own loss, so its scale differs between losses; the evaluation log loss (BCE on the evaluation split) and PR-AUC are comparable.</p>
${svg ? figure(svg, '') : '<p class="empty">No per-epoch curves recorded.</p>'}
</section>`;
}

function decisionLegend(): string {
  const bands = BAND_COLORS.map((c, i) => `<span class="swatch" style="background:${c}" title="p ${i / 10}–${(i + 1) / 10}"></span>`).join('');
  return `<div class="legend">predicted P(minority): <span class="muted">0</span>${bands}<span class="muted">1</span> (boundary at 0.5 where blue turns orange) · test points: <span class="dot" style="background:${POINT_COLORS.majority}"></span> majority <span class="dot minority" style="background:${POINT_COLORS.minority}"></span> minority</div>`;
}

async function decisionSection(m: ReportModel): Promise<string> {
  const rows: string[] = [];
  for (const row of m.decision) {
    const gs = m.groups.find((g) => g.imbalance === row.imbalance);
    const notes = (row.notes ?? []).map((n) => `<p class="empty">${esc(n)}</p>`).join('');
    if (!row.panels.length) {
      rows.push(`<div class="drow"><h3>${gs ? imbalanceTitle(gs) : esc(row.imbalance)}</h3><p class="empty">${esc(row.missing ?? '')}</p>${notes}</div>`);
      continue;
    }
    const panels: string[] = [];
    for (const p of row.panels) {
      const svg = await renderSvg(decisionSpec(p));
      const shown =
        p.points.length < p.pointsTotal ? ` · ${p.points.length} of ${p.pointsTotal} test points (all minority)` : ` · ${p.pointsTotal} test points`;
      const color = SERIES_COLORS[p.role] ?? '#111827';
      panels.push(
        figure(
          svg,
          `<span class="role" style="border-color:${color};color:${color}">${esc(p.role)}</span> ${esc(pretty(p.setting))}<br><span class="muted">seed ${esc(p.seed)} · ${esc(m.metricLabel)} ${num(p.value)}${esc(shown)}</span>`,
          'dpanel',
        ),
      );
    }
    rows.push(`<div class="drow"><h3>${gs ? imbalanceTitle(gs) : esc(row.imbalance)}</h3><div class="panels">${panels.join('')}</div>${notes}</div>`);
  }
  return `<section id="decision">
<h2>7. Decision regions</h2>
<p>Predicted probability of the minority class over the 2-D feature space, BCE vs the best focal setting, with the test points of the same dataset (the same seed in every panel of a row).</p>
${m.decisionNote ? `<p class="empty">${esc(m.decisionNote)}</p>` : `${decisionLegend()}${rows.join('\n')}`}
</section>`;
}

// ---------------------------------------------------------------- 8. failures

const MAX_FAILURE_ROWS = 500;

function failuresSection(m: ReportModel): string {
  const f = m.failures;
  if (!f.length) {
    return `<section id="failures"><h2>8. Failed and interrupted trials</h2><p class="ok">None: every trial that ran completed.${m.counts.queued ? ` ${m.counts.queued} trial${m.counts.queued === 1 ? ' has' : 's have'} not run yet.` : ''}</p></section>`;
  }
  const byMessage = new Map<string, { n: number; states: Set<string>; example: string }>();
  for (const x of f) {
    const e = byMessage.get(x.error) ?? { n: 0, states: new Set<string>(), example: x.setting };
    e.n++;
    e.states.add(x.state);
    byMessage.set(x.error, e);
  }
  const grouped = [...byMessage]
    .sort((a, b) => b[1].n - a[1].n)
    .map(
      ([msg, e]) =>
        `<tr><td class="num">${e.n}</td><td>${esc([...e.states].join(', '))}</td><td class="errmsg">${esc(msg)}</td><td>${esc(e.example)}</td></tr>`,
    )
    .join('');
  const list = f
    .slice(0, MAX_FAILURE_ROWS)
    .map(
      (x) =>
        `<tr><td class="state state-${esc(x.state)}">${esc(x.state)}</td><td>${esc(x.setting)}</td><td class="num">${esc(x.seed)}</td><td class="num">${esc(x.attempts)}</td><td class="errmsg">${esc(x.error)}</td><td class="mono">${esc(x.key)}</td></tr>`,
    )
    .join('');
  return `<section id="failures">
<h2>8. Failed and interrupted trials <span class="count bad">${f.length}</span></h2>
<p>Rerun failed trials with <code>focal-sweep run SPEC --retry-failed</code>; interrupted ones rerun on the next <code>run</code>. By message:</p>
<div class="table-wrap"><table class="plain"><thead><tr><th class="num">trials</th><th>state</th><th>message</th><th>example setting</th></tr></thead><tbody>${grouped}</tbody></table></div>
<details${f.length <= 20 ? ' open' : ''}><summary>Every failed or interrupted trial${f.length > MAX_FAILURE_ROWS ? ` (first ${MAX_FAILURE_ROWS} of ${f.length}; all are in the trials table below and in the <code>failures</code> SQL view)` : ''}</summary>
<div class="table-wrap"><table class="plain"><thead><tr><th>state</th><th>setting</th><th class="num">seed</th><th class="num">attempts</th><th>message</th><th>key</th></tr></thead><tbody>${list}</tbody></table></div>
</details>
</section>`;
}

// ---------------------------------------------------------------- 9. all trials

function trialsSection(m: ReportModel): string {
  const data = { ...m.table, sort: m.metric, dir: m.higherIsBetter ? 'desc' : 'asc' };
  return `<section id="trials">
<h2>9. All trials <span class="count">${m.table.rows.length}</span></h2>
<p>Click a column to sort; type to filter (every word must match the setting, state, key or error). Metrics are rounded to 4 significant digits here; the database has full precision: <code>focal-sweep query "select * from results" --db ${esc(m.dbPath)}</code>.</p>
<div id="trials-table"></div>
<noscript><p class="empty">The table needs JavaScript. Everything in it is in the database: <code>sqlite3 ${esc(m.dbPath)} "select * from results"</code>.</p></noscript>
<script type="application/json" id="trial-data">${jsonForScript(data)}</script>
</section>`;
}

// ---------------------------------------------------------------- page

const CSS = `
:root{--fg:#111827;--muted:#6b7280;--line:#e5e7eb;--bg:#ffffff;--soft:#f8f9fb;--good:#2b8a3e;--goodbg:#ebfbee;--bad:#c92a2a;--badbg:#fff5f5;--warn:#e67700;--warnbg:#fff9db;--accent:#d9480f}
*{box-sizing:border-box}
html{font-family:${'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'};color:var(--fg);background:var(--bg);font-size:15px;line-height:1.45}
body{margin:0 auto;max-width:1240px;padding:20px 28px 60px}
h1{font-size:24px;margin:4px 0 2px}h2{font-size:19px;margin:34px 0 10px;padding-top:6px;border-top:1px solid var(--line)}h3{font-size:15px;margin:18px 0 6px}
.answer h2{border-top:none;margin-top:14px}
p{margin:6px 0 10px;max-width:1000px}code,.mono,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.muted{color:var(--muted);font-weight:normal}.small{font-size:12.5px}.bad{color:var(--bad)}.warn{color:var(--warn)}.ok{color:var(--good)}.empty{color:var(--muted);font-style:italic}
header .sub{color:var(--muted);margin:0}
nav.toc{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:13.5px;margin:10px 0 0;padding:8px 0;border-bottom:1px solid var(--line)}nav.toc a{color:#1c7ed6;text-decoration:none}nav.toc a:hover{text-decoration:underline}
.banner{background:var(--warnbg);border:1px solid #ffe066;padding:8px 12px;border-radius:6px;margin:10px 0}
.verdict-line{font-size:19px;font-weight:600;margin:4px 0 10px;max-width:none}
.cards{display:flex;flex-wrap:wrap;gap:14px;margin:8px 0 12px}
.card{flex:1 1 260px;max-width:400px;border:1px solid var(--line);border-left:6px solid #adb5bd;border-radius:8px;padding:12px 16px;background:var(--soft)}
.card.verdict-better{border-left-color:var(--good)}.card.verdict-worse{border-left-color:var(--bad)}.card.verdict-unclear{border-left-color:#f59f00}
.card-head{font-size:18px;font-weight:700}.winner{font-size:16px;font-weight:600;margin:4px 0 2px;color:var(--accent)}
.tie{font-size:12.5px;color:var(--muted);margin:-2px 0 2px}
.score .big{font-size:30px;font-weight:700;letter-spacing:-.5px}.score .pm{font-size:15px;color:var(--muted)}
.vs{color:#374151}.delta{font-size:22px;font-weight:700;margin-top:6px}.delta-ci{color:#374151;font-size:13.5px}.card-foot{margin-top:8px}
.verdict-better .delta{color:var(--good)}.verdict-worse .delta{color:var(--bad)}
.badge{display:inline-block;font-size:12px;font-weight:600;padding:1px 8px;border-radius:10px;border:1px solid;vertical-align:middle}
.badge-better{color:var(--good);background:var(--goodbg);border-color:#b2f2bb}.badge-worse{color:var(--bad);background:var(--badbg);border-color:#ffc9c9}
.badge-unclear{color:#9c5b00;background:var(--warnbg);border-color:#ffe066}.badge-same,.badge-n1,.badge-none{color:#495057;background:#f1f3f5;border-color:#dee2e6}
ul.lead{margin:6px 0;padding-left:20px;font-size:15.5px}ul.lead li{margin:3px 0}
.fine{font-size:12.5px;color:var(--muted)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:8px 0}dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
details{margin:8px 0}summary{cursor:pointer;color:#1c7ed6}pre.spec{background:var(--soft);border:1px solid var(--line);padding:10px 12px;overflow:auto;max-height:420px;white-space:pre-wrap}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;font-size:13.5px}th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-weight:600;background:var(--soft)}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.best th[scope=row]{white-space:nowrap}table.best tr.objective td,table.best tr.objective th{font-weight:700;background:#fff8f0}
table.best .setting{font-weight:500}td.pos{color:var(--good);font-weight:600}td.neg{color:var(--bad);font-weight:600}.delta-col{background:#fbfbfc}
.role{display:inline-block;font-size:11.5px;text-transform:uppercase;letter-spacing:.4px;color:var(--muted);border:1px solid currentColor;border-radius:4px;padding:0 5px}
.role-winner{color:#7048e8}.role-best-focal{color:var(--accent)}.role-BCE{color:#495057}.role-best-weighted-BCE{color:#1971c2}
.caption,figcaption{font-size:12.5px;color:var(--muted);max-width:1000px}figcaption{color:#374151;margin-top:4px}
figure.chart{margin:6px 0;overflow-x:auto}figure.chart svg{display:block;max-width:none}
.heats{display:flex;flex-wrap:wrap;gap:10px 34px}.heat h3{margin-bottom:2px}
.dpanel .mark-rect path{shape-rendering:crispEdges}
.panels{display:flex;flex-wrap:wrap;gap:6px 22px}figure.dpanel{max-width:360px}
.legend{font-size:13px;margin:4px 0 8px;display:flex;align-items:center;flex-wrap:wrap;gap:3px}.swatch{display:inline-block;width:16px;height:12px}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin:0 3px 0 8px;border:1px solid #fff;outline:1px solid #adb5bd}.dot.minority{border-color:#111827;outline:none}
.count{display:inline-block;font-size:13px;background:#f1f3f5;border-radius:10px;padding:0 8px;vertical-align:middle;font-weight:600}.count.bad{background:var(--badbg)}
td.errmsg{max-width:520px;white-space:pre-wrap;word-break:break-word;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.state-failed,.state-interrupted{color:var(--bad);font-weight:600}.state-complete{color:var(--good)}.state-queued,.state-running{color:var(--muted)}
.table-controls{display:flex;flex-wrap:wrap;gap:8px;margin:6px 0}.table-controls input{flex:1 1 320px;padding:5px 8px;font:inherit;font-size:13.5px;border:1px solid #ced4da;border-radius:5px}
.table-controls select{font:inherit;font-size:13px;padding:4px;border:1px solid #ced4da;border-radius:5px;background:#fff}
table.trials{font-size:12.5px;width:100%}table.trials td{white-space:nowrap;padding:3px 8px}table.trials td.err{max-width:320px;overflow:hidden;text-overflow:ellipsis}
table.trials th{position:sticky;top:0;padding:0}table.trials th button{all:unset;cursor:pointer;display:block;padding:5px 8px;white-space:nowrap}
table.trials th[aria-sort=ascending] button::after{content:" ▲";font-size:10px}table.trials th[aria-sort=descending] button::after{content:" ▼";font-size:10px}
table.trials tbody tr:hover{background:#f8f9fa}.table-wrap:has(table.trials){max-height:640px;overflow:auto;border:1px solid var(--line)}
.pager{display:flex;gap:12px;align-items:center;margin:8px 0;font-size:13px}.pager button{font:inherit;font-size:13px;padding:3px 10px;border:1px solid #ced4da;border-radius:5px;background:#fff;cursor:pointer}.pager button:disabled{opacity:.4;cursor:default}
footer{margin-top:40px;padding-top:10px;border-top:1px solid var(--line);font-size:12.5px;color:var(--muted)}
@media print{nav.toc,.table-controls,.pager{display:none}}
`;

export const SECTIONS: [string, string][] = [
  ['answer', 'The answer'],
  ['summary', '1. Summary'],
  ['best', '2. Best settings'],
  ['heatmaps', '3. γ × α heatmaps'],
  ['vs-imbalance', '4. Metrics vs imbalance'],
  ['loss-functions', '5. Loss functions'],
  ['training', '6. Training curves'],
  ['decision', '7. Decision regions'],
  ['failures', '8. Failures'],
  ['trials', '9. All trials'],
];

/** The whole page. */
export async function renderHtml(m: ReportModel, version: string): Promise<string> {
  const s = m.analysis.sweep;
  const scriptHash = createHash('sha256').update(TABLE_SCRIPT, 'utf8').digest('base64');
  const csp = `default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-${scriptHash}'; base-uri 'none'; form-action 'none'`;
  const runningBanner = m.running
    ? `<div class="banner"><b>This sweep is still running</b> (run started ${esc(m.runs.at(-1)?.started_at)}): ${m.counts.complete} of ${m.counts.total} trials are complete, so the numbers below are partial. Build the report again when it finishes.</div>`
    : '';
  const body = [
    answerSection(m),
    summarySection(m),
    bestSection(m),
    await heatmapSection(m),
    await vsImbalanceSection(m),
    await lossSection(m),
    await trainingSection(m),
    await decisionSection(m),
    failuresSection(m),
    trialsSection(m),
  ].join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="focal-sweep ${esc(version)}">
<title>${esc(s.name)} — focal-sweep report</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${esc(s.name)} <span class="muted">· focal loss vs BCE</span></h1>
<p class="sub">${m.counts.complete} of ${m.counts.total} trials complete${m.counts.failed ? `, <span class="bad">${m.counts.failed} failed</span>` : ''} · ${m.groups.length} imbalance ratio${m.groups.length === 1 ? '' : 's'} · ${m.seeds.length} seed${m.seeds.length === 1 ? '' : 's'} · generated ${esc(m.generatedAt.slice(0, 16).replace('T', ' '))} UTC</p>
<nav class="toc">${SECTIONS.map(([id, t]) => `<a href="#${id}">${esc(t)}</a>`).join('')}</nav>
</header>
${runningBanner}
<main>
${body}
</main>
<footer>focal-sweep ${esc(version)} · every number comes from <code>${esc(m.dbPath)}</code>; ask it anything with <code>focal-sweep query</code> or <code>sqlite3</code>. This page makes no network requests.</footer>
<script>${TABLE_SCRIPT}</script>
</body>
</html>
`;
}

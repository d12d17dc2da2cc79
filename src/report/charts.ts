/**
 * The report's charts as Vega-Lite specs (plain JSON objects), built from the report model. Titles
 * and captions live in the HTML around them; the specs carry only data and encodings.
 */
import { type CurvePoint, compareAlpha, type DecisionPanel, type HeatCell, type MetricPoint } from './data.js';
import { focalLossAt, modulatingFactor } from './lossfn.js';

type Spec = Record<string, unknown>;

/** Series colours used everywhere (charts and HTML legends). */
export const SERIES_COLORS: Record<string, string> = {
  BCE: '#6b7280',
  'best focal': '#d9480f',
  'best weighted BCE': '#1971c2',
  winner: '#7048e8',
  'winner (weighted BCE)': '#1971c2',
};

function seriesScale(names: string[]) {
  const domain = Object.keys(SERIES_COLORS).filter((n) => names.includes(n));
  return { domain, range: domain.map((d) => SERIES_COLORS[d]) };
}

/** Number text for chart labels. */
export function fmtNum(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return '—';
  if (v !== 0 && Math.abs(v) < 10 ** -digits) return v.toPrecision(2);
  return v.toFixed(digits);
}

// ---------------------------------------------------------------- 3. heatmap

/**
 * γ (rows) × α (columns) heatmap of the objective at one imbalance ratio. γ = 0 holds BCE (α none)
 * and weighted BCE. The best cell gets a heavy outline and a star.
 */
export function heatmapSpec(cells: HeatCell[], metricLabel: string, higherIsBetter: boolean): Spec {
  const gammas = [...new Set(cells.map((c) => c.gamma))].sort((a, b) => a - b).map(String);
  const alphas = [...new Set(cells.map((c) => c.alpha))].sort(compareAlpha);
  // a loop, not Math.min(...means): a spread over a data-sized array can overflow the call stack
  let lo = Infinity;
  let hi = -Infinity;
  for (const c of cells) {
    lo = Math.min(lo, c.mean);
    hi = Math.max(hi, c.mean);
  }
  const values = cells.map((c) => {
    // viridis is dark at the low end: light text there, dark text on the bright end
    const t = hi > lo ? (c.mean - lo) / (hi - lo) : 1;
    const brightness = higherIsBetter ? t : 1 - t;
    const kind = c.gamma === 0 && c.alpha === 'none' ? 'BCE' : c.gamma === 0 ? 'wBCE' : '';
    const second = c.best ? `★ ${kind || 'best'}` : kind;
    return {
      gamma: String(c.gamma),
      alpha: c.alpha,
      mean: c.mean,
      text: second ? [fmtNum(c.mean), second] : [fmtNum(c.mean)],
      ink: brightness > 0.55 ? '#111827' : '#ffffff',
      best: c.best,
    };
  });
  const cell = 58;
  const x = { field: 'alpha', type: 'ordinal', sort: alphas, title: 'α', axis: { labelAngle: 0, orient: 'top' } };
  const y = { field: 'gamma', type: 'ordinal', sort: gammas, title: 'γ', axis: { labelAngle: 0 } };
  return {
    width: Math.max(1, alphas.length) * cell,
    height: Math.max(1, gammas.length) * 40,
    data: { values },
    layer: [
      {
        mark: { type: 'rect', stroke: '#ffffff', strokeWidth: 1 },
        encoding: {
          x,
          y,
          color: {
            field: 'mean',
            type: 'quantitative',
            title: metricLabel,
            scale: { scheme: 'viridis', reverse: !higherIsBetter, zero: false, nice: false },
            legend: { orient: 'right', gradientLength: Math.max(60, gammas.length * 40 - 10), format: '.3f' },
          },
        },
      },
      {
        transform: [{ filter: 'datum.best' }],
        mark: { type: 'rect', fill: null, stroke: '#111827', strokeWidth: 3 },
        encoding: { x, y },
      },
      {
        mark: { type: 'text', fontSize: 11, lineHeight: 13, baseline: 'middle' },
        encoding: { x, y, text: { field: 'text' }, fill: { field: 'ink', type: 'nominal', scale: null } },
      },
    ],
  };
}

// ---------------------------------------------------------------- 4. metrics vs imbalance

/** The range a metric can take: CIs are clipped to it when drawn. */
function metricBounds(metric: string): [number, number] {
  if (metric === 'mcc') return [-1, 1];
  if (metric === 'log_loss') return [0, Infinity];
  return [0, 1];
}

/** Columns for `n` panels, at most `max` in a row (wider panels: fewer), rows as even as can be (6 in 5 columns: 3 + 3, not 5 + 1). */
function facetColumns(n: number, max: number): number {
  return Math.ceil(n / Math.ceil(n / max));
}

export function metricsVsImbalanceSpec(points: MetricPoint[], imbalances: string[], metricLabels: string[]): Spec {
  const series = [...new Set(points.map((p) => p.series))];
  const x = { field: 'imbalance', type: 'ordinal', sort: imbalances, title: 'imbalance (majority:minority)', axis: { labelAngle: 0 } };
  const xOffset = { field: 'series', type: 'nominal', sort: Object.keys(SERIES_COLORS) };
  const color = { field: 'series', type: 'nominal', scale: seriesScale(series), legend: { title: null, orient: 'top', direction: 'horizontal' } };
  return {
    data: {
      values: points.map((p) => {
        const [min, max] = metricBounds(p.metric);
        return { ...p, lo: Math.max(min, p.lo ?? p.mean), hi: Math.min(max, p.hi ?? p.mean) };
      }),
    },
    facet: { field: 'label', type: 'nominal', sort: metricLabels, title: null, header: { labelFontSize: 12 } },
    columns: facetColumns(metricLabels.length, imbalances.length > 3 ? 3 : 5),
    spec: {
      width: Math.max(140, imbalances.length * 60),
      height: 160,
      layer: [
        {
          mark: { type: 'rule', strokeWidth: 2 },
          encoding: { x, xOffset, y: { field: 'lo', type: 'quantitative', scale: { zero: false }, title: 'mean ± 95% CI' }, y2: { field: 'hi' }, color },
        },
        { mark: { type: 'point', filled: true, size: 60, opacity: 1 }, encoding: { x, xOffset, y: { field: 'mean', type: 'quantitative' }, color } },
      ],
    },
    // Each panel draws its own x axis: shared ones go in a footer under every column, which put an
    // axis with no panel above it in a short last row.
    resolve: { scale: { y: 'independent' }, axis: { x: 'independent' } },
  };
}

// ---------------------------------------------------------------- 5. the loss functions

/** γ values drawn: the paper's 0, 0.5, 1, 2, 5 plus any swept γ. */
export function lossCurveGammas(swept: number[]): number[] {
  return [...new Set([0, 0.5, 1, 2, 5, ...swept])]
    .filter((g) => Number.isFinite(g) && g >= 0)
    .sort((a, b) => a - b)
    .slice(0, 9);
}

export function lossCurvesSpec(gammas: number[], sweptGammas: number[]): Spec {
  const loss: { pt: number; value: number; curve: string }[] = [];
  const factor: { pt: number; value: number; curve: string }[] = [];
  const name = (g: number) => (g === 0 ? 'CE (γ = 0)' : `FL γ = ${g}${sweptGammas.includes(g) ? ' (swept)' : ''}`);
  for (const g of gammas) {
    for (let i = 1; i <= 120; i++) {
      const pt = i / 120;
      const v = focalLossAt(pt, g);
      if (v <= 5) loss.push({ pt, value: v, curve: name(g) });
      if (i < 120) factor.push({ pt, value: Math.max(1e-4, modulatingFactor(pt, g)), curve: name(g) });
    }
  }
  const order = gammas.map(name);
  const color = {
    field: 'curve',
    type: 'nominal',
    sort: order,
    scale: {
      domain: order,
      range: gammas.map((g, i) =>
        g === 0 ? '#111827' : ['#1971c2', '#2f9e44', '#d9480f', '#c2255c', '#7048e8', '#f08c00', '#0c8599', '#5c940d'][(i - 1) % 8],
      ),
    },
    legend: { title: null, orient: 'right' },
  };
  const strokeDash = { condition: { test: "indexof(datum.curve, 'swept') < 0 && datum.curve != 'CE (γ = 0)'", value: [5, 3] }, value: [1, 0] };
  const wellClassified = {
    data: { values: [{ a: 0.6, b: 1 }] },
    mark: { type: 'rect', color: '#e7f5ff', opacity: 0.8 },
    encoding: { x: { field: 'a', type: 'quantitative' }, x2: { field: 'b' } },
  };
  return {
    hconcat: [
      {
        title: { text: 'loss = −(1 − p_t)^γ · log p_t', anchor: 'start', fontWeight: 'normal', fontSize: 12 },
        width: 380,
        height: 260,
        layer: [
          wellClassified,
          {
            data: { values: [{ x: 0.8, y: 4.6, t: 'well-classified examples' }] },
            mark: { type: 'text', fontSize: 11, color: '#1864ab' },
            encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, text: { field: 't' } },
          },
          {
            data: { values: loss },
            mark: { type: 'line', strokeWidth: 2, clip: true },
            encoding: {
              x: { field: 'pt', type: 'quantitative', title: 'probability of ground-truth class, p_t', scale: { domain: [0, 1] } },
              y: { field: 'value', type: 'quantitative', title: 'loss', scale: { domain: [0, 5] } },
              color,
              strokeDash,
            },
          },
        ],
      },
      {
        title: { text: 'weight relative to CE: (1 − p_t)^γ', anchor: 'start', fontWeight: 'normal', fontSize: 12 },
        width: 300,
        height: 260,
        layer: [
          wellClassified,
          {
            data: { values: factor },
            mark: { type: 'line', strokeWidth: 2, clip: true },
            encoding: {
              x: { field: 'pt', type: 'quantitative', title: 'p_t', scale: { domain: [0, 1] } },
              y: {
                field: 'value',
                type: 'quantitative',
                title: 'relative weight (log scale)',
                scale: { type: 'log', domain: [1e-4, 1] },
                axis: { format: '~g' },
              },
              color,
              strokeDash,
            },
          },
        ],
      },
    ],
    resolve: { scale: { color: 'shared' } },
  };
}

// ---------------------------------------------------------------- 6. training curves

export function trainingCurvesSpec(points: CurvePoint[], imbalances: string[]): Spec {
  const series = [...new Set(points.map((p) => p.series))];
  const measures = ['training loss (own loss)', 'eval log loss (BCE)', 'eval PR-AUC'].filter((m) => points.some((p) => p.measure === m));
  return {
    data: { values: points.map((p) => ({ ...p, line: `${p.series}/${p.seed}` })) },
    // one row per imbalance ratio, one column per measure: fits the page for any number of ratios
    facet: {
      row: {
        field: 'imbalance',
        type: 'ordinal',
        sort: imbalances,
        title: null,
        header: { labelAngle: 0, labelFontSize: 13, labelAlign: 'left', labelOrient: 'left', labelPadding: 8 },
      },
      column: { field: 'measure', type: 'nominal', sort: measures, title: null, header: { labelFontSize: 12 } },
    },
    spec: {
      width: 280,
      height: 120,
      mark: { type: 'line', strokeWidth: 1.4, opacity: 0.85 },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: { field: 'series', type: 'nominal', scale: seriesScale(series), legend: { title: null, orient: 'top', direction: 'horizontal' } },
        detail: { field: 'line', type: 'nominal' },
      },
    },
    // Each panel draws its own x axis: shared ones go in a footer under every column, which put an
    // axis with no panel above it in a short last row.
    resolve: { scale: { y: 'independent' }, axis: { x: 'independent' } },
  };
}

// ---------------------------------------------------------------- 7. decision regions

/** Colours of the probability bands: blues below 0.5 (predicted majority), oranges above (minority). */
export const BAND_COLORS = ['#1c5a94', '#2f73b3', '#4f8fc9', '#7eaedb', '#b4d0eb', '#fbd3a9', '#f7ad6e', '#ef8439', '#d9601a', '#a8420c'];
export const POINT_COLORS = { majority: '#0b2545', minority: '#ffe066' };

/**
 * Predicted-probability bands (10 bands, horizontal runs merged into one rect each, so a 64×64 grid
 * costs a few hundred rects) with the test points on top.
 */
export function decisionSpec(p: DecisionPanel, size = 280): Spec {
  const R = p.resolution;
  const dx = R > 1 ? (p.x1 - p.x0) / (R - 1) : 1;
  const dy = R > 1 ? (p.y1 - p.y0) / (R - 1) : 1;
  const rects: { a: number; b: number; c: number; d: number; fill: string }[] = [];
  for (let r = 0; r < R; r++) {
    let start = 0;
    const band = (c: number) => Math.min(9, Math.floor((p.probs[r * R + c] / 255) * 10));
    for (let c = 1; c <= R; c++) {
      if (c === R || band(c) !== band(start)) {
        // a little overlap with the next run and row hides anti-aliasing seams
        rects.push({
          a: p.x0 + (start - 0.5) * dx,
          b: p.x0 + (c - 0.5 + (c < R ? 0.2 : 0)) * dx,
          c: p.y0 + (r - 0.5) * dy,
          d: p.y0 + (r + 0.5 + (r < R - 1 ? 0.2 : 0)) * dy,
          fill: BAND_COLORS[band(start)],
        });
        start = c;
      }
    }
  }
  const xDomain = [p.x0 - dx / 2, p.x1 + dx / 2];
  const yDomain = [p.y0 - dy / 2, p.y1 + dy / 2];
  const points = p.points
    .filter((q) => q.x >= xDomain[0] && q.x <= xDomain[1] && q.y >= yDomain[0] && q.y <= yDomain[1])
    .map((q) => ({ x: q.x, y: q.y, fill: q.label === 1 ? POINT_COLORS.minority : POINT_COLORS.majority, minority: q.label === 1 }));
  return {
    width: size,
    height: size,
    layer: [
      {
        data: { values: rects },
        mark: { type: 'rect', strokeWidth: 0 },
        encoding: {
          x: { field: 'a', type: 'quantitative', scale: { domain: xDomain, nice: false, zero: false }, title: 'x₁', axis: { grid: false, tickCount: 5 } },
          x2: { field: 'b' },
          y: { field: 'c', type: 'quantitative', scale: { domain: yDomain, nice: false, zero: false }, title: 'x₂', axis: { grid: false, tickCount: 5 } },
          y2: { field: 'd' },
          fill: { field: 'fill', type: 'nominal', scale: null },
        },
      },
      {
        data: { values: points },
        mark: { type: 'circle', opacity: 0.9, strokeWidth: 0.6 },
        encoding: {
          x: { field: 'x', type: 'quantitative' },
          y: { field: 'y', type: 'quantitative' },
          fill: { field: 'fill', type: 'nominal', scale: null },
          stroke: { condition: { test: 'datum.minority', value: '#111827' }, value: '#ffffff' },
          size: { condition: { test: 'datum.minority', value: 26 }, value: 9 },
        },
      },
    ],
  };
}

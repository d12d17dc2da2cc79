/**
 * The report's charts as Vega-Lite specs (plain JSON objects), built from the report model. Titles
 * and captions live in the HTML around them; the specs carry only data and encodings.
 */
import { familyWords } from '../analysis/answer.js';
import type { Lens } from '../analysis/ratio-group.js';
import type { Family } from '../analysis/setting.js';
import { classBalancedWeights, logitAdjustment } from '../class-weights.js';
import { fixed3 } from '../numbers.js';
import type { LossConfig } from '../types.js';
import { type CalibrationSeries, type CurvePoint, compareAlpha, type DecisionPanel, type HeatCell, type MetricPoint, type RemedyPoint } from './data.js';
import { focalLossAt, logitAdjustedLossAt, modulatingFactor, poly1LossAt } from './lossfn.js';

type Spec = Record<string, unknown>;

/** Series colours used everywhere (charts and HTML legends). */
export const SERIES_COLORS: Record<string, string> = {
  BCE: '#6b7280',
  'best focal': '#d9480f',
  'best weighted BCE': '#1971c2',
  chosen: '#7048e8',
  'chosen (weighted BCE)': '#1971c2',
};

function seriesScale(names: string[]) {
  const domain = Object.keys(SERIES_COLORS).filter((n) => names.includes(n));
  return { domain, range: domain.map((d) => SERIES_COLORS[d]) };
}

/** Number text for chart labels: three decimals, never 0.000 for a value that is not 0. */
export function fmtNum(v: number): string {
  return fixed3(v);
}

// ---------------------------------------------------------------- 3. heatmap

/**
 * γ (rows) × α or β (columns) heatmap of the objective at one imbalance ratio. For focal loss γ = 0
 * holds BCE (α none) and weighted BCE. The chosen setting's cell gets a heavy outline and a star.
 */
export function heatmapSpec(cells: HeatCell[], xTitle: string, metricLabel: string, higherIsBetter: boolean): Spec {
  const gammas = [...new Set(cells.map((c) => Number(c.y)))].sort((a, b) => a - b).map(String);
  const alphas = [...new Set(cells.map((c) => c.x))].sort(compareAlpha);
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
    const kind = c.kind;
    const second = c.best ? `★ ${kind || 'chosen'}` : kind;
    return {
      gamma: c.y,
      alpha: c.x,
      mean: c.mean,
      text: second ? [fmtNum(c.mean), second] : [fmtNum(c.mean)],
      ink: brightness > 0.55 ? '#111827' : '#ffffff',
      best: c.best,
    };
  });
  const cell = 58;
  const x = { field: 'alpha', type: 'ordinal', sort: alphas, title: xTitle, axis: { labelAngle: 0, orient: 'top' } };
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
  const contour = p.thresholdTuned === null ? [] : isoline(p, p.thresholdTuned * 255);
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
      ...(contour.length
        ? [
            {
              data: { values: contour },
              mark: { type: 'rule', color: '#111827', strokeWidth: 1.6, strokeDash: [4, 3] },
              encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, x2: { field: 'x2' }, y2: { field: 'y2' } },
            },
          ]
        : []),
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

/**
 * The line where the grid's probability crosses `level` (on the 0–255 byte scale), by marching
 * squares: one segment per cell the level passes through, end points linearly interpolated.
 */
export function isoline(
  p: Pick<DecisionPanel, 'resolution' | 'probs' | 'x0' | 'x1' | 'y0' | 'y1'>,
  level: number,
): { x: number; y: number; x2: number; y2: number }[] {
  const R = p.resolution;
  if (R < 2) return [];
  const dx = (p.x1 - p.x0) / (R - 1);
  const dy = (p.y1 - p.y0) / (R - 1);
  const v = (r: number, c: number) => p.probs[r * R + c];
  const out: { x: number; y: number; x2: number; y2: number }[] = [];
  for (let r = 0; r < R - 1; r++) {
    for (let c = 0; c < R - 1; c++) {
      // corners: (c, r), (c + 1, r), (c + 1, r + 1), (c, r + 1); edges between them
      const corners: [number, number, number][] = [
        [c, r, v(r, c)],
        [c + 1, r, v(r, c + 1)],
        [c + 1, r + 1, v(r + 1, c + 1)],
        [c, r + 1, v(r + 1, c)],
      ];
      const hits: [number, number][] = [];
      for (let e = 0; e < 4; e++) {
        const [ca, ra, va] = corners[e];
        const [cb, rb, vb] = corners[(e + 1) % 4];
        if (va >= level === vb >= level) continue;
        const t = (level - va) / (vb - va);
        hits.push([p.x0 + (ca + t * (cb - ca)) * dx, p.y0 + (ra + t * (rb - ra)) * dy]);
      }
      // 2 crossings: one segment; 4 (a saddle): pair them in order, which is as good as any choice at 64×64
      for (let h = 0; h + 1 < hits.length; h += 2) out.push({ x: hits[h][0], y: hits[h][1], x2: hits[h + 1][0], y2: hits[h + 1][1] });
    }
  }
  return out;
}

// ---------------------------------------------------------------- remedies

const LENS_TITLES: Record<Lens, string> = { fixed: 'fixed threshold', tuned: 'tuned threshold', ranking: 'ranking (PR-AUC)' };
const FAMILY_COLORS: Record<Family, string> = {
  bce: '#6b7280',
  weighted_bce: '#1971c2',
  focal: '#d9480f',
  class_balanced: '#2f9e44',
  logit_adjusted: '#7048e8',
  poly1: '#c2255c',
  oversample: '#f08c00',
  undersample: '#0c8599',
};

/** The best of each family per ratio (rows) and lens (columns): mean and 95% CI of the lens's metric. */
export function remediesSpec(points: RemedyPoint[], imbalances: string[]): Spec {
  const families = [...new Set(points.map((p) => p.family))];
  const names = Object.keys(FAMILY_COLORS).filter((f) => families.includes(f as Family)) as Family[];
  const label = (f: Family) => familyWords(f);
  const color = { field: 'name', type: 'nominal', scale: { domain: names.map(label), range: names.map((f) => FAMILY_COLORS[f]) }, legend: null };
  const y = { field: 'name', type: 'nominal', sort: names.map(label), title: null };
  return {
    data: { values: points.map((p) => ({ ...p, name: label(p.family), lensTitle: LENS_TITLES[p.lens], lo: p.lo ?? p.mean, hi: p.hi ?? p.mean })) },
    facet: {
      row: { field: 'imbalance', type: 'ordinal', sort: imbalances, title: null, header: { labelAngle: 0, labelAlign: 'left', labelFontSize: 13 } },
      column: { field: 'lensTitle', type: 'nominal', sort: Object.values(LENS_TITLES), title: null, header: { labelFontSize: 12 } },
    },
    spec: {
      width: 200,
      height: Math.max(60, names.length * 16),
      layer: [
        {
          mark: { type: 'rule', strokeWidth: 2 },
          encoding: { y, x: { field: 'lo', type: 'quantitative', scale: { zero: false }, title: 'mean ± 95% CI' }, x2: { field: 'hi' }, color },
        },
        { mark: { type: 'point', filled: true, size: 50, opacity: 1 }, encoding: { y, x: { field: 'mean', type: 'quantitative' }, color } },
      ],
    },
    resolve: { scale: { x: 'independent' } },
  };
}

// ---------------------------------------------------------------- calibration

/** Reliability diagrams: one panel per ratio, BCE and the best focal setting, with the diagonal. */
export function calibrationSpec(series: CalibrationSeries[], imbalances: string[]): Spec {
  const values = series.flatMap((s) => s.bins.map((b) => ({ imbalance: s.imbalance, series: s.series, meanP: b.meanP, rate: b.rate, count: b.count })));
  const diagonal = imbalances.flatMap((imbalance) => [
    { imbalance, meanP: 0, rate: 0, series: 'perfect' },
    { imbalance, meanP: 1, rate: 1, series: 'perfect' },
  ]);
  const names = [...new Set(series.map((s) => s.series))];
  const color = { field: 'series', type: 'nominal', scale: seriesScale(names), legend: { title: null, orient: 'top', direction: 'horizontal' } };
  const x = { field: 'meanP', type: 'quantitative', title: 'mean predicted P(minority)', scale: { domain: [0, 1] } };
  const y = { field: 'rate', type: 'quantitative', title: 'share of positives', scale: { domain: [0, 1] } };
  return {
    data: { values: [...diagonal, ...values] },
    facet: { field: 'imbalance', type: 'ordinal', sort: imbalances, title: null, header: { labelFontSize: 12 } },
    columns: Math.min(4, imbalances.length),
    spec: {
      width: 190,
      height: 190,
      layer: [
        { transform: [{ filter: "datum.series == 'perfect'" }], mark: { type: 'line', color: '#adb5bd', strokeDash: [4, 3] }, encoding: { x, y } },
        { transform: [{ filter: "datum.series != 'perfect'" }], mark: { type: 'line', strokeWidth: 1.6 }, encoding: { x, y, color } },
        {
          transform: [{ filter: "datum.series != 'perfect'" }],
          mark: { type: 'point', filled: true },
          encoding: { x, y, color, size: { field: 'count', type: 'quantitative', scale: { type: 'sqrt', range: [10, 160] }, legend: null } },
        },
      ],
    },
  };
}

// ---------------------------------------------------------------- the remedies as losses

/** The remedy curves to draw: each swept Poly-1 ε, logit-adjustment τ and class-balanced β, at one minority share. */
export function remedyCurves(
  losses: LossConfig[],
  fraction: number | null,
): { fraction: number | null; curves: { name: string; at: (pt: number) => number }[] } {
  const curves: { name: string; at: (pt: number) => number }[] = [];
  const seen = new Set<string>();
  const share = fraction ?? 0.05;
  const n = 1000;
  const positives = Math.max(1, Math.round(share * n));
  for (const l of losses) {
    let name: string | null = null;
    let at: ((pt: number) => number) | null = null;
    if (l.kind === 'poly1') {
      name = `Poly-1 ε = ${l.epsilon}`;
      at = (pt) => poly1LossAt(pt, l.epsilon);
    } else if (l.kind === 'logit_adjusted') {
      const b = logitAdjustment(l.tau, n - positives, positives);
      name = `logit-adjusted τ = ${l.tau}`;
      at = (pt) => logitAdjustedLossAt(pt, b);
    } else if (l.kind === 'class_balanced' && l.gamma === 0) {
      const w = classBalancedWeights(l.beta, n - positives, positives).positive;
      name = `class-balanced β = ${l.beta}`;
      at = (pt) => w * focalLossAt(pt, 0);
    }
    if (name && at && !seen.has(name) && curves.length < 8) {
      seen.add(name);
      curves.push({ name, at });
    }
  }
  return { fraction, curves };
}

export function remedyCurvesSpec(r: ReturnType<typeof remedyCurves>): Spec {
  const all = [{ name: 'CE', at: (pt: number) => focalLossAt(pt, 0) }, ...r.curves];
  const values: { pt: number; value: number; curve: string }[] = [];
  for (const c of all) {
    for (let i = 1; i <= 120; i++) {
      const pt = i / 120;
      const v = c.at(pt);
      if (Number.isFinite(v) && v <= 8) values.push({ pt, value: v, curve: c.name });
    }
  }
  const order = all.map((c) => c.name);
  return {
    width: 420,
    height: 260,
    data: { values },
    mark: { type: 'line', strokeWidth: 2, clip: true },
    encoding: {
      x: { field: 'pt', type: 'quantitative', title: 'probability of the true class of a minority example, p_t', scale: { domain: [0, 1] } },
      y: { field: 'value', type: 'quantitative', title: 'loss', scale: { domain: [0, 8] } },
      color: {
        field: 'curve',
        type: 'nominal',
        sort: order,
        scale: { domain: order, range: ['#111827', '#c2255c', '#7048e8', '#2f9e44', '#f08c00', '#0c8599', '#1971c2', '#5c940d', '#d9480f'] },
        legend: { title: null, orient: 'right' },
      },
    },
  };
}

/**
 * Everything the report shows, as plain values: the answer (src/analysis), the summary, the best
 * settings per ratio with CIs and paired differences to BCE, attribution, remedies, heatmap cells,
 * metric series, calibration, training curves, decision grids, failures and the all-trials table.
 * Rows come from the store's readers; no SQL and no HTML here.
 */
import type Database from 'better-sqlite3';
import { answerSweep, type RatioAnswer } from '../analysis/answer.js';
import { type Attribution, type Lens, type LensAnswer, lensMetrics, type RatioGroup } from '../analysis/ratio-group.js';
import type { Family, Setting } from '../analysis/setting.js';
import { type MeanCI, type PairedDiff, pairedDiff } from '../analysis/stats.js';
import { analyzeSweep, fixedThreshold, type SweepAnalysis } from '../analysis/sweep.js';
import { getOrCreate } from '../maps.js';
import { loadArtifact, loadDatasetPoints, loadEpochs, loadRuns, metricOf, type RunRow, type TrialRow, trialsWithArtifact } from '../store/read.js';
import { type Calibration, METRICS, type MetricName } from '../types.js';
import { readDatasetPoints, readDecisionGrid, type StoredPoints } from './artifacts.js';

/** Metrics shown beside the objective in the best-settings tables, in this order. */
const KEY_METRICS: MetricName[] = ['minority_f1', 'minority_f1_tuned', 'pr_auc', 'minority_recall', 'minority_precision', 'balanced_accuracy', 'ece'];

/** Most test points drawn on one decision-region plot (all minority points are kept when possible). */
export const MAX_PLOT_POINTS = 800;

export interface ReportOptions {
  /** Sweep name; default: the only sweep in the database. */
  sweep?: string;
  /** Metric that ranks settings; default: the sweep's objective. */
  objective?: string;
  /** Shown in the summary. */
  dbPath?: string;
  /** Fixed "generated at" time (tests). */
  now?: Date;
}

export type Role = 'chosen' | 'best focal' | 'best weighted BCE' | 'BCE';

/** A compared setting at one ratio, with every key metric's mean ± CI (test) and Δ to BCE. */
export interface Contender {
  role: Role;
  setting: Setting;
  /** Per metric (objective first), on test. */
  stats: Partial<Record<MetricName, MeanCI>>;
  /** Setting − BCE paired by seed on test, per metric; null for the BCE row itself or without a baseline. */
  vsBce: Partial<Record<MetricName, PairedDiff>> | null;
}

export interface GroupSummary {
  group: RatioGroup;
  answer: RatioAnswer;
  /** Title: the ratio, and the dataset when data parameters are swept. */
  title: string;
  minority_fraction: number | null;
  contenders: Contender[];
  lenses: Record<Lens, LensAnswer>;
  attribution: Attribution | null;
  /** The best of each family under each lens (Remedies). */
  remedies: ReturnType<RatioGroup['remedies']>;
  /** Planned seeds per setting at this ratio (max over settings). */
  seedsPlanned: number;
  /** Other settings with exactly the chosen one's validation mean (the chosen one is then picked by seeds, then label). */
  tiedWithBest: Setting[];
}

/** One cell of a heatmap: x and y are the swept parameters (α × γ for focal, β × γ for class-balanced). */
export interface HeatCell {
  imbalance: string;
  x: string;
  y: string;
  mean: number;
  n: number;
  half: number | null;
  /** Setting label of the cell (the best one when other swept values put several settings in a cell). */
  setting: string;
  /** Settings that fell in this cell. */
  settings: number;
  best: boolean;
  /** 'BCE', 'wBCE' for focal's γ = 0 row; '' otherwise. */
  kind: string;
}

export interface Heatmap {
  /** 'focal' (γ × α, with γ = 0 from (weighted) BCE) or 'class_balanced' (γ × β). */
  family: 'focal' | 'class_balanced';
  xTitle: string;
  cells: HeatCell[];
}

export interface MetricPoint {
  imbalance: string;
  order: number;
  series: 'BCE' | 'best focal' | 'best weighted BCE';
  metric: MetricName;
  label: string;
  mean: number;
  lo: number | null;
  hi: number | null;
  n: number;
  setting: string;
}

/** One family's best setting at one ratio under one lens, for the Remedies chart. */
export interface RemedyPoint {
  imbalance: string;
  family: Family;
  lens: Lens;
  metric: MetricName;
  mean: number;
  lo: number | null;
  hi: number | null;
  n: number;
  setting: string;
}

/** A reliability curve: one setting's calibration bins pooled over its seeds. */
export interface CalibrationSeries {
  imbalance: string;
  series: 'BCE' | 'best focal';
  setting: string;
  /** ECE over seeds (mean ± CI). */
  ece: MeanCI;
  /** Per non-empty bin: mean predicted p, observed positive rate, rows. */
  bins: { meanP: number; rate: number; count: number }[];
}

export interface CurvePoint {
  imbalance: string;
  series: string;
  seed: number;
  epoch: number;
  measure: string;
  value: number;
}

export interface DecisionPanel {
  imbalance: string;
  role: string;
  setting: string;
  seed: number;
  value: number | null;
  /** Test accuracy and minority F1 of the shown trial (at the fixed threshold), as the article compares them. */
  accuracy: number | null;
  minorityF1: number | null;
  /** The trial's validation-tuned threshold (drawn as a line over the 0.5 boundary); null without one. */
  thresholdTuned: number | null;
  resolution: number;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  probs: Uint8Array;
  points: { x: number; y: number; label: number }[];
  pointsTotal: number;
}

export interface DecisionRow {
  imbalance: string;
  panels: DecisionPanel[];
  /** Why there is no plot, when there is none. */
  missing?: string;
  /** Stored artifacts that could not be drawn, and what was done instead. */
  notes?: string[];
}

export interface FailureRow {
  key: string;
  state: string;
  setting: string;
  imbalance: string;
  seed: number;
  attempts: number;
  error: string;
  finished_at: string | null;
}

/** The all-trials table, columnar and deduplicated for a small page at 10,000 trials. */
export interface TrialTable {
  columns: { name: string; label: string; type: 'text' | 'num' | 'int' }[];
  /** Distinct values of the text columns marked `dict`, referenced by index from rows. */
  settings: string[];
  errors: string[];
  rows: (string | number | null)[][];
}

export interface ReportModel {
  generatedAt: string;
  dbPath: string;
  analysis: SweepAnalysis;
  metric: MetricName;
  metricLabel: string;
  higherIsBetter: boolean;
  /** The fixed decision threshold of the spec (null when swept). */
  threshold: number | null;
  /** The objective, then the other key metrics. */
  metrics: MetricName[];
  counts: Record<'total' | 'complete' | 'failed' | 'interrupted' | 'queued' | 'running', number>;
  runs: RunRow[];
  /** The latest run is still marked running. */
  running: boolean;
  wallMs: number;
  backends: [string, number][];
  machine: Record<string, unknown> | null;
  versions: Record<string, string> | null;
  seeds: number[];
  headline: string;
  groups: GroupSummary[];
  heatmaps: Heatmap[];
  heatNote: string | null;
  metricPoints: MetricPoint[];
  remedyPoints: RemedyPoint[];
  calibration: CalibrationSeries[];
  curves: CurvePoint[];
  decision: DecisionRow[];
  decisionNote: string | null;
  /** Artifacts the report skipped because they did not read back (corrupt or foreign rows). */
  skipped: string[];
  failures: FailureRow[];
  table: TrialTable;
  /** Swept parameters other than loss/imbalance/seed (e.g. train.learning_rate). */
  otherParams: string[];
}

export function buildReportModel(db: Database.Database, opts: ReportOptions = {}): ReportModel {
  const analysis = analyzeSweep(db, opts.sweep, opts.objective);
  const { metric, trials } = analysis;
  const metrics = [metric, ...KEY_METRICS.filter((m) => m !== metric)];
  const runs = loadRuns(db, analysis.sweep.id);

  const counts = { total: trials.length, complete: 0, failed: 0, interrupted: 0, queued: 0, running: 0 };
  const backendCounts = new Map<string, number>();
  const seeds = new Set<number>();
  for (const t of trials) {
    counts[t.state]++;
    seeds.add(t.seed);
    if (t.backend) backendCounts.set(t.backend, (backendCounts.get(t.backend) ?? 0) + 1);
  }
  const last = runs.at(-1);
  const otherParams = new Set<string>();
  for (const s of analysis.settings) for (const p of s.context) otherParams.add(p.split('=')[0]);
  const threshold = fixedThreshold(analysis.sweep);
  const answer = answerSweep(analysis, threshold);
  const skipped: string[] = [];

  return {
    generatedAt: (opts.now ?? new Date()).toISOString(),
    dbPath: opts.dbPath ?? db.name,
    analysis,
    metric,
    metricLabel: METRICS[metric].label,
    higherIsBetter: analysis.higherIsBetter,
    threshold,
    metrics,
    counts,
    runs,
    running: last?.status === 'running',
    wallMs: runs.reduce((a, r) => a + (r.wall_ms ?? 0), 0),
    backends: [...backendCounts].sort((a, b) => b[1] - a[1]),
    machine: parseJson(last?.machine) as Record<string, unknown> | null,
    versions: parseJson(last?.versions) as Record<string, string> | null,
    seeds: [...seeds].sort((a, b) => a - b),
    headline: answer.headline,
    groups: analysis.groups.map((g, i) => summarizeGroup(g, answer.ratios[i], metrics)),
    ...heatmaps(analysis),
    metricPoints: metricPoints(analysis.groups, metrics),
    remedyPoints: remedyPoints(analysis.groups),
    calibration: calibrationSeries(db, analysis.groups, skipped),
    curves: curvePoints(db, analysis.groups),
    ...decisionRows(db, analysis.groups, metric),
    skipped,
    failures: trials
      .filter((t) => t.state === 'failed' || t.state === 'interrupted')
      .map((t) => ({
        key: t.key,
        state: t.state,
        setting: t.setting,
        imbalance: t.imbalance,
        seed: t.seed,
        attempts: t.attempts,
        error: t.error ?? '(no message)',
        finished_at: t.finished_at,
      })),
    table: trialTable(trials, metric),
    otherParams: [...otherParams],
  };
}

function parseJson(s: string | null | undefined): unknown {
  if (!s) return null;
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}

/** The settings compared at one ratio: the chosen one, the best focal and weighted BCE (when different), and BCE. */
function summarizeGroup(g: RatioGroup, answer: RatioAnswer, metrics: MetricName[]): GroupSummary {
  const bce = g.baseline();
  const picks: [Role, Setting | null][] = [
    ['chosen', g.chosen()],
    ['best focal', g.bestOf('focal')],
    ['best weighted BCE', g.bestOf('weighted_bce')],
    ['BCE', bce],
  ];
  const seen = new Set<string>();
  const contenders: Contender[] = [];
  for (const [role, s] of picks) {
    if (!s || seen.has(s.key)) continue;
    seen.add(s.key);
    const stats: Contender['stats'] = {};
    for (const m of metrics) stats[m] = s.stats(m);
    let vsBce: Contender['vsBce'] = null;
    if (bce && s !== bce) {
      vsBce = {};
      for (const m of metrics) vsBce[m] = pairedDiff(s.values(m), bce.values(m), METRICS[m].higherIsBetter);
    }
    contenders.push({ role, setting: s, stats, vsBce });
  }
  const chosen = g.chosen();
  const mean = (s: Setting) => s.stats(g.objective, g.selection).mean as number;
  return {
    group: g,
    answer,
    title: g.title,
    minority_fraction: g.minorityFraction,
    contenders,
    lenses: g.lenses(),
    attribution: g.attribution(),
    remedies: g.remedies(),
    seedsPlanned: Math.max(0, ...g.settings.map((s) => s.trials.length)),
    tiedWithBest: chosen
      ? g
          .ranked()
          .slice(1)
          .filter((s) => Math.abs(mean(s) - mean(chosen)) <= 1e-12)
      : [],
  };
}

/** α axis order: none, numbers ascending, inverse. */
export function compareAlpha(a: string, b: string): number {
  const rank = (x: string) => (x === 'none' ? -Infinity : x === 'inverse' ? Infinity : Number(x));
  return rank(a) - rank(b);
}

/** γ × α of focal loss (γ = 0 from BCE and weighted BCE) and γ × β of class-balanced loss, per ratio, of the objective on test. */
function heatmaps(a: SweepAnalysis): { heatmaps: Heatmap[]; heatNote: string | null } {
  let merged = false;
  const build = (family: Heatmap['family'], xTitle: string, cellOf: (s: Setting) => { x: string; y: string; kind: string } | null): Heatmap => {
    const cells: HeatCell[] = [];
    for (const g of a.groups) {
      const byCell = new Map<string, HeatCell>();
      // ranked best first (on the selection split), so the first setting to land in a cell is the cell's best
      for (const s of g.ranked()) {
        const at = s.resample === 'none' ? cellOf(s) : null;
        if (!at) continue;
        const id = `${at.x}|${at.y}`;
        const st = s.stats(a.metric);
        const hit = byCell.get(id);
        if (hit) {
          hit.settings++;
          merged = true;
          continue;
        }
        if (st.mean === null) continue;
        byCell.set(id, { imbalance: g.title, ...at, mean: st.mean, n: st.n, half: st.half, setting: s.label, settings: 1, best: s === g.chosen() });
      }
      cells.push(...byCell.values());
    }
    return { family, xTitle, cells };
  };
  const focal = build('focal', 'α', (s) => {
    const l = s.loss;
    if (l.kind === 'bce') return { x: 'none', y: '0', kind: 'BCE' };
    if (l.kind === 'weighted_bce') return { x: String(l.alpha), y: '0', kind: 'wBCE' };
    if (l.kind === 'focal') return { x: String(l.alpha), y: String(l.gamma), kind: '' };
    return null;
  });
  const cb = build('class_balanced', 'β', (s) => (s.loss.kind === 'class_balanced' ? { x: String(s.loss.beta), y: String(s.loss.gamma), kind: '' } : null));
  // a class-balanced map with one β and one γ says nothing a table does not
  const cbCells = new Set(cb.cells.map((c) => `${c.x}|${c.y}`));
  const out = [focal.cells.some((c) => c.kind === '') ? focal : null, cbCells.size > 1 ? cb : null].filter((h): h is Heatmap => h !== null);
  return {
    heatmaps: out,
    heatNote: merged ? 'Other swept values put several settings in some cells; each cell shows its best setting (chosen on validation).' : null,
  };
}

function metricPoints(groups: RatioGroup[], metrics: MetricName[]): MetricPoint[] {
  const out: MetricPoint[] = [];
  groups.forEach((g, order) => {
    const series: [MetricPoint['series'], Setting | null][] = [
      ['BCE', g.baseline()],
      ['best focal', g.bestOf('focal')],
      ['best weighted BCE', g.bestOf('weighted_bce')],
    ];
    for (const [name, s] of series) {
      if (!s) continue;
      for (const m of metrics) {
        const st = s.stats(m);
        if (st.mean === null) continue;
        out.push({
          imbalance: g.title,
          order,
          series: name,
          metric: m,
          label: METRICS[m].label,
          mean: st.mean,
          lo: st.lo,
          hi: st.hi,
          n: st.n,
          setting: s.label,
        });
      }
    }
  });
  return out;
}

function remedyPoints(groups: RatioGroup[]): RemedyPoint[] {
  const out: RemedyPoint[] = [];
  for (const g of groups) {
    const metrics = lensMetrics(g.objective);
    for (const r of g.remedies()) {
      for (const lens of ['fixed', 'tuned', 'ranking'] as Lens[]) {
        const s = r.byLens[lens].setting;
        const st = s?.stats(metrics[lens]);
        if (!s || !st || st.mean === null) continue;
        out.push({ imbalance: g.title, family: r.family, lens, metric: metrics[lens], mean: st.mean, lo: st.lo, hi: st.hi, n: st.n, setting: s.label });
      }
    }
  }
  return out;
}

/** A stored calibration artifact if it reads back as bins of equal length with sane counts; null otherwise. */
function readCalibration(meta: string | null): Calibration | null {
  const c = parseJson(meta) as Calibration | null;
  const ok = (xs: unknown) => Array.isArray(xs) && xs.length > 0 && xs.length <= 1000 && xs.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0);
  if (!c || !ok(c.count) || !ok(c.sum_p) || !ok(c.positives)) return null;
  return c.count.length === c.sum_p.length && c.count.length === c.positives.length ? c : null;
}

/** Reliability curves of BCE and the best focal setting per ratio: bins pooled over each setting's seeds. */
function calibrationSeries(db: Database.Database, groups: RatioGroup[], skipped: string[]): CalibrationSeries[] {
  const out: CalibrationSeries[] = [];
  for (const g of groups) {
    const pairs: [CalibrationSeries['series'], Setting | null][] = [
      ['BCE', g.baseline()],
      ['best focal', g.bestOf('focal')],
    ];
    for (const [series, s] of pairs) {
      if (!s) continue;
      let pooled: Calibration | null = null;
      for (const t of s.complete) {
        const art = loadArtifact(db, t.id, 'calibration');
        if (!art) continue;
        const c = readCalibration(art.meta);
        if (!c) {
          skipped.push(`calibration of trial ${t.key}`);
          continue;
        }
        if (!pooled) pooled = { count: c.count.map(() => 0), sum_p: c.sum_p.map(() => 0), positives: c.positives.map(() => 0) };
        if (pooled.count.length !== c.count.length) continue;
        for (let b = 0; b < c.count.length; b++) {
          pooled.count[b] += c.count[b];
          pooled.sum_p[b] += c.sum_p[b];
          pooled.positives[b] += c.positives[b];
        }
      }
      if (!pooled) continue;
      const p = pooled;
      const bins = p.count.flatMap((n, b) => (n > 0 ? [{ meanP: p.sum_p[b] / n, rate: p.positives[b] / n, count: n }] : []));
      out.push({ imbalance: g.title, series, setting: s.label, ece: s.stats('ece'), bins });
    }
  }
  return out;
}

/** The settings whose curves and decision regions are drawn at one ratio: BCE, best focal, and the chosen one if it is neither. */
function plotted(g: RatioGroup): [string, Setting][] {
  const out: [string, Setting][] = [];
  const bce = g.baseline();
  const focal = g.bestOf('focal');
  const chosen = g.chosen();
  if (bce) out.push(['BCE', bce]);
  if (focal) out.push(['best focal', focal]);
  if (chosen && chosen !== bce && chosen !== focal) out.push([chosen.loss.kind === 'weighted_bce' ? 'chosen (weighted BCE)' : 'chosen', chosen]);
  return out;
}

function curvePoints(db: Database.Database, groups: RatioGroup[]): CurvePoint[] {
  const out: CurvePoint[] = [];
  for (const g of groups) {
    for (const [series, s] of plotted(g)) {
      for (const t of s.complete) {
        for (const r of loadEpochs(db, t.id)) {
          const push = (measure: string, value: number | null) => {
            if (typeof value === 'number' && Number.isFinite(value)) out.push({ imbalance: g.title, series, seed: t.seed, epoch: r.epoch, measure, value });
          };
          push('training loss (own loss)', r.train_loss);
          push('eval log loss (BCE)', r.eval_log_loss);
          push('eval PR-AUC', r.eval_pr_auc);
        }
      }
    }
  }
  return out;
}

function decisionRows(db: Database.Database, groups: RatioGroup[], metric: MetricName): { decision: DecisionRow[]; decisionNote: string | null } {
  const decision: DecisionRow[] = [];
  let anyGrid = false;
  for (const g of groups) {
    const shown = plotted(g);
    if (!shown.length) continue;
    // one seed for every panel, so all panels show the same dataset: the smallest seed they all have with a grid
    const withGrid = shown.map(([, s]) => {
      const ids = trialsWithArtifact(
        db,
        s.complete.map((t) => t.id),
        'decision_grid',
      );
      return new Map(s.complete.filter((t) => ids.has(t.id)).map((t) => [t.seed, t]));
    });
    const common = [...withGrid[0].keys()].filter((seed) => withGrid.every((m) => m.has(seed))).sort((a, b) => a - b);
    if (!common.length) {
      decision.push({
        imbalance: g.title,
        panels: [],
        missing: withGrid.some((m) => m.size)
          ? 'no seed has a decision grid for every setting shown'
          : 'no decision grids (they are recorded for 2-D data only)',
      });
      continue;
    }
    const seed = common[0];
    const panels: DecisionPanel[] = [];
    const notes: string[] = [];
    for (let i = 0; i < shown.length; i++) {
      const [role, s] = shown[i];
      const t = withGrid[i].get(seed) as TrialRow;
      const grid = readDecisionGrid(loadArtifact(db, t.id, 'decision_grid') ?? { meta: null, data: null });
      if (typeof grid === 'string') {
        notes.push(`The ${role} panel (${s.label}, seed ${seed}) is left out: the decision grid stored for trial ${t.key} is unreadable (${grid}).`);
        continue;
      }
      const row = loadDatasetPoints(db, grid.dataset_key);
      const pts = row ? readDatasetPoints(row) : undefined;
      if (typeof pts === 'string') notes.push(`The ${role} panel (${s.label}, seed ${seed}) is drawn without its test points: they are unreadable (${pts}).`);
      const { points, total } = pts && typeof pts !== 'string' ? samplePoints(pts) : { points: [], total: 0 };
      anyGrid = true;
      panels.push({
        imbalance: g.title,
        role,
        setting: s.label,
        seed,
        value: metricOf(t, metric),
        accuracy: metricOf(t, 'accuracy'),
        minorityF1: metricOf(t, 'minority_f1'),
        thresholdTuned: typeof t.threshold_tuned === 'number' ? t.threshold_tuned : null,
        resolution: grid.resolution,
        x0: grid.x0,
        x1: grid.x1,
        y0: grid.y0,
        y1: grid.y1,
        probs: grid.probs,
        points,
        pointsTotal: total,
      });
    }
    decision.push({ imbalance: g.title, panels, notes });
  }
  return { decision, decisionNote: anyGrid ? null : 'Decision regions are drawn for 2-D data; this sweep recorded no decision grids.' };
}

function floats(b: Buffer): Float32Array {
  // copy: the blob's offset need not be 4-byte aligned
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return new Float32Array(copy.buffer);
}

/** Test points to draw: every minority point (up to the cap), then majority points at an even stride. */
export function samplePoints(p: StoredPoints): { points: { x: number; y: number; label: number }[]; total: number } {
  const xs = floats(p.x);
  const ys = floats(p.y);
  const n = p.n;
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < n; i++) (p.label[i] === 1 ? pos : neg).push(i);
  const keepPos = pos.slice(0, MAX_PLOT_POINTS);
  const room = MAX_PLOT_POINTS - keepPos.length;
  const keepNeg = neg.length <= room ? neg : Array.from({ length: room }, (_, k) => neg[Math.floor((k * neg.length) / room)]);
  // majority first, so minority points are drawn on top
  const points = [...keepNeg, ...keepPos].map((i) => ({ x: xs[i], y: ys[i], label: p.label[i] }));
  return { points, total: n };
}

/** Round to 4 significant digits for the page (the database keeps full precision). */
function r4(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? Number(v.toPrecision(4)) : null;
}

const TABLE_METRICS: MetricName[] = [
  'minority_f1',
  'minority_f1_tuned',
  'minority_recall',
  'minority_precision',
  'pr_auc',
  'roc_auc',
  'balanced_accuracy',
  'mcc',
  'accuracy',
  'brier',
  'log_loss',
  'ece',
];

function trialTable(trials: TrialRow[], metric: MetricName): TrialTable {
  const metricsShown = [metric, ...TABLE_METRICS.filter((m) => m !== metric)];
  const columns: TrialTable['columns'] = [
    { name: 'setting', label: 'setting', type: 'text' },
    { name: 'imbalance', label: 'imbalance', type: 'text' },
    { name: 'loss', label: 'loss', type: 'text' },
    { name: 'gamma', label: 'γ', type: 'num' },
    { name: 'alpha', label: 'α', type: 'text' },
    { name: 'seed', label: 'seed', type: 'int' },
    { name: 'state', label: 'state', type: 'text' },
    ...metricsShown.map((m) => ({ name: m, label: METRICS[m].label, type: 'num' as const })),
    { name: 'val_objective', label: `${METRICS[metric].label} (validation)`, type: 'num' },
    { name: 'train_s', label: 'train s', type: 'num' },
    { name: 'key', label: 'key', type: 'text' },
    { name: 'error', label: 'error', type: 'text' },
  ];
  const settings: string[] = [];
  const settingIdx = new Map<string, number>();
  const errors: string[] = [];
  const errorIdx = new Map<string, number>();
  const intern = (list: string[], idx: Map<string, number>, s: string) =>
    getOrCreate(idx, s, () => {
      list.push(s);
      return list.length - 1;
    });
  const rows = trials.map((t) => [
    intern(settings, settingIdx, t.setting),
    t.imbalance,
    t.loss,
    t.gamma ?? (t.loss === 'focal' ? null : 0),
    t.alpha ?? 'none',
    t.seed,
    t.state,
    ...metricsShown.map((m) => r4(t[m])),
    r4(metricOf(t, metric, 'validation')),
    typeof t.train_ms === 'number' ? Math.round(t.train_ms / 10) / 100 : null,
    t.key,
    t.error ? intern(errors, errorIdx, t.error) : null,
  ]);
  return { columns, settings, errors, rows };
}

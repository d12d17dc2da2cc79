/**
 * Everything the report shows, read from the database into plain values: the summary, the best
 * settings per imbalance ratio with CIs and paired differences to BCE, heatmap cells, metric series,
 * training curves, decision grids, failures and the all-trials table. No HTML or charts here.
 */
import type Database from 'better-sqlite3';
import { analyzeSweep, type ImbalanceGroup, loadRuns, metricOf, type RunRow, type Setting, type SweepAnalysis, type TrialRow } from '../store/read.js';
import { METRICS } from '../types.js';
import { readDatasetPoints, readDecisionGrid } from './artifacts.js';
import { type MeanCI, type PairedDiff, pairedDiff, type Verdict, verdictOf } from './stats.js';

/** Metrics shown beside the objective in the best-settings tables, in this order. */
const KEY_METRICS = ['minority_f1', 'minority_recall', 'minority_precision', 'pr_auc', 'balanced_accuracy'] as const;

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

/** A compared setting at one imbalance ratio, with every key metric's mean ± CI and Δ to BCE. */
export interface Contender {
  role: 'winner' | 'best focal' | 'BCE' | 'best weighted BCE';
  setting: Setting;
  /** Per metric (objective first). */
  stats: Record<string, MeanCI>;
  /** Setting − BCE paired by seed, per metric; null for the BCE row itself or without a baseline. */
  vsBce: Record<string, PairedDiff> | null;
}

export interface GroupSummary {
  imbalance: string;
  minority_fraction: number | null;
  group: ImbalanceGroup;
  contenders: Contender[];
  /** Winner vs BCE on the objective. */
  verdict: Verdict;
  /** Best focal vs BCE on the objective (same as verdict when the winner is focal). */
  focalVerdict: Verdict;
  /** Planned seeds per setting at this ratio (max over settings). */
  seedsPlanned: number;
  /** Other settings with exactly the winner's mean (the winner is then picked by seeds, then label). */
  tiedWithBest: Setting[];
}

export interface HeatCell {
  imbalance: string;
  gamma: number;
  alpha: string;
  mean: number;
  n: number;
  half: number | null;
  /** Setting label of the cell (the best one when other swept parameters put several settings in a cell). */
  setting: string;
  /** Settings that fell in this cell. */
  settings: number;
  best: boolean;
}

export interface MetricPoint {
  imbalance: string;
  order: number;
  series: 'BCE' | 'best focal' | 'best weighted BCE';
  metric: string;
  label: string;
  mean: number;
  lo: number | null;
  hi: number | null;
  n: number;
  setting: string;
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
  metric: string;
  metricLabel: string;
  higherIsBetter: boolean;
  /** The objective, then the other key metrics. */
  metrics: string[];
  counts: Record<'total' | 'complete' | 'failed' | 'interrupted' | 'queued' | 'running', number>;
  runs: RunRow[];
  /** The latest run is still marked running. */
  running: boolean;
  wallMs: number;
  backends: [string, number][];
  machine: Record<string, unknown> | null;
  versions: Record<string, string> | null;
  seeds: number[];
  groups: GroupSummary[];
  heat: HeatCell[];
  heatNote: string | null;
  metricPoints: MetricPoint[];
  curves: CurvePoint[];
  decision: DecisionRow[];
  decisionNote: string | null;
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
  for (const s of analysis.settings) for (const p of s.otherParams) otherParams.add(p.split('=')[0]);

  return {
    generatedAt: (opts.now ?? new Date()).toISOString(),
    dbPath: opts.dbPath ?? db.name,
    analysis,
    metric,
    metricLabel: METRICS[metric].label,
    higherIsBetter: analysis.higherIsBetter,
    metrics,
    counts,
    runs,
    running: last?.status === 'running',
    wallMs: runs.reduce((a, r) => a + (r.wall_ms ?? 0), 0),
    backends: [...backendCounts].sort((a, b) => b[1] - a[1]),
    machine: parseJson(last?.machine) as Record<string, unknown> | null,
    versions: parseJson(last?.versions) as Record<string, string> | null,
    seeds: [...seeds].sort((a, b) => a - b),
    groups: analysis.groups.map((g) => summarizeGroup(g, metrics, analysis.higherIsBetter, metric)),
    ...heatCells(analysis),
    metricPoints: metricPoints(analysis.groups, metrics),
    curves: curvePoints(db, analysis.groups),
    ...decisionRows(db, analysis.groups, metric),
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

/** The settings compared at one ratio: the winner, the best focal (if not the winner), the best weighted BCE, BCE. */
function summarizeGroup(g: ImbalanceGroup, metrics: string[], higher: boolean, metric: string): GroupSummary {
  const picks: [Contender['role'], Setting | null][] = [
    ['winner', g.best],
    ['best focal', g.bestFocal],
    ['best weighted BCE', g.bestWeighted],
    ['BCE', g.bce],
  ];
  const seen = new Set<string>();
  const contenders: Contender[] = [];
  for (const [role, s] of picks) {
    if (!s || seen.has(s.setting_key)) continue;
    seen.add(s.setting_key);
    const stats: Record<string, MeanCI> = {};
    for (const m of metrics) stats[m] = s.stats(m);
    let vsBce: Record<string, PairedDiff> | null = null;
    if (g.bce && s !== g.bce) {
      vsBce = {};
      for (const m of metrics) vsBce[m] = pairedDiff(s.values(m), g.bce.values(m), METRICS[m].higherIsBetter);
    }
    contenders.push({ role, setting: s, stats, vsBce });
  }
  const winner = contenders.find((c) => c.role === 'winner');
  const focal = contenders.find((c) => c.setting === g.bestFocal);
  const verdict: Verdict = !g.best ? 'none' : g.best === g.bce ? 'same' : winner?.vsBce ? verdictOf(winner.vsBce[metric], higher) : 'none';
  const focalVerdict: Verdict = !g.bestFocal ? 'none' : focal?.vsBce ? verdictOf(focal.vsBce[metric], higher) : 'none';
  return {
    imbalance: g.imbalance,
    minority_fraction: g.minority_fraction,
    group: g,
    contenders,
    verdict,
    focalVerdict,
    seedsPlanned: g.all.reduce((most, s) => Math.max(most, s.trials.length), 0),
    tiedWithBest: g.best ? g.ranked.slice(1).filter((s) => Math.abs((s.stats(metric).mean as number) - (g.best?.stats(metric).mean as number)) <= 1e-12) : [],
  };
}

/** α axis order: none, numbers ascending, inverse. */
export function compareAlpha(a: string, b: string): number {
  const rank = (x: string) => (x === 'none' ? -Infinity : x === 'inverse' ? Infinity : Number(x));
  return rank(a) - rank(b);
}

function heatCells(a: SweepAnalysis): { heat: HeatCell[]; heatNote: string | null } {
  const heat: HeatCell[] = [];
  let merged = false;
  for (const g of a.groups) {
    const cells = new Map<string, HeatCell>();
    // ranked is best first, so the first setting to land in a cell is the cell's best
    for (const s of g.ranked) {
      const id = `${s.gammaValue}|${s.alphaValue}`;
      const st = s.stats(a.metric);
      const hit = cells.get(id);
      if (hit) {
        hit.settings++;
        merged = true;
        continue;
      }
      cells.set(id, {
        imbalance: g.imbalance,
        gamma: s.gammaValue,
        alpha: s.alphaValue,
        mean: st.mean as number,
        n: st.n,
        half: st.half,
        setting: s.label,
        settings: 1,
        best: s === g.best,
      });
    }
    for (const c of cells.values()) heat.push(c);
  }
  return { heat, heatNote: merged ? 'Other swept parameters put several settings in some cells; each cell shows its best setting.' : null };
}

function metricPoints(groups: ImbalanceGroup[], metrics: string[]): MetricPoint[] {
  const out: MetricPoint[] = [];
  groups.forEach((g, order) => {
    const series: [MetricPoint['series'], Setting | null][] = [
      ['BCE', g.bce],
      ['best focal', g.bestFocal],
      ['best weighted BCE', g.bestWeighted],
    ];
    for (const [name, s] of series) {
      if (!s) continue;
      for (const m of metrics) {
        const st = s.stats(m);
        if (st.mean === null) continue;
        out.push({
          imbalance: g.imbalance,
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

/** The settings whose curves and decision regions are drawn at one ratio: BCE, best focal, and the winner if it is neither. */
function plotted(g: ImbalanceGroup): [string, Setting][] {
  const out: [string, Setting][] = [];
  if (g.bce) out.push(['BCE', g.bce]);
  if (g.bestFocal) out.push(['best focal', g.bestFocal]);
  if (g.best && g.best !== g.bce && g.best !== g.bestFocal) out.push([g.best.loss === 'weighted_bce' ? 'winner (weighted BCE)' : 'winner', g.best]);
  return out;
}

function curvePoints(db: Database.Database, groups: ImbalanceGroup[]): CurvePoint[] {
  const stmt = db.prepare(`SELECT epoch, train_loss, eval_log_loss, eval_pr_auc FROM epochs WHERE trial_id = ? ORDER BY epoch`);
  const out: CurvePoint[] = [];
  for (const g of groups) {
    for (const [series, s] of plotted(g)) {
      for (const t of s.complete) {
        const rows = stmt.all(t.id) as { epoch: number; train_loss: number | null; eval_log_loss: number | null; eval_pr_auc: number | null }[];
        for (const r of rows) {
          const push = (measure: string, value: number | null) => {
            if (typeof value === 'number' && Number.isFinite(value)) out.push({ imbalance: g.imbalance, series, seed: t.seed, epoch: r.epoch, measure, value });
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

function decisionRows(db: Database.Database, groups: ImbalanceGroup[], metric: string): { decision: DecisionRow[]; decisionNote: string | null } {
  const any = db.prepare(`SELECT 1 FROM artifacts WHERE kind = 'decision_grid' AND trial_id = ? LIMIT 1`);
  const gridStmt = db.prepare(`SELECT meta, data FROM artifacts WHERE trial_id = ? AND kind = 'decision_grid'`);
  const pointsStmt = db.prepare(`SELECT n, x, y, label FROM datasets WHERE key = ?`);
  const decision: DecisionRow[] = [];
  let anyGrid = false;
  for (const g of groups) {
    const shown = plotted(g);
    if (!shown.length) continue;
    // one seed for every panel, so all panels show the same dataset: the smallest seed they all have with a grid
    const withGrid = shown.map(([, s]) => new Map(s.complete.filter((t) => any.get(t.id)).map((t) => [t.seed, t])));
    const common = [...withGrid[0].keys()].filter((seed) => withGrid.every((m) => m.has(seed))).sort((a, b) => a - b);
    if (!common.length) {
      decision.push({
        imbalance: g.imbalance,
        panels: [],
        missing: withGrid.some((m) => m.size)
          ? 'no seed has a decision grid for every setting shown'
          : 'no decision grids (they are recorded for 2-D data only)',
      });
      continue;
    }
    anyGrid = true;
    const seed = common[0];
    const panels: DecisionPanel[] = [];
    const notes: string[] = [];
    for (let i = 0; i < shown.length; i++) {
      const [role, s] = shown[i];
      const t = withGrid[i].get(seed) as TrialRow;
      const grid = readDecisionGrid(gridStmt.get(t.id) as { meta: unknown; data: unknown });
      if (typeof grid === 'string') {
        notes.push(`The ${role} panel (${s.label}, seed ${seed}) is left out: the decision grid stored for trial ${t.key} is unreadable (${grid}).`);
        continue;
      }
      const meta = grid;
      const row = pointsStmt.get(meta.dataset_key) as { n: unknown; x: unknown; y: unknown; label: unknown } | undefined;
      const pts = row ? readDatasetPoints(row) : undefined;
      if (typeof pts === 'string') notes.push(`The ${role} panel (${s.label}, seed ${seed}) is drawn without its test points: they are unreadable (${pts}).`);
      const { points, total } = pts && typeof pts !== 'string' ? samplePoints(pts) : { points: [], total: 0 };
      panels.push({
        imbalance: g.imbalance,
        role,
        setting: s.label,
        seed,
        value: metricOf(t, metric),
        resolution: meta.resolution,
        x0: meta.x0,
        x1: meta.x1,
        y0: meta.y0,
        y1: meta.y1,
        probs: meta.probs,
        points,
        pointsTotal: total,
      });
    }
    decision.push({ imbalance: g.imbalance, panels, notes });
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
export function samplePoints(p: { n: number; x: Buffer; y: Buffer; label: Buffer }): { points: { x: number; y: number; label: number }[]; total: number } {
  const xs = floats(p.x);
  const ys = floats(p.y);
  const n = Math.min(p.n, xs.length, ys.length, p.label.length);
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

const TABLE_METRICS = [
  'minority_f1',
  'minority_recall',
  'minority_precision',
  'pr_auc',
  'roc_auc',
  'balanced_accuracy',
  'mcc',
  'accuracy',
  'brier',
  'log_loss',
];

function trialTable(trials: TrialRow[], metric: string): TrialTable {
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
    { name: 'train_s', label: 'train s', type: 'num' },
    { name: 'key', label: 'key', type: 'text' },
    { name: 'error', label: 'error', type: 'text' },
  ];
  const settings: string[] = [];
  const settingIdx = new Map<string, number>();
  const errors: string[] = [];
  const errorIdx = new Map<string, number>();
  const intern = (list: string[], idx: Map<string, number>, s: string) => {
    let i = idx.get(s);
    if (i === undefined) {
      i = list.length;
      list.push(s);
      idx.set(s, i);
    }
    return i;
  };
  const rows = trials.map((t) => [
    intern(settings, settingIdx, t.setting),
    t.imbalance,
    t.loss,
    t.gamma ?? (t.loss === 'focal' ? null : 0),
    t.alpha ?? 'none',
    t.seed,
    t.state,
    ...metricsShown.map((m) => r4(t[m])),
    typeof t.train_ms === 'number' ? Math.round(t.train_ms / 10) / 100 : null,
    t.key,
    t.error ? intern(errors, errorIdx, t.error) : null,
  ]);
  return { columns, settings, errors, rows };
}

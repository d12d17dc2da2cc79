/**
 * The results database, reader side: what `run`'s summary, `best`, `query` and the report read.
 *
 * One aggregation serves all of them, so the report, `best` and the run summary always agree:
 * trials of the current spec (in_spec = 1) are grouped by setting (same config but the seed), each
 * metric is averaged over the setting's complete trials with a Student-t 95% CI, settings are ranked
 * by the mean (ties: more seeds first, then the setting label), and each imbalance ratio's best
 * setting is compared with its best BCE setting, paired by seed.
 */

import type Database from 'better-sqlite3';
import { UsageError } from '../errors.js';
import { getOrCreate } from '../maps.js';
import { type MeanCI, meanCI, type PairedDiff, pairedDiff } from '../report/stats.js';
import { clip, quoted } from '../text.js';
import { METRICS } from '../types.js';
import { METRIC_COLUMNS } from './schema.js';
import type { TrialState } from './store.js';

export interface SweepRow {
  id: number;
  name: string;
  spec_file: string | null;
  spec_text: string;
  objective: string;
  created_at: string;
  updated_at: string;
}

/** The sweep named `name`, or the only sweep when `name` is undefined. UsageError otherwise. */
function findSweep(db: Database.Database, name?: string): SweepRow {
  const rows = db.prepare(`SELECT * FROM sweeps ORDER BY updated_at DESC`).all() as SweepRow[];
  if (rows.length === 0) throw new UsageError(`${db.name}: no sweeps in this database`);
  if (name === undefined) {
    if (rows.length > 1) throw new UsageError(`${db.name}: holds ${rows.length} sweeps (${rows.map((r) => clip(r.name)).join(', ')}); pick one with --sweep`);
    return rows[0];
  }
  const row = rows.find((r) => r.name === name);
  if (!row) throw new UsageError(`${db.name}: no sweep named ${quoted(name)} (have: ${rows.map((r) => clip(r.name)).join(', ')})`);
  return row;
}

/** Check a metric name; UsageError listing the valid ones otherwise. */
export function checkMetric(metric: string, flag = 'metric'): string {
  if (!Object.hasOwn(METRICS, metric)) {
    throw new UsageError(`unknown ${flag} ${quoted(metric)} (expected one of: ${Object.keys(METRICS).join(', ')})`);
  }
  return metric;
}

// ---------------------------------------------------------------- trials

/** One trial of the current spec, with its metrics (null until complete, or where undefined). */
export interface TrialRow {
  id: number;
  key: string;
  setting_key: string;
  setting: string;
  loss: string;
  gamma: number | null;
  alpha: string | null;
  alpha_used: number | null;
  imbalance: string;
  minority_fraction: number | null;
  seed: number;
  state: TrialState;
  attempts: number;
  error: string | null;
  params: string;
  backend: string | null;
  worker: string | null;
  cohort_size: number | null;
  setup_ms: number | null;
  train_ms: number | null;
  eval_ms: number | null;
  n_train: number | null;
  n_test: number | null;
  train_positive_fraction: number | null;
  started_at: string | null;
  finished_at: string | null;
  /** Metric columns (METRIC_COLUMNS) by name. */
  [metric: string]: unknown;
}

/** Every trial of the sweep's current spec (in_spec = 1), in insertion order. */
function loadTrials(db: Database.Database, sweepId: number): TrialRow[] {
  return db
    .prepare(
      `SELECT id, key, setting_key, setting, loss, gamma, alpha, alpha_used, COALESCE(imbalance_label, 'native') AS imbalance,
              imbalance AS minority_fraction, seed, state, attempts, error, params, backend, worker, cohort_size, setup_ms, train_ms,
              eval_ms, n_train, n_test, train_positive_fraction, started_at, finished_at, ${METRIC_COLUMNS.join(', ')}
       FROM trials WHERE sweep_id = ? AND in_spec = 1 ORDER BY id`,
    )
    .all(sweepId) as TrialRow[];
}

/** A metric value of a trial, or null. */
export function metricOf(t: TrialRow, metric: string): number | null {
  const v = t[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

// ---------------------------------------------------------------- settings

/**
 * The swept data parameters besides the ratio and the seed (e.g. " · data.class_sep=2"): settings are
 * grouped by ratio AND dataset, so a winner is only ranked against, and paired by seed with, settings
 * trained on the same data. Model and training parameters stay inside a group (they are what is tuned).
 */
function datasetSuffix(params: string | null | undefined): string {
  if (!params) return '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(params);
  } catch {
    return '';
  }
  // a database edited by hand may hold anything here
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return '';
  return Object.entries(parsed)
    .filter(([k]) => k.startsWith('data.') && k !== 'data.imbalance' && k !== 'data.seed')
    .map(([k, v]) => ` · ${k}=${Array.isArray(v) ? `[${v.join(',')}]` : String(v)}`)
    .join('');
}

/** All trials of one setting (same config but the seed), with per-metric statistics over seeds. */
export class Setting {
  readonly setting_key: string;
  readonly setting: string;
  readonly loss: string;
  readonly gamma: number | null;
  readonly alpha: string | null;
  readonly imbalance: string;
  readonly minority_fraction: number | null;
  /** Every trial of this setting in the current spec, any state. */
  readonly trials: TrialRow[] = [];
  private cache = new Map<string, MeanCI>();
  private completeBySeed: TrialRow[] | undefined;

  constructor(first: TrialRow) {
    this.setting_key = first.setting_key;
    this.setting = first.setting;
    this.loss = first.loss;
    this.gamma = first.gamma;
    this.alpha = first.alpha;
    this.imbalance = first.imbalance + datasetSuffix(first.params);
    this.minority_fraction = first.minority_fraction;
  }

  /** Complete trials, by seed ascending (computed once: groupSettings has added every trial before any read). */
  get complete(): TrialRow[] {
    this.completeBySeed ??= this.trials.filter((t) => t.state === 'complete').sort((a, b) => a.seed - b.seed);
    return this.completeBySeed;
  }

  /** The metric by seed over the complete trials (null where the metric is undefined). */
  values(metric: string): Map<number, number | null> {
    return new Map(this.complete.map((t) => [t.seed, metricOf(t, metric)]));
  }

  /** Mean and 95% CI of a metric over the complete trials' seeds. */
  stats(metric: string): MeanCI {
    let s = this.cache.get(metric);
    if (!s) {
      s = meanCI(this.complete.map((t) => metricOf(t, metric)));
      this.cache.set(metric, s);
    }
    return s;
  }

  /** γ as a number: 0 for BCE and weighted BCE. */
  get gammaValue(): number {
    return this.gamma ?? 0;
  }

  /** α as written ('none' for BCE). */
  get alphaValue(): string {
    return this.alpha ?? 'none';
  }

  /** The setting label without its imbalance part, e.g. "focal(γ=2, α=inverse) · train.learning_rate=0.01". */
  get label(): string {
    return settingLabelWithoutImbalance(this.setting);
  }

  /** Swept values other than the loss, imbalance and seed, e.g. ["train.learning_rate=0.01"]. */
  get otherParams(): string[] {
    return this.setting.split(' · ').slice(2);
  }
}

/** "focal(γ=2, α=inverse) · 90:10 · lr=0.01" -> "focal(γ=2, α=inverse) · lr=0.01". */
function settingLabelWithoutImbalance(setting: string): string {
  const parts = setting.split(' · ');
  return parts.length >= 2 ? [parts[0], ...parts.slice(2)].join(' · ') : setting;
}

/** Group trials by setting, in first-seen order. */
export function groupSettings(trials: readonly TrialRow[]): Setting[] {
  const by = new Map<string, Setting>();
  for (const t of trials) {
    getOrCreate(by, t.setting_key, () => new Setting(t)).trials.push(t);
  }
  return [...by.values()];
}

/** Orders settings best first by a metric's mean; ties: more seeds first, then the setting label. */
function compareSettings(metric: string): (a: Setting, b: Setting) => number {
  const higher = METRICS[metric]?.higherIsBetter ?? true;
  return (a, b) => {
    const ma = a.stats(metric);
    const mb = b.stats(metric);
    const va = ma.mean as number;
    const vb = mb.mean as number;
    if (va !== vb) return higher ? vb - va : va - vb;
    if (ma.n !== mb.n) return mb.n - ma.n;
    return a.setting < b.setting ? -1 : a.setting > b.setting ? 1 : 0;
  };
}

/** Settings with at least one value of the metric, best first. */
export function rankBy(settings: readonly Setting[], metric: string): Setting[] {
  return settings.filter((s) => s.stats(metric).mean !== null).sort(compareSettings(metric));
}

/** One imbalance ratio (and dataset, when data parameters are swept): its settings ranked, the winner, and the baselines it is compared with. */
export interface ImbalanceGroup {
  imbalance: string;
  minority_fraction: number | null;
  /** Settings at this ratio with a value of the metric, best first. */
  ranked: Setting[];
  /** Every setting at this ratio, including ones with no complete trial yet. */
  all: Setting[];
  best: Setting | null;
  /** The best BCE setting (several when other parameters are swept). */
  bce: Setting | null;
  bestFocal: Setting | null;
  bestWeighted: Setting | null;
  /** best − bce paired by seed, for the ranking metric; null without a BCE baseline. */
  vsBce: PairedDiff | null;
}

/** Orders imbalance ratios from the mildest (90:10) to the most extreme (99:1); 'native' last. */
function compareImbalance(a: { minority_fraction: number | null; imbalance: string }, b: { minority_fraction: number | null; imbalance: string }): number {
  const fa = a.minority_fraction ?? -1;
  const fb = b.minority_fraction ?? -1;
  return fb - fa || (a.imbalance < b.imbalance ? -1 : a.imbalance > b.imbalance ? 1 : 0);
}

export function groupByImbalance(settings: readonly Setting[], metric: string): ImbalanceGroup[] {
  const groups = new Map<string, Setting[]>();
  for (const s of settings) {
    const g = groups.get(s.imbalance);
    if (g) g.push(s);
    else groups.set(s.imbalance, [s]);
  }
  const higher = METRICS[metric]?.higherIsBetter ?? true;
  const out: ImbalanceGroup[] = [];
  for (const [imbalance, all] of groups) {
    const ranked = rankBy(all, metric);
    const best = ranked[0] ?? null;
    const bce = ranked.find((s) => s.loss === 'bce') ?? null;
    out.push({
      imbalance,
      minority_fraction: all[0].minority_fraction,
      ranked,
      all,
      best,
      bce,
      bestFocal: ranked.find((s) => s.loss === 'focal') ?? null,
      bestWeighted: ranked.find((s) => s.loss === 'weighted_bce') ?? null,
      vsBce: best && bce ? pairedDiff(best.values(metric), bce.values(metric), higher) : null,
    });
  }
  return out.sort(compareImbalance);
}

/** A sweep read for reporting: its trials, settings and per-imbalance ranking by one metric. */
export interface SweepAnalysis {
  sweep: SweepRow;
  metric: string;
  higherIsBetter: boolean;
  trials: TrialRow[];
  settings: Setting[];
  groups: ImbalanceGroup[];
}

/** Read and aggregate a sweep, ranking by `metric` (default: the sweep's objective). */
export function analyzeSweep(db: Database.Database, sweepName: string | undefined, metric?: string): SweepAnalysis {
  const sweep = findSweep(db, sweepName);
  const m = checkMetric(metric ?? sweep.objective);
  const trials = loadTrials(db, sweep.id);
  const settings = groupSettings(trials);
  return { sweep, metric: m, higherIsBetter: METRICS[m].higherIsBetter, trials, settings, groups: groupByImbalance(settings, m) };
}

// ---------------------------------------------------------------- the run summary's view

export interface SettingSummary {
  setting_key: string;
  setting: string;
  loss: string;
  gamma: number | null;
  alpha: string | null;
  imbalance: string;
  minority_fraction: number | null;
  seeds: number;
  mean: number;
}

function summaryOf(s: Setting, metric: string): SettingSummary {
  const st = s.stats(metric);
  return {
    setting_key: s.setting_key,
    setting: s.setting,
    loss: s.loss,
    gamma: s.gamma,
    alpha: s.alpha,
    imbalance: s.imbalance,
    minority_fraction: s.minority_fraction,
    seeds: st.n,
    mean: st.mean as number,
  };
}

/** Settings of a sweep aggregated over seeds, best first, for one metric. */
export function rankSettings(db: Database.Database, sweep: string, metric: string): SettingSummary[] {
  const a = analyzeSweep(db, sweep, checkMetric(metric));
  return rankBy(a.settings, a.metric).map((s) => summaryOf(s, metric));
}

/** Best setting per imbalance ratio with the best BCE setting beside it (mildest ratio first). */
export function bestPerImbalance(db: Database.Database, sweep: string, metric: string): { best: SettingSummary; bce: SettingSummary | null }[] {
  return analyzeSweep(db, sweep, checkMetric(metric))
    .groups.filter((g) => g.best)
    .map((g) => ({ best: summaryOf(g.best as Setting, metric), bce: g.bce ? summaryOf(g.bce, metric) : null }));
}

// ---------------------------------------------------------------- runs

export interface RunRow {
  id: number;
  started_at: string;
  finished_at: string | null;
  status: string;
  pid: number | null;
  host: string | null;
  mode: string;
  workers: number | null;
  backend: string | null;
  planned: number;
  completed: number;
  failed: number;
  wall_ms: number | null;
  machine: string | null;
  versions: string | null;
}

/** The sweep's runs, oldest first. */
export function loadRuns(db: Database.Database, sweepId: number): RunRow[] {
  return db.prepare(`SELECT * FROM runs WHERE sweep_id = ? ORDER BY id`).all(sweepId) as RunRow[];
}

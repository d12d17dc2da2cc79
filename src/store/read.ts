/**
 * The results database, reader side: the rows that `run`'s summary, `best` and the report read.
 * Plain SQL to plain rows; what the rows mean (settings, rankings, verdicts) is src/analysis.
 */

import type Database from 'better-sqlite3';
import { UsageError } from '../errors.js';
import { clip, quoted } from '../text.js';
import type { LossKind, MetricName, ResampleMode } from '../types.js';
import { METRIC_COLUMNS, VALIDATION_COLUMNS } from './schema.js';
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
export function findSweep(db: Database.Database, name?: string): SweepRow {
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

/** One trial of the current spec, with its metrics (null until complete, or where undefined). */
export interface TrialRow {
  id: number;
  key: string;
  setting_key: string;
  setting: string;
  loss: LossKind;
  gamma: number | null;
  alpha: string | null;
  beta: number | null;
  tau: number | null;
  epsilon: number | null;
  resample: ResampleMode;
  alpha_used: number | null;
  /** The ratio's label, e.g. "90:10" or "native". */
  imbalance: string;
  minority_fraction: number | null;
  /** The swept dataset parameters ('' when none): labels.ts datasetLabel. */
  dataset: string;
  seed: number;
  state: TrialState;
  attempts: number;
  error: string | null;
  /** The swept values by grid path (JSON). */
  params: string;
  backend: string | null;
  worker: string | null;
  cohort_size: number | null;
  setup_ms: number | null;
  train_ms: number | null;
  eval_ms: number | null;
  n_train: number | null;
  n_val: number | null;
  n_test: number | null;
  train_positives: number | null;
  val_positives: number | null;
  test_positives: number | null;
  best_epoch: number | null;
  stopped_epoch: number | null;
  train_positive_fraction: number | null;
  started_at: string | null;
  finished_at: string | null;
  /** Test metrics (METRIC_COLUMNS) and validation metrics (val_<metric>) by column name. */
  [column: string]: unknown;
}

/** Every trial of the sweep's current spec (in_spec = 1), in insertion order. */
export function loadTrials(db: Database.Database, sweepId: number): TrialRow[] {
  return db
    .prepare(
      `SELECT id, key, setting_key, setting, loss, gamma, alpha, beta, tau, epsilon, resample, alpha_used,
              COALESCE(imbalance_label, 'native') AS imbalance, imbalance AS minority_fraction, dataset,
              seed, state, attempts, error, params, backend, worker, cohort_size, setup_ms, train_ms, eval_ms,
              n_train, n_val, n_test, train_positives, val_positives, test_positives, train_positive_fraction,
              best_epoch, stopped_epoch, started_at, finished_at, ${[...METRIC_COLUMNS, ...VALIDATION_COLUMNS.map((v) => v.column)].join(', ')}
       FROM trials t WHERE sweep_id = ? AND in_spec = 1 ORDER BY id`,
    )
    .all(sweepId) as TrialRow[];
}

/** A metric of a trial on a split (test: the plain column; validation: val_<metric>), or null. */
export function metricOf(t: TrialRow, metric: MetricName, split: 'test' | 'validation' = 'test'): number | null {
  const v = t[split === 'test' ? metric : `val_${metric}`];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

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

export interface EpochRow {
  epoch: number;
  train_loss: number | null;
  eval_log_loss: number | null;
  eval_pr_auc: number | null;
}

/** A trial's per-epoch curve, by epoch. */
export function loadEpochs(db: Database.Database, trialId: number): EpochRow[] {
  return db.prepare(`SELECT epoch, train_loss, eval_log_loss, eval_pr_auc FROM epochs WHERE trial_id = ? ORDER BY epoch`).all(trialId) as EpochRow[];
}

/** A trial's artifact of one kind (decision_grid, calibration): its JSON meta text and blob, or undefined. */
export function loadArtifact(db: Database.Database, trialId: number, kind: string): { meta: string | null; data: Buffer | null } | undefined {
  return db.prepare(`SELECT meta, data FROM artifacts WHERE trial_id = ? AND kind = ?`).get(trialId, kind) as
    | { meta: string | null; data: Buffer | null }
    | undefined;
}

/** Which of these trials have an artifact of this kind. */
export function trialsWithArtifact(db: Database.Database, trialIds: readonly number[], kind: string): Set<number> {
  const stmt = db.prepare(`SELECT 1 FROM artifacts WHERE trial_id = ? AND kind = ? LIMIT 1`);
  return new Set(trialIds.filter((id) => stmt.get(id, kind) !== undefined));
}

/** The stored test points of a 2-D dataset (float32 x and y blobs, one label byte each). */
export function loadDatasetPoints(db: Database.Database, key: string): { n: number; x: Buffer; y: Buffer; label: Buffer } | undefined {
  return db.prepare(`SELECT n, x, y, label FROM datasets WHERE key = ?`).get(key) as { n: number; x: Buffer; y: Buffer; label: Buffer } | undefined;
}

/**
 * What the coordinator accepts from a worker before anything is written: one place (called by
 * SweepStore.recordCohort) for the local run loop, the distributed coordinator and its restart
 * recovery. A result from Redis may have been written by anyone who can reach the queue, or by a
 * worker of another version: every field is checked for type, range and size, so a malformed result
 * fails its trial with the reason instead of corrupting the database or exhausting memory later (a
 * 1e8 decision-grid resolution, NaN metrics, a curve longer than the training). A well-formed forged
 * result cannot be told from a real one here; signing (src/distributed/auth.ts) is what stops that.
 * A leaf module: src/types.ts and src/config-schema.ts only.
 */
import { MAX_COHORT_SIZE } from './config-schema.js';
import type { Trial, TrialResult } from './types.js';

/** Largest decision-grid resolution stored (resolution² bytes per trial; workers make 64). */
export const MAX_GRID_RESOLUTION = 256;
/** Most test points stored per 2-D dataset for plotting (workers send at most this many). */
export const MAX_DATASET_POINTS = 2000;
/** Longest error message of a failed trial that is stored. */
export const MAX_ERROR_LENGTH = 10_000;
/** Longest worker or dataset identifier. */
const MAX_NAME_LENGTH = 200;

const BACKENDS = new Set(['tensorflow', 'wasm', 'cpu']);
const RESULT_KEYS = new Set([
  'key',
  'state',
  'error',
  'backend',
  'worker',
  'alpha_used',
  'train_positive_fraction',
  'n_train',
  'n_val',
  'n_test',
  'positives',
  'metrics',
  'validation_metrics',
  'best_epoch',
  'stopped_epoch',
  'calibration',
  'curves',
  'grid',
  'points',
  'timings',
]);
/** Metrics in [0, 1]. */
const UNIT_METRICS = ['accuracy', 'balanced_accuracy', 'minority_precision', 'minority_recall', 'minority_f1', 'brier', 'predicted_positive_rate'];
const COUNT_METRICS = ['tp', 'fp', 'tn', 'fn'];
/** The label metrics at the tuned threshold: null without a validation split. */
const TUNED_UNIT_METRICS = ['accuracy', 'balanced_accuracy', 'minority_precision', 'minority_recall', 'minority_f1', 'predicted_positive_rate'].map(
  (m) => `${m}_tuned`,
);
const TUNED_COUNT_METRICS = COUNT_METRICS.map((m) => `${m}_tuned`);
const METRIC_KEYS = new Set([
  ...UNIT_METRICS,
  ...COUNT_METRICS,
  'mcc',
  'roc_auc',
  'pr_auc',
  'log_loss',
  'final_train_loss',
  'ece',
  'threshold_tuned',
  ...TUNED_UNIT_METRICS,
  ...TUNED_COUNT_METRICS,
  'mcc_tuned',
]);
const POSITIVES_KEYS = new Set(['train', 'val', 'test']);
const CALIBRATION_KEYS = new Set(['count', 'sum_p', 'positives']);
/** Most calibration bins stored (workers make 15). */
const MAX_CALIBRATION_BINS = 100;
const EPOCH_KEYS = new Set(['epoch', 'train_loss', 'eval_loss', 'eval_log_loss', 'eval_pr_auc']);
const TIMING_KEYS = new Set(['cohort_size', 'setup_ms', 'train_ms', 'eval_ms']);
const GRID_KEYS = new Set(['dataset_key', 'resolution', 'x0', 'x1', 'y0', 'y1', 'probs']);
const POINTS_KEYS = new Set(['key', 'x', 'y', 'label']);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export interface CheckedResults {
  /** Results that passed, in the order received. */
  valid: TrialResult[];
  /** Trials whose result was refused, with what is wrong with it. */
  refused: { key: string; reason: string }[];
}

/**
 * Split what a worker returned for the trials `asked` into valid results and refused ones. A problem
 * with the whole answer (not a list, more results than trials, a result for a trial that was not
 * asked for or twice) refuses every asked trial; a problem inside one result refuses that trial.
 * Trials with no result at all are in neither list.
 */
export function checkResults(asked: readonly Trial[], value: unknown): CheckedResults {
  const trials = new Map(asked.map((t) => [t.key, t]));
  const whole = (reason: string): CheckedResults => ({ valid: [], refused: asked.map((t) => ({ key: t.key, reason })) });
  if (!Array.isArray(value)) return whole(`not a list of trial results, got ${got(value)}`);
  if (value.length > asked.length) return whole(`${value.length} results for ${asked.length} trials`);
  const seen = new Set<string>();
  for (const [i, r] of value.entries()) {
    const key = isObject(r) ? r.key : undefined;
    if (typeof key !== 'string') return whole(`result ${i} has no trial key`);
    if (!trials.has(key)) return whole(`a result for trial ${got(key)}, which was not asked for`);
    if (seen.has(key)) return whole(`two results for trial ${key}`);
    seen.add(key);
  }
  const out: CheckedResults = { valid: [], refused: [] };
  // A local thread sends one points object per dataset, shared by its trials: check each once.
  const pointsChecked = new WeakSet<object>();
  for (const r of value as Record<string, unknown>[]) {
    const reason = resultProblem(r, trials.get(r.key as string) as Trial, pointsChecked);
    if (reason) out.refused.push({ key: r.key as string, reason });
    else out.valid.push(r as unknown as TrialResult);
  }
  return out;
}

/** What is wrong with one trial's result, or null. */
function resultProblem(r: Record<string, unknown>, trial: Trial, pointsChecked: WeakSet<object>): string | null {
  const extra = unknownKey(r, RESULT_KEYS);
  if (extra) return extra;
  const complete = r.state === 'complete';
  if (!complete && r.state !== 'failed') return `state: must be complete or failed, got ${got(r.state)}`;
  if (complete ? r.error !== undefined && r.error !== null : typeof r.error !== 'string' || r.error === '')
    return complete ? 'error: a complete trial has no error' : `error: a failed trial needs its message, got ${got(r.error)}`;
  if (typeof r.error === 'string' && r.error.length > MAX_ERROR_LENGTH) return `error: at most ${MAX_ERROR_LENGTH} characters, got ${r.error.length}`;
  if (typeof r.backend !== 'string' || !BACKENDS.has(r.backend)) return `backend: must be one of ${[...BACKENDS].join(', ')}, got ${got(r.backend)}`;
  const p =
    name('worker', r.worker) ??
    (r.alpha_used === null ? null : inRange('alpha_used', r.alpha_used, 0, 1)) ??
    inRange('train_positive_fraction', r.train_positive_fraction, 0, 1) ??
    count('n_train', r.n_train) ??
    count('n_val', r.n_val) ??
    count('n_test', r.n_test) ??
    positivesProblem(r.positives, r) ??
    timingsProblem(r.timings) ??
    metricsProblem(r.metrics, complete, r.n_test as number) ??
    (complete && (r.n_val as number) > 0
      ? metricsProblem(r.validation_metrics, true, r.n_val as number, 'validation_metrics')
      : r.validation_metrics === null || r.validation_metrics === undefined
        ? null
        : 'validation_metrics: only with a validation split') ??
    epochsProblem(r.best_epoch, r.stopped_epoch, trial.config.train.epochs) ??
    curvesProblem(r.curves, complete, trial.config.train.epochs) ??
    (r.calibration === undefined || r.calibration === null ? null : calibrationProblem(r.calibration, r.n_test as number)) ??
    (r.grid === undefined || r.grid === null ? null : gridProblem(r.grid));
  if (p) return p;
  if (r.points === undefined || r.points === null) return null;
  if (isObject(r.points) && pointsChecked.has(r.points)) return null;
  const pp = pointsProblem(r.points, r.n_test as number);
  if (!pp && isObject(r.points)) pointsChecked.add(r.points);
  return pp;
}

function timingsProblem(t: unknown): string | null {
  if (!isObject(t)) return `timings: must be a mapping, got ${got(t)}`;
  return (
    unknownKey(t, TIMING_KEYS, 'timings') ??
    whole('timings.cohort_size', t.cohort_size, 1, MAX_COHORT_SIZE) ??
    atLeast('timings.setup_ms', t.setup_ms, 0) ??
    atLeast('timings.train_ms', t.train_ms, 0) ??
    atLeast('timings.eval_ms', t.eval_ms, 0)
  );
}

/** A split's metrics (`at` names them: metrics on test, validation_metrics on validation, with n rows). */
function metricsProblem(m: unknown, complete: boolean, n: number, at = 'metrics'): string | null {
  if (!complete) return m === null || m === undefined ? null : `${at}: a failed trial has none`;
  if (!isObject(m)) return `${at}: must be a mapping, got ${got(m)}`;
  const extra = unknownKey(m, METRIC_KEYS, at);
  if (extra) return extra;
  for (const k of UNIT_METRICS) {
    const e = inRange(`${at}.${k}`, m[k], 0, 1);
    if (e) return e;
  }
  const split = at === 'metrics' ? 'n_test' : 'n_val';
  const counts = (keys: string[], nullable: boolean): string | null => {
    if (nullable && keys.every((k) => m[k] === null || m[k] === undefined)) return null;
    let total = 0;
    for (const k of keys) {
      const e = count(`${at}.${k}`, m[k]);
      if (e) return e;
      total += m[k] as number;
    }
    return total === n ? null : `${at}: ${keys.join(' + ')} must be ${split} (${n}), got ${total}`;
  };
  for (const k of TUNED_UNIT_METRICS) {
    const e = optional(m[k], () => inRange(`${at}.${k}`, m[k], 0, 1));
    if (e) return e;
  }
  return (
    counts(COUNT_METRICS, false) ??
    counts(TUNED_COUNT_METRICS, true) ??
    inRange(`${at}.mcc`, m.mcc, -1, 1) ??
    optional(m.mcc_tuned, () => inRange(`${at}.mcc_tuned`, m.mcc_tuned, -1, 1)) ??
    optional(m.threshold_tuned, () => inRange(`${at}.threshold_tuned`, m.threshold_tuned, 0, 1)) ??
    (m.roc_auc === null ? null : inRange(`${at}.roc_auc`, m.roc_auc, 0, 1)) ??
    (m.pr_auc === null ? null : inRange(`${at}.pr_auc`, m.pr_auc, 0, 1)) ??
    inRange(`${at}.ece`, m.ece, 0, 1) ??
    // an infinite logit gives an infinite log loss (JSON carries it as null; stored as NULL)
    (m.log_loss === null || m.log_loss === Infinity ? null : atLeast(`${at}.log_loss`, m.log_loss, 0)) ??
    finite(`${at}.final_train_loss`, m.final_train_loss)
  );
}

/** Positives per split: whole numbers no larger than their split. */
function positivesProblem(p: unknown, r: Record<string, unknown>): string | null {
  if (!isObject(p)) return `positives: must be a mapping, got ${got(p)}`;
  const extra = unknownKey(p, POSITIVES_KEYS, 'positives');
  if (extra) return extra;
  for (const [k, n] of [
    ['train', r.n_train],
    ['val', r.n_val],
    ['test', r.n_test],
  ] as const) {
    const e = count(`positives.${k}`, p[k]);
    if (e) return e;
    if ((p[k] as number) > (n as number)) return `positives.${k}: at most the split's ${n} rows, got ${p[k]}`;
  }
  return null;
}

/** Early stopping's epochs: both null (off), or 1 ≤ best ≤ stopped ≤ epochs. */
function epochsProblem(best: unknown, stopped: unknown, epochs: number): string | null {
  if ((best === null || best === undefined) && (stopped === null || stopped === undefined)) return null;
  return whole('stopped_epoch', stopped, 1, Math.max(1, epochs)) ?? (best === null ? null : whole('best_epoch', best, 1, stopped as number));
}

/** Reliability bins: equal-length lists of counts that add up to the test split, sums of p and positives within each count. */
function calibrationProblem(c: unknown, nTest: number): string | null {
  if (!isObject(c)) return `calibration: must be a mapping, got ${got(c)}`;
  const extra = unknownKey(c, CALIBRATION_KEYS, 'calibration');
  if (extra) return extra;
  const { count: n, sum_p: p, positives: pos } = c;
  if (!Array.isArray(n) || !Array.isArray(p) || !Array.isArray(pos)) return 'calibration: count, sum_p and positives must be lists';
  if (n.length < 1 || n.length > MAX_CALIBRATION_BINS || p.length !== n.length || pos.length !== n.length)
    return `calibration: 1 to ${MAX_CALIBRATION_BINS} bins of equal length, got ${n.length}, ${p.length}, ${pos.length}`;
  let total = 0;
  for (let b = 0; b < n.length; b++) {
    const e = count(`calibration.count[${b}]`, n[b]) ?? count(`calibration.positives[${b}]`, pos[b]) ?? inRange(`calibration.sum_p[${b}]`, p[b], 0, n[b]);
    if (e) return e;
    if (pos[b] > n[b]) return `calibration.positives[${b}]: at most count[${b}] (${n[b]}), got ${pos[b]}`;
    total += n[b];
  }
  return total === nTest ? null : `calibration: its counts must add up to n_test (${nTest}), got ${total}`;
}

function curvesProblem(c: unknown, complete: boolean, epochs: number): string | null {
  if (!Array.isArray(c)) return `curves: must be a list, got ${got(c)}`;
  if (c.length > epochs) return `curves: at most ${epochs} epochs (train.epochs), got ${c.length}`;
  for (const [i, e] of c.entries()) {
    const at = `curves[${i}]`;
    if (!isObject(e)) return `${at}: must be a mapping, got ${got(e)}`;
    const p =
      unknownKey(e, EPOCH_KEYS, at) ??
      (e.epoch === i + 1 ? null : `${at}.epoch: must be ${i + 1}, got ${got(e.epoch)}`) ??
      // a diverged (failed) trial's losses may be NaN or infinite (null once sent as JSON)
      (complete ? finite(`${at}.train_loss`, e.train_loss) : numberOrNull(`${at}.train_loss`, e.train_loss)) ??
      optional(e.eval_loss, () => (complete ? finite(`${at}.eval_loss`, e.eval_loss) : numberOrNull(`${at}.eval_loss`, e.eval_loss))) ??
      optional(e.eval_log_loss, () => (complete ? finite(`${at}.eval_log_loss`, e.eval_log_loss) : numberOrNull(`${at}.eval_log_loss`, e.eval_log_loss))) ??
      optional(e.eval_pr_auc, () => inRange(`${at}.eval_pr_auc`, e.eval_pr_auc, 0, 1));
    if (p) return p;
  }
  return null;
}

function gridProblem(g: unknown): string | null {
  if (!isObject(g)) return `grid: must be a mapping, got ${got(g)}`;
  const p =
    unknownKey(g, GRID_KEYS, 'grid') ??
    name('grid.dataset_key', g.dataset_key) ??
    whole('grid.resolution', g.resolution, 2, MAX_GRID_RESOLUTION) ??
    finite('grid.x0', g.x0) ??
    finite('grid.x1', g.x1) ??
    finite('grid.y0', g.y0) ??
    finite('grid.y1', g.y1);
  if (p) return p;
  if ((g.x0 as number) > (g.x1 as number) || (g.y0 as number) > (g.y1 as number)) return 'grid: its bounds must have x0 ≤ x1 and y0 ≤ y1';
  const cells = (g.resolution as number) ** 2;
  if (typeof g.probs !== 'string' || !BASE64.test(g.probs)) return `grid.probs: must be base64, got ${got(g.probs)}`;
  const bytes = Buffer.byteLength(g.probs, 'base64');
  if (bytes !== cells) return `grid.probs: must hold resolution² = ${cells} bytes, got ${bytes}`;
  return null;
}

function pointsProblem(p: unknown, nTest: number): string | null {
  if (!isObject(p)) return `points: must be a mapping, got ${got(p)}`;
  const e = unknownKey(p, POINTS_KEYS, 'points') ?? name('points.key', p.key);
  if (e) return e;
  const { x, y, label } = p;
  if (!Array.isArray(x) || !Array.isArray(y) || !Array.isArray(label)) return 'points: x, y and label must be lists';
  const limit = Math.min(MAX_DATASET_POINTS, nTest);
  if (x.length > limit) return `points: at most ${limit} points (the test split, up to ${MAX_DATASET_POINTS}), got ${x.length}`;
  if (y.length !== x.length || label.length !== x.length)
    return `points: x, y and label must have the same length, got ${x.length}, ${y.length}, ${label.length}`;
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) return `points: x[${i}] and y[${i}] must be finite numbers`;
    if (label[i] !== 0 && label[i] !== 1) return `points.label[${i}]: must be 0 or 1, got ${got(label[i])}`;
  }
  return null;
}

// ------------------------------------------------------------------ field rules

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unknownKey(o: Record<string, unknown>, known: ReadonlySet<string>, at?: string): string | null {
  for (const k of Object.keys(o)) {
    if (!known.has(k)) return `${at ? `${at}.` : ''}${/^[A-Za-z_][A-Za-z0-9_]{0,39}$/.test(k) ? k : got(k)}: unknown field`;
  }
  return null;
}

function finite(field: string, v: unknown): string | null {
  return typeof v === 'number' && Number.isFinite(v) ? null : `${field}: must be a finite number, got ${got(v)}`;
}

function numberOrNull(field: string, v: unknown): string | null {
  return v === null || typeof v === 'number' ? null : `${field}: must be a number, got ${got(v)}`;
}

function inRange(field: string, v: unknown, min: number, max: number): string | null {
  return finite(field, v) ?? ((v as number) < min || (v as number) > max ? `${field}: must be from ${min} to ${max}, got ${got(v)}` : null);
}

function atLeast(field: string, v: unknown, min: number): string | null {
  return finite(field, v) ?? ((v as number) < min ? `${field}: must be ≥ ${min}, got ${got(v)}` : null);
}

function whole(field: string, v: unknown, min: number, max: number): string | null {
  return Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? null : `${field}: must be a whole number from ${min} to ${max}, got ${got(v)}`;
}

function count(field: string, v: unknown): string | null {
  return Number.isSafeInteger(v) && (v as number) >= 0 ? null : `${field}: must be a whole number ≥ 0, got ${got(v)}`;
}

function name(field: string, v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME_LENGTH
    ? null
    : `${field}: must be a text of 1 to ${MAX_NAME_LENGTH} characters, got ${got(v)}`;
}

function optional(v: unknown, check: () => string | null): string | null {
  return v === undefined || v === null ? null : check();
}

/** A value for a message: short, whatever its size (it may come from anyone who can reach Redis). */
function got(v: unknown): string {
  if (typeof v === 'string') return v.length > 40 ? `${JSON.stringify(v.slice(0, 40))}… (${v.length} characters)` : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `a list of ${v.length}`;
  return 'a mapping';
}

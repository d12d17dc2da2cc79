/**
 * The results database: tables, SQL views and migrations. The schema version lives in
 * PRAGMA user_version; PRAGMA application_id marks the file as ours.
 */
import { METRIC_NAMES, METRICS, type MetricName, type Metrics } from '../types.js';

/** 'FSWP' */
export const APPLICATION_ID = 0x46535750;

/** Test-split metric columns on `trials`, in display order (a TrialResult's `metrics`). */
export const METRIC_COLUMNS: readonly (keyof Metrics)[] = [
  ...METRIC_NAMES,
  'tp',
  'fp',
  'tn',
  'fn',
  'predicted_positive_rate',
  'threshold_tuned',
  'tp_tuned',
  'fp_tuned',
  'tn_tuned',
  'fn_tuned',
  'predicted_positive_rate_tuned',
  'final_train_loss',
];

/** Validation-split columns: `val_<metric>` for every rankable metric (settings are chosen on these), with the metric each holds. */
export const VALIDATION_COLUMNS: readonly { column: `val_${MetricName}`; metric: MetricName }[] = METRIC_NAMES.map((metric) => ({
  column: `val_${metric}`,
  metric,
}));

/** v1's metric columns, frozen: migration 1 must create the same table forever. */
const V1_METRIC_COLUMNS = [
  'minority_f1',
  'pr_auc',
  'roc_auc',
  'minority_recall',
  'minority_precision',
  'balanced_accuracy',
  'mcc',
  'accuracy',
  'brier',
  'log_loss',
  'tp',
  'fp',
  'tn',
  'fn',
  'predicted_positive_rate',
  'final_train_loss',
];
const V1_INTEGER_METRICS = new Set(['tp', 'fp', 'tn', 'fn']);

/** Columns added by migration 2, frozen likewise (name, SQL type). */
const V2_COLUMNS: [string, string][] = [
  // the parameters of the remedies besides focal loss (class-balanced β, logit adjustment τ, Poly-1 ε)
  ['beta', 'REAL'],
  ['tau', 'REAL'],
  ['epsilon', 'REAL'],
  ['resample', "TEXT NOT NULL DEFAULT 'none'"],
  // the swept dataset parameters (labels.ts datasetLabel): settings are compared per ratio and dataset
  ['dataset', "TEXT NOT NULL DEFAULT ''"],
  ['n_val', 'INTEGER'],
  // positives per split (the training split before any resampling): small counts make verdicts meaningless
  ['train_positives', 'INTEGER'],
  ['val_positives', 'INTEGER'],
  ['test_positives', 'INTEGER'],
  ['best_epoch', 'INTEGER'],
  ['stopped_epoch', 'INTEGER'],
  ['ece', 'REAL'],
  ['threshold_tuned', 'REAL'],
  ...['accuracy', 'balanced_accuracy', 'minority_precision', 'minority_recall', 'minority_f1', 'mcc'].map((m): [string, string] => [`${m}_tuned`, 'REAL']),
  ...['tp', 'fp', 'tn', 'fn'].map((m): [string, string] => [`${m}_tuned`, 'INTEGER']),
  ['predicted_positive_rate_tuned', 'REAL'],
  ...[
    'minority_f1',
    'pr_auc',
    'roc_auc',
    'minority_recall',
    'minority_precision',
    'balanced_accuracy',
    'mcc',
    'accuracy',
    'brier',
    'log_loss',
    'ece',
    'minority_f1_tuned',
    'minority_recall_tuned',
    'minority_precision_tuned',
    'balanced_accuracy_tuned',
    'mcc_tuned',
    'accuracy_tuned',
  ].map((m): [string, string] => [`val_${m}`, 'REAL']),
];

/**
 * Migrations, applied in order inside one transaction each; migration i brings the schema to
 * version i+1. Never edit a shipped migration: add a new one (and an old-file test).
 */
export const MIGRATIONS: readonly string[] = [
  // v1: initial schema
  `
  CREATE TABLE sweeps (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    spec_file TEXT,
    spec_text TEXT NOT NULL,
    objective TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );

  CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    sweep_id INTEGER NOT NULL REFERENCES sweeps(id),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed', 'interrupted', 'crashed')),
    pid INTEGER,
    host TEXT,
    mode TEXT NOT NULL DEFAULT 'local',
    workers INTEGER,
    backend TEXT,
    planned INTEGER NOT NULL DEFAULT 0,
    completed INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    wall_ms REAL,
    machine TEXT,
    versions TEXT
  );

  CREATE TABLE trials (
    id INTEGER PRIMARY KEY,
    sweep_id INTEGER NOT NULL REFERENCES sweeps(id),
    key TEXT NOT NULL,
    -- grouping: the same settings with another seed share setting_key
    setting_key TEXT NOT NULL,
    setting TEXT NOT NULL,
    in_spec INTEGER NOT NULL DEFAULT 1,
    config TEXT NOT NULL,
    params TEXT NOT NULL,
    loss TEXT NOT NULL,
    gamma REAL,
    alpha TEXT,
    alpha_used REAL,
    imbalance REAL,
    imbalance_label TEXT,
    seed INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'complete', 'failed', 'interrupted')),
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    run_id INTEGER REFERENCES runs(id),
    cohort_key TEXT,
    backend TEXT,
    worker TEXT,
    started_at TEXT,
    finished_at TEXT,
    cohort_size INTEGER,
    setup_ms REAL,
    train_ms REAL,
    eval_ms REAL,
    n_train INTEGER,
    n_test INTEGER,
    train_positive_fraction REAL,
    ${V1_METRIC_COLUMNS.map((c) => `${c} ${V1_INTEGER_METRICS.has(c) ? 'INTEGER' : 'REAL'}`).join(',\n    ')},
    UNIQUE (sweep_id, key)
  );
  CREATE INDEX trials_by_state ON trials (sweep_id, state);
  CREATE INDEX trials_by_setting ON trials (sweep_id, setting_key);

  -- per-epoch curves; eval_* only on evaluation epochs
  CREATE TABLE epochs (
    trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    train_loss REAL,
    eval_loss REAL,
    eval_log_loss REAL,
    eval_pr_auc REAL,
    PRIMARY KEY (trial_id, epoch)
  ) WITHOUT ROWID;

  -- decision-region grids (kind 'decision_grid': meta JSON with bounds, data = bytes p*255).
  -- Rowid tables for the blob tables: in a WITHOUT ROWID table a 4 KB blob spills into overflow
  -- pages of the primary-key b-tree, which made every insert several times slower.
  CREATE TABLE artifacts (
    trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    meta TEXT,
    data BLOB,
    PRIMARY KEY (trial_id, kind)
  );

  -- 2-D test points, shared by every trial trained on the same data (key = hash of data config)
  CREATE TABLE datasets (
    key TEXT PRIMARY KEY,
    n INTEGER NOT NULL,
    x BLOB NOT NULL,
    y BLOB NOT NULL,
    label BLOB NOT NULL
  );
  `,
  // v2: validation split (n_val, val_* metrics, positives per split), tuned thresholds (*_tuned),
  // calibration (ece), early stopping, the remedies' parameters; and a digest of each sweep's last
  // plan, so that an unchanged rerun need not compare every trial
  `${V2_COLUMNS.map(([name, type]) => `ALTER TABLE trials ADD COLUMN ${name} ${type};`).join('\n')}
  -- v1 trials' dataset labels (v1 had no resampling; new trials get theirs from labels.ts when planned)
  UPDATE trials SET dataset = COALESCE((SELECT group_concat(j.key || '=' || CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE j.value END, ' · ')
                                          FROM json_each(trials.params) j WHERE j.key LIKE 'data.%' AND j.key NOT IN ('data.imbalance', 'data.seed')), '');
  CREATE TABLE plans (
    sweep_id INTEGER PRIMARY KEY REFERENCES sweeps(id),
    digest TEXT NOT NULL
  );
  `,
];

/** SQL views; recreated on every open, so they always match this version's columns. */
export const VIEWS = `
DROP VIEW IF EXISTS results;
DROP VIEW IF EXISTS settings;
DROP VIEW IF EXISTS best_by_imbalance;
DROP VIEW IF EXISTS failures;

-- One row per trial of the current spec, with the objective's value on test and on validation.
CREATE VIEW results AS
SELECT s.name AS sweep, t.key, t.state, t.setting, t.loss, t.gamma, t.alpha, t.alpha_used, t.beta, t.tau, t.epsilon,
       t.imbalance_label AS imbalance, t.imbalance AS minority_fraction, t.seed,
       -- the swept dataset parameters ('' when none): settings are compared per ratio and dataset
       t.dataset,
       s.objective,
       CASE s.objective ${Object.keys(METRICS)
         .map((m) => `WHEN '${m}' THEN t.${m}`)
         .join(' ')} END AS objective_value,
       CASE s.objective ${Object.keys(METRICS)
         .map((m) => `WHEN '${m}' THEN t.val_${m}`)
         .join(' ')} END AS objective_val,
       t.resample,
       ${METRIC_COLUMNS.map((c) => `t.${c}`).join(', ')},
       ${VALIDATION_COLUMNS.map((v) => `t.${v.column}`).join(', ')},
       t.n_train, t.n_val, t.n_test, t.train_positives, t.val_positives, t.test_positives, t.train_positive_fraction, t.best_epoch, t.stopped_epoch,
       t.backend, t.worker, t.cohort_size, t.train_ms, t.attempts, t.error, t.params, t.setting_key, t.run_id, t.finished_at
FROM trials t JOIN sweeps s ON s.id = t.sweep_id
WHERE t.in_spec = 1;

-- Complete trials aggregated over seeds: one row per setting. Settings are chosen by selection_mean:
-- the objective's mean on validation, or on test when the setting has no validation split.
CREATE VIEW settings AS
SELECT sweep, setting_key, setting, loss, gamma, alpha, beta, tau, epsilon, resample, imbalance, minority_fraction, dataset, objective,
       COUNT(*) AS seeds,
       AVG(objective_value) AS objective_mean,
       COUNT(objective_value) AS objective_seeds,
       AVG(objective_val) AS objective_val_mean,
       CASE WHEN COUNT(objective_val) = COUNT(*) THEN 'validation' ELSE 'test' END AS selection,
       CASE WHEN COUNT(objective_val) = COUNT(*) THEN AVG(objective_val) ELSE AVG(objective_value) END AS selection_mean,
       CASE WHEN COUNT(objective_val) = COUNT(*) THEN COUNT(objective_val) ELSE COUNT(objective_value) END AS selection_seeds,
       ${Object.keys(METRICS)
         .map((m) => `AVG(${m}) AS ${m}`)
         .join(', ')}
FROM results
WHERE state = 'complete'
GROUP BY sweep, setting_key;

-- The setting chosen at each imbalance ratio and dataset: best selection_mean (validation) in the
-- objective's direction, shown with its test numbers (objective_mean); ties go to more seeds, then
-- the setting label: the same order as \`focal-sweep best\` and the report.
CREATE VIEW best_by_imbalance AS
SELECT * FROM (
  SELECT st.*,
         ROW_NUMBER() OVER (
           PARTITION BY st.sweep, st.imbalance, st.dataset
           ORDER BY st.selection_mean IS NULL,
                    CASE WHEN st.objective IN (${Object.entries(METRICS)
                      .filter(([, m]) => !m.higherIsBetter)
                      .map(([k]) => `'${k}'`)
                      .join(', ')})
                         THEN st.selection_mean ELSE -st.selection_mean END,
                    st.selection_seeds DESC, st.setting
         ) AS rank
  FROM settings st
) WHERE rank = 1;

-- Failed and interrupted trials with their messages.
CREATE VIEW failures AS
SELECT sweep, key, state, setting, imbalance, seed, attempts, error, finished_at
FROM results WHERE state IN ('failed', 'interrupted');
`;

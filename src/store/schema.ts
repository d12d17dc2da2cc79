/**
 * The results database: tables, SQL views and migrations. The schema version lives in
 * PRAGMA user_version; PRAGMA application_id marks the file as ours.
 */
import { METRICS } from '../types.js';

/** 'FSWP' */
export const APPLICATION_ID = 0x46535750;

/** Metric columns on `trials`, in display order. */
export const METRIC_COLUMNS = [...Object.keys(METRICS), 'tp', 'fp', 'tn', 'fn', 'predicted_positive_rate', 'final_train_loss'] as const;

const INTEGER_METRICS = new Set(['tp', 'fp', 'tn', 'fn']);

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
    ${METRIC_COLUMNS.map((c) => `${c} ${INTEGER_METRICS.has(c) ? 'INTEGER' : 'REAL'}`).join(',\n    ')},
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
  // v2: a digest of each sweep's last plan, so that an unchanged rerun need not compare every trial
  `
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

-- One row per trial of the current spec, with the objective's value.
CREATE VIEW results AS
SELECT s.name AS sweep, t.key, t.state, t.setting, t.loss, t.gamma, t.alpha, t.alpha_used,
       t.imbalance_label AS imbalance, t.imbalance AS minority_fraction, t.seed,
       -- the swept data parameters besides ratio and seed ('' when none): settings are compared per dataset
       COALESCE((SELECT group_concat(j.key || '=' || j.value, ' · ') FROM json_each(t.params) j
                 WHERE j.key LIKE 'data.%' AND j.key NOT IN ('data.imbalance', 'data.seed')), '') AS dataset,
       s.objective,
       CASE s.objective ${Object.keys(METRICS)
         .map((m) => `WHEN '${m}' THEN t.${m}`)
         .join(' ')} END AS objective_value,
       ${METRIC_COLUMNS.map((c) => `t.${c}`).join(', ')},
       t.n_train, t.n_test, t.train_positive_fraction,
       t.backend, t.worker, t.cohort_size, t.train_ms, t.attempts, t.error, t.params, t.setting_key, t.run_id, t.finished_at
FROM trials t JOIN sweeps s ON s.id = t.sweep_id
WHERE t.in_spec = 1;

-- Complete trials aggregated over seeds: one row per setting.
CREATE VIEW settings AS
SELECT sweep, setting_key, setting, loss, gamma, alpha, imbalance, minority_fraction, dataset, objective,
       COUNT(*) AS seeds,
       AVG(objective_value) AS objective_mean,
       COUNT(objective_value) AS objective_seeds,
       ${Object.keys(METRICS)
         .map((m) => `AVG(${m}) AS ${m}`)
         .join(', ')}
FROM results
WHERE state = 'complete'
GROUP BY sweep, setting_key;

-- The best setting at each imbalance ratio and dataset (by the sweep's objective and its direction;
-- ties go to more seeds, then the setting label: the same order as \`focal-sweep best\` and the report).
CREATE VIEW best_by_imbalance AS
SELECT * FROM (
  SELECT st.*,
         ROW_NUMBER() OVER (
           PARTITION BY st.sweep, st.imbalance, st.dataset
           ORDER BY st.objective_mean IS NULL,
                    CASE WHEN st.objective IN (${Object.entries(METRICS)
                      .filter(([, m]) => !m.higherIsBetter)
                      .map(([k]) => `'${k}'`)
                      .join(', ')})
                         THEN st.objective_mean ELSE -st.objective_mean END,
                    st.objective_seeds DESC, st.setting
         ) AS rank
  FROM settings st
) WHERE rank = 1;

-- Failed and interrupted trials with their messages.
CREATE VIEW failures AS
SELECT sweep, key, state, setting, imbalance, seed, attempts, error, finished_at
FROM results WHERE state IN ('failed', 'interrupted');
`;

/**
 * The results database, writer side. Only the scheduler process writes (workers send results as
 * messages), so there is never "database is locked"; WAL lets report/query read while a sweep writes.
 */

import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import Database from 'better-sqlite3';
import { StoreError } from '../errors.js';
import { datasetLabel, imbalanceLabel } from '../labels.js';
import { getOrCreate } from '../maps.js';
import { checkResults } from '../result-check.js';
import type { LossConfig, Trial, TrialResult } from '../types.js';
import { checkDatabasePath, needsReadCopy, openError, readCopy } from './access.js';
import { APPLICATION_ID, METRIC_COLUMNS, MIGRATIONS, VALIDATION_COLUMNS, VIEWS } from './schema.js';

export const SCHEMA_VERSION = MIGRATIONS.length;

export type TrialState = 'queued' | 'running' | 'complete' | 'failed' | 'interrupted';

export interface OpenOptions {
  /** Open read-only (query, report, best): never creates, never migrates. Default false. */
  readonly?: boolean;
  /** Create the file (and its folder) if missing. Default false. */
  create?: boolean;
}

/**
 * Open a results database, checking that it is ours and migrating it to this version's schema.
 * Throws StoreError (exit 2) for a missing file, a foreign database or one from a newer version, and
 * for what the environment refuses (access.ts): a device as --db, a folder that cannot be made or
 * written. A reader in a read-only folder reads a private copy.
 */
export function openDatabase(file: string, opts: OpenOptions = {}): Database.Database {
  checkDatabasePath(file, !!opts.create);
  try {
    return openChecked(file, file, opts);
  } catch (e) {
    if (!opts.readonly || !needsReadCopy(file, e)) throw openError(file, e, !!opts.readonly);
    try {
      return openChecked(readCopy(file), file, opts);
    } catch (e2) {
      throw openError(file, e2, true);
    }
  }
}

/** Open `path` (the database named `file` in messages), check that it is ours, and migrate it (writers). */
function openChecked(path: string, file: string, opts: OpenOptions): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: !!opts.readonly, fileMustExist: !opts.create });
    db.pragma('busy_timeout = 5000');
  } catch (e) {
    throw new StoreError(file, `cannot open: ${(e as Error).message}`);
  }
  try {
    // One read transaction: the id, version and table count from one snapshot. Read one by one, a
    // process creating this file at the same moment could commit its tables (and our id) between
    // two reads, and a new database of ours would look like a foreign one.
    db.transaction(() => checkOurs(db, file, !!opts.readonly))();
    if (opts.readonly) return db;
    enableWal(db);
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db, file);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/**
 * Refuse a database that is not ours (an empty one is fine for a writer: it will be created) or
 * too new for this version; a reader also refuses one that needs migrating. Call inside a
 * transaction, so that every value comes from the same snapshot.
 */
function checkOurs(db: Database.Database, file: string, readonly: boolean): void {
  const appId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  const tables = (db.prepare(`SELECT count(*) AS n FROM sqlite_master`).get() as { n: number }).n;
  if (appId !== APPLICATION_ID && (tables > 0 || readonly)) throw new StoreError(file, 'not a focal-sweep results database');
  if (version > SCHEMA_VERSION) {
    throw new StoreError(file, `made by a newer focal-sweep (schema v${version}; this version reads up to v${SCHEMA_VERSION}): upgrade focal-sweep`);
  }
  if (readonly && version < SCHEMA_VERSION)
    throw new StoreError(file, `schema v${version} is older than v${SCHEMA_VERSION}: run a sweep against it once to migrate`);
}

/**
 * Switch to WAL. The switch needs an exclusive lock and SQLite does not wait for it (no busy
 * handler), so two processes opening a new file at once would see "database is locked": retry for
 * up to the busy timeout. Once in WAL mode (the mode is stored in the file) this is a no-op.
 */
function enableWal(db: Database.Database): void {
  if (db.pragma('journal_mode', { simple: true }) === 'wal') return;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; ; waited += 10) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_BUSY' || waited >= 5000) throw e;
      Atomics.wait(pause, 0, 0, 10); // a synchronous 10 ms pause: this runs before any async work
    }
  }
}

/** Bring a database to SCHEMA_VERSION and recreate the views, in one transaction. */
function migrate(db: Database.Database, file: string): void {
  // One IMMEDIATE transaction that decides again, under the write lock, whether the file is ours or
  // empty and reads the version: two processes opening a new file at the same moment cannot both
  // create the tables (the second waits, then finds them, ours), and nothing written between the
  // first check and this lock goes unseen.
  db.transaction(() => {
    checkOurs(db, file, false);
    const from = db.pragma('user_version', { simple: true }) as number;
    for (let v = from; v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    }
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.exec(VIEWS);
  }).immediate();
}

export interface RunInfo {
  mode: 'local' | 'redis';
  workers: number;
  backend: string;
  machine: Record<string, unknown>;
  versions: Record<string, string>;
}

export interface PlanCounts {
  /** Trials of the current spec. */
  total: number;
  complete: number;
  failed: number;
  /** To run now: queued, interrupted, left running by a dead run, and failed with retryFailed. */
  pending: Trial[];
}

const nowIso = () => new Date().toISOString();

/** A stored trial as plan() reads it: id, key, state, in_spec, setting_key, setting, params, config. */
type StoredTrialRow = [number, string, TrialState, number, string, string, string, string];

/**
 * What plan() writes for these trials, as a hash: their keys, setting keys, labels, params and CSV
 * paths (a trial's key is the hash of the rest of its config). Equal to the stored digest, the
 * stored rows are what plan() would write: only plan() writes these columns, and the digest with
 * them, in one transaction.
 */
function planDigest(trials: readonly Trial[]): string {
  const h = createHash('sha256');
  // a setting's trials share its label: each label is hashed once, trials by its number
  const labels = new Map<string, number>();
  let chunk = '';
  for (const t of trials) {
    let label = labels.get(t.setting);
    if (label === undefined) {
      label = labels.size;
      labels.set(t.setting, label);
    }
    const path = t.config.data.generator === 'csv' ? t.config.data.path : '';
    chunk += `${t.key}\t${t.settingKey}\t${label}\t${paramsJson(t.params)}\t${path}\n`;
    if (chunk.length > 65_536) {
      h.update(chunk);
      chunk = '';
    }
  }
  return h
    .update(chunk)
    .update(JSON.stringify([...labels.keys()]))
    .digest('hex');
}

/**
 * JSON.stringify of a trial's params (a flat record of swept values), about twice as fast: numbers,
 * most of the values, are written with String (V8 caches number strings), keys are quoted once.
 */
function paramsJson(params: Record<string, unknown>): string {
  let out = '{';
  for (const k of Object.keys(params)) {
    const v = params[k];
    const json = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : 'null') : JSON.stringify(v);
    if (json === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${getOrCreate(quotedKeys, k, () => JSON.stringify(k))}:${json}`;
  }
  return `${out}}`;
}
const quotedKeys = new Map<string, string>();

/** Whether a process with this pid is alive on this host. */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class SweepStore {
  readonly db: Database.Database;
  private trialIds = new Map<string, number>();
  private prepared:
    | Record<'markRunning' | 'setTrial' | 'delEpochs' | 'addEpoch' | 'addArtifact' | 'addDataset' | 'markFailed' | 'markInterrupted', Database.Statement>
    | undefined;
  private sweepId = 0;
  /** Dataset keys whose points this store has written: the trials of a dataset all carry the same points. */
  private datasetsWritten = new Set<string>();

  constructor(
    readonly file: string,
    opts: OpenOptions = { create: true },
  ) {
    this.db = openDatabase(file, opts);
  }

  close(): void {
    if (this.db.open) {
      try {
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // another reader holds the WAL: the checkpoint happens later, nothing is lost
      }
      this.db.close();
    }
  }

  /** Create or update the sweep row; returns its id. */
  upsertSweep(name: string, specFile: string, specText: string, objective: string): number {
    const now = nowIso();
    this.db
      .prepare(
        `INSERT INTO sweeps (name, spec_file, spec_text, objective, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET spec_file = excluded.spec_file, spec_text = excluded.spec_text,
           objective = excluded.objective, updated_at = excluded.updated_at`,
      )
      .run(name, specFile, specText, objective, now, now);
    this.sweepId = (this.db.prepare(`SELECT id FROM sweeps WHERE name = ?`).get(name) as { id: number }).id;
    return this.sweepId;
  }

  /**
   * Identity of this sweep in this database: its name and creation time. Stable across runs of the
   * same database, different between databases (distributed mode namespaces its job ids with it).
   */
  sweepIdentity(): string {
    const r = this.db.prepare(`SELECT name, created_at FROM sweeps WHERE id = ?`).get(this.sweepId) as { name: string; created_at: string } | undefined;
    if (!r) throw new Error('sweepIdentity() before upsertSweep()');
    return `${r.name}\n${r.created_at}`;
  }

  /**
   * Start a run: refuse when another live process is running this sweep; a run left 'running' by a
   * dead process is marked crashed and its running trials interrupted.
   */
  beginRun(info: RunInfo): number {
    const host = hostname();
    // IMMEDIATE: two runs starting at once serialise here, and the second sees the first's row.
    return this.db
      .transaction(() => {
        for (const r of this.runsMarkedRunning()) {
          if (isLiveHere(r, host)) throw new StoreError(this.file, `another focal-sweep run (pid ${r.pid}) is running this sweep; wait for it or stop it`);
          if (r.host !== host) {
            throw new StoreError(this.file, `a run on host ${r.host} (pid ${r.pid}) is marked running; if it is gone, run with --force-unlock`);
          }
          this.recoverDeadRun(r.id);
        }
        const res = this.db
          .prepare(
            `INSERT INTO runs (sweep_id, started_at, status, pid, host, mode, workers, backend, machine, versions)
           VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(this.sweepId, nowIso(), process.pid, host, info.mode, info.workers, info.backend, JSON.stringify(info.machine), JSON.stringify(info.versions));
        return Number(res.lastInsertRowid);
      })
      .immediate();
  }

  private runsMarkedRunning(): { id: number; pid: number; host: string }[] {
    return this.db.prepare(`SELECT id, pid, host FROM runs WHERE sweep_id = ? AND status = 'running'`).all(this.sweepId) as {
      id: number;
      pid: number;
      host: string;
    }[];
  }

  /** Mark a dead run crashed and its in-flight trials interrupted. */
  private recoverDeadRun(runId: number): void {
    this.db.prepare(`UPDATE runs SET status = 'crashed', finished_at = ? WHERE id = ?`).run(nowIso(), runId);
    this.db
      .prepare(`UPDATE trials SET state = 'interrupted', error = 'the run was killed while this trial was running' WHERE sweep_id = ? AND state = 'running'`)
      .run(this.sweepId);
  }

  /** Forget a run lock held by a process on another host (the user says it is gone). */
  forceUnlock(): number {
    const host = hostname();
    return this.db
      .transaction(() => {
        const rows = this.runsMarkedRunning();
        for (const r of rows) {
          // A live process on this host is not gone, whatever the user says: taking over would train
          // and record its trials twice.
          if (isLiveHere(r, host))
            throw new StoreError(
              this.file,
              `another focal-sweep run (pid ${r.pid}) is running this sweep; --force-unlock only takes over runs whose process is gone`,
            );
        }
        for (const r of rows) this.recoverDeadRun(r.id);
        return rows.length;
      })
      .immediate();
  }

  /**
   * Insert new trials as queued, flag which trials are in the current spec, and list what to run.
   * Writes only what changed: new trials are inserted, in_spec flips only where it changes, and a
   * stored trial whose setting key, label, params or config differ from this version's (e.g.
   * setting keys of an older version) is updated. The plan's digest is kept with the sweep: when it
   * is unchanged (a rerun of the same spec, the usual case), the trials are only looked up.
   */
  plan(trials: readonly Trial[], retryFailed: boolean, nativeShare: number | null = null): PlanCounts {
    return this.db.transaction(() => {
      const digest = planDigest(trials);
      const last = this.db.prepare(`SELECT digest FROM plans WHERE sweep_id = ?`).pluck().get(this.sweepId);
      // an unchanged plan lists only the trials that are not complete
      const unchanged = last === digest;
      const states = unchanged ? this.lookUpPlan() : this.writePlan(trials, digest, nativeShare);
      let complete = 0;
      let failed = 0;
      const pending: Trial[] = [];
      for (const t of trials) {
        const s = states.get(t.key) ?? (unchanged ? 'complete' : undefined);
        if (s === 'complete') complete++;
        else if (s === 'failed' && !retryFailed) failed++;
        else pending.push(t);
      }
      return { total: trials.length, complete, failed, pending };
    })();
  }

  /**
   * The states of an unchanged plan's trials, without reading or writing them: every trial of the
   * plan is stored (trials are never deleted) and in the spec, so only those not complete are read
   * (from the state index), with their ids.
   */
  private lookUpPlan(): Map<string, TrialState> {
    const rows = this.db
      .prepare(`SELECT key, id, state FROM trials WHERE sweep_id = ? AND state IN ('queued', 'running', 'failed', 'interrupted') AND in_spec = 1`)
      .raw()
      .all(this.sweepId) as [string, number, TrialState][];
    const states = new Map<string, TrialState>();
    for (const [key, id, state] of rows) {
      this.trialIds.set(key, id);
      states.set(key, state);
    }
    return states;
  }

  /** Compare every stored trial with the plan and write what differs; returns the states. */
  private writePlan(trials: readonly Trial[], digest: string, nativeShare: number | null): Map<string, TrialState> {
    const stored = new Map<string, { row: StoredTrialRow; inSpec: boolean }>();
    const rows = this.db
      .prepare(`SELECT id, key, state, in_spec, setting_key, setting, params, config FROM trials WHERE sweep_id = ?`)
      .raw()
      .all(this.sweepId) as StoredTrialRow[];
    for (const r of rows) stored.set(r[1], { row: r, inSpec: false });
    const insert = this.db.prepare(
      `INSERT INTO trials (sweep_id, key, setting_key, setting, config, params, loss, gamma, alpha, beta, tau, epsilon, resample, imbalance, imbalance_label, dataset, seed, in_spec)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
    );
    const update = this.db.prepare(`UPDATE trials SET in_spec = 1, setting_key = ?, setting = ?, params = ?, config = ?, dataset = ? WHERE id = ?`);
    const setInSpec = this.db.prepare(`UPDATE trials SET in_spec = ? WHERE id = ?`);
    const states = new Map<string, TrialState>();
    for (const t of trials) {
      const config = JSON.stringify(t.config);
      const params = paramsJson(t.params);
      const s = stored.get(t.key);
      if (!s) {
        const loss = lossColumns(t.config.loss);
        const imb = t.config.data.imbalance;
        const res = insert.run(
          this.sweepId,
          t.key,
          t.settingKey,
          t.setting,
          config,
          params,
          loss.kind,
          loss.gamma,
          loss.alpha,
          loss.beta,
          loss.tau,
          loss.epsilon,
          t.config.data.resample ?? 'none',
          imb === 'native' ? nativeShare : imb,
          imbalanceLabel(imb, nativeShare),
          datasetLabel(t.params),
          t.config.seed,
        );
        this.trialIds.set(t.key, Number(res.lastInsertRowid));
        states.set(t.key, 'queued');
        continue;
      }
      const [id, , state, inSpec, settingKey, setting, storedParams, storedConfig] = s.row;
      s.inSpec = true;
      if (settingKey !== t.settingKey || setting !== t.setting || storedParams !== params || storedConfig !== config) {
        update.run(t.settingKey, t.setting, params, config, datasetLabel(t.params), id);
      } else if (inSpec !== 1) setInSpec.run(1, id);
      this.trialIds.set(t.key, id);
      states.set(t.key, state);
    }
    // trials the spec no longer has stay stored, out of the views
    for (const s of stored.values()) if (!s.inSpec && s.row[3] !== 0) setInSpec.run(0, s.row[0]);
    this.db
      .prepare(`INSERT INTO plans (sweep_id, digest) VALUES (?, ?) ON CONFLICT(sweep_id) DO UPDATE SET digest = excluded.digest`)
      .run(this.sweepId, digest);
    return states;
  }

  /** Mark a cohort's trials running under this run. */
  markRunning(keys: readonly string[], runId: number, cohortKey: string): void {
    const stmt = this.stmts.markRunning;
    const now = nowIso();
    this.db.transaction(() => {
      for (const k of keys) stmt.run(runId, cohortKey, now, this.idOf(k));
    })();
  }

  private idOf(key: string): number {
    let id = this.trialIds.get(key);
    if (id === undefined) {
      // an unchanged plan reads the ids of the trials to run only; any other trial of the spec is looked up here
      id = this.db.prepare(`SELECT id FROM trials WHERE sweep_id = ? AND key = ? AND in_spec = 1`).pluck().get(this.sweepId, key) as number | undefined;
      if (id === undefined) throw new Error(`trial ${key} is not part of the planned sweep`);
      this.trialIds.set(key, id);
    }
    return id;
  }

  /**
   * Record what a worker returned for the trials it was `asked` to run, in one transaction, after
   * checking it (src/result-check.ts): valid results are written; trials whose result was refused or
   * missing are marked failed with the reason. Only trials in `only` (default: all asked) are
   * written (after a coordinator restart, some trials of a finished job may be complete already).
   */
  recordCohort(
    asked: readonly Trial[],
    returned: unknown,
    runId: number,
    only?: ReadonlySet<string>,
  ): { results: TrialResult[]; failed: { key: string; error: string }[] } {
    const wanted = (key: string) => !only || only.has(key);
    const { valid, refused } = checkResults(asked, returned);
    const results = valid.filter((r) => wanted(r.key));
    const failed = refused.filter((r) => wanted(r.key)).map((r) => ({ key: r.key, error: `the worker returned an invalid result: ${r.reason}` }));
    const answered = new Set([...valid.map((r) => r.key), ...refused.map((r) => r.key)]);
    for (const t of asked) if (wanted(t.key) && !answered.has(t.key)) failed.push({ key: t.key, error: 'the worker returned no result for this trial' });
    this.db.transaction(() => {
      this.record(results, runId);
      for (const f of failed) this.markFailed([f.key], runId, f.error);
    })();
    return { results, failed };
  }

  /** Record a batch of results in one transaction: metrics, curves, decision grids, dataset points. */
  record(results: readonly TrialResult[], runId: number): void {
    const { setTrial, delEpochs, addEpoch, addArtifact, addDataset } = this.stmts;
    const now = nowIso();
    const newDatasets = new Set<string>();
    this.db.transaction(() => {
      for (const r of results) {
        const id = this.idOf(r.key);
        const metrics: Record<string, number | null> = {};
        const given = r.metrics;
        const validation = r.validation_metrics;
        // ±Infinity and NaN are stored as NULL (SQLite has no NaN); anything else as it is
        const column = (v: number | null | undefined) => (typeof v === 'number' && !Number.isFinite(v) ? null : (v ?? null));
        for (const c of METRIC_COLUMNS) metrics[c] = column(given?.[c]);
        for (const { column: c, metric } of VALIDATION_COLUMNS) metrics[c] = column(validation?.[metric]);
        setTrial.run({
          id,
          state: r.state,
          error: r.error ?? null,
          run_id: runId,
          backend: r.backend,
          worker: r.worker,
          finished_at: now,
          cohort_size: r.timings.cohort_size,
          setup_ms: r.timings.setup_ms,
          train_ms: r.timings.train_ms,
          eval_ms: r.timings.eval_ms,
          n_train: r.n_train,
          n_val: r.n_val ?? null,
          train_positives: r.positives?.train ?? null,
          val_positives: r.positives?.val ?? null,
          test_positives: r.positives?.test ?? null,
          n_test: r.n_test,
          best_epoch: r.best_epoch ?? null,
          stopped_epoch: r.stopped_epoch ?? null,
          train_positive_fraction: r.train_positive_fraction,
          alpha_used: r.alpha_used,
          ...metrics,
        });
        delEpochs.run(id);
        for (const e of r.curves)
          addEpoch.run(id, e.epoch, finiteOrNull(e.train_loss), finiteOrNull(e.eval_loss), finiteOrNull(e.eval_log_loss), finiteOrNull(e.eval_pr_auc));
        if (r.grid) {
          const { probs, ...meta } = r.grid;
          addArtifact.run(id, 'decision_grid', JSON.stringify(meta), Buffer.from(probs, 'base64'));
        }
        if (r.calibration) addArtifact.run(id, 'calibration', JSON.stringify(r.calibration), null);
        if (r.points && !this.datasetsWritten.has(r.points.key) && !newDatasets.has(r.points.key)) {
          const p = r.points;
          addDataset.run(p.key, p.label.length, f32(p.x), f32(p.y), Buffer.from(Uint8Array.from(p.label)));
          newDatasets.add(p.key);
        }
      }
    })();
    for (const k of newDatasets) this.datasetsWritten.add(k);
  }

  /** Mark trials failed (a cohort threw or timed out) without metrics. */
  markFailed(keys: readonly string[], runId: number, message: string): void {
    this.setEnded(this.stmts.markFailed, keys, runId, message);
  }

  /** Mark trials interrupted (Ctrl-C, SIGTERM, a worker that went away); the next run retries them. */
  markInterrupted(keys: readonly string[], runId: number, message: string): void {
    this.setEnded(this.stmts.markInterrupted, keys, runId, message);
  }

  private setEnded(stmt: Database.Statement, keys: readonly string[], runId: number, message: string): void {
    const now = nowIso();
    this.db.transaction(() => {
      for (const k of keys) stmt.run(message, runId, now, this.idOf(k));
    })();
  }

  /** The per-trial statements, prepared once on first use (after migrate has made the tables). */
  private get stmts() {
    this.prepared ??= {
      markRunning: this.db.prepare(
        `UPDATE trials SET state = 'running', run_id = ?, cohort_key = ?, attempts = attempts + 1, started_at = ?, error = NULL WHERE id = ?`,
      ),
      setTrial: this.db.prepare(
        // attempts: at least 1 (results collected from Redis after a coordinator restart were never marked running here)
        `UPDATE trials SET state = @state, error = @error, run_id = @run_id, attempts = MAX(attempts, 1), backend = @backend, worker = @worker, finished_at = @finished_at,
           cohort_size = @cohort_size, setup_ms = @setup_ms, train_ms = @train_ms, eval_ms = @eval_ms,
           n_train = @n_train, n_val = @n_val, n_test = @n_test, train_positives = @train_positives, val_positives = @val_positives, test_positives = @test_positives, train_positive_fraction = @train_positive_fraction, alpha_used = @alpha_used,
           best_epoch = @best_epoch, stopped_epoch = @stopped_epoch,
           ${[...METRIC_COLUMNS, ...VALIDATION_COLUMNS.map((v) => v.column)].map((c) => `${c} = @${c}`).join(', ')}
         WHERE id = @id`,
      ),
      delEpochs: this.db.prepare(`DELETE FROM epochs WHERE trial_id = ?`),
      addEpoch: this.db.prepare(`INSERT INTO epochs (trial_id, epoch, train_loss, eval_loss, eval_log_loss, eval_pr_auc) VALUES (?, ?, ?, ?, ?, ?)`),
      addArtifact: this.db.prepare(`INSERT OR REPLACE INTO artifacts (trial_id, kind, meta, data) VALUES (?, ?, ?, ?)`),
      addDataset: this.db.prepare(`INSERT OR IGNORE INTO datasets (key, n, x, y, label) VALUES (?, ?, ?, ?, ?)`),
      markFailed: this.db.prepare(`UPDATE trials SET state = 'failed', error = ?, run_id = ?, finished_at = ? WHERE id = ?`),
      markInterrupted: this.db.prepare(
        `UPDATE trials SET state = 'interrupted', error = ?, run_id = ?, finished_at = ? WHERE id = ? AND state IN ('running', 'queued')`,
      ),
    };
    return this.prepared;
  }

  finishRun(
    runId: number,
    status: 'complete' | 'failed' | 'interrupted',
    counts: { planned: number; completed: number; failed: number; wallMs: number },
  ): void {
    this.db
      .prepare(`UPDATE runs SET status = ?, finished_at = ?, planned = ?, completed = ?, failed = ?, wall_ms = ? WHERE id = ?`)
      .run(status, nowIso(), counts.planned, counts.completed, counts.failed, counts.wallMs, runId);
  }

  /** State of every trial of the current spec, by key (for tests and summaries). */
  states(): Map<string, TrialState> {
    const rows = this.db.prepare(`SELECT key, state FROM trials WHERE sweep_id = ? AND in_spec = 1`).all(this.sweepId) as { key: string; state: TrialState }[];
    return new Map(rows.map((r) => [r.key, r.state]));
  }
}

/** A run marked running by another process on this host that is still alive. */
function isLiveHere(r: { pid: number; host: string }, host: string): boolean {
  return r.host === host && r.pid !== process.pid && pidAlive(r.pid);
}

/** A loss's parameters as the trials table's columns (null where a parameter does not apply). */
function lossColumns(loss: LossConfig): {
  kind: string;
  gamma: number | null;
  alpha: string | null;
  beta: number | null;
  tau: number | null;
  epsilon: number | null;
} {
  return {
    kind: loss.kind,
    gamma: loss.kind === 'focal' || loss.kind === 'class_balanced' ? loss.gamma : null,
    alpha: loss.kind === 'weighted_bce' || loss.kind === 'focal' ? String(loss.alpha) : null,
    beta: loss.kind === 'class_balanced' ? loss.beta : null,
    tau: loss.kind === 'logit_adjusted' ? loss.tau : null,
    epsilon: loss.kind === 'poly1' ? loss.epsilon : null,
  };
}

function finiteOrNull(v: number | null | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function f32(values: number[]): Buffer {
  const a = Float32Array.from(values);
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

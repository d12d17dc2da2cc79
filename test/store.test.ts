/**
 * The results database: schema versioning, refusing foreign or newer files, the single-run lock,
 * plan/record/state transitions, and recovery after a run was killed.
 */

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../src/errors.js';
import { expandGrid } from '../src/scheduler/grid.js';
import { parseSpec } from '../src/scheduler/spec.js';
import { APPLICATION_ID, METRIC_COLUMNS, MIGRATIONS, VALIDATION_COLUMNS } from '../src/store/schema.js';
import { openDatabase, type RunInfo, SCHEMA_VERSION, SweepStore } from '../src/store/store.js';
import type { Trial } from '../src/types.js';
import { fakeResult } from './helpers/results.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'fs-store-'));
const RUN: RunInfo = { mode: 'local', workers: 1, backend: 'cpu', machine: {}, versions: {} };
const trials = expandGrid(parseSpec('name: s\ngrid:\n  seed: [1, 2]\n  loss: [bce, {focal: {gamma: 2}}]\n', 's.yaml')).trials;

function openStore(file: string): SweepStore {
  const s = new SweepStore(file);
  s.upsertSweep('s', 's.yaml', 'name: s', 'minority_f1');
  return s;
}

describe('schema', () => {
  it('creates a v-current database marked as ours, in WAL mode, with the SQL views', () => {
    const file = join(tmp(), 'sub', 'r.db');
    openStore(file).close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const views = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
    expect(views).toEqual(['best_by_imbalance', 'failures', 'results', 'settings']);
    db.close();
  });

  it('refuses a file that is not SQLite, a foreign SQLite database and a newer schema', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'text.db'), 'hello, I am not a database, but I am long enough to have a header'.repeat(10));
    expect(() => openDatabase(join(dir, 'text.db'))).toThrow(new StoreError(join(dir, 'text.db'), 'not a SQLite database'));

    const foreign = new Database(join(dir, 'foreign.db'));
    foreign.exec('CREATE TABLE t (x)');
    foreign.close();
    expect(() => openDatabase(join(dir, 'foreign.db'))).toThrow(`${join(dir, 'foreign.db')}: not a focal-sweep results database`);

    const newer = join(dir, 'newer.db');
    openStore(newer).close();
    const db = new Database(newer);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => openDatabase(newer)).toThrow(
      `made by a newer focal-sweep (schema v${SCHEMA_VERSION + 1}; this version reads up to v${SCHEMA_VERSION}): upgrade focal-sweep`,
    );
    expect(() => openDatabase(join(dir, 'missing.db'))).toThrow('no such database (run a sweep first, or pass --db)');

    // ours, but older than this version: reading (best, report, query) does not migrate
    const old = join(dir, 'old.db');
    const v0 = new Database(old);
    v0.pragma(`application_id = ${APPLICATION_ID}`);
    v0.close();
    expect(() => openDatabase(old, { readonly: true })).toThrow(`${old}: schema v0 is older than v${SCHEMA_VERSION}: run a sweep against it once to migrate`);
  });

  it('migrates a database from every older version to the current one', () => {
    for (let from = 0; from < MIGRATIONS.length; from++) {
      const file = join(tmp(), 'old.db');
      const db = new Database(file);
      for (let v = 0; v < from; v++) db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${from}`);
      if (from > 0) db.pragma(`application_id = ${APPLICATION_ID}`);
      db.close();
      if (from > 0)
        expect(() => openDatabase(file, { readonly: true })).toThrow(
          `${file}: schema v${from} is older than v${SCHEMA_VERSION}: run a sweep against it once to migrate`,
        );
      openDatabase(file).close();
      const after = new Database(file, { readonly: true });
      expect(after.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      after.close();
    }
  });
  it('a v1 database (before the validation split) opens, migrates, and keeps its trials; every metric column exists', () => {
    const file = join(tmp(), 'v1.db');
    const db = new Database(file);
    db.exec(MIGRATIONS[0]);
    db.pragma('user_version = 1');
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.prepare(`INSERT INTO sweeps (name, spec_text, objective, created_at, updated_at) VALUES ('s', 'name: s', 'minority_f1', 't', 't')`).run();
    db.prepare(
      `INSERT INTO trials (sweep_id, key, setting_key, setting, config, params, loss, seed, state, minority_f1, tp, n_train, n_test)
       VALUES (1, 'old', 'sk', 'bce · 90:10', '{}', '{}', 'bce', 1, 'complete', 0.5, 7, 300, 100)`,
    ).run();
    db.close();
    const store = new SweepStore(file, { create: false });
    const columns = new Set((store.db.prepare(`SELECT name FROM pragma_table_info('trials')`).all() as { name: string }[]).map((c) => c.name));
    for (const c of [...METRIC_COLUMNS, ...VALIDATION_COLUMNS.map((v) => v.column), 'n_val', 'best_epoch', 'stopped_epoch'])
      expect(columns.has(c), c).toBe(true);
    expect(store.db.prepare(`SELECT key, minority_f1, tp, n_val, minority_f1_tuned, val_minority_f1, ece FROM results`).all()).toEqual([
      { key: 'old', minority_f1: 0.5, tp: 7, n_val: null, minority_f1_tuned: null, val_minority_f1: null, ece: null },
    ]);
    store.close();
  });
});

describe('runs and trial states', () => {
  it('plans, records and reports states; a rerun plans only what is not complete', () => {
    const file = join(tmp(), 'r.db');
    const store = openStore(file);
    const run = store.beginRun(RUN);
    const plan = store.plan(trials, false);
    expect(plan).toMatchObject({ total: 4, complete: 0, failed: 0 });
    expect(plan.pending).toHaveLength(4);
    store.markRunning([trials[0].key, trials[1].key], run, 'c1');
    store.record([fakeResult(trials[0].key, { minority_f1: 0.5 })], run);
    store.markFailed([trials[1].key], run, 'boom');
    store.finishRun(run, 'failed', { planned: 4, completed: 1, failed: 1, wallMs: 10 });
    expect(Object.fromEntries(store.states())).toEqual({
      [trials[0].key]: 'complete',
      [trials[1].key]: 'failed',
      [trials[2].key]: 'queued',
      [trials[3].key]: 'queued',
    });

    const again = store.plan(trials, false);
    expect(again).toMatchObject({ total: 4, complete: 1, failed: 1 });
    expect(again.pending.map((t) => t.key)).toEqual([trials[2].key, trials[3].key]);
    expect(store.plan(trials, true).pending.map((t) => t.key)).toEqual([trials[1].key, trials[2].key, trials[3].key]);

    const row = store.db.prepare(`SELECT * FROM results WHERE key = ?`).get(trials[0].key) as Record<string, unknown>;
    expect(row).toMatchObject({ state: 'complete', minority_f1: 0.5, objective_value: 0.5, loss: 'bce', seed: 1 });
    expect(store.db.prepare(`SELECT error FROM failures`).all()).toEqual([{ error: 'boom' }]);
    store.close();
  });

  it('a trial dropped from the spec stays stored but leaves the results view', () => {
    const store = openStore(join(tmp(), 'r.db'));
    store.beginRun(RUN);
    store.plan(trials, false);
    store.plan(trials.slice(0, 3), false);
    expect(store.db.prepare(`SELECT count(*) AS n FROM trials`).get()).toEqual({ n: 4 });
    expect(store.db.prepare(`SELECT count(*) AS n FROM results`).get()).toEqual({ n: 3 });
    store.close();
  });

  it('refuses a second live run of the same sweep; recovers the trials of a dead one', () => {
    const file = join(tmp(), 'r.db');
    const a = openStore(file);
    const runA = a.beginRun(RUN);
    a.plan(trials, false);
    a.markRunning([trials[0].key], runA, 'c1');
    // A run row held by a live process (this test's parent) blocks another run.
    a.db.prepare(`UPDATE runs SET pid = ? WHERE id = ?`).run(process.ppid, runA);
    const b = openStore(file);
    expect(() => b.beginRun(RUN)).toThrow(`another focal-sweep run (pid ${process.ppid}) is running this sweep; wait for it or stop it`);
    // The same row held by a process that is gone: crashed, its running trial interrupted.
    a.db.prepare(`UPDATE runs SET pid = 2147483646 WHERE id = ?`).run(runA);
    const runB = b.beginRun(RUN);
    expect(runB).toBeGreaterThan(runA);
    expect(b.db.prepare(`SELECT status FROM runs WHERE id = ?`).get(runA)).toEqual({ status: 'crashed' });
    expect(b.states().get(trials[0].key)).toBe('interrupted');
    expect(b.plan(trials, false).pending).toHaveLength(4);
    a.close();
    b.close();
  });

  it('--force-unlock never takes over a live run on this host', () => {
    const file = join(tmp(), 'r.db');
    const a = openStore(file);
    const runA = a.beginRun(RUN);
    a.db.prepare(`UPDATE runs SET pid = ? WHERE id = ?`).run(process.ppid, runA);
    expect(() => a.forceUnlock()).toThrow(
      `another focal-sweep run (pid ${process.ppid}) is running this sweep; --force-unlock only takes over runs whose process is gone`,
    );
    expect(a.db.prepare(`SELECT status FROM runs WHERE id = ?`).get(runA)).toEqual({ status: 'running' });
    a.close();
  });

  it('two processes starting on a new database at the same moment: one runs, the other is refused cleanly', async () => {
    const script = fileURLToPath(new URL('./fixtures/race-begin-run.mjs', import.meta.url));
    for (let round = 0; round < 6; round++) {
      const file = join(tmp(), 'r.db');
      const children = [0, 1].map(() => {
        const child = spawn(process.execPath, [script, file], { stdio: ['pipe', 'pipe', 'inherit'] });
        const lines: string[] = [];
        const waiters: (() => void)[] = [];
        createInterface({ input: child.stdout }).on('line', (line) => {
          lines.push(line);
          for (const w of waiters.splice(0)) w();
        });
        const nextLine = (n: number) =>
          new Promise<string>((resolve) => {
            const check = () => {
              if (lines.length >= n) resolve(lines[n - 1]);
              else waiters.push(check);
            };
            check();
          });
        return { child, nextLine };
      });
      // both loaded and waiting, then released together
      await Promise.all(children.map((c) => c.nextLine(1)));
      for (const c of children) c.child.stdin.write('go\n');
      const outcomes = await Promise.all(children.map((c) => c.nextLine(2)));
      for (const c of children) c.child.stdin.write('exit\n');
      await Promise.all(children.map((c) => new Promise((resolve) => c.child.on('close', resolve))));
      expect(
        outcomes.filter((o) => o === 'ok'),
        `round ${round}: ${outcomes.join(' | ')}`,
      ).toHaveLength(1);
      expect(outcomes.find((o) => o !== 'ok')).toMatch(
        /^StoreError: .*r\.db: another focal-sweep run \(pid \d+\) is running this sweep; wait for it or stop it$/,
      );
    }
  });

  it('a run marked running on another host blocks until --force-unlock', () => {
    const file = join(tmp(), 'r.db');
    const a = openStore(file);
    const runA = a.beginRun(RUN);
    a.plan(trials, false);
    a.markRunning([trials[0].key], runA, 'c1');
    a.db.prepare(`UPDATE runs SET host = 'elsewhere', pid = 42 WHERE id = ?`).run(runA);
    expect(() => a.beginRun(RUN)).toThrow(`${file}: a run on host elsewhere (pid 42) is marked running; if it is gone, run with --force-unlock`);
    expect(a.forceUnlock()).toBe(1);
    expect(a.beginRun(RUN)).toBeGreaterThan(runA);
    expect(a.states().get(trials[0].key)).toBe('interrupted');
    a.close();
  });
});

describe('planning writes only what changed', () => {
  /** Rows plan() inserted, updated or deleted (SQLite's total_changes() of the connection). */
  function changesOf(store: SweepStore, f: () => void): number {
    const count = () => (store.db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
    const before = count();
    f();
    return count() - before;
  }
  const settingKeys = (store: SweepStore) =>
    (store.db.prepare('SELECT setting_key FROM trials ORDER BY id').all() as { setting_key: string }[]).map((r) => r.setting_key);

  it('an unchanged re-plan writes no row, also from a new process', () => {
    const file = join(tmp(), 'r.db');
    const store = openStore(file);
    store.beginRun(RUN);
    // 4 trials and the plan's digest
    expect(changesOf(store, () => store.plan(trials, false))).toBe(5);
    store.record([fakeResult(trials[0].key)], 1);
    store.markFailed([trials[1].key], 1, 'boom');
    expect(changesOf(store, () => expect(store.plan(trials, false)).toMatchObject({ total: 4, complete: 1, failed: 1 }))).toBe(0);
    store.close();
    const again = openStore(file);
    let plan: ReturnType<SweepStore['plan']> | undefined;
    expect(changesOf(again, () => (plan = again.plan(trials, true)))).toBe(0);
    expect(plan?.pending.map((t) => t.key)).toEqual([trials[1].key, trials[2].key, trials[3].key]);
    // the ids of what is to run are known: it can be marked running and recorded
    again.markRunning([trials[2].key], 1, 'c');
    again.record([fakeResult(trials[2].key)], 1);
    expect(again.states().get(trials[2].key)).toBe('complete');
    // and so can a complete one (its id is looked up), but not a trial of no plan
    again.record([fakeResult(trials[0].key, { minority_f1: 0.9 })], 1);
    expect(again.db.prepare('SELECT minority_f1 FROM trials WHERE key = ?').get(trials[0].key)).toEqual({ minority_f1: 0.9 });
    expect(() => again.record([fakeResult('0123456789abcdef')], 1)).toThrow('trial 0123456789abcdef is not part of the planned sweep');
    again.close();
  });

  it('a new trial is inserted and a dropped one flagged, nothing else', () => {
    const store = openStore(join(tmp(), 'r.db'));
    store.plan(trials.slice(0, 3), false);
    // one insert, one digest
    expect(changesOf(store, () => store.plan(trials, false))).toBe(2);
    // one in_spec flag, one digest
    expect(changesOf(store, () => store.plan(trials.slice(1), false))).toBe(2);
    expect(changesOf(store, () => store.plan(trials, false))).toBe(2);
    expect(store.db.prepare(`SELECT count(*) AS n FROM results`).get()).toEqual({ n: 4 });
    store.close();
  });

  it('repairs the stored setting keys, labels and params of an older version, and only those rows', () => {
    const store = openStore(join(tmp(), 'r.db'));
    store.plan(trials, false);
    // as an older focal-sweep left them: other setting keys on two rows, and no plan digest
    store.db.prepare(`UPDATE trials SET setting_key = 'stale' WHERE key IN (?, ?)`).run(trials[0].key, trials[3].key);
    store.db.prepare(`DELETE FROM plans`).run();
    expect(changesOf(store, () => store.plan(trials, false))).toBe(3);
    expect(settingKeys(store)).toEqual(trials.map((t) => t.settingKey));
    // this version computes other labels or params than the stored ones (a code change): updated
    const relabelled = trials.map((t, i) => (i === 1 ? { ...t, setting: `${t.setting} (new)`, params: { ...t.params, extra: 1 } } : t));
    expect(changesOf(store, () => store.plan(relabelled, false))).toBe(2);
    expect(store.db.prepare(`SELECT setting, params FROM trials WHERE key = ?`).get(trials[1].key)).toEqual({
      setting: `${trials[1].setting} (new)`,
      params: JSON.stringify({ ...trials[1].params, extra: 1 }),
    });
    store.close();
  });

  it('a CSV file moved to another path updates the configs', () => {
    const csv = (path: string) =>
      trials.map((t) => ({ ...t, config: { ...t.config, data: { ...t.config.data, generator: 'csv', path } } }) as unknown as Trial);
    const store = openStore(join(tmp(), 'r.db'));
    store.plan(csv('/a/data.csv'), false);
    expect(changesOf(store, () => store.plan(csv('/a/data.csv'), false))).toBe(0);
    expect(changesOf(store, () => store.plan(csv('/b/data.csv'), false))).toBe(5);
    const paths = store.db.prepare(`SELECT DISTINCT json_extract(config, '$.data.path') AS p FROM trials`).all();
    expect(paths).toEqual([{ p: '/b/data.csv' }]);
    store.close();
  });
});

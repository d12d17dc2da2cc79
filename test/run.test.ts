/**
 * The sweep loop end to end (in process, real Piscina threads and the built worker): every trial
 * complete with metrics; a rerun runs nothing; an edited spec runs only the new trials; a failing
 * cohort is isolated and recorded with its message.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Executor } from '../src/scheduler/executor.js';
import { LocalExecutor, localExecutors } from '../src/scheduler/local-executor.js';
import { defaultDbPath, runSweep } from '../src/scheduler/run.js';
import type { Cohort, TrialResult } from '../src/types.js';
import { queryDb as rows } from './helpers/db.js';
import { fakeResult } from './helpers/results.js';

const TINY = `
name: tiny
data: { generator: classification, samples: 300, features: 2, test_fraction: 0.3 }
model: { hidden: [6] }
train: { epochs: 3, batch_size: 32 }
execution: { cohort_size: 4 }
grid:
  controls: false
  imbalance: ["90:10", "80:20"]
  seed: [1, 2]
  loss: [bce, {focal: {gamma: [2], alpha: [none, inverse]}}]
`;

/** An executor that trains nothing: `make` returns each cohort's results. */
function fakeExecutor(make: (c: Cohort) => TrialResult[], after: () => void = () => undefined): Executor {
  return {
    concurrency: 1,
    describe: () => 'fake',
    run: async (cohort) => {
      try {
        return make(cohort);
      } finally {
        after();
      }
    },
    close: async () => undefined,
  };
}

function setup(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'fs-run-'));
  const spec = join(dir, 'spec.yaml');
  writeFileSync(spec, yaml);
  const out: string[] = [];
  return { dir, spec, db: join(dir, 'r.db'), out, sink: { write: (s: string) => out.push(s) } };
}

describe('runSweep', () => {
  it('runs every trial into the database, then a rerun runs none, then an added γ runs only the new trials', async () => {
    const t = setup(TINY);
    const first = await runSweep({ specFile: t.spec, db: t.db, workers: 2, backend: 'cpu', out: t.sink });
    expect(first).toMatchObject({ exitCode: 0, planned: 12, ran: 12, complete: 12, failed: 0, interrupted: 0 });
    const trials = rows(t.db, `SELECT key, state, backend, minority_f1, pr_auc, roc_auc, tp, fn, n_test, attempts FROM results`);
    expect(trials).toHaveLength(12);
    for (const r of trials) {
      expect(r).toMatchObject({ state: 'complete', backend: 'cpu', attempts: 1 });
      expect(typeof r.pr_auc).toBe('number');
      expect((r.tp as number) + (r.fn as number)).toBeGreaterThan(0);
    }
    expect(rows(t.db, `SELECT count(*) AS n FROM epochs`)).toEqual([{ n: 36 }]);
    expect(rows(t.db, `SELECT count(*) AS n FROM artifacts WHERE kind = 'decision_grid'`)).toEqual([{ n: 12 }]);
    // 2 ratios × 2 seeds = 4 distinct datasets
    expect(rows(t.db, `SELECT count(*) AS n FROM datasets`)).toEqual([{ n: 4 }]);
    const text = t.out.join('');
    expect(text).toContain('tiny: 12 trials in 4 cohorts, 2 threads, cpu backend');
    expect(text).toMatch(/Done: 12 complete, 0 failed in [\d.]+s \([\d.]+ trials\/s\)/);
    expect(text).toContain(`Results: ${t.db}`);
    expect(text).toMatch(/Best by minority F1 \(mean over seeds, chosen on validation, reported on test\):\n {2}80:20 .*\n {2}90:10 /);

    const again = await runSweep({ specFile: t.spec, db: t.db, workers: 2, backend: 'cpu', out: t.sink });
    expect(again).toMatchObject({ exitCode: 0, planned: 0, ran: 0 });
    expect(t.out.join('')).toContain('tiny: 0 trials in 0 cohorts, 2 threads, cpu backend (12 already complete)');

    writeFileSync(t.spec, TINY.replace('gamma: [2]', 'gamma: [2, 5]'));
    const edited = await runSweep({ specFile: t.spec, db: t.db, workers: 2, backend: 'cpu', out: t.sink });
    expect(edited).toMatchObject({ exitCode: 0, planned: 8, ran: 8, complete: 8 });
    const all = rows(t.db, `SELECT key, attempts, run_id FROM results ORDER BY run_id`);
    expect(all).toHaveLength(20);
    expect(all.every((r) => r.attempts === 1)).toBe(true);
    expect(all.filter((r) => r.run_id === 1)).toHaveLength(12);
    expect(all.filter((r) => r.run_id === 3)).toHaveLength(8);
  });

  it('a cohort that throws fails only its own trials, with the message; exit code 1', async () => {
    const t = setup(TINY.replace('seed: [1, 2]', 'seed: [1, 13]').replace('cohort_size: 4', 'cohort_size: 3'));
    const workerFile = fileURLToPath(new URL('./fixtures/workers/fail-seed-13.mjs', import.meta.url));
    const summary = await runSweep({
      specFile: t.spec,
      db: t.db,
      workers: 2,
      backend: 'cpu',
      out: t.sink,
      executor: localExecutors((n) => new LocalExecutor({ threads: n, workerFile })),
    });
    const byState = rows(t.db, `SELECT state, seed, error FROM results`);
    const failed = byState.filter((r) => r.state === 'failed');
    const complete = byState.filter((r) => r.state === 'complete');
    expect(failed.length).toBeGreaterThan(0);
    expect(complete.length).toBeGreaterThan(0);
    expect(failed.length + complete.length).toBe(12);
    // only cohorts holding a seed-13 trial failed; every seed-1 trial not sharing one completed
    expect(failed.every((r) => r.error === 'boom: <fixture> failure for seed 13')).toBe(true);
    expect(complete.every((r) => r.seed === 1)).toBe(true);
    expect(summary).toMatchObject({ exitCode: 1, failed: failed.length, complete: complete.length });
    const text = t.out.join('');
    expect(text).toContain('failed: boom: <fixture> failure for seed 13');
    expect(text).toContain(
      `${failed.length} trials failed: see focal-sweep query "select key, error from failures" --db ${t.db}; rerun them with --retry-failed`,
    );

    // without --retry-failed the failures stay; with it they run again (and fail again here)
    const again = await runSweep({
      specFile: t.spec,
      db: t.db,
      workers: 2,
      backend: 'cpu',
      out: t.sink,
      executor: localExecutors((n) => new LocalExecutor({ threads: n, workerFile })),
    });
    expect(again.planned).toBe(0);
    const retried = await runSweep({
      specFile: t.spec,
      db: t.db,
      workers: 2,
      backend: 'cpu',
      out: t.sink,
      retryFailed: true,
      executor: localExecutors((n) => new LocalExecutor({ threads: n, workerFile })),
    });
    expect(retried.planned).toBe(failed.length);
    expect(rows(t.db, `SELECT DISTINCT attempts FROM results WHERE state = 'failed'`)).toEqual([{ attempts: 2 }]);
  });

  it('a cohort past execution.trial_timeout is failed with the timeout', async () => {
    const t = setup(TINY.replace('cohort_size: 4', 'cohort_size: 4, trial_timeout: 1ms'));
    const summary = await runSweep({ specFile: t.spec, db: t.db, workers: 1, backend: 'cpu', out: t.sink });
    expect(summary).toMatchObject({ exitCode: 1, failed: 12, complete: 0 });
    expect(rows(t.db, `SELECT DISTINCT error FROM results`)).toEqual([{ error: 'cohort timed out after 1ms (execution.trial_timeout)' }]);
  });

  it('Ctrl-C while the input is checked writes nothing and exits 130', async () => {
    const t = setup(TINY);
    const stop = new AbortController();
    stop.abort();
    const summary = await runSweep({ specFile: t.spec, db: t.db, workers: 1, backend: 'cpu', out: t.sink, stop: stop.signal });
    expect(summary.exitCode).toBe(130);
    expect(existsSync(t.db)).toBe(false);
  });

  it('Ctrl-C before the first cohort starts is an interrupted run (exit 130), not a complete one', async () => {
    const t = setup(TINY);
    const stop = new AbortController();
    const summary = await runSweep({
      specFile: t.spec,
      db: t.db,
      workers: 1,
      backend: 'cpu',
      out: t.sink,
      stop: stop.signal,
      // the signal arrives while the executor starts
      executor: localExecutors(() => {
        stop.abort();
        return fakeExecutor(() => []);
      }),
    });
    expect(summary).toMatchObject({ exitCode: 130, ran: 0, complete: 0 });
    expect(rows(t.db, `SELECT status FROM runs`)).toEqual([{ status: 'interrupted' }]);
    expect(rows(t.db, `SELECT DISTINCT state FROM results`)).toEqual([{ state: 'queued' }]);
    expect(t.out.join('')).toContain('Interrupted: 0 complete, 0 failed, 0 interrupted');
  });

  it('results that fail the check fail their trials with the reason (exit 1); the other cohorts are recorded', async () => {
    const t = setup(TINY);
    let call = 0;
    const summary = await runSweep({
      specFile: t.spec,
      db: t.db,
      workers: 1,
      backend: 'cpu',
      out: t.sink,
      // the first cohort's results carry a value of the wrong type; the second answers for a trial
      // it was not asked to run (the whole answer is refused); the third is fine
      executor: localExecutors(() =>
        fakeExecutor(
          (cohort) => cohort.trials.map((tr, i) => fakeResult(call === 1 && i === 0 ? 'not-in-this-cohort' : tr.key, { tp: call === 0 ? ({} as number) : 60 })),
          () => call++,
        ),
      ),
    });
    const states = rows(t.db, `SELECT state, error, count(*) AS n FROM results GROUP BY state, error ORDER BY state, error`);
    expect(states).toEqual([
      { state: 'complete', error: null, n: 4 },
      { state: 'failed', error: 'the worker returned an invalid result: a result for trial "not-in-this-cohort", which was not asked for', n: 4 },
      { state: 'failed', error: 'the worker returned an invalid result: metrics.tp: must be a whole number ≥ 0, got a mapping', n: 4 },
    ]);
    expect(summary).toMatchObject({ exitCode: 1, complete: 4, failed: 8 });
  });

  it('names the default database after the sweep, safely', () => {
    expect(defaultDbPath('quickstart')).toBe('results/quickstart.db');
    expect(defaultDbPath('<script>alert(1)</script>')).toBe('results/script_alert_1_script_.db');
    expect(defaultDbPath('../../etc/passwd')).toBe('results/etc_passwd.db');
  });
});

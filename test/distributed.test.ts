/**
 * Distributed mode end to end: real `focal-sweep run --redis` coordinators and `focal-sweep worker`
 * processes (the built dist/cli.js) against a private redis-server (test/helpers/redis.ts). Progress
 * is followed through the JSON events both print (`--progress jsonl`), never through timers.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countOf, expectAllCompleteOnce, KEYED, Proc, queueCounts, rows, startWorker, tmp, useRedis, writeSpec } from './helpers/distributed.js';

const redis = useRedis();

describe('distributed sweeps over BullMQ', () => {
  it('a coordinator and two worker processes (with a shared key: signed jobs and results) give the same database as a local run', async () => {
    const dir = tmp('same');
    const spec = writeSpec(dir, 'dist-same', { seeds: 2, cohortSize: 4, imbalance: ['90:10', '95:5'] });
    const total = 2 * 2 * 5;

    const local = new Proc('local run', ['run', spec, '--db', join(dir, 'local.db'), '--workers', '2', '--progress', 'jsonl', '--no-report'], dir);
    const w1 = startWorker(redis(), 'worker 1', 'q-same', dir, [], KEYED);
    const w2 = startWorker(redis(), 'worker 2', 'q-same', dir, [], KEYED);
    await Promise.all([w1.until('ready', countOf('ready')), w2.until('ready', countOf('ready'))]);
    const coord = new Proc(
      'coordinator',
      ['run', spec, '--db', join(dir, 'dist.db'), '--redis', redis().url, '--queue', 'q-same', '--progress', 'jsonl', '--no-report'],
      dir,
      KEYED,
    );

    const [l, c] = await Promise.all([local.exited, coord.exited]);
    expect(c.code, coord.stderr).toBe(0);
    expect(l.code, local.stderr).toBe(0);
    // with a key, nobody warns that the queue is unauthenticated
    expect(coord.stderr).toBe('');
    expect(w1.stderr + w2.stderr).toBe('');
    const plan = coord.of('plan')[0];
    expect(plan).toMatchObject({ total, toRun: total });
    expect(String(plan.executor)).toContain('2 workers connected, 2 threads');
    expect(coord.of('trial')).toHaveLength(total);
    expect(coord.of('summary')[0]).toMatchObject({ exitCode: 0, complete: total, failed: 0 });
    // both workers took part, each job ran once
    expect(w1.of('job-done').length).toBeGreaterThan(0);
    expect(w2.of('job-done').length).toBeGreaterThan(0);
    expect(w1.of('job-start').length + w2.of('job-start').length).toBe(plan.cohorts);

    const dist = expectAllCompleteOnce(join(dir, 'dist.db'), total);
    const loc = expectAllCompleteOnce(join(dir, 'local.db'), total);
    const byKey = new Map(loc.map((r) => [r.key, r]));
    expect(new Set(dist.map((r) => r.key))).toEqual(new Set(byKey.keys()));
    for (const d of dist) {
      const x = byKey.get(d.key)!;
      // training is deterministic given the config (a cohort of one matches a member of a larger one)
      expect({ tp: d.tp, fp: d.fp, tn: d.tn, fn: d.fn }).toEqual({ tp: x.tp, fp: x.fp, tn: x.tn, fn: x.fn });
      expect(Math.abs((d.roc_auc as number) - (x.roc_auc as number))).toBeLessThan(1e-3);
      expect(Math.abs((d.pr_auc as number) - (x.pr_auc as number))).toBeLessThan(1e-3);
      expect(Math.abs((d.final_train_loss as number) - (x.final_train_loss as number))).toBeLessThan(1e-3);
      expect(String(d.worker)).toMatch(/\/\d+\/\d+$/);
    }
    // the test points of each 2-D dataset (sent once per cohort over Redis) are the same as locally
    const points = `SELECT key, n, hex(x) AS x, hex(y) AS y, hex(label) AS label FROM datasets ORDER BY key`;
    const distPoints = rows(join(dir, 'dist.db'), points);
    expect(distPoints.length).toBeGreaterThan(0);
    expect(distPoints).toEqual(rows(join(dir, 'local.db'), points));
    expect(rows(join(dir, 'dist.db'), `SELECT mode, status FROM runs`)).toEqual([{ mode: 'redis', status: 'complete' }]);
    // finished jobs are removed once recorded
    expect(await queueCounts(redis(), 'q-same')).toMatchObject({ completed: 0, failed: 0, active: 0, waiting: 0, delayed: 0 });

    // Ctrl-C on an idle worker: it stops cleanly
    w1.child.kill('SIGINT');
    expect((await w1.exited).code).toBe(0);
    expect(w1.of('closed')).toHaveLength(1);
  });

  it('SIGKILL of a worker mid-job: the job stalls, another worker runs it, nothing is lost or doubled', async () => {
    const dir = tmp('kill');
    const spec = writeSpec(dir, 'dist-kill', { seeds: 4, cohortSize: 2 });
    const total = 4 * 5;
    // Short stall settings so recovery takes seconds (the defaults are 6s / 2s).
    const fast = ['--lock-duration', '2s', '--stalled-interval', '500ms'];
    const victim = startWorker(redis(), 'victim', 'q-kill', dir, fast);
    const survivor = startWorker(redis(), 'survivor', 'q-kill', dir, fast);
    await Promise.all([victim.until('ready', countOf('ready')), survivor.until('ready', countOf('ready'))]);
    const db = join(dir, 'kill.db');
    const coord = new Proc('coordinator', ['run', spec, '--db', db, '--redis', redis().url, '--queue', 'q-kill', '--progress', 'jsonl', '--no-report'], dir);

    await victim.until('job-start', countOf('job-start'));
    victim.child.kill('SIGKILL');
    const lost = victim.of('job-start')[0].job as string;
    expect(victim.of('job-done').filter((e) => e.job === lost)).toEqual([]);

    const { code } = await coord.exited;
    expect(code, coord.stderr).toBe(0);
    const all = expectAllCompleteOnce(db, total);
    // the survivor ran the job the victim was killed in
    expect(survivor.of('job-done').map((e) => e.job)).toContain(lost);
    // the coordinator said what happened
    expect(coord.of('note').some((e) => e.stalled === true)).toBe(true);
    expect(coord.of('trial')).toHaveLength(total);
    // the cohorts that stalled with the victim ran twice (once on each worker); every other one once
    const lostCohort = survivor.of('job-done').find((e) => e.job === lost)!.cohort as string;
    const stalled = new Set(
      coord
        .of('note')
        .filter((e) => e.stalled === true)
        .map((e) => e.cohort as string),
    );
    expect(stalled).toContain(lostCohort);
    for (const r of all) {
      expect(r.attempts as number, `${String(r.cohort_key)}: ${JSON.stringify(coord.of('note'))}`).toBe(stalled.has(r.cohort_key as string) ? 2 : 1);
    }
    expect(await queueCounts(redis(), 'q-kill')).toMatchObject({ completed: 0, failed: 0, active: 0, waiting: 0 });
  });

  it('a coordinator killed mid-sweep and started again records what workers finished meanwhile, without retraining or duplicating', async () => {
    const dir = tmp('restart');
    const spec = writeSpec(dir, 'dist-restart', { seeds: 8, cohortSize: 2, samples: 300 });
    const total = 8 * 5;
    const db = join(dir, 'restart.db');
    const args = ['run', spec, '--db', db, '--redis', redis().url, '--queue', 'q-restart', '--progress', 'jsonl', '--no-report'];
    const a = startWorker(redis(), 'worker A', 'q-restart', dir);
    await a.until('ready', countOf('ready'));

    const first = new Proc('first coordinator', args, dir);
    await first.until('2 recorded trials', countOf('trial', 2));
    first.child.kill('SIGKILL');
    await first.exited;
    const cohorts = first.of('plan')[0].cohorts as number;
    expect(cohorts).toBe(total / 2);
    const recordedByFirst = rows(db, `SELECT key FROM trials WHERE state = 'complete'`).length;
    expect(recordedByFirst).toBeLessThan(total);

    // The worker goes on without a coordinator: let it finish two more jobs, then stop it (Ctrl-C
    // finishes its current job) so the rest stay queued.
    const doneAtKill = a.of('job-done').length;
    await a.until('two more jobs done', countOf('job-done', doneAtKill + 2));
    a.child.kill('SIGINT');
    expect((await a.exited).code).toBe(0);
    const doneByA = a.of('job-done').length;
    expect(doneByA).toBeLessThan(cohorts);

    // Same command again, no worker running yet: it records the finished jobs first and waits for
    // the queued ones instead of enqueueing their trials again.
    const second = new Proc('second coordinator', args, dir);
    await second.until('plan and notes', (e) => e.some((x) => typeof x.resumed_cohorts === 'number'));
    const notes = second.of('note');
    const recovered = notes.find((e) => typeof e.recovered === 'number');
    expect(recovered, JSON.stringify(notes)).toBeDefined();
    expect(recovered!.recovered as number).toBeGreaterThanOrEqual(4);
    const resumed = notes.find((e) => typeof e.resumed_cohorts === 'number');
    expect(resumed, JSON.stringify(notes)).toBeDefined();
    expect(resumed!.resumed_cohorts).toBe(cohorts - doneByA);
    const plan2 = second.of('plan')[0];
    expect(plan2.complete as number).toBe(recordedByFirst + (recovered!.recovered as number));
    expect(plan2.toRun).toBe(total - (plan2.complete as number));
    expect(plan2.cohorts).toBe(cohorts - doneByA);

    const b = startWorker(redis(), 'worker B', 'q-restart', dir);
    const { code } = await second.exited;
    expect(code, second.stderr).toBe(0);
    expect(second.of('summary')[0]).toMatchObject({ exitCode: 0, failed: 0 });
    expectAllCompleteOnce(db, total);
    // every cohort trained exactly once over both workers: nothing retrained, nothing enqueued twice
    const started = [...a.of('job-start'), ...b.of('job-start')].map((e) => e.job);
    expect(started).toHaveLength(cohorts);
    expect(new Set(started).size).toBe(cohorts);
    // the recovered results carry the worker that trained them while no coordinator ran
    const pidA = String(a.child.pid);
    expect(rows(db, `SELECT worker FROM trials`).filter((r) => String(r.worker).split('/')[1] === pidA).length).toBe(doneByA * 2);
    expect(rows(db, `SELECT status FROM runs ORDER BY id`)).toEqual([{ status: 'crashed' }, { status: 'complete' }]);
    expect(await queueCounts(redis(), 'q-restart')).toMatchObject({ completed: 0, failed: 0, active: 0, waiting: 0 });
  });
});

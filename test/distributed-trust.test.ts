/**
 * Redis is a trust boundary: real coordinators and workers (dist/cli.js) against a private
 * redis-server, with jobs and results written straight into the queue by this test (with bullmq),
 * as anyone who can reach Redis could: a forged result, an unsigned job, a job reading outside the
 * worker's data root, a job whose CSV error would quote the file, and (defect 6) a malformed result
 * waiting in Redis when a coordinator restarts.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Job, Queue, QueueEvents, Worker } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { SharedKey, UNAUTHENTICATED_WARNING } from '../src/distributed/auth.js';
import { type CohortJobData, makeJobData, makeJobResult } from '../src/distributed/job.js';
import { expandGrid } from '../src/scheduler/grid.js';
import { parseSpec } from '../src/scheduler/spec.js';
import { COHORT_FORMAT, type Cohort, type CsvData, type Trial } from '../src/types.js';
import { countOf, expectAllCompleteOnce, KEYED, Proc, rows, startWorker, tmp, useRedis, writeSpec } from './helpers/distributed.js';
import { fakeResult } from './helpers/results.js';

const redis = useRedis();
const key = new SharedKey(Buffer.from(KEYED.FOCAL_SWEEP_KEY));

/** Take the next job of the queue as a rogue worker would (waiting until there is one). */
async function takeJob(queue: string): Promise<{ job: Job<CohortJobData>; token: string; rogue: Worker }> {
  const rogue = new Worker<CohortJobData>(queue, null, { connection: { host: '127.0.0.1', port: redis().port }, autorun: false });
  const token = 'rogue-token';
  for (;;) {
    const job = await rogue.getNextJob(token, { block: true });
    if (job) return { job, token, rogue };
  }
}

/** A CSV trial config as the coordinator makes it (real, valid), then pointed at `path` with `sha256`. */
function csvTrial(dir: string, path: string, file: string, change: Partial<CsvData> = {}): Trial {
  const specFile = join(dir, 'csv-spec.yaml');
  writeFileSync(specFile, `name: csv\ndata: { generator: csv, path: data/points.csv, label: y, positive: "1" }\ngrid: { loss: [bce] }\n`);
  const [t] = expandGrid(parseSpec(readFileSync(specFile, 'utf8'), specFile)).trials;
  const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
  return { ...t, config: { ...t.config, data: { ...(t.config.data as CsvData), path, sha256, ...change } } };
}

function writePoints(dir: string): void {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const lines = ['x1,x2,secretcolumn,y'];
  for (let i = 0; i < 60; i++) lines.push(`${i % 7},${i % 5},${i % 3},${i % 6 === 0 ? 1 : 0}`);
  writeFileSync(join(dir, 'data', 'points.csv'), `${lines.join('\n')}\n`);
}

describe('Redis as a trust boundary', () => {
  it('with a key: a forged result, an unsigned job and a job outside the data root are neither run nor recorded, and the sweep completes with every trial correct', async () => {
    const dir = tmp('trust');
    const spec = writeSpec(dir, 'dist-trust', { seeds: 2, cohortSize: 5 });
    const total = 2 * 5;
    writePoints(dir);
    writeFileSync(join(dir, 'secret.csv'), 'password,hunter2\n');
    const queue = 'q-trust';
    const local = new Proc('local run', ['run', spec, '--db', join(dir, 'local.db'), '--workers', '1', '--progress', 'jsonl', '--no-report'], dir);
    const db = join(dir, 'dist.db');
    const coord = new Proc(
      'coordinator',
      ['run', spec, '--db', db, '--redis', redis().url, '--queue', queue, '--workers', '1', '--progress', 'jsonl', '--no-report'],
      dir,
      KEYED,
    );

    // 1. A rogue worker takes a cohort's job and answers with a well-formed forged result (an F1 of
    //    0.999 for every trial), signed with a key that is not the sweep's.
    const { job, token, rogue } = await takeJob(queue);
    const forgedJob = String(job.id);
    const cohort = job.data.cohort;
    const forged = cohort.trials.map((t) => ({ ...fakeResult(t.key, { minority_f1: 0.999 }), worker: 'rogue/1/1' }));
    await job.moveToCompleted(makeJobResult(new SharedKey(Buffer.from('not the sweep key, guessed')), forgedJob, forged), token, false);
    await rogue.close();

    // 2. Jobs added straight to the queue: an unsigned copy of a real cohort, and a correctly signed job
    //    whose CSV lies outside the worker's data root (its SHA-256 is right: only the root stops it).
    const q = new Queue(queue, { connection: { host: '127.0.0.1', port: redis().port } });
    const unsigned = makeJobData(null, 'intruder.unsigned', { sweep: 'dist-trust', namespace: 'intruder', timeoutMs: 0, cohort });
    await q.add('cohort', unsigned, { jobId: 'intruder.unsigned', attempts: 3 });
    const outside: Cohort = {
      format: COHORT_FORMAT,
      key: 'outside',
      shape: 'x',
      backend: 'auto',
      trials: [csvTrial(dir, '../secret.csv', join(dir, 'secret.csv'))],
    };
    await q.add('cohort', makeJobData(key, 'intruder.outside', { sweep: 'csv', namespace: 'intruder', timeoutMs: 0, cohort: outside }), {
      jobId: 'intruder.outside',
      attempts: 3,
    });

    // A correctly signed job whose trial config breaks the spec's rules (batch_size 0 "completed" on the old code).
    const badConfig: Cohort = {
      ...cohort,
      trials: cohort.trials.map((t) => ({ ...t, config: { ...t.config, train: { ...t.config.train, batch_size: 0 } } })),
    };
    await q.add('cohort', makeJobData(key, 'intruder.config', { sweep: 'dist-trust', namespace: 'intruder', timeoutMs: 0, cohort: badConfig }), {
      jobId: 'intruder.config',
      attempts: 3,
    });

    // 3. The sweep's real worker: the key, and data/ as its data root.
    const w = startWorker(redis(), 'worker', queue, dir, ['--data-root', join(dir, 'data')], KEYED);
    const [c, l] = await Promise.all([coord.exited, local.exited]);
    expect(c.code, coord.stderr).toBe(0);
    expect(l.code, local.stderr).toBe(0);
    await w.until('the intruders refused', countOf('job-refused', 3));
    expect(coord.stderr).toBe('');

    // the forged result was refused and its job ran again, on the real worker
    const refusedNotes = coord.of('note').filter((e) => e.refused_result !== undefined);
    expect(refusedNotes).toHaveLength(1);
    expect(String(refusedNotes[0].message)).toContain(
      "refused its result: the result's signature does not match (a worker with another key, or the result was altered in Redis); enqueued it again",
    );
    expect(w.of('job-done').map((e) => e.job)).toContain(forgedJob);

    // nothing of the forgery is in the database: every trial complete once, trained by the real
    // worker, with the local run's numbers
    const dist = expectAllCompleteOnce(db, total);
    const loc = new Map(expectAllCompleteOnce(join(dir, 'local.db'), total).map((r) => [r.key, r]));
    for (const d of dist) {
      const x = loc.get(d.key)!;
      expect({ tp: d.tp, fp: d.fp, tn: d.tn, fn: d.fn }).toEqual({ tp: x.tp, fp: x.fp, tn: x.tn, fn: x.fn });
      expect(String(d.worker)).toMatch(new RegExp(`/${w.child.pid}/\\d+$`));
    }
    expect(rows(db, `SELECT count(*) AS n FROM trials WHERE minority_f1 = 0.999 OR worker LIKE 'rogue%'`)).toEqual([{ n: 0 }]);

    // the intruders: refused, final, never started, and nothing of secret.csv in any message
    const refused = new Map(w.of('job-refused').map((e) => [e.job, e.error]));
    expect(refused.get('intruder.unsigned')).toBe(
      'the job is not signed, and this worker has a key: give the coordinator the same key (FOCAL_SWEEP_KEY or --key-file)',
    );
    expect(refused.get('intruder.outside')).toBe(`data file ../secret.csv: outside this worker's data root ${realpathSync(join(dir, 'data'))} (--data-root)`);
    expect(refused.get('intruder.config')).toBe(`trial ${cohort.trials[0].key}: train.batch_size: must be ≥ 1, got 0`);
    // only the sweep's two cohorts ran, each once (the forged one here, after the refusal)
    const namespace = forgedJob.slice(0, forgedJob.lastIndexOf('.') + 1);
    const started = w.of('job-start').map((e) => String(e.job));
    expect(started).toHaveLength(2);
    expect(new Set(started).size).toBe(2);
    expect(started).toContain(forgedJob);
    for (const id of started) expect(id.startsWith(namespace), id).toBe(true);
    for (const id of ['intruder.unsigned', 'intruder.outside', 'intruder.config']) {
      const j = (await q.getJob(id))!;
      expect(await j.getState()).toBe('failed');
      expect(j.attemptsMade, `${id}: not retried`).toBe(1);
      expect(j.failedReason).toMatch(/^refused by worker \S+\/\d+: /);
    }
    expect(w.stdout + w.stderr).not.toContain('hunter2');
    expect(w.stderr).toBe('');
    await q.obliterate({ force: true });
    await q.close();
  });

  it('a CSV a job names under the data root but cannot read as asked: the failure says which file and line, never what is in it', async () => {
    const dir = tmp('csvleak');
    writePoints(dir);
    const queue = 'q-csvleak';
    const w = startWorker(redis(), 'worker', queue, dir, [], KEYED);
    await w.until('ready', countOf('ready'));
    const connection = { host: '127.0.0.1', port: redis().port };
    const q = new Queue(queue, { connection });
    const events = new QueueEvents(queue, { connection });
    await events.waitUntilReady();
    try {
      // the right file and hash, but a label column it does not have: the reader's own message lists the header
      const trial = csvTrial(dir, 'data/points.csv', join(dir, 'data', 'points.csv'), { label: 'nope' });
      const cohort: Cohort = { format: COHORT_FORMAT, key: 'leak', shape: 'x', backend: 'cpu', trials: [trial] };
      const job = await q.add('cohort', makeJobData(key, 'probe.leak', { sweep: 'csv', namespace: 'probe', timeoutMs: 0, cohort }), {
        jobId: 'probe.leak',
        attempts: 1,
      });
      await expect(job.waitUntilFinished(events, 60_000)).rejects.toThrow(/cannot be read/);
      const failed = (await q.getJob('probe.leak'))!;
      expect(failed.failedReason).toMatch(
        /^data file data\/points\.csv, line 1: cannot be read as this sweep's CSV \(workers do not repeat what a file says; a local run of the sweep shows the details\) \(on worker \S+\/\d+\)$/,
      );
      expect(w.stdout).not.toContain('secretcolumn');
    } finally {
      await events.close();
      await q.obliterate({ force: true });
      await q.close();
    }
  });

  it('a sweep restarted with a key after a run without one: its unsigned jobs left in Redis are replaced by signed ones', async () => {
    const dir = tmp('rekey');
    const spec = writeSpec(dir, 'dist-rekey', { seeds: 2, cohortSize: 5 });
    const db = join(dir, 'r.db');
    const queue = 'q-rekey';
    const args = ['run', spec, '--db', db, '--redis', redis().url, '--queue', queue, '--workers', '1', '--progress', 'jsonl', '--no-report'];
    const first = new Proc('coordinator without a key', args, dir);
    await first.until('plan', countOf('plan'));
    const q = new Queue(queue, { connection: { host: '127.0.0.1', port: redis().port } });
    const waiting = new QueueEvents(queue, { connection: { host: '127.0.0.1', port: redis().port } });
    // both unsigned jobs in Redis (waiting: no worker yet), then the coordinator dies
    await waiting.waitUntilReady();
    await new Promise<void>((resolve) => {
      const check = async () => {
        if ((await q.getWaitingCount()) < 2) return;
        waiting.off('waiting', check);
        resolve();
      };
      waiting.on('waiting', check);
      void check();
    });
    first.child.kill('SIGKILL');
    await first.exited;
    const second = new Proc('coordinator with a key', args, dir, KEYED);
    // the worker comes once the coordinator has planned (and so looked at what is in Redis)
    await second.until('plan', countOf('plan'));
    const w = startWorker(redis(), 'worker', queue, dir, [], KEYED);
    const { code } = await second.exited;
    expect(code, second.stderr).toBe(0);
    expectAllCompleteOnce(db, 10);
    expect(w.of('job-refused')).toEqual([]);
    expect(w.of('job-done')).toHaveLength(2);
    await waiting.close();
    await q.close();
  });

  it('defect 6: a malformed result waiting in Redis fails its trials with the reason when the coordinator restarts; the sweep goes on (and without a key, each process warns once)', async () => {
    const dir = tmp('malformed');
    const spec = writeSpec(dir, 'dist-malformed', { seeds: 2, cohortSize: 5 });
    const db = join(dir, 'm.db');
    const queue = 'q-malformed';
    const args = ['run', spec, '--db', db, '--redis', redis().url, '--queue', queue, '--workers', '1', '--progress', 'jsonl', '--no-report'];

    // A coordinator enqueues the two cohorts and dies; meanwhile a job completes with a result that
    // SQLite cannot store (the backend is an object: "SQLite3 can only bind…" on the old code).
    const first = new Proc('first coordinator', args, dir);
    const { job, token, rogue } = await takeJob(queue);
    first.child.kill('SIGKILL');
    await first.exited;
    const malformed = job.data.cohort.trials.map((t) => ({ ...fakeResult(t.key), backend: {} }));
    await job.moveToCompleted(makeJobResult(null, String(job.id), malformed as never), token, false);
    await rogue.close();

    const w = startWorker(redis(), 'worker', queue, dir);
    const second = new Proc('second coordinator', args, dir);
    const { code } = await second.exited;
    // exits normally (no internal error); the trials that failed while no coordinator ran count as
    // failed before this run, as for any job that failed meanwhile
    expect(code, second.stderr).toBe(0);
    expect(second.of('plan')[0]).toMatchObject({ total: 10, complete: 0, failed: 5, toRun: 5 });
    expect(second.stderr).toBe(`${UNAUTHENTICATED_WARNING}\n`);
    const recovered = second.of('note').find((e) => typeof e.recovered === 'number');
    expect(recovered).toMatchObject({ recovered: 5, recovered_failed: 5, recovered_cohorts: 1 });
    expect(rows(db, `SELECT state, error, count(*) AS n FROM trials GROUP BY state, error ORDER BY state`)).toEqual([
      { state: 'complete', error: null, n: 5 },
      { state: 'failed', error: 'the worker returned an invalid result: backend: must be one of tensorflow, wasm, cpu, got a mapping', n: 5 },
    ]);
    expect(rows(db, `SELECT status FROM runs ORDER BY id`)).toEqual([{ status: 'crashed' }, { status: 'complete' }]);
    // the worker ran only the other cohort; without a key it warned once, as each coordinator did
    expect(w.of('job-start')).toHaveLength(1);
    w.child.kill('SIGINT');
    expect((await w.exited).code).toBe(0);
    expect(w.stderr).toBe(`${UNAUTHENTICATED_WARNING}\n`);
    expect(first.stderr).toBe(`${UNAUTHENTICATED_WARNING}\n`);
  });
});

/**
 * 7. Recovery from a dead distributed worker, with the DEFAULT lock and stall settings
 * (src/distributed/job.ts), and what those settings cost live workers under full CPU load. Real CLI
 * processes (dist/cli.js) against a private redis-server:
 *
 * - kill to restart: two `focal-sweep worker --threads 1` serve a two-cohort sweep; the worker that
 *   starts a job first is SIGKILLed at once (its lock was just taken: the slowest case for the
 *   lock, the stall check's phase is random); time from the kill to the job's start on the other
 *   worker. `--kills` times, each with fresh processes and queue.
 * - false stalls: one busy-loop process per core keeps every core saturated while a sweep of many
 *   cohorts runs on two workers (threads auto); counts the coordinator's `stalled` notes, the
 *   workers' `job-stalled` events and jobs started more than once, and samples the time-to-live of
 *   every job lock in Redis every 200 ms (the lowest one seen is how close a live job came to
 *   looking dead).
 *
 *   node bench/recovery.mjs [--kills 5] [--no-stalls]
 *
 * Needs `npm run build` and Debian's redis-server. Prints one JSON object.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisConnection } from 'bullmq';
import { DEFAULT_LOCK_DURATION_MS, DEFAULT_STALLED_INTERVAL_MS, lockRenewTimeFor } from '../dist/distributed/job.js';
import { Proc, RECOVERY_SPEC, startRedis, stop } from './distributed.mjs';
import { flags, isMain, load, log, stats } from './lib.mjs';

/** The sweep run under full load: 2 ratios × 8 seeds × 10 losses = 160 trials in cohorts of 8 (about 20 jobs), 2-16-16-1, 40 epochs. */
export const STALL_SPEC = `name: bench-stalls
data: { generator: classification, samples: 2000, features: 2 }
model: { hidden: [16, 16] }
train: { epochs: 40, batch_size: 64 }
execution: { cohort_size: 8 }
grid:
  imbalance: ["90:10", "95:5"]
  seed: [1, 2, 3, 4, 5, 6, 7, 8]
  loss:
    - bce
    - focal: { gamma: [0.5, 2, 5], alpha: [none, 0.25, inverse] }
`;

/** @param {{ kills?: number, stalls?: boolean }} [opts] */
export async function measureRecovery(opts = {}) {
  const kills = opts.kills ?? 5;
  const dir = mkdtempSync(join(tmpdir(), 'fs-bench-recovery-'));
  const redis = await startRedis(dir);
  const procs = [];
  const start = (args) => {
    const p = new Proc(args, dir);
    procs.push(p);
    return p;
  };
  const result = {
    defaults: {
      lockDurationMs: DEFAULT_LOCK_DURATION_MS,
      lockRenewTimeMs: lockRenewTimeFor(DEFAULT_LOCK_DURATION_MS),
      stalledIntervalMs: DEFAULT_STALLED_INTERVAL_MS,
    },
    loadBefore: load(),
  };
  try {
    writeFileSync(join(dir, 'recovery.yaml'), RECOVERY_SPEC);
    writeFileSync(join(dir, 'stalls.yaml'), STALL_SPEC);
    let queueN = 0;

    const killRun = async () => {
      const queue = `recovery-${++queueN}`;
      const wargs = ['worker', '--redis', redis.url, '--queue', queue, '--threads', '1', '--progress', 'jsonl'];
      const workers = [start(wargs), start(wargs)];
      await Promise.all(workers.map((w) => w.until((e) => e.some((x) => x.event === 'ready'))));
      const c = start(['run', 'recovery.yaml', '--db', join(dir, `${queue}.db`), '--redis', redis.url, '--queue', queue, '--progress', 'jsonl', '--no-report']);
      const startedJob = (events) => events.some((x) => x.event === 'job-start');
      await Promise.race(workers.map((w) => w.until(startedJob)));
      const victim = workers.find((w) => startedJob(w.events));
      const survivor = workers.find((w) => w !== victim);
      victim.child.kill('SIGKILL');
      const killedAt = performance.now();
      const job = victim.events.find((x) => x.event === 'job-start').job;
      await survivor.until((e) => e.some((x) => x.event === 'job-start' && x.job === job), 120_000);
      const restartMs = Math.round(performance.now() - killedAt);
      const { code } = await c.exited;
      if (code !== 0) throw new Error(`coordinator exited ${code}: ${c.stderr}`);
      await stop(survivor);
      return restartMs;
    };

    const restarts = [];
    for (let i = 0; i < kills; i++) {
      restarts.push(await killRun());
      log(`kill ${i + 1}/${kills}: restarted on the other worker ${restarts.at(-1)} ms after the kill (load ${load().join(' ')})`);
    }
    result.restart = { ms: stats(restarts), targetMs: 10_000 };

    if (opts.stalls ?? true) {
      const queue = `stalls-${++queueN}`;
      const busy = Array.from({ length: availableParallelism() }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
      procs.push(...busy.map((child) => ({ child })));
      const wargs = ['worker', '--redis', redis.url, '--queue', queue, '--progress', 'jsonl'];
      const workers = [start(wargs), start(wargs)];
      await Promise.all(workers.map((w) => w.until((e) => e.some((x) => x.event === 'ready'), 300_000)));
      const locks = await watchLocks(redis.url, queue);
      const c = start(['run', 'stalls.yaml', '--db', join(dir, `${queue}.db`), '--redis', redis.url, '--queue', queue, '--progress', 'jsonl', '--no-report']);
      const loads = [];
      const loadTimer = setInterval(() => loads.push(load()[0]), 5000);
      const { code } = await c.exited;
      clearInterval(loadTimer);
      const minTtlMs = await locks.stop();
      for (const b of busy) b.kill('SIGKILL');
      if (code !== 0) throw new Error(`coordinator exited ${code}: ${c.stderr}`);
      await Promise.all(workers.map((w) => stop(w)));
      const summary = c.events.find((e) => e.event === 'summary');
      const plan = c.events.find((e) => e.event === 'plan');
      const starts = workers.flatMap((w) => w.events.filter((x) => x.event === 'job-start').map((x) => x.job));
      result.stalls = {
        busyLoops: busy.length,
        workers: workers.length,
        threadsPerWorker: workers[0].events.find((x) => x.event === 'ready').threads,
        trials: summary.complete,
        failed: summary.failed,
        cohorts: plan.cohorts,
        wallMs: Math.round(summary.wallMs),
        load1mDuring: (({ median, min, max }) => ({ median, min, max }))(stats(loads)),
        coordinatorStalledNotes: c.events.filter((e) => e.event === 'note' && e.stalled).length,
        workerStalledEvents: workers.reduce((n, w) => n + w.events.filter((x) => x.event === 'job-stalled').length, 0),
        jobsStartedTwice: starts.length - new Set(starts).size,
        lockTtlSamples: locks.samples(),
        minLockTtlMs: minTtlMs,
      };
      result.stalls.falseStalls = result.stalls.coordinatorStalledNotes + result.stalls.workerStalledEvents + result.stalls.jobsStartedTwice;
      log(`false stalls under load: ${JSON.stringify(result.stalls)}`);
    }
    result.loadAfter = load();
    return result;
  } finally {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Samples the remaining time-to-live of every job lock of a queue every 200 ms; stop() resolves with the lowest seen. */
async function watchLocks(url, queue) {
  const conn = new RedisConnection({ host: '127.0.0.1', port: Number(new URL(url).port), maxRetriesPerRequest: null }, { shared: false, blocking: false });
  const client = await conn.client;
  let min = Infinity;
  let samples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const keys = await client.keys(`bull:${queue}:*:lock`);
      for (const key of keys) {
        const ttl = await client.pttl(key);
        if (ttl > 0) {
          samples++;
          min = Math.min(min, ttl);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  return {
    samples: () => samples,
    stop: async () => {
      stopped = true;
      await loop;
      await conn.close();
      return Number.isFinite(min) ? min : null;
    },
  };
}

if (isMain(import.meta.url)) {
  const f = flags();
  const result = await measureRecovery({ kills: f.kills ? Number(f.kills) : undefined, stalls: !f['no-stalls'] });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

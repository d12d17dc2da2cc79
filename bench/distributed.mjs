/**
 * Distributed mode, measured with the real CLI (dist/cli.js) against a private redis-server:
 *
 * - throughput: the same moderately sized sweep with 1 and with 2 `focal-sweep worker` processes
 *   (each --threads 1), trials per second from the coordinator's own wall time (its summary), the
 *   workers started and connected beforehand;
 * - recovery: a worker SIGKILLed mid-job, with the default lock/stall settings and with short ones:
 *   from the kill to the job starting on the other worker (requeueMs) and to it finishing there
 *   (recoverMs, which includes running the cohort again from scratch).
 *
 * `measureDistributed()` returns the numbers; `node bench/distributed.mjs` prints them as JSON.
 * Needs `npm run build` and Debian's redis-server. The default-settings recovery takes 6-8 s by
 * design (6 s lock + up to a 2 s stall check; bench/recovery.mjs measures it over several kills and
 * under load). Throughput is the best of `repeats` runs per configuration, after a warm-up, because
 * the machine may be shared.
 */

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** The throughput sweep: 2 ratios × 5 seeds × (bce + weighted bce + focal 3γ × 3α) = 110 trials, 2-16-16-1, 2000 samples, 30 epochs. */
export const THROUGHPUT_SPEC = `name: bench-distributed
data: { generator: classification, samples: 2000, features: 2 }
model: { hidden: [16, 16] }
train: { epochs: 30, batch_size: 64 }
grid:
  imbalance: ["90:10", "95:5"]
  seed: [1, 2, 3, 4, 5]
  loss:
    - bce
    - weighted_bce: { alpha: [inverse] }
    - focal: { gamma: [0.5, 2, 5], alpha: [none, 0.25, inverse] }
`;

/** Warm-up: small single-trial cohorts, so that every worker thread has loaded tfjs before the clock starts. */
const WARM_SPEC = `name: bench-warm
data: { generator: classification, samples: 300, features: 2 }
model: { hidden: [16, 16] }
train: { epochs: 5, batch_size: 64 }
execution: { cohort_size: 1 }
grid:
  seed: [1, 2, 3, 4, 5, 6, 7, 8]
  loss: [bce]
`;

/** The recovery sweep: two small cohorts, one per worker, so the lost one waits only for the stall check. */
export const RECOVERY_SPEC = `name: bench-recovery
data: { generator: classification, samples: 500, features: 2 }
model: { hidden: [8] }
train: { epochs: 10, batch_size: 64 }
execution: { cohort_size: 5 }
grid:
  seed: [1, 2]
  loss:
    - bce
    - focal: { gamma: [1, 2], alpha: [none, 0.25] }
`;

/**
 * @param {{ repeats?: number, recovery?: boolean, shortLock?: string, shortStall?: string, log?: (s: string) => void }} [opts]
 *   repeats: throughput runs per configuration (best kept; default 2); recovery: measure it (default true)
 */
export async function measureDistributed(opts = {}) {
  const repeats = opts.repeats ?? 2;
  const log = opts.log ?? (() => undefined);
  const shortLock = opts.shortLock ?? '2s';
  const shortStall = opts.shortStall ?? '500ms';
  const dir = mkdtempSync(join(tmpdir(), 'fs-bench-dist-'));
  const redis = await startRedis(dir);
  const procs = [];
  const start = (args) => {
    const p = new Proc(args, dir);
    procs.push(p);
    return p;
  };
  try {
    writeFileSync(join(dir, 'throughput.yaml'), THROUGHPUT_SPEC);
    writeFileSync(join(dir, 'recovery.yaml'), RECOVERY_SPEC);
    writeFileSync(join(dir, 'warm.yaml'), WARM_SPEC);
    let queueN = 0;

    const throughputRun = async (workers) => {
      const queue = `bench-${++queueN}`;
      const ws = Array.from({ length: workers }, () => start(['worker', '--redis', redis.url, '--queue', queue, '--threads', '1', '--progress', 'jsonl']));
      await Promise.all(ws.map((w) => w.until((e) => e.some((x) => x.event === 'ready'))));
      // Long-running workers have their threads warm; so do these before the clock starts.
      for (let i = 0; i < 5 && ws.some((w) => !w.events.some((x) => x.event === 'job-done')); i++) {
        const warm = start([
          'run',
          'warm.yaml',
          '--db',
          join(dir, `${queue}-warm${i}.db`),
          '--redis',
          redis.url,
          '--queue',
          queue,
          '--progress',
          'none',
          '--no-report',
        ]);
        await warm.exited;
      }
      const db = join(dir, `${queue}.db`);
      const c = start(['run', 'throughput.yaml', '--db', db, '--redis', redis.url, '--queue', queue, '--progress', 'jsonl', '--no-report']);
      const { code } = await c.exited;
      if (code !== 0) throw new Error(`coordinator exited ${code}: ${c.stderr}`);
      const plan = c.events.find((e) => e.event === 'plan');
      const summary = c.events.find((e) => e.event === 'summary');
      await Promise.all(ws.map((w) => stop(w)));
      return {
        trials: summary.complete,
        cohorts: plan.cohorts,
        wallMs: Math.round(summary.wallMs),
        trialsPerSec: round(summary.complete / (summary.wallMs / 1000), 2),
      };
    };

    const throughput = {};
    const runs = { 1: [], 2: [] };
    // interleaved, so a burst of load from elsewhere does not hit one configuration only
    for (let r = 0; r < repeats; r++) {
      for (const workers of [1, 2]) {
        runs[workers].push(await throughputRun(workers));
        log(`throughput, ${workers} worker(s), run ${r + 1}: ${JSON.stringify(runs[workers].at(-1))} (load ${loadavg()[0].toFixed(2)})`);
      }
    }
    for (const workers of [1, 2]) {
      const best = runs[workers].reduce((a, b) => (b.trialsPerSec > a.trialsPerSec ? b : a));
      throughput[workers === 1 ? 'oneWorker' : 'twoWorkers'] = { ...best, runs: runs[workers].map((x) => x.trialsPerSec) };
    }
    throughput.speedup = round(throughput.twoWorkers.trialsPerSec / throughput.oneWorker.trialsPerSec, 2);

    const recoveryRun = async (label, stallArgs) => {
      const queue = `bench-${++queueN}`;
      const wargs = ['worker', '--redis', redis.url, '--queue', queue, '--threads', '1', '--progress', 'jsonl', ...stallArgs];
      const victim = start(wargs);
      const survivor = start(wargs);
      await Promise.all([victim, survivor].map((w) => w.until((e) => e.some((x) => x.event === 'ready'))));
      const db = join(dir, `${queue}.db`);
      const c = start(['run', 'recovery.yaml', '--db', db, '--redis', redis.url, '--queue', queue, '--progress', 'jsonl', '--no-report']);
      await victim.until((e) => e.some((x) => x.event === 'job-start'));
      victim.child.kill('SIGKILL');
      const killedAt = performance.now();
      const job = victim.events.find((x) => x.event === 'job-start').job;
      await survivor.until((e) => e.some((x) => x.event === 'job-start' && x.job === job), 600_000);
      const requeueMs = Math.round(performance.now() - killedAt);
      await survivor.until((e) => e.some((x) => x.event === 'job-done' && x.job === job), 600_000);
      const recoverMs = Math.round(performance.now() - killedAt);
      const { code } = await c.exited;
      if (code !== 0) throw new Error(`coordinator exited ${code}: ${c.stderr}`);
      await stop(survivor);
      const ready = survivor.events.find((x) => x.event === 'ready');
      const result = { lockDurationMs: ready.lock_duration_ms, stalledIntervalMs: ready.stalled_interval_ms, requeueMs, recoverMs };
      log(`recovery, ${label}: ${JSON.stringify(result)}`);
      return result;
    };

    const recovery = {};
    if (opts.recovery ?? true) {
      recovery.short = await recoveryRun('short', ['--lock-duration', shortLock, '--stalled-interval', shortStall]);
      recovery.default = await recoveryRun('default', []);
    }
    return {
      machine: { cores: availableParallelism(), load: loadavg().map((x) => round(x, 2)) },
      sweep: { trials: throughput.oneWorker.trials, spec: THROUGHPUT_SPEC },
      throughput,
      recovery,
    };
  } finally {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const round = (x, d) => Math.round(x * 10 ** d) / 10 ** d;

/** Stop a CLI child with SIGINT (as Ctrl-C) and wait for it. */
export async function stop(w) {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill('SIGINT');
  await w.exited;
}

/** A CLI child process; its JSON output lines are collected as events. */
export class Proc {
  constructor(args, cwd) {
    this.events = [];
    this.stderr = '';
    this.waiters = [];
    this.child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      if (line.startsWith('{')) this.events.push(JSON.parse(line));
      for (const w of [...this.waiters]) {
        if (w.pred(this.events)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    });
    this.child.stderr.on('data', (d) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal })));
  }

  until(pred, ms = 120_000) {
    if (pred(this.events)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting; stderr: ${this.stderr}`)), ms);
      this.waiters.push({
        pred,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      void this.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`process exited; stderr: ${this.stderr}`));
      });
    });
  }
}

/** redis-server on 127.0.0.1, a free port, no persistence; ready on its "Ready to accept connections" line. */
export async function startRedis(dir) {
  if (spawnSync('redis-server', ['--version']).status !== 0) throw new Error('redis-server is not installed (apt-get install redis-server)');
  const port = await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const p = srv.address().port;
      srv.close(() => resolve(p));
    });
  });
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server not ready: ${out}`)), 15_000);
    child.stdout.on('data', (d) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout.resume();
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`redis-server exited ${code}: ${out}`)));
  });
  child.stderr.resume();
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await measureDistributed({ log: (s) => process.stderr.write(`${s}\n`) });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

/**
 * Run a sweep through the real path (spec file → grid → SQLite plan → cohorts → Piscina threads →
 * SQLite) with runSweep, as `focal-sweep run` does, timing it.
 *
 * The worker pool is started and warmed (each thread loads tfjs and its backend and compiles its hot
 * code by training one throw-away cohort) inside the executor factory that runSweep calls, and that
 * warm-up is timed on its own: it is a fixed start-up cost of every run (a second or two here), not
 * a per-trial cost.
 * Both the all-in wall time and the wall time without the warm-up are reported.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planCohorts } from '../dist/scheduler/cohort.js';
import { expandGrid } from '../dist/scheduler/grid.js';
import { LocalExecutor, localExecutors } from '../dist/scheduler/local-executor.js';
import { runSweep } from '../dist/scheduler/run.js';
import { DEFAULT_COHORT_SIZE, parseSpec } from '../dist/scheduler/spec.js';

/**
 * Start a pool of `threads` workers and warm every thread up: each trains one cohort of the sweep's
 * own first trials (default cohort size, at most one epoch), so that tfjs is loaded and the hot code
 * is compiled for the sweep's shapes. Returns the pool and how long that took.
 */
export async function warmExecutor(threads, specText) {
  const t0 = performance.now();
  const executor = new LocalExecutor({ threads });
  const first = expandGrid(parseSpec(specText, 'warm.yaml'))
    .trials.slice(0, DEFAULT_COHORT_SIZE)
    .map((t) => ({
      ...t,
      key: `warm-${t.key}`,
      config: { ...t.config, train: { ...t.config.train, epochs: Math.min(1, t.config.train.epochs), eval_every: 1 } },
    }));
  // one cohort per thread, all at once, so that every thread initialises
  const cohorts = Array.from({ length: threads }, () => planCohorts(first, { cohortSize: first.length, workers: 1, backend: 'auto' })[0]);
  await Promise.all(cohorts.map((c) => executor.run(c, new AbortController().signal)));
  return { executor, warmMs: performance.now() - t0 };
}

/**
 * Run `specText` once into a fresh database in `dir`. Returns wall times (ms), the warm-up, the
 * summary, and the database path.
 */
export async function timedSweep({ specText, dir, name = 'sweep', threads = 'auto', warm = true }) {
  const specFile = join(dir, `${name}.yaml`);
  const db = join(dir, `${name}.db`);
  writeFileSync(specFile, specText);
  let warmMs = 0;
  let elu0 = null;
  let cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const summary = await runSweep({
    specFile,
    db,
    workers: threads,
    progress: 'none',
    out: { write: () => true },
    executor: warm
      ? localExecutors(async (n) => {
          const w = await warmExecutor(n, specText);
          warmMs = w.warmMs;
          elu0 = performance.eventLoopUtilization();
          cpu0 = process.cpuUsage();
          return w.executor;
        })
      : undefined,
  });
  const wallMs = performance.now() - t0;
  // after the pool start-up: main thread (scheduler) busy time, and CPU time of the whole process
  // (all threads), which says how many cores the run really got on a shared machine
  const mainBusyMs = elu0 ? performance.eventLoopUtilization(elu0).active : NaN;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  if (summary.complete !== summary.planned) throw new Error(`${name}: ${summary.complete} of ${summary.planned} trials complete (${summary.failed} failed)`);
  const workMs = wallMs - warmMs;
  return { wallMs, warmMs, workMs, mainBusyMs, cpuMs, coresUsed: cpuMs / workMs, summary, db };
}

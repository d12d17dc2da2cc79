/**
 * 1. Orchestration overhead per trial: a sweep whose trials train for zero epochs on a tiny dataset
 * (40 samples, 2 features, a 2-4-1 MLP), through the real path (spec file, grid, SQLite plan,
 * cohorts of the DEFAULT cohort size, the Piscina pool, SQLite results), at 1,000 and 10,000
 * trials. What is left per trial is the engine's own work: grid expansion and keys, planning rows,
 * cohort payloads, data generation, final evaluation with metrics and the 64×64 decision grid,
 * structured clone back, and recording the result, grid and test points in SQLite.
 *
 *   node bench/overhead.mjs [--runs 3] [--sizes 1000,10000]
 */
import { DEFAULT_COHORT_SIZE } from '../dist/scheduler/spec.js';
import { flags, isMain, log, stats, tempDir } from './lib.mjs';
import { timedSweep } from './sweep.mjs';

const LOSSES = `    - bce
    - weighted_bce: { alpha: [inverse] }
    - focal: { gamma: [1, 2], alpha: [none, 0.25, 0.75, inverse] }`; // 10 loss settings

export function overheadSpec(trials) {
  const seeds = Math.ceil(trials / 10);
  return `name: overhead-${trials}
# zero epochs on a tiny dataset: what is left is the engine's per-trial work
data: { generator: classification, samples: 40, features: 2, imbalance: 0.25, test_fraction: 0.25 }
model: { hidden: [4] }
train: { epochs: 0, batch_size: 32 }
grid:
  seed: [${Array.from({ length: seeds }, (_, i) => i + 1).join(', ')}]
  loss:
${LOSSES}
`;
}

/**
 * A sweep costs F + N·c: a fixed part F (pool start-up, which loads tfjs in every thread; DB
 * creation; first-cohort warm-up; teardown) and c per trial. Each round runs a 10-trial sweep, then
 * each size; the pool start-up is timed inside every run (sweep.mjs), the rest of F is what the
 * 10-trial sweep spends beyond its start-up. Reported per size: c = (wall − start-up − F')/N, the
 * all-in wall/N, and F.
 */
export async function measureOverhead({ sizes = [1000, 10000], runs = 3, fixedTrials = 10 } = {}) {
  const per = Object.fromEntries(sizes.map((n) => [n, { perTrialMs: [], allInPerTrialMs: [], wallMs: [] }]));
  const fixed = { startupMs: [], otherMs: [] };
  const sweep = async (n) => {
    const { dir, cleanup } = tempDir();
    try {
      const res = await timedSweep({ specText: overheadSpec(n), dir, name: `overhead-${n}` });
      if (res.summary.complete !== n) throw new Error(`overhead: expected ${n} trials, ran ${res.summary.complete}`);
      return res;
    } finally {
      cleanup();
    }
  };
  for (let r = 0; r < runs; r++) {
    // the sizes alternate within a round so that they see the same machine conditions
    const f = await sweep(fixedTrials);
    const other = f.workMs; // ~10 trials' own work is negligible next to F
    fixed.startupMs.push(f.warmMs);
    fixed.otherMs.push(other);
    for (const n of sizes) {
      const res = await sweep(n);
      const c = (res.workMs - other) / n;
      per[n].perTrialMs.push(c);
      per[n].allInPerTrialMs.push(res.wallMs / n);
      per[n].wallMs.push(res.wallMs);
      log(
        `overhead ${n} trials: ${(res.wallMs / 1000).toFixed(1)} s wall (pool start-up ${(res.warmMs / 1000).toFixed(2)} s, other fixed ${(other / 1000).toFixed(2)} s) → ${c.toFixed(3)} ms/trial`,
      );
    }
  }
  const out = { cohortSize: DEFAULT_COHORT_SIZE, fixed: { startupMs: stats(fixed.startupMs), otherMs: stats(fixed.otherMs) }, sizes: {} };
  for (const n of sizes) out.sizes[n] = Object.fromEntries(Object.entries(per[n]).map(([k, v]) => [k, stats(v)]));
  if (sizes.length >= 2) {
    const [a, b] = [sizes[0], sizes[sizes.length - 1]];
    out.flatness = { from: a, to: b, ratio: out.sizes[b].perTrialMs.median / out.sizes[a].perTrialMs.median };
  }
  return out;
}

if (isMain(import.meta.url)) {
  const f = flags();
  const res = await measureOverhead({ runs: Number(f.runs ?? 3), sizes: f.sizes ? String(f.sizes).split(',').map(Number) : undefined });
  console.log(JSON.stringify(res));
}

/**
 * 3. Thread scaling: trials per second of the same sweep (768 real trials, quickstart-like: 2-D,
 * 2-16-16-1, 1,000 samples, 20 epochs, batch 64: 24 cohorts of 32 whatever the thread count; long
 * enough, ~20 s on one thread, for V8's compiler to settle) with
 * 1, 2, … worker threads up to the core count, through the real path. Pool start-up (each thread
 * loading tfjs and training one warm-up cohort) is timed separately and left out of trials/s; the
 * thread counts alternate within a round and the scaling is the ratio within a round. Also
 * reported: how many cores the process kept busy (its CPU time / wall time), since the machine
 * is shared and V8 compiles hot code on background threads for the first seconds of a pool.
 *
 *   node bench/threads.mjs [--runs 3] [--threads 1,2]
 */
import { availableParallelism } from 'node:os';
import { flags, isMain, log, stats, tempDir } from './lib.mjs';
import { timedSweep } from './sweep.mjs';

export const THREADS_TRIALS = 768;

export function threadsSpec(seeds = 48) {
  return `name: threads
data: { generator: classification, samples: 1000, features: 2, class_sep: 1.0, flip_y: 0.01, test_fraction: 0.25 }
model: { hidden: [16, 16] }
train: { epochs: 20, batch_size: 64, learning_rate: 0.01 }
grid:
  imbalance: ["90:10", "95:5"]
  seed: [${Array.from({ length: seeds }, (_, i) => i + 1).join(', ')}]
  loss:
    - bce
    - weighted_bce: { alpha: [inverse] }
    - focal: { gamma: [1, 2, 5], alpha: [none, 0.25] }
`; // 2 × 48 × 8 = 768 trials
}

export async function measureThreads({ threads, runs = 3 } = {}) {
  const cores = availableParallelism();
  const counts = threads ?? [...new Set([1, 2, ...[4, 8, 16].filter((t) => t <= cores), cores])].filter((t) => t <= Math.max(2, cores)).sort((a, b) => a - b);
  const per = Object.fromEntries(counts.map((t) => [t, { trialsPerSec: [], scaling: [], allInTrialsPerSec: [], startupMs: [], coresUsed: [] }]));
  for (let r = 0; r < runs; r++) {
    let base = NaN;
    for (const t of counts) {
      const { dir, cleanup } = tempDir();
      try {
        const res = await timedSweep({ specText: threadsSpec(), dir, name: `threads-${t}`, threads: t });
        const tps = res.summary.complete / (res.workMs / 1000);
        if (t === counts[0]) base = tps;
        per[t].trialsPerSec.push(tps);
        per[t].scaling.push(tps / base);
        per[t].allInTrialsPerSec.push(res.summary.complete / (res.wallMs / 1000));
        per[t].startupMs.push(res.warmMs);
        per[t].coresUsed.push(res.coresUsed);
        log(
          `threads ${t}: ${res.summary.complete} trials in ${(res.workMs / 1000).toFixed(2)} s after a ${(res.warmMs / 1000).toFixed(2)} s pool start-up → ${tps.toFixed(1)} trials/s (×${(tps / base).toFixed(2)}), ${res.coresUsed.toFixed(2)} cores busy`,
        );
      } finally {
        cleanup();
      }
    }
  }
  return {
    cores,
    trials: THREADS_TRIALS,
    byThreads: Object.fromEntries(counts.map((t) => [t, Object.fromEntries(Object.entries(per[t]).map(([k, v]) => [k, stats(v)]))])),
  };
}

if (isMain(import.meta.url)) {
  const f = flags();
  const res = await measureThreads({ runs: Number(f.runs ?? 3), threads: f.threads ? String(f.threads).split(',').map(Number) : undefined });
  console.log(JSON.stringify(res));
}

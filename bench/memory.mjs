/**
 * 5. Memory: a worker's resident set and tfjs tensors after 100 and after 1,000 trials. This process
 * plays the worker: it calls trainCohort (the function each Piscina thread runs) on cohorts of the
 * default size, one after another, on the wasm backend; small real trials (2-D, 400 samples,
 * 2-16-16-1, 3 epochs, every epoch evaluated, decision grids). The cohorts are cut so that exactly
 * 100 and 1,000 trials are done at the two checkpoints. Measured after a full GC (--expose-gc).
 *
 *   node --expose-gc bench/memory.mjs
 */
import * as tf from '@tensorflow/tfjs';
import { cohortKey } from '../dist/scheduler/cohort.js';
import { expandGrid } from '../dist/scheduler/grid.js';
import { DEFAULT_COHORT_SIZE, parseSpec } from '../dist/scheduler/spec.js';
import { COHORT_FORMAT } from '../dist/types.js';
import { trainCohort } from '../dist/worker/task.js';
import { isMain, log } from './lib.mjs';

function spec(trials) {
  return `name: memory
data: { generator: classification, samples: 400, features: 2, test_fraction: 0.25 }
model: { hidden: [16, 16] }
train: { epochs: 3, batch_size: 64 }
grid:
  seed: [${Array.from({ length: Math.ceil(trials / 10) }, (_, i) => i + 1).join(', ')}]
  loss:
    - bce
    - weighted_bce: { alpha: [inverse] }
    - focal: { gamma: [1, 2], alpha: [none, 0.25, 0.75, inverse] }
`;
}

function snapshot(trials) {
  global.gc?.();
  global.gc?.();
  const m = process.memoryUsage();
  const t = tf.memory();
  return {
    trials,
    rssMb: m.rss / 2 ** 20,
    heapUsedMb: m.heapUsed / 2 ** 20,
    externalMb: m.external / 2 ** 20,
    tensors: t.numTensors,
    tensorMb: t.numBytes / 2 ** 20,
  };
}

export async function measureMemory({ checkpoints = [100, 1000], cohortSize = DEFAULT_COHORT_SIZE } = {}) {
  if (!global.gc) throw new Error('run with node --expose-gc');
  const all = expandGrid(parseSpec(spec(checkpoints[checkpoints.length - 1]), 'memory.yaml')).trials;
  const snaps = [];
  let done = 0;
  let tensorsMax = 0;
  const t0 = performance.now();
  for (const cp of checkpoints) {
    while (done < cp) {
      const trials = all.slice(done, Math.min(cp, done + cohortSize));
      const results = await trainCohort({ format: COHORT_FORMAT, key: cohortKey(trials), shape: 'memory', backend: 'wasm', trials }, { checkLeaks: true });
      if (results.some((r) => r.state !== 'complete')) throw new Error('memory: a trial failed');
      done += trials.length;
      tensorsMax = Math.max(tensorsMax, tf.memory().numTensors);
    }
    snaps.push(snapshot(done));
    log(`memory after ${done} trials: rss ${snaps.at(-1).rssMb.toFixed(0)} MB, heap ${snaps.at(-1).heapUsedMb.toFixed(0)} MB, ${snaps.at(-1).tensors} tensors`);
  }
  const [first, last] = [snaps[0], snaps[snaps.length - 1]];
  return { cohortSize, backend: tf.getBackend(), snapshots: snaps, rssRatio: last.rssMb / first.rssMb, tensorsMax, seconds: (performance.now() - t0) / 1000 };
}

if (isMain(import.meta.url)) {
  console.log(JSON.stringify(await measureMemory()));
}

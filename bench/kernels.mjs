/**
 * Profiling aid (not part of npm run bench): the tfjs kernels of one epoch of the batched MLP, with
 * their count and time, grouped by kernel and input shapes — what to look at before changing
 * src/worker/model.ts. Kernel times come from tf.profile and include its own overhead.
 *
 *   npm run build && node bench/kernels.mjs [--backend wasm] [--k 32] [--arch 2-16-16-1] [--top 25]
 *
 * For JS-side costs, run any benchmark under `node --cpu-prof`.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../dist/worker/backend.js';
import { BatchedMlp, fit } from '../dist/worker/model.js';
import { flags } from './lib.mjs';

const f = flags();
await initBackend(f.backend ?? 'wasm');
const K = Number(f.k ?? 32);
const [d, ...hidden] = String(f.arch ?? '2-16-16-1')
  .split('-')
  .map(Number)
  .slice(0, -1);
const n = 512;
const members = Array.from({ length: K }, (_, k) => ({
  seed: k + 1,
  xTrain: Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 0.37 + k)),
  yTrain: Float32Array.from({ length: n }, (_, i) => (i % 10 === 0 ? 1 : 0)),
  gamma: k % 2 ? 2 : 0,
  positiveWeight: 0.25,
  negativeWeight: 0.75,
  learningRate: 0.01,
  momentum: 0,
  init: 'he',
}));
const model = new BatchedMlp(members, d, { hidden, activation: 'relu' }, { optimizer: 'adam', epochs: 1, batch_size: 64 });
fit(model, { nTrain: n, nFeatures: d, evalEvery: 1 });
const t0 = performance.now();
const info = await tf.profile(() => {
  fit(model, { nTrain: n, nFeatures: d, evalEvery: 1 });
});
const wall = performance.now() - t0;
const steps = n / 64;
const agg = new Map();
let total = 0;
for (const k of info.kernels) {
  const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
  const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  total += ms;
  const a = agg.get(key) ?? { n: 0, ms: 0 };
  a.n++;
  a.ms += ms;
  agg.set(key, a);
}
console.log(
  `${tf.getBackend()} ${model.layout} layout, K=${K}, ${f.arch ?? '2-16-16-1'}: ${(info.kernels.length / steps).toFixed(0)} kernels per step, ${((total / steps) * 1000).toFixed(0)} us of kernel time per step (${((wall / steps) * 1000).toFixed(0)} us wall while profiling)`,
);
console.log('   ms/step  calls/step  kernel [input shapes]');
for (const [k, v] of [...agg.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(f.top ?? 25))) {
  console.log(`${(v.ms / steps).toFixed(3).padStart(10)}  ${(v.n / steps).toFixed(1).padStart(10)}  ${k}`);
}
model.dispose();

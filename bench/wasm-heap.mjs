/**
 * Where a cohort stops fitting a wasm training thread (not part of npm run bench; ~10 min on 2 cores):
 * for two shapes, cohorts of growing K train one epoch each in a fresh process (a wasm heap never
 * shrinks), and the table shows memory.ts's estimate beside the heap reached and whether it trained
 * (test/thread-memory.test.ts compares the estimate with tf.profile's peak on small shapes). THREAD_MEMORY_BUDGET in src/worker/memory.ts is chosen from this.
 *
 *   npm run build && node bench/wasm-heap.mjs
 */
import { fileURLToPath } from 'node:url';
import { isMain, log, runNode } from './lib.mjs';

const SHAPES = [
  // activations dominate: 20-512-512-1, batch 256
  { d: 20, hidden: [512, 512], n: 400, batch: 256, ks: [64, 96, 128, 160, 192] },
  // parameters dominate: 2-4096-4096-1
  { d: 2, hidden: [4096, 4096], n: 400, batch: 256, ks: [1, 2, 3] },
];

async function child([k, d, hidden, n, batch]) {
  const tf = await import('@tensorflow/tfjs');
  const { initBackend } = await import('../dist/worker/backend.js');
  const { trainCohort } = await import('../dist/worker/task.js');
  const { expandGrid } = await import('../dist/scheduler/grid.js');
  const { parseSpec } = await import('../dist/scheduler/spec.js');
  const { datasetShape } = await import('../dist/worker/data.js');
  const { cohortPeakBytes } = await import('../dist/worker/memory.js');
  await initBackend('wasm');
  const seeds = Array.from({ length: k }, (_, i) => i).join(', ');
  const yaml = `name: h\ndata: { samples: ${n}, features: ${d} }\nmodel: { hidden: [${hidden}] }\ntrain: { epochs: 1, batch_size: ${batch} }\ngrid:\n  seed: [${seeds}]\n  loss: [bce]\n`;
  const trials = expandGrid(parseSpec(yaml, 'h.yaml')).trials;
  const c = trials[0].config;
  const s = datasetShape(c.data);
  const estimate = cohortPeakBytes({
    members: k,
    features: d,
    hidden: c.model.hidden,
    activation: c.model.activation,
    batch,
    nTrain: s.nTrain,
    nVal: s.nVal,
    nTest: s.nTest,
  });
  let error = null;
  const t0 = performance.now();
  try {
    await trainCohort({ format: 1, key: 'h', shape: 'h', backend: 'wasm', trials });
  } catch (e) {
    error = String(e.message).split('\n')[0];
  }
  const seconds = (performance.now() - t0) / 1000;
  const heap = tf.backend().wasm.HEAPU8.length;
  console.log(JSON.stringify({ estimate, heap, seconds, error }));
  // a failed cohort may leave tfjs rejecting in the background: the answer is printed, stop here
  process.exit(0);
}

async function main() {
  const GiB = 2 ** 30;
  const rows = [];
  for (const s of SHAPES) {
    for (const k of s.ks) {
      const arch = [s.d, ...s.hidden, 1].join('-');
      log(`${arch} batch ${s.batch}, K = ${k}`);
      const r = await runNode(fileURLToPath(import.meta.url), ['--child', JSON.stringify([k, s.d, s.hidden.join(', '), s.n, s.batch])]);
      rows.push({ arch, batch: s.batch, k, ...r });
    }
  }
  console.log('| shape | K | estimate | wasm heap reached | trained |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    const g = (x) => (x === null ? '–' : `${(x / GiB).toFixed(2)} GiB`);
    console.log(
      `| ${r.arch}, batch ${r.batch} | ${r.k} | ${g(r.estimate)} | ${g(r.heap)} | ${r.error ? `no: ${r.error}` : `yes (${r.seconds.toFixed(0)} s)`} |`,
    );
  }
}

if (isMain(import.meta.url)) {
  const i = process.argv.indexOf('--child');
  if (i > 0) await child(JSON.parse(process.argv[i + 1]));
  else await main();
}

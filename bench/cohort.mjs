/**
 * 2. Cohort speedup: training throughput of the batched MLP for cohort sizes K, on one backend, in
 * one thread (the worker's own setting), through fit() — the worker's training loop with its
 * per-epoch shuffling and loss read-back — on each trial's own data from the project's generator.
 *
 * Reported per K: trial-samples/s = training samples per second summed over the cohort's K trials
 * (the per-trial cost of training: a cohort of 32 at 800k trial-samples/s trains each of its trials
 * at 25k samples/s), and the speedup over K = 1, measured in the same round (rounds alternate K).
 *
 *   node bench/cohort.mjs --backend wasm [--ks 1,4,8,16,32,64] [--rounds 3] [--ms 400]
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../dist/worker/backend.js';
import { makeDataset } from '../dist/worker/data.js';
import { BatchedMlp, chooseLayout, fit } from '../dist/worker/model.js';
import { flags, isMain, log, stats } from './lib.mjs';

export const ARCHS = [
  { name: '2-16-16-1', features: 2, hidden: [16, 16] },
  { name: '20-64-64-1', features: 20, hidden: [64, 64] },
];
const BATCH = 64;
/** 768 training samples (12 steps of 64 per epoch); 192 (3 steps) where a step is slow (cpu, 20-64-64-1). */
const samplesFor = (backend, arch) => (backend === 'cpu' && arch.hidden[0] > 16 ? 256 : 1024);

function members(arch, K, samples) {
  return Array.from({ length: K }, (_, k) => {
    const data = {
      generator: 'classification',
      samples,
      features: arch.features,
      informative: Math.min(arch.features, 4),
      redundant: 0,
      clusters_per_class: 1,
      class_sep: 1,
      flip_y: 0.01,
      imbalance: 0.1,
      test_fraction: 0.25,
      validation_fraction: 0,
      standardize: true,
      seed: null,
    };
    const ds = makeDataset(data, 1 + k);
    const gamma = [0, 0.5, 2, 5][k % 4];
    const alpha = k % 3 === 0 ? null : 0.25 + 0.25 * (k % 3);
    return {
      seed: 1 + k,
      xTrain: ds.xTrain,
      yTrain: ds.yTrain,
      nTrain: ds.nTrain,
      gamma,
      positiveWeight: alpha ?? 1,
      negativeWeight: alpha === null ? 1 : 1 - alpha,
      learningRate: 0.01,
      momentum: 0,
      init: 'he',
    };
  });
}

/** Trial-samples per second of a cohort of K, after one warm-up epoch, over at least `ms` and 1 epoch. */
function throughput(arch, all, K, ms) {
  const ms_ = all.slice(0, K);
  const n = ms_[0].nTrain;
  const model = new BatchedMlp(ms_, arch.features, { hidden: arch.hidden, activation: 'relu' }, { optimizer: 'adam', epochs: 1, batch_size: BATCH });
  try {
    fit(model, { nTrain: n, nFeatures: arch.features, evalEvery: 1 });
    let epochs = 0;
    const t0 = performance.now();
    while (epochs < 1 || performance.now() - t0 < ms) {
      fit(model, { nTrain: n, nFeatures: arch.features, evalEvery: 1 });
      epochs++;
    }
    const secs = (performance.now() - t0) / 1000;
    return { trialSamples: (K * n * epochs) / secs, layout: model.layout };
  } finally {
    model.dispose();
  }
}

export async function measureCohort({ backend = 'wasm', ks = [1, 4, 8, 16, 32, 64], rounds = 3, ms = 400, archs = ARCHS } = {}) {
  const used = await initBackend(backend);
  const out = { backend: used, layout: chooseLayout(), batch: BATCH, archs: {} };
  for (const arch of archs) {
    const all = members(arch, Math.max(...ks), samplesFor(used, arch));
    const per = Object.fromEntries(ks.map((k) => [k, { trialSamplesPerSec: [], speedup: [] }]));
    // warm-up (JIT, wasm memory growth) so that the first K measured is not penalised
    for (const K of ks) throughput(arch, all, K, 100);
    for (let r = 0; r < rounds; r++) {
      let base = NaN;
      for (const K of ks) {
        const { trialSamples } = throughput(arch, all, K, ms);
        if (K === ks[0]) base = trialSamples;
        per[K].trialSamplesPerSec.push(trialSamples);
        per[K].speedup.push(trialSamples / base);
      }
      log(
        `cohort ${used} ${arch.name} round ${r + 1}: ${ks.map((k) => `K=${k} ${Math.round(per[k].trialSamplesPerSec[r] / 1000)}k`).join(', ')} trial-samples/s`,
      );
    }
    out.archs[arch.name] = {
      nTrain: all[0].nTrain,
      byK: Object.fromEntries(ks.map((k) => [k, { trialSamplesPerSec: stats(per[k].trialSamplesPerSec), speedup: stats(per[k].speedup) }])),
    };
  }
  out.tensorsLeft = tf.memory().numTensors;
  return out;
}

if (isMain(import.meta.url)) {
  const f = flags();
  const res = await measureCohort({
    backend: f.backend ?? 'wasm',
    ks: f.ks ? String(f.ks).split(',').map(Number) : undefined,
    rounds: f.rounds ? Number(f.rounds) : undefined,
    ms: f.ms ? Number(f.ms) : undefined,
    archs: f.arch ? ARCHS.filter((a) => String(f.arch).split(',').includes(a.name)) : undefined,
  });
  console.log(JSON.stringify(res));
}

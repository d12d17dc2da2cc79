/**
 * The plain loop a user would write by hand: for each trial, one after another in one thread, a
 * tf.sequential MLP trained with model.fit on the same data (the project's generator, same seed and
 * split), the same epochs, batch size, learning rate and Adam, BCE (tf.losses.sigmoidCrossEntropy)
 * or, for weighted BCE and focal variants, the project's focal loss as a custom loss function; then
 * the same test metrics. Same backend as focal-sweep (wasm, one thread). The model and its
 * optimizer are disposed after each trial.
 *
 *   node bench/baseline.mjs --spec sweeps/quickstart.yaml [--max 36] [--backend wasm]
 *
 * --max n trains about n evenly spread trials of the grid (see pickTrials) instead of all; per-trial
 * times are what the end-to-end comparison extrapolates from.
 */
import * as tf from '@tensorflow/tfjs';
import { expandGrid } from '../dist/scheduler/grid.js';
import { loadSpec } from '../dist/scheduler/spec.js';
import { initBackend } from '../dist/worker/backend.js';
import { makeDataset } from '../dist/worker/data.js';
import { focalLoss, resolveLoss } from '../dist/worker/losses.js';
import { classificationMetrics } from '../dist/worker/metrics.js';
import { flags, isMain, log } from './lib.mjs';

/** Train one trial the plain way; returns its wall time and test metrics. */
export async function trainPlain(trial) {
  const c = trial.config;
  const t0 = performance.now();
  const ds = makeDataset(c.data, c.seed);
  const loss = resolveLoss(c.loss, ds.trainPositiveFraction);
  const model = tf.sequential();
  const init = c.model.init === 'he' ? 'heNormal' : 'glorotUniform';
  for (const [i, units] of c.model.hidden.entries()) {
    model.add(tf.layers.dense({ units, activation: c.model.activation, kernelInitializer: init, ...(i === 0 ? { inputShape: [ds.nFeatures] } : {}) }));
  }
  model.add(tf.layers.dense({ units: 1, kernelInitializer: init })); // logits
  const optimizer = tf.train.adam(c.train.learning_rate);
  const lossFn =
    c.loss.kind === 'bce'
      ? (yTrue, logits) => tf.losses.sigmoidCrossEntropy(yTrue, logits)
      : (yTrue, logits) => focalLoss(yTrue, logits, { gamma: loss.gamma, alpha: loss.alphaUsed });
  model.compile({ optimizer, loss: lossFn });
  const x = tf.tensor2d(ds.xTrain, [ds.nTrain, ds.nFeatures]);
  const y = tf.tensor2d(ds.yTrain, [ds.nTrain, 1]);
  await model.fit(x, y, { epochs: c.train.epochs, batchSize: c.train.batch_size, shuffle: true, verbose: 0 });
  const xt = tf.tensor2d(ds.xTest, [ds.nTest, ds.nFeatures]);
  const out = model.predict(xt);
  const logits = out.dataSync();
  const metrics = classificationMetrics(ds.yTest, logits, c.train.threshold);
  tf.dispose([x, y, xt, out]);
  model.dispose();
  optimizer.dispose();
  return { key: trial.key, ms: performance.now() - t0, minority_f1: metrics.minority_f1, pr_auc: metrics.pr_auc };
}

const gcd = (a, b) => (b === 0 ? a : gcd(b, a % b));

/**
 * Every k-th trial of the grid, k ≥ trials/max and coprime with the length of the grid's fastest
 * axis, so that the subset still covers every value of that axis (the loss settings, in the
 * quickstart) and the ratios and seeds.
 */
export function pickTrials(trials, innermost, max) {
  if (!max || trials.length <= max) return { every: 1, picked: trials };
  let every = Math.ceil(trials.length / max);
  while (gcd(every, innermost) !== 1) every++;
  return { every, picked: trials.filter((_, i) => i % every === 0) };
}

export async function runBaseline({ spec = 'sweeps/quickstart.yaml', max = 0, backend = 'wasm' } = {}) {
  const used = await initBackend(backend);
  const s = loadSpec(spec);
  const trials = expandGrid(s).trials;
  const { every, picked } = pickTrials(trials, s.axes[s.axes.length - 1]?.values.length ?? 1, max);
  const tensorsBefore = tf.memory().numTensors;
  const results = [];
  for (const t of picked) {
    const r = await trainPlain(t);
    results.push(r);
    log(`baseline ${results.length}/${picked.length}: ${t.setting} seed ${t.config.seed}: ${(r.ms / 1000).toFixed(1)} s, F1 ${r.minority_f1.toFixed(3)}`);
  }
  return { backend: used, totalTrials: trials.length, trained: picked.length, every, results, tensorsLeaked: tf.memory().numTensors - tensorsBefore };
}

if (isMain(import.meta.url)) {
  const f = flags();
  const res = await runBaseline({ spec: f.spec, max: f.max ? Number(f.max) : 0, backend: f.backend });
  console.log(JSON.stringify(res));
}

/**
 * 8. The answer's costs and savings:
 *
 * - threshold tuning: the exact search over a trial's distinct validation scores, and reading the
 *   test split at the tuned cut, per trial, on the real logits of a trained quickstart cohort; beside
 *   the fixed-threshold evaluation it adds to and the cohort's training time per trial;
 * - early stopping: the quickstart (sweeps/quickstart.yaml) run twice in this process, without and
 *   with train.early_stopping {monitor: pr_auc, patience: 5}: wall time, epochs trained, and the mean
 *   test PR-AUC and tuned minority F1 of both runs (what the time saving costs);
 * - the remedies' losses: a cohort of 32 trials of one loss (quickstart data at 95:5 without label
 *   noise, so every seed has the same resampled size; 30 epochs) per
 *   loss kind and resampling mode, its training time per trial against BCE's.
 *
 *   node bench/answer.mjs [--rounds 3] [--skip-early-stopping]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planCohorts } from '../dist/scheduler/cohort.js';
import { expandGrid } from '../dist/scheduler/grid.js';
import { runSweep } from '../dist/scheduler/run.js';
import { parseSpec } from '../dist/scheduler/spec.js';
import { openDatabase } from '../dist/store/store.js';
import { initBackend } from '../dist/worker/backend.js';
import { makeDataset } from '../dist/worker/data.js';
import { evaluateSplit } from '../dist/worker/evaluate.js';
import { labelMetricsAt } from '../dist/worker/metrics.js';
import { BatchedMlp, fit } from '../dist/worker/model.js';
import { trainCohort } from '../dist/worker/task.js';
import { tuneThreshold } from '../dist/worker/threshold.js';
import { flags, isMain, log, ROOT, stats, tempDir } from './lib.mjs';

const QUICKSTART = join(ROOT, 'sweeps', 'quickstart.yaml');

/** Median, min and max in ms of `runs` calls of fn (after a warm-up call). */
function time(fn, runs) {
  fn();
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return stats(ms);
}

/** Threshold tuning per trial on real validation logits of the first quickstart cohort. */
async function tuningCost(runs) {
  await initBackend('wasm');
  const spec = parseSpec(readFileSync(QUICKSTART, 'utf8'), QUICKSTART);
  const [cohort] = planCohorts(expandGrid(spec).trials, { cohortSize: 32, workers: 1, backend: 'wasm' });
  const trials = cohort.trials;
  const datasets = trials.map((t) => makeDataset(t.config.data, t.config.seed));
  const d0 = datasets[0];
  const t0 = performance.now();
  const model = new BatchedMlp(
    trials.map((t, i) => ({
      seed: t.config.seed,
      xTrain: datasets[i].xTrain,
      yTrain: datasets[i].yTrain,
      gamma: 0,
      positiveWeight: 1,
      negativeWeight: 1,
      learningRate: t.config.train.learning_rate,
      momentum: 0,
      init: t.config.model.init,
    })),
    d0.nFeatures,
    trials[0].config.model,
    trials[0].config.train,
  );
  fit(model, { nTrain: d0.nTrain, nFeatures: d0.nFeatures, evalEvery: 1000 });
  const trainMsPerTrial = (performance.now() - t0) / trials.length;
  const zVal = model.predictLayout(
    model.layoutInput(
      datasets.map((d) => d.xVal),
      d0.nVal,
    ),
    d0.nVal,
  );
  const zTest = model.predictLayout(
    model.layoutInput(
      datasets.map((d) => d.xTest),
      d0.nTest,
    ),
    d0.nTest,
  );
  model.dispose();
  const K = trials.length;
  const val = (k) => zVal.subarray(k * d0.nVal, (k + 1) * d0.nVal);
  const test = (k) => zTest.subarray(k * d0.nTest, (k + 1) * d0.nTest);
  const search = time(() => {
    for (let k = 0; k < K; k++) tuneThreshold(datasets[k].yVal, val(k), 'minority_f1');
  }, runs);
  const tuned = trials.map((_, k) => tuneThreshold(datasets[k].yVal, val(k), 'minority_f1'));
  // what the tuned columns add to a trial's evaluation: the test split read once more, at its cut
  const readTuned = time(() => {
    for (let k = 0; k < K; k++) labelMetricsAt(datasets[k].yTest, test(k), { logit: tuned[k].logit });
  }, runs);
  const fixedOnly = time(() => {
    for (let k = 0; k < K; k++) evaluateSplit(datasets[k].yTest, test(k), 0.5, null);
  }, runs);
  const per = (s) => ({ ...s, median: s.median / K, min: s.min / K, max: s.max / K, runs: s.runs.map((v) => v / K) });
  return {
    trials: K,
    nVal: d0.nVal,
    nTest: d0.nTest,
    searchMsPerTrial: per(search),
    readTunedMsPerTrial: per(readTuned),
    fixedEvalMsPerTrial: per(fixedOnly),
    trainMsPerTrial,
  };
}

/** The quickstart without and with early stopping, one after the other in this process. */
async function earlyStopping() {
  const base = readFileSync(QUICKSTART, 'utf8');
  const withStopping = base.replace(/^train:\n/m, 'train:\n  early_stopping: { monitor: pr_auc, patience: 5 }\n');
  if (withStopping === base) throw new Error('early stopping: could not add train.early_stopping to the quickstart');
  const out = {};
  for (const [name, text] of [
    ['off', base],
    ['patience5', withStopping],
  ]) {
    const { dir, cleanup } = tempDir('fs-bench-es-');
    try {
      const file = join(dir, 'quickstart.yaml');
      writeFileSync(file, text);
      log(`early stopping: quickstart with early stopping ${name}`);
      const t0 = performance.now();
      const summary = await runSweep({ specFile: file, db: join(dir, 'q.db'), backend: 'wasm', progress: 'none', out: { write() {} } });
      const wallMs = performance.now() - t0;
      const db = openDatabase(join(dir, 'q.db'), { readonly: true });
      const r = db
        .prepare(
          `SELECT count(*) AS n, avg(COALESCE(stopped_epoch, 30)) AS epochs, avg(pr_auc) AS prAuc, avg(minority_f1_tuned) AS f1Tuned, avg(minority_f1) AS f1
           FROM trials WHERE state = 'complete'`,
        )
        .get();
      db.close();
      out[name] = { wallMs, complete: summary.complete, meanEpochs: r.epochs, meanPrAuc: r.prAuc, meanF1Tuned: r.f1Tuned, meanF1: r.f1 };
    } finally {
      cleanup();
    }
  }
  return out;
}

const LOSSES = [
  ['bce', 'bce'],
  ['weighted_bce', '{ weighted_bce: { alpha: [0.75] } }'],
  ['focal', '{ focal: { gamma: [2], alpha: [0.75] } }'],
  ['class_balanced', '{ class_balanced: { beta: [0.999], gamma: [0] } }'],
  ['logit_adjusted', '{ logit_adjusted: { tau: [1] } }'],
  ['poly1', '{ poly1: { epsilon: [1] } }'],
  ['oversample', 'bce', 'oversample'],
  ['undersample', 'bce', 'undersample'],
];

/** Training time per trial of a 32-trial cohort of each loss (and resampling mode), against BCE. */
async function lossCost(rounds) {
  const out = {};
  for (const [name, loss, resample] of LOSSES) {
    const yaml = `name: cost
data: { generator: classification, samples: 4000, features: 2, class_sep: 0.8, clusters_per_class: 2, flip_y: 0, test_fraction: 0.3, imbalance: "95:5"${resample ? `, resample: ${resample}` : ''} }
model: { hidden: [16, 16] }
train: { epochs: 30, batch_size: 64, learning_rate: 0.01 }
grid:
  seed: [${Array.from({ length: 32 }, (_, i) => i + 1).join(', ')}]
  loss: [${loss}]
`;
    const trials = expandGrid(parseSpec(yaml, 'cost.yaml')).trials;
    const cohorts = planCohorts(trials, { cohortSize: 32, workers: 1, backend: 'wasm' });
    const ms = [];
    for (let r = 0; r < rounds; r++) {
      let total = 0;
      for (const c of cohorts) {
        const results = await trainCohort(c);
        total += results[0].timings.train_ms;
      }
      ms.push(total / trials.length);
    }
    out[name] = {
      trainMsPerTrial: stats(ms),
      cohorts: cohorts.length,
      nTrain: (await import('../dist/worker/data.js')).datasetShape(trials[0].config.data).nTrain,
    };
    log(`loss cost: ${name} ${out[name].trainMsPerTrial.median.toFixed(1)} ms per trial`);
  }
  return out;
}

export async function measureAnswer({ rounds = 3, runs = 20, skipEarlyStopping = false } = {}) {
  const tuning = await tuningCost(runs);
  const losses = await lossCost(rounds);
  const early = skipEarlyStopping ? null : await earlyStopping();
  return { tuning, losses, earlyStopping: early };
}

if (isMain(import.meta.url)) {
  const f = flags();
  const result = await measureAnswer({ rounds: Number(f.rounds ?? 3), runs: Number(f.runs ?? 20), skipEarlyStopping: !!f['skip-early-stopping'] });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

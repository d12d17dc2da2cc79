/**
 * The worker entry: trainCohort(cohort) -> TrialResult[]. Piscina runs the default export on a
 * worker thread; distributed workers call the same function through their own pool.
 */

import { hostname } from 'node:os';
import { threadId } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { shortHash } from '../canonical.js';
import { BackendFailure, firstLine } from '../errors.js';
import { getOrCreate } from '../maps.js';
import { MAX_DATASET_POINTS } from '../result-check.js';
import type { Cohort, DatasetPoints, DecisionGrid, EpochPoint, Trial, TrialResult } from '../types.js';
import { initBackend } from './backend.js';
import { type Dataset, decisionGridPoints, makeDataset, standardizeRows } from './data.js';
import { resolveLoss } from './losses.js';
import { averagePrecision, classificationMetrics, focalLossFromLogits, logLossFromLogits } from './metrics.js';
import { BatchedMlp, fit, type MemberSpec } from './model.js';
import { checkCohort } from './payload.js';

/** Decision-region grid resolution for 2-D data (the coordinator stores up to MAX_GRID_RESOLUTION). */
const GRID_RESOLUTION = 64;

export interface TrainCohortOptions {
  /** Throw if tfjs holds more tensors after the cohort than before (tests). Default false. */
  checkLeaks?: boolean;
}

/**
 * Piscina entry point. A cohort whose backend failed leaves this thread's tfjs in an unknown state
 * (after a wasm out-of-memory the next cohort on it trained to garbage), so the thread ends itself:
 * the error, thrown uncaught, ends the thread and reaches Piscina as the thread's 'error', which
 * rejects this cohort with it and starts a fresh thread in its place. Returning the error instead
 * would let Piscina hand the thread its next cohort before it could exit.
 */
export default async function run(cohort: Cohort): Promise<TrialResult[]> {
  try {
    return await trainCohort(cohort);
  } catch (e) {
    if (!(e instanceof BackendFailure)) throw e;
    setImmediate(() => {
      throw e;
    });
    return new Promise<never>(() => {});
  }
}

/** Train a cohort of same-shape trials as one batched model and evaluate each trial. */
export async function trainCohort(cohort: Cohort, opts: TrainCohortOptions = {}): Promise<TrialResult[]> {
  checkCohort(cohort);
  const backend = await initBackend(cohort.backend);
  const tensorsBefore = tf.memory().numTensors;
  const worker = `${hostname()}/${process.pid}/${threadId}`;
  const t0 = performance.now();

  const trials = cohort.trials;
  const first = trials[0].config;
  // Trials that differ only in loss or training settings share their data: generate it once.
  const dataKeys = trials.map(datasetKey);
  const byKey = new Map<string, Dataset>();
  const datasets = trials.map((t, i) => {
    return getOrCreate(byKey, dataKeys[i], () => makeDataset(t.config.data, t.config.seed));
  });
  const d0 = datasets[0];
  datasets.forEach((ds, i) => {
    if (ds.nTrain !== d0.nTrain || ds.nVal !== d0.nVal || ds.nTest !== d0.nTest || ds.nFeatures !== d0.nFeatures) {
      throw new Error(`trial ${trials[i].key} has data of another shape than the rest of its cohort`);
    }
  });
  const losses = trials.map((t, i) => resolveLoss(t.config.loss, datasets[i].trainPositiveFraction));
  const members: MemberSpec[] = trials.map((t, i) => ({
    seed: t.config.seed,
    xTrain: datasets[i].xTrain,
    yTrain: datasets[i].yTrain,
    gamma: losses[i].gamma,
    positiveWeight: losses[i].positive,
    negativeWeight: losses[i].negative,
    learningRate: t.config.train.learning_rate,
    momentum: t.config.train.momentum ?? 0,
    init: t.config.model.init,
  }));
  const K = trials.length;
  const d = d0.nFeatures;
  // From here on an error comes from tfjs or the backend under it, not from the cohort's input.
  let model: BatchedMlp;
  try {
    model = new BatchedMlp(members, d, first.model, first.train);
  } catch (e) {
    throw asBackendFailure(e);
  }
  const results: TrialResult[] = [];
  let failure: BackendFailure | null = null;
  try {
    // evaluation split for curves: validation when there is one, else test
    const useVal = d0.nVal > 0;
    const nEval = useVal ? d0.nVal : d0.nTest;
    const xEval = model.layoutInput(
      datasets.map((ds) => (useVal ? ds.xVal : ds.xTest)),
      nEval,
    );
    let lastEval: Float32Array | null = null;
    const curves: EpochPoint[][] = trials.map(() => []);
    const setupMs = performance.now() - t0;

    const t1 = performance.now();
    fit(model, {
      nTrain: d0.nTrain,
      nFeatures: d,
      evalEvery: first.train.eval_every,
      onEpoch: (epoch, l) => {
        for (let k = 0; k < K; k++) curves[k].push({ epoch, train_loss: l[k] });
      },
      onEval: (epoch) => {
        const logits = model.predictLayout(xEval, nEval);
        lastEval = logits;
        for (let k = 0; k < K; k++) {
          const y = useVal ? datasets[k].yVal : datasets[k].yTest;
          const z = logits.subarray(k * nEval, (k + 1) * nEval);
          const point = curves[k][epoch - 1];
          if (z.some(Number.isNaN)) continue; // diverged: recorded as failed below
          point.eval_loss = focalLossFromLogits(y, z, members[k].gamma, members[k].positiveWeight, members[k].negativeWeight);
          point.eval_log_loss = logLossFromLogits(y, z);
          point.eval_pr_auc = averagePrecision(y, z);
        }
      },
    });
    const trainMs = performance.now() - t1;

    const t2 = performance.now();
    const nTest = d0.nTest;
    // the last epoch is always evaluated: without a validation split that was the test split
    const testLogits =
      !useVal && lastEval
        ? lastEval
        : model.predictLayout(
            model.layoutInput(
              datasets.map((ds) => ds.xTest),
              nTest,
            ),
            nTest,
          );
    const grids = d === 2 ? decisionGrids(model, dataKeys, datasets) : null;
    const points = new Map<string, DatasetPoints>();
    for (let k = 0; k < K; k++) {
      const t = trials[k];
      const ds = datasets[k];
      const z = testLogits.subarray(k * nTest, (k + 1) * nTest);
      const lastLoss = curves[k].length ? curves[k][curves[k].length - 1].train_loss : NaN;
      const divergedAt = curves[k].find((p) => !Number.isFinite(p.train_loss))?.epoch;
      const base = {
        key: t.key,
        backend,
        worker,
        alpha_used: losses[k].alphaUsed,
        train_positive_fraction: ds.trainPositiveFraction,
        n_train: ds.nTrain,
        n_test: ds.nTest,
        curves: curves[k],
        timings: { cohort_size: K, setup_ms: setupMs, train_ms: trainMs, eval_ms: 0 },
      };
      if (divergedAt !== undefined || z.some((v) => Number.isNaN(v))) {
        results.push({
          ...base,
          state: 'failed',
          error: `training diverged: the loss became ${divergedAt !== undefined ? `${curves[k][divergedAt - 1].train_loss} at epoch ${divergedAt}` : 'NaN'} (try a lower learning rate)`,
          metrics: null,
        });
        continue;
      }
      results.push({
        ...base,
        state: 'complete',
        metrics: { ...classificationMetrics(ds.yTest, z, t.config.train.threshold), final_train_loss: lastLoss },
        grid: grids?.[k],
        // one object per dataset: structured clone sends it once per cohort
        points: d === 2 ? (points.get(dataKeys[k]) ?? points.set(dataKeys[k], datasetPoints(dataKeys[k], ds)).get(dataKeys[k])) : undefined,
      });
    }
    const evalMs = performance.now() - t2;
    for (const r of results) r.timings.eval_ms = evalMs;
  } catch (e) {
    failure = asBackendFailure(e);
  }
  try {
    model.dispose();
  } catch (e) {
    // after a failure the heap may be corrupt: report the failure, not the failed clean-up
    failure ??= asBackendFailure(e);
  }
  if (failure) throw failure;
  const leaked = tf.memory().numTensors - tensorsBefore;
  if (opts.checkLeaks && leaked !== 0) throw new Error(`trainCohort leaked ${leaked} tensors`);
  return results;
}

/** An error of tfjs or its backend while a model exists, as the BackendFailure that retires the thread. */
function asBackendFailure(e: unknown): BackendFailure {
  if (e instanceof BackendFailure) return e;
  return new BackendFailure(`${firstLine(e)} (the training thread's tfjs backend failed; the thread is replaced)`, { cause: e });
}

/** Predicted probabilities over each member's 2-D bounding box (original units), as bytes. */
function decisionGrids(model: BatchedMlp, dataKeys: readonly string[], datasets: Dataset[]): DecisionGrid[] {
  const R = GRID_RESOLUTION;
  const n = R * R;
  // grid points in model units, once per dataset
  const scaledByKey = new Map<string, Float32Array>();
  const scaled = datasets.map((ds, k) => {
    return getOrCreate(scaledByKey, dataKeys[k], () => standardizeRows(decisionGridPoints(ds.bounds, R), 2, ds.mean, ds.std));
  });
  const bytes = model.predictBytes(model.layoutInput(scaled, n), n);
  return datasets.map((ds, k) => ({
    dataset_key: dataKeys[k],
    resolution: R,
    x0: ds.bounds.min[0],
    x1: ds.bounds.max[0],
    y0: ds.bounds.min[1],
    y1: ds.bounds.max[1],
    probs: Buffer.from(bytes.buffer, bytes.byteOffset + k * n, n).toString('base64'),
  }));
}

/** Key of a trial's dataset: its data config with the seed it is generated from (not the CSV path). */
export function datasetKey(trial: Trial): string {
  return shortHash({ ...trial.config.data, path: undefined, seed: trial.config.data.seed ?? trial.config.seed });
}

/** The test split in original units (at most MAX_DATASET_POINTS), keyed by the data config and its seed. */
function datasetPoints(key: string, ds: Dataset): DatasetPoints {
  const n = Math.min(ds.nTest, MAX_DATASET_POINTS);
  const x: number[] = [];
  const y: number[] = [];
  const label: number[] = [];
  for (let i = 0; i < n; i++) {
    x.push(ds.testRaw[2 * i]);
    y.push(ds.testRaw[2 * i + 1]);
    label.push(ds.yTest[i]);
  }
  return { key, x, y, label };
}

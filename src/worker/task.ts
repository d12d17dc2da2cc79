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
import type { Cohort, DatasetPoints, DecisionGrid, EarlyStopping, EpochPoint, Trial, TrialResult } from '../types.js';
import { initBackend } from './backend.js';
import { type Dataset, decisionGridPoints, makeDataset, standardizeRows } from './data.js';
import { EarlyStopper } from './early-stopping.js';
import { evaluateSplit, evaluateTrial } from './evaluate.js';
import { resolveLoss } from './losses.js';
import { averagePrecision, logLossFromLogits, lossFromLogits } from './metrics.js';
import { BatchedMlp, fit, type MemberSpec } from './model.js';
import { checkCohort } from './payload.js';
import { tuneThreshold } from './threshold.js';

/** Decision-region grid resolution for 2-D data (the coordinator stores up to MAX_GRID_RESOLUTION). */
const GRID_RESOLUTION = 64;

export interface TrainCohortOptions {
  /** Throw if tfjs holds more tensors after the cohort than before (tests). Default false. */
  checkLeaks?: boolean;
  /** Called after each epoch the cohort trains (tests: early stopping ends the cohort). */
  onEpoch?: (epoch: number) => void;
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
  const { datasets, dataKeys } = cohortData(trials);
  const d0 = datasets[0];
  const losses = trials.map((t, i) => resolveLoss(t.config.loss, datasets[i].trainCounts));
  const members: MemberSpec[] = trials.map((t, i) => ({
    seed: t.config.seed,
    xTrain: datasets[i].xTrain,
    yTrain: datasets[i].yTrain,
    gamma: losses[i].gamma,
    positiveWeight: losses[i].positive,
    negativeWeight: losses[i].negative,
    logitOffset: losses[i].offset,
    epsilon: losses[i].epsilon,
    learningRate: t.config.train.learning_rate,
    momentum: t.config.train.momentum ?? 0,
    init: t.config.model.init,
  }));
  const first = trials[0].config;
  // From here on an error comes from tfjs or the backend under it, not from the cohort's input.
  let model: BatchedMlp;
  try {
    model = new BatchedMlp(members, d0.nFeatures, first.model, first.train);
  } catch (e) {
    throw asBackendFailure(e);
  }
  const results: TrialResult[] = [];
  let failure: BackendFailure | null = null;
  try {
    const setupMs = performance.now() - t0;
    const t1 = performance.now();
    const { curves, stoppers } = train(model, trials, datasets, members, opts.onEpoch);
    const trainMs = performance.now() - t1;

    const t2 = performance.now();
    const K = trials.length;
    const useVal = d0.nVal > 0;
    const valLogits = useVal
      ? model.predictLayout(
          model.layoutInput(
            datasets.map((ds) => ds.xVal),
            d0.nVal,
          ),
          d0.nVal,
        )
      : null;
    const testLogits = model.predictLayout(
      model.layoutInput(
        datasets.map((ds) => ds.xTest),
        d0.nTest,
      ),
      d0.nTest,
    );
    const grids = d0.nFeatures === 2 ? decisionGrids(model, dataKeys, datasets) : null;
    const points = new Map<string, DatasetPoints>();
    for (let k = 0; k < K; k++) {
      const t = trials[k];
      const ds = datasets[k];
      const zTest = testLogits.subarray(k * d0.nTest, (k + 1) * d0.nTest);
      const zVal = valLogits?.subarray(k * d0.nVal, (k + 1) * d0.nVal) ?? null;
      const stopper = stoppers[k];
      const kept = curves[k].find((p) => p.epoch === stopper?.bestEpoch) ?? curves[k].at(-1);
      const divergedAt = curves[k].find((p) => !Number.isFinite(p.train_loss))?.epoch;
      const base = {
        key: t.key,
        backend,
        worker,
        alpha_used: losses[k].alphaUsed,
        train_positive_fraction: ds.trainPositiveFraction,
        n_train: ds.nTrain,
        n_val: ds.nVal,
        n_test: ds.nTest,
        positives: { ...ds.splitPositives },
        curves: curves[k],
        best_epoch: stopper?.bestEpoch ?? null,
        stopped_epoch: stopper ? (stopper.stoppedEpoch ?? curves[k].length) : null,
        timings: { cohort_size: K, setup_ms: setupMs, train_ms: trainMs, eval_ms: 0 },
      };
      if (divergedAt !== undefined || zTest.some(Number.isNaN) || zVal?.some(Number.isNaN)) {
        const at = divergedAt !== undefined ? `${curves[k][divergedAt - 1].train_loss} at epoch ${divergedAt}` : 'NaN';
        results.push({
          ...base,
          state: 'failed',
          error: `training diverged: the loss became ${at} (try a lower learning rate)`,
          metrics: null,
          validation_metrics: null,
        });
        continue;
      }
      const finalTrainLoss = kept ? kept.train_loss : Number.NaN;
      const evaluated = evaluateTrial({ yVal: zVal ? ds.yVal : null, zVal, yTest: ds.yTest, zTest }, t.config.train);
      results.push({
        ...base,
        state: 'complete',
        metrics: { ...evaluated.test, final_train_loss: finalTrainLoss },
        validation_metrics: evaluated.validation ? { ...evaluated.validation, final_train_loss: finalTrainLoss } : null,
        calibration: evaluated.calibration,
        grid: grids?.[k],
        // one object per dataset: structured clone sends it once per cohort
        points: d0.nFeatures === 2 ? getOrCreate(points, dataKeys[k], () => datasetPoints(dataKeys[k], ds)) : undefined,
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

/** Each trial's dataset (trials that differ only in loss or training settings share one) and its key. */
function cohortData(trials: readonly Trial[]): { datasets: Dataset[]; dataKeys: string[] } {
  const dataKeys = trials.map(datasetKey);
  const byKey = new Map<string, Dataset>();
  const datasets = trials.map((t, i) => getOrCreate(byKey, dataKeys[i], () => makeDataset(t.config.data, t.config.seed)));
  const d0 = datasets[0];
  for (const [i, ds] of datasets.entries()) {
    if (ds.nTrain !== d0.nTrain || ds.nVal !== d0.nVal || ds.nTest !== d0.nTest || ds.nFeatures !== d0.nFeatures) {
      throw new Error(`trial ${trials[i].key} has data of another shape than the rest of its cohort`);
    }
  }
  return { datasets, dataKeys };
}

/**
 * Train every member, recording its curves on the evaluation split (validation when there is one,
 * else test). Members with early stopping stop on their own (frozen, then their best weights are
 * put back); training ends when every member has stopped.
 */
function train(
  model: BatchedMlp,
  trials: readonly Trial[],
  datasets: Dataset[],
  members: MemberSpec[],
  onEpoch?: (epoch: number) => void,
): { curves: EpochPoint[][]; stoppers: (EarlyStopper | null)[] } {
  const K = trials.length;
  const d0 = datasets[0];
  const useVal = d0.nVal > 0;
  const nEval = useVal ? d0.nVal : d0.nTest;
  const xEval = model.layoutInput(
    datasets.map((ds) => (useVal ? ds.xVal : ds.xTest)),
    nEval,
  );
  const curves: EpochPoint[][] = trials.map(() => []);
  // Early stopping needs a validation split (the spec guarantees one when it is set).
  const stoppers = trials.map((t) => (useVal && t.config.train.early_stopping ? new EarlyStopper(t.config.train.early_stopping) : null));
  const active = (k: number) => stoppers[k]?.stoppedEpoch == null;
  fit(model, {
    nTrain: d0.nTrain,
    nFeatures: d0.nFeatures,
    evalEvery: trials[0].config.train.eval_every,
    onEpoch: (epoch, l) => {
      for (let k = 0; k < K; k++) if (active(k)) curves[k].push({ epoch, train_loss: l[k] });
      onEpoch?.(epoch);
    },
    onEval: (epoch) => {
      const logits = model.predictLayout(xEval, nEval);
      const improved: number[] = [];
      const stopped: number[] = [];
      for (let k = 0; k < K; k++) {
        if (!active(k)) continue;
        const y = useVal ? datasets[k].yVal : datasets[k].yTest;
        const z = logits.subarray(k * nEval, (k + 1) * nEval);
        const point = curves[k][epoch - 1];
        const m = members[k];
        const finite = !z.some(Number.isNaN); // diverged: recorded as failed later
        if (finite) {
          point.eval_loss = lossFromLogits(y, z, {
            gamma: m.gamma,
            positive: m.positiveWeight,
            negative: m.negativeWeight,
            offset: m.logitOffset,
            epsilon: m.epsilon,
          });
          point.eval_log_loss = logLossFromLogits(y, z);
          point.eval_pr_auc = averagePrecision(y, z);
        }
        const stopper = stoppers[k];
        if (!stopper) continue;
        const decision = stopper.observe(epoch, finite ? monitorValue(stopper.config.monitor, point, y, z, trials[k]) : null);
        if (decision === 'improved') improved.push(k);
        else if (decision === 'stop') stopped.push(k);
      }
      model.snapshot(improved);
      model.freeze(stopped);
      return stoppers.every((s) => s !== null && s.stoppedEpoch !== null);
    },
  });
  model.restoreBest(stoppers.flatMap((s, k) => (s?.bestEpoch != null ? [k] : [])));
  return { curves, stoppers };
}

/** The value early stopping watches: the trial's own loss, or any metric, on the validation split. */
function monitorValue(monitor: EarlyStopping['monitor'], point: EpochPoint, y: Float32Array, z: Float32Array, trial: Trial): number | null {
  if (monitor === 'loss') return point.eval_loss ?? null;
  if (monitor === 'log_loss') return point.eval_log_loss ?? null;
  if (monitor === 'pr_auc') return point.eval_pr_auc ?? null;
  const tuned = monitor.endsWith('_tuned') ? tuneThreshold(y, z, trial.config.train.threshold_metric ?? 'minority_f1') : null;
  const v = evaluateSplit(y, z, trial.config.train.threshold, tuned).metrics[monitor];
  return typeof v === 'number' ? v : null;
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

/** Key of a trial's dataset: its data config with the seeds it is made from (not the CSV path). */
export function datasetKey(trial: Trial): string {
  const data = trial.config.data;
  // a resampled training split also depends on the trial seed
  return shortHash({ ...data, path: undefined, seed: data.seed ?? trial.config.seed, resampleSeed: data.resample === 'none' ? undefined : trial.config.seed });
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

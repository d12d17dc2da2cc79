/**
 * The remedies beyond focal loss: class-balanced weights, logit adjustment and Poly-1 against an
 * independent float64 implementation written here (values and gradients, ordinary and saturated
 * logits, every reduction), their zero-parameter cases equal to BCE exactly, predictions that never
 * see the logit adjustment, and resampling of the training split only.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeTrials } from '../src/analysis/sweep.js';
import { cohortKey } from '../src/scheduler/cohort.js';
import { expandGrid } from '../src/scheduler/grid.js';
import { parseSpec } from '../src/scheduler/spec.js';
import { findSweep, loadTrials } from '../src/store/read.js';
import { SweepStore } from '../src/store/store.js';
import { type ClassificationData, COHORT_FORMAT, type Trial, type TrialResult } from '../src/types.js';
import { initBackend } from '../src/worker/backend.js';
import { datasetShape, makeDataset, resampledCounts } from '../src/worker/data.js';
import { binaryCrossEntropy, classBalancedLoss, classBalancedWeights, logitAdjustedLoss, poly1Loss, type Reduction } from '../src/worker/losses.js';
import { trainCohort } from '../src/worker/task.js';
import { fakeResult } from './helpers/results.js';

// ------------------------------------------------------------ an independent float64 reference

/** log(1 + e^x), stable. */
const softplus = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/**
 * The per-sample loss and its derivative in x, written from the papers' formulas:
 * w_y · (1 − p_t)^γ · (−log p_t + ε·(1 − p_t)), p_t = σ(±(x + b)).
 */
function reference(y: number, x: number, o: { w1: number; w0: number; gamma: number; b: number; eps: number }): { loss: number; grad: number } {
  const sign = y === 1 ? 1 : -1;
  const s = sign * (x + o.b);
  const w = y === 1 ? o.w1 : o.w0;
  const q = sigmoid(-s); // 1 − p_t
  const ce = softplus(-s); // −log p_t
  const m = Math.exp(-o.gamma * softplus(s)); // (1 − p_t)^γ
  const loss = w * m * (ce + o.eps * q);
  // d/ds: m' = −γ·m·σ(s); ce' = −q; q' = −σ(s)·q
  const dm = -o.gamma * m * sigmoid(s);
  const ds = w * (dm * (ce + o.eps * q) + m * (-q + o.eps * -sigmoid(s) * q));
  return { loss, grad: ds * sign };
}

/** Class-balanced weights by the formula, for the test: (1 − β)/(1 − β^n), normalised to mean 1. */
function cbWeights(beta: number, n0: number, n1: number): { w0: number; w1: number } {
  const raw = (n: number) => (1 - beta) / (1 - beta ** n);
  const s = (n0 + n1) / (n0 * raw(n0) + n1 * raw(n1));
  return { w0: raw(n0) * s, w1: raw(n1) * s };
}

const LOGITS = [-100, -30, -7.5, -2, -0.3, 0, 0.4, 1.7, 6, 30, 100];
const LABELS = [0, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1];

function reduce(values: number[], r: Reduction): number[] {
  const sum = values.reduce((a, b) => a + b, 0);
  return r === 'none' ? values : [r === 'sum' ? sum : sum / values.length];
}

function check(name: string, f: (y: tf.Tensor, x: tf.Tensor, r: Reduction) => tf.Tensor, o: Parameters<typeof reference>[2]): void {
  for (const r of ['mean', 'sum', 'none'] as Reduction[]) {
    const y = tf.tensor1d(LABELS);
    const x = tf.tensor1d(LOGITS);
    const loss = Array.from(f(y, x, r).dataSync());
    // the gradient of the summed loss is each sample's own derivative
    const grad = Array.from(
      tf
        .grad((xx: tf.Tensor) => tf.sum(f(y, xx, 'none')))(x)
        .dataSync(),
    );
    const ref = LABELS.map((l, i) => reference(l, LOGITS[i], o));
    const want = reduce(
      ref.map((v) => v.loss),
      r,
    );
    for (const [i, v] of loss.entries()) {
      expect(Number.isFinite(v), `${name} ${r} loss[${i}]`).toBe(true);
      expect(Math.abs(v - want[i]), `${name} ${r} loss[${i}]: ${v} vs ${want[i]}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[i])));
    }
    for (const [i, g] of grad.entries()) {
      expect(Number.isFinite(g), `${name} grad[${i}]`).toBe(true);
      expect(Math.abs(g - ref[i].grad), `${name} grad[${i}] at x=${LOGITS[i]}: ${g} vs ${ref[i].grad}`).toBeLessThanOrEqual(
        1e-5 * Math.max(1, Math.abs(ref[i].grad)),
      );
    }
    tf.dispose([y, x]);
  }
}

describe.each(['cpu', 'wasm'] as const)('remedy losses on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it.each([
    [0.9, 0, 90, 10],
    [0.999, 2, 95, 5],
    [0.9999, 0.5, 990, 10],
  ])('class_balanced(β=%s, γ=%s) with %s negatives and %s positives', (beta, gamma, n0, n1) => {
    const { w0, w1 } = cbWeights(beta, n0, n1);
    check('class_balanced', (y, x, r) => classBalancedLoss(y, x, { beta, gamma, negatives: n0, positives: n1, reduction: r }), { w0, w1, gamma, b: 0, eps: 0 });
  });

  it.each([0.5, 1, 2])('logit_adjusted(τ=%s) with priors 0.05 / 0.95', (tau) => {
    const b = tau * Math.log(5 / 95);
    check('logit_adjusted', (y, x, r) => logitAdjustedLoss(y, x, { tau, negatives: 95, positives: 5, reduction: r }), { w0: 1, w1: 1, gamma: 0, b, eps: 0 });
  });

  it.each([-1, -0.5, 1, 4])('poly1(ε=%s)', (epsilon) => {
    check('poly1', (y, x, r) => poly1Loss(y, x, { epsilon, reduction: r }), { w0: 1, w1: 1, gamma: 0, b: 0, eps: epsilon });
  });

  it('β = 0 (with γ = 0), τ = 0 and ε = 0 are BCE exactly', () => {
    const y = tf.tensor1d(LABELS);
    const x = tf.tensor1d(LOGITS);
    const bce = Array.from(binaryCrossEntropy(y, x, 'none').dataSync());
    expect(Array.from(classBalancedLoss(y, x, { beta: 0, gamma: 0, negatives: 9, positives: 1, reduction: 'none' }).dataSync())).toEqual(bce);
    expect(Array.from(logitAdjustedLoss(y, x, { tau: 0, negatives: 9, positives: 1, reduction: 'none' }).dataSync())).toEqual(bce);
    expect(Array.from(poly1Loss(y, x, { epsilon: 0, reduction: 'none' }).dataSync())).toEqual(bce);
    tf.dispose([y, x]);
  });
});

describe('class-balanced weights', () => {
  it('by hand for small counts: β = 0.5, 3 negatives and 1 positive', () => {
    // raw: (1 − 0.5)/(1 − 0.5³) = 0.5/0.875 = 4/7 and 0.5/0.5 = 1; scale = 4/(3·4/7 + 1) = 28/19
    const w = classBalancedWeights(0.5, 3, 1);
    expect(w.negative).toBeCloseTo((4 / 7) * (28 / 19), 14);
    expect(w.positive).toBeCloseTo(28 / 19, 14);
  });

  it.each([
    [0.9, 900, 100],
    [0.99, 950, 50],
    [0.9999, 9990, 10],
    [0.999999, 100_000, 3],
  ])('β = %s, %s/%s: the mean sample weight is 1, and β → 1 approaches inverse frequency', (beta, n0, n1) => {
    const w = classBalancedWeights(beta, n0, n1);
    expect(w.negative * n0 + w.positive * n1).toBeCloseTo(n0 + n1, 8);
    expect(w.positive).toBeGreaterThan(w.negative);
    // inverse frequency, normalised the same way, is n/(2·n_c)
    const inverse = (n0 + n1) / (2 * n1);
    expect(Math.abs(w.positive - inverse)).toBeLessThanOrEqual(Math.abs(1 - inverse));
  });

  it('β = 0 weighs both classes 1; β outside [0, 1) is refused', () => {
    expect(classBalancedWeights(0, 90, 10)).toEqual({ positive: 1, negative: 1 });
    expect(() => classBalancedWeights(1, 9, 1)).toThrow('class-balanced β must be in [0, 1), got 1');
  });
});

// ------------------------------------------------------------ training: adjustment, resampling

const SPEC = `
name: remedies
data: { generator: classification, samples: 800, features: 2, class_sep: 0.7, flip_y: 0.02, imbalance: 0.08 }
model: { hidden: [8] }
train: { epochs: 6, batch_size: 32, learning_rate: 0.05 }
grid:
  seed: [1, 2]
  loss: [bce, { logit_adjusted: { tau: [1] } }, { poly1: { epsilon: [1] } }, { class_balanced: { beta: [0.99], gamma: [0, 2] } }]
  data.resample: [none, oversample, undersample]
`;

const trials = (yaml: string): Trial[] => expandGrid(parseSpec(yaml, 't.yaml')).trials;
const cohortOf = (ts: Trial[]) => ({ format: COHORT_FORMAT, key: cohortKey(ts), shape: 'test', backend: 'cpu' as const, trials: ts });
const relClose = (a: number | null | undefined, b: number | null | undefined) =>
  typeof a === 'number' && typeof b === 'number' ? Math.abs(a - b) <= 1e-4 * Math.max(Math.abs(a), Math.abs(b)) + 1e-6 : a === b;

describe('logit adjustment', () => {
  it('trains on z + τ·log(π₁/π₀) but predicts with z: its predictions are not shifted by the adjustment', async () => {
    const [bce, adjusted] = trials(SPEC.replace('data.resample: [none, oversample, undersample]', '').replace('seed: [1, 2]', 'seed: [1]')).filter(
      (t) => t.config.loss.kind === 'bce' || t.config.loss.kind === 'logit_adjusted',
    );
    const [rb, ra] = await trainCohort(cohortOf([bce, adjusted]));
    // The adjustment is negative (π₁ < π₀): a model trained with it learns logits about |b| higher
    // than BCE's, so at p = 0.5 it predicts far more positives. Were b added back at prediction
    // time, the two would predict alike.
    expect((ra.metrics?.predicted_positive_rate as number) - (rb.metrics?.predicted_positive_rate as number)).toBeGreaterThan(0.05);
    expect(ra.metrics?.minority_recall).toBeGreaterThan(rb.metrics?.minority_recall as number);
  });
});

describe('resampling', () => {
  const data = (over: Partial<ClassificationData>): ClassificationData => ({
    ...(trials(SPEC)[0].config.data as ClassificationData),
    seed: 4,
    ...over,
  });

  it('changes only the training split: exact counts, validation and test untouched, reproducible for a seed', () => {
    const plain = makeDataset(data({ resample: 'none' }), 1);
    const n1 = plain.trainCounts.positives;
    const n0 = plain.trainCounts.negatives;
    const over = makeDataset(data({ resample: 'oversample', resample_ratio: 1 }), 1);
    expect(over.trainCounts).toEqual({ negatives: n0, positives: n0 });
    const half = makeDataset(data({ resample: 'oversample', resample_ratio: 0.5 }), 1);
    expect(half.trainCounts).toEqual({ negatives: n0, positives: Math.round(0.5 * n0) });
    const under = makeDataset(data({ resample: 'undersample', resample_ratio: 1 }), 1);
    expect(under.trainCounts).toEqual({ negatives: n1, positives: n1 });
    for (const d of [over, half, under]) {
      expect(d.xVal).toEqual(plain.xVal);
      expect(d.yVal).toEqual(plain.yVal);
      expect(d.xTest).toEqual(plain.xTest);
      expect(d.yTest).toEqual(plain.yTest);
      expect(d.mean).toEqual(plain.mean); // the scaler is fitted before resampling
      expect(d.nTrainOriginal).toBe(plain.nTrain);
      expect(d.nTrain).toBe(
        datasetShape(
          d === under
            ? data({ resample: 'undersample', resample_ratio: 1 })
            : d === half
              ? data({ resample: 'oversample', resample_ratio: 0.5 })
              : data({ resample: 'oversample', resample_ratio: 1 }),
        ).nTrain,
      );
    }
    // every resampled row is a training row of the plain split
    const rows = new Set<string>();
    for (let i = 0; i < plain.nTrain; i++) rows.add(`${plain.xTrain[2 * i]},${plain.xTrain[2 * i + 1]},${plain.yTrain[i]}`);
    for (let i = 0; i < over.nTrain; i++) expect(rows.has(`${over.xTrain[2 * i]},${over.xTrain[2 * i + 1]},${over.yTrain[i]}`)).toBe(true);
    // reproducible for a trial seed, different for another
    expect(makeDataset(data({ resample: 'oversample', resample_ratio: 1 }), 1).xTrain).toEqual(over.xTrain);
    expect(makeDataset(data({ resample: 'oversample', resample_ratio: 1 }), 2).xTrain).not.toEqual(over.xTrain);
  });

  it('resampledCounts: the minority is the smaller class; a split already past the ratio is left alone', () => {
    expect(resampledCounts(90, 10, { resample: 'oversample', resample_ratio: 1 })).toEqual({ negatives: 90, positives: 90, total: 180 });
    expect(resampledCounts(90, 10, { resample: 'undersample', resample_ratio: 0.5 })).toEqual({ negatives: 20, positives: 10, total: 30 });
    expect(resampledCounts(10, 90, { resample: 'undersample', resample_ratio: 1 })).toEqual({ negatives: 10, positives: 10, total: 20 });
    expect(resampledCounts(60, 40, { resample: 'oversample', resample_ratio: 0.5 })).toEqual({ negatives: 60, positives: 40, total: 100 });
  });

  it('the plan knows each resampled trial shape, and a cohort mixing resampled and plain members trains each as alone', async () => {
    const all = trials(SPEC);
    expect(all).toHaveLength(2 * 5 * 3);
    const seed1 = all.filter((t) => t.config.seed === 1 && t.config.loss.kind === 'bce');
    expect(seed1.map((t) => t.config.data.resample)).toEqual(['none', 'oversample', 'undersample']);
    // mixed in one cohort here only to test independence: the planner gives each shape its own cohort
    const oversampled = all.filter((t) => t.config.seed === 1 && t.config.data.resample === 'oversample');
    const results: TrialResult[] = await trainCohort(cohortOf(oversampled));
    for (const [i, r] of results.entries()) {
      const [alone] = await trainCohort(cohortOf([oversampled[i]]));
      for (const m of ['minority_f1', 'pr_auc', 'log_loss', 'minority_f1_tuned'] as const) expect(relClose(r.metrics?.[m], alone.metrics?.[m]), m).toBe(true);
      expect(r.n_train).toBe(datasetShape(oversampled[i].config.data).nTrain);
    }
  });
});

describe('resampled settings in the answer', () => {
  it('are compared with plain BCE at their ratio: resampling is not another dataset', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-resample-'));
    const spec = parseSpec(
      `name: r\ndata: {class_sep: 2}\ngrid:\n  controls: false\n  seed: [1, 2]\n  data.class_sep: [1, 2]\n  data.resample: [none, oversample]\n  loss: [bce]\n`,
      join(dir, 'r.yaml'),
    );
    const store = new SweepStore(join(dir, 'r.db'), { create: true });
    try {
      store.upsertSweep(spec.name, 'r.yaml', spec.text, spec.objective);
      const run = store.beginRun({ mode: 'local', workers: 1, backend: 'cpu', machine: {}, versions: {} });
      const all = expandGrid(spec).trials;
      store.plan(all, false);
      // oversampling gains 0.1 minority F1 on every seed and dataset
      const f1 = (t: Trial) => 0.5 + (t.config.data.resample === 'oversample' ? 0.1 : 0) + t.config.seed / 100;
      store.recordCohort(
        all,
        all.map((t) => fakeResult(t.key, { minority_f1: f1(t) })),
        run,
      );
      expect(store.db.prepare(`SELECT DISTINCT dataset FROM results ORDER BY dataset`).pluck().all()).toEqual(['data.class_sep=1', 'data.class_sep=2']);
      const a = analyzeTrials(findSweep(store.db), loadTrials(store.db, 1), 'minority_f1');
      // one group per dataset, each holding both settings (before the fix: four groups of one)
      expect(a.groups.map((g) => [g.title, g.settings.length])).toEqual([
        ['90:10 · data.class_sep=1', 2],
        ['90:10 · data.class_sep=2', 2],
      ]);
      for (const g of a.groups) {
        expect(g.baseline()?.resample).toBe('none');
        expect(g.comparisons().get(g.chosen()?.key as string)?.diff.mean).toBeCloseTo(0.1, 12);
        expect(g.chosen()?.family).toBe('oversample');
      }
    } finally {
      store.close();
    }
  });
});

describe('remedies in the spec', () => {
  const one = (loss: string) => `name: x\ngrid: {loss: [${loss}]}\n`;

  it('defaults: β 0.999 and γ 0, τ 1, ε 1; equivalent configurations run once', () => {
    expect(trials(one('class_balanced'))[0].config.loss).toEqual({ kind: 'class_balanced', beta: 0.999, gamma: 0 });
    expect(trials(one('logit_adjusted'))[0].config.loss).toEqual({ kind: 'logit_adjusted', tau: 1 });
    expect(trials(one('poly1'))[0].config.loss).toEqual({ kind: 'poly1', epsilon: 1 });
    const g = expandGrid(
      parseSpec(
        one('bce, {class_balanced: {beta: [0, 0.9], gamma: [0, 2]}}, {logit_adjusted: {tau: [0, 1]}}, {poly1: {epsilon: [0]}}, {focal: {gamma: [2]}}'),
        't.yaml',
      ),
    );
    // β = 0 with γ = 0, τ = 0 and ε = 0 are bce; β = 0 with γ = 2 is focal(γ=2, α=none)
    expect(g.trials.map((t) => t.config.loss.kind).sort()).toEqual(['bce', 'class_balanced', 'class_balanced', 'focal', 'logit_adjusted']);
    expect(g.merged).toBe(4);
  });

  it('resample_ratio only applies when resampling', () => {
    expect(trials('name: x\ndata: {resample_ratio: 0.5}\ngrid: {loss: [bce]}\n')[0].config.data).not.toHaveProperty('resample_ratio');
    expect(trials('name: x\ndata: {resample: oversample, resample_ratio: 0.5}\ngrid: {loss: [bce]}\n')[0].config.data).toMatchObject({
      resample: 'oversample',
      resample_ratio: 0.5,
    });
  });

  it.each([
    ['{class_balanced: {beta: 1}}', 't.yaml:2:39: grid.loss[0].class_balanced.beta: must be in [0, 1), got 1'],
    ['{class_balanced: {beta: -0.1}}', 't.yaml:2:39: grid.loss[0].class_balanced.beta: must be in [0, 1), got -0.1'],
    ['{class_balanced: {gamma: -1}}', 't.yaml:2:40: grid.loss[0].class_balanced.gamma: must be in [0, 100], got -1'],
    ['{class_balanced: {alpha: 0.5}}', 't.yaml:2:33: grid.loss[0].class_balanced.alpha: unknown parameter for class_balanced (expected beta, gamma)'],
    ['{logit_adjusted: {tau: -0.5}}', 't.yaml:2:38: grid.loss[0].logit_adjusted.tau: must be ≥ 0, got -0.5'],
    ['{logit_adjusted: {tau: big}}', 't.yaml:2:38: grid.loss[0].logit_adjusted.tau: must be a number ≥ 0, got "big"'],
    ['{poly1: {epsilon: -2}}', 't.yaml:2:33: grid.loss[0].poly1.epsilon: must be ≥ -1, got -2'],
    ['{poly1: {eps: 1}}', 't.yaml:2:24: grid.loss[0].poly1.eps: unknown parameter for poly1 (expected epsilon)'],
  ])('%s', (loss, message) => {
    expect(() => trials(one(loss))).toThrow(message);
  });

  it.each([
    ['data: {resample: smote}', 't.yaml:2:18: data.resample: must be one of none, oversample, undersample, got "smote"'],
    ['data: {resample: oversample, resample_ratio: 0}', 't.yaml:2:46: data.resample_ratio: must be > 0, got 0'],
    ['data: {resample: oversample, resample_ratio: 1.5}', 't.yaml:2:46: data.resample_ratio: must be ≤ 1, got 1.5'],
  ])('%s', (data, message) => {
    expect(() => trials(`name: x\n${data}\ngrid: {loss: [bce]}\n`)).toThrow(message);
  });
});

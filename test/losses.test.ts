import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  alphaWeights,
  binaryCrossEntropy,
  focalElementwise,
  focalLoss,
  type Reduction,
  resolveLoss,
  weightedBinaryCrossEntropy,
} from '../src/worker/losses.js';
import { lossFromLogits } from '../src/worker/metrics.js';
import { Rng } from '../src/worker/rng.js';

/** One case of test/fixtures/focal_refs.json: reference values from an 80-digit computation, checked against torchvision (docs/ARCHITECTURE.md, "Numerics"). */
interface RefCase {
  id: string;
  group: string;
  optional?: boolean;
  loss: 'focal' | 'bce';
  space: 'logits' | 'probs';
  logits: number[];
  labels: number[];
  gamma: number;
  alpha: number | null;
  reduction: Reduction;
  expected_loss: number | number[];
  expected_grad_wrt_logits: (number | null)[];
  tolerance: { rtol: number; atol_loss: number; atol_grad: number };
}

const refs: RefCase[] = JSON.parse(readFileSync(new URL('./fixtures/focal_refs.json', import.meta.url), 'utf8'));
// The 'probs' group (probability-space inputs, Keras/tfa conventions) is out of scope: the project
// always computes from logits. The optional 'soft_labels' cases are skipped too: labels are 0/1.
const logitCases = refs.filter((c) => c.space === 'logits' && !c.optional);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The references' own criterion: finite and |got − want| <= atol + rtol·|want|; null refs are not checked. */
function mismatches(label: string, got: number[], want: (number | null)[], atol: number, rtol: number): string[] {
  if (got.length !== want.length) return [`${label} length ${got.length} != ${want.length}`];
  return want.flatMap((w, i) =>
    w === null || (Number.isFinite(got[i]) && Math.abs(got[i] - w) <= atol + rtol * Math.abs(w)) ? [] : [`${label}[${i}] got ${got[i]} want ${w}`],
  );
}

describe('focal_refs.json (logit space)', () => {
  it('holds the 170 non-optional logit cases this suite checks', () => {
    expect(logitCases).toHaveLength(170);
  });

  it.each(logitCases.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    const y = tf.tensor1d(c.labels);
    const x = tf.tensor1d(c.logits);
    const f = (logits: tf.Tensor) =>
      c.loss === 'bce' ? binaryCrossEntropy(y, logits, c.reduction) : focalLoss(y, logits, { gamma: c.gamma, alpha: c.alpha, reduction: c.reduction });
    const loss = f(x);
    const grad = tf.grad(f)(x);
    const want = Array.isArray(c.expected_loss) ? c.expected_loss : [c.expected_loss];
    const { rtol, atol_loss, atol_grad } = c.tolerance;
    const failures = [
      ...mismatches('loss', Array.from(loss.dataSync()), want, atol_loss, rtol),
      ...mismatches('grad', Array.from(grad.dataSync()), c.expected_grad_wrt_logits, atol_grad, rtol),
    ];
    tf.dispose([x, y, loss, grad]);
    expect(failures).toEqual([]);
  });
});

describe('focal_refs.json against the float64 evaluation loss (metrics.lossFromLogits)', () => {
  it.each(logitCases.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    const gamma = c.loss === 'bce' ? 0 : c.gamma;
    const { positive, negative } = alphaWeights(c.loss === 'bce' ? null : c.alpha);
    const each = c.labels.map((y, i) => lossFromLogits([y], [c.logits[i]], { gamma, positive, negative }));
    const sum = each.reduce((a, b) => a + b, 0);
    const got = c.reduction === 'none' ? each : [c.reduction === 'sum' ? sum : lossFromLogits(c.labels, c.logits, { gamma, positive, negative })];
    if (c.reduction === 'mean') expect(got[0]).toBeCloseTo(sum / c.labels.length, 12);
    const want = Array.isArray(c.expected_loss) ? c.expected_loss : [c.expected_loss];
    expect(mismatches('loss', got, want, c.tolerance.atol_loss, c.tolerance.rtol)).toEqual([]);
  });
});

describe('focal loss properties', () => {
  it('with γ=0 and no α equals tf.losses.sigmoidCrossEntropy (NONE, then mean)', () => {
    const rng = new Rng(7, 'test/losses');
    const logits = Array.from({ length: 256 }, () => 6 * rng.normal());
    const labels = logits.map(() => (rng.next() < 0.3 ? 1 : 0));
    const y = tf.tensor1d(labels);
    const x = tf.tensor1d(logits);
    const ours = binaryCrossEntropy(y, x, 'none').dataSync();
    const theirs = tf.losses.sigmoidCrossEntropy(y, x, undefined, 0, tf.Reduction.NONE).dataSync<'float32'>();
    for (const [i, v] of ours.entries()) expect(v).toBeCloseTo(theirs[i], 6);
    const oursMean = focalLoss(y, x, { gamma: 0, alpha: null }).dataSync()[0];
    expect(oursMean).toBeCloseTo(theirs.reduce((a, b) => a + b, 0) / theirs.length, 6);
  });

  it('has a finite gradient at logits ±100 for γ=0.5 (where pow(1−p, γ) gives NaN)', () => {
    const y = tf.tensor1d([1, 0, 1, 0]);
    const x = tf.tensor1d([100, -100, -100, 100]);
    const grad = tf.grad((logits: tf.Tensor) => focalLoss(y, logits, { gamma: 0.5, alpha: 0.25, reduction: 'sum' }))(x);
    const g = Array.from(grad.dataSync());
    expect(g.every(Number.isFinite)).toBe(true);
    // well classified: ~0; badly classified: d/dx of a_t·softplus(−z) → ∓a_t
    expect(g[0]).toBeCloseTo(0, 12);
    expect(g[1]).toBeCloseTo(0, 12);
    expect(g[2]).toBeCloseTo(-0.25, 5);
    expect(g[3]).toBeCloseTo(0.75, 5);
  });

  it('broadcasts [K,1] γ and class weights over [K,B] logits like separate per-row calls', () => {
    const rng = new Rng(11, 'test/broadcast');
    const K = 3;
    const B = 6;
    const gammas = [0, 0.5, 2];
    const alphas = [null, 0.25, 0.9];
    const logits = Array.from({ length: K * B }, () => 4 * rng.normal());
    const labels = logits.map((_, i) => i % 2);
    const x = tf.tensor2d(logits, [K, B]);
    const y = tf.tensor2d(labels, [K, B]);
    const gamma = tf.tensor2d(gammas, [K, 1]);
    const positive = tf.tensor2d(
      alphas.map((a) => a ?? 1),
      [K, 1],
    );
    const negative = tf.tensor2d(
      alphas.map((a) => (a === null ? 1 : 1 - a)),
      [K, 1],
    );
    const batched = focalElementwise(y, x, gamma, { positive, negative });
    expect(batched.shape).toEqual([K, B]);
    const got = batched.dataSync();
    for (let k = 0; k < K; k++) {
      const row = focalElementwise(
        tf.tensor1d(labels.slice(k * B, (k + 1) * B)),
        tf.tensor1d(logits.slice(k * B, (k + 1) * B)),
        gammas[k],
        alphaWeights(alphas[k]),
      ).dataSync();
      for (const [b, v] of row.entries()) expect(got[k * B + b]).toBeCloseTo(v, 6);
    }
  });

  it('weighted BCE is focal with γ=0 and α', () => {
    const y = tf.tensor1d([1, 0, 1, 0]);
    const x = tf.tensor1d([-2, 0.5, 3, -1]);
    const a = weightedBinaryCrossEntropy(y, x, 0.8, 'none').dataSync();
    const b = binaryCrossEntropy(y, x, 'none').dataSync();
    for (const [i, w] of [0.8, 0.2, 0.8, 0.2].entries()) expect(a[i]).toBeCloseTo(w * b[i], 6);
  });

  it('leaves no intermediate tensors behind', () => {
    const y = tf.tensor1d([1, 0, 1]);
    const x = tf.tensor1d([0.3, -2, 5]);
    const gamma = tf.tensor1d([2]);
    const positive = tf.scalar(0.9);
    const negative = tf.scalar(0.1);
    const before = tf.memory().numTensors;
    // outside any tidy: each call leaves only its result, and the caller's tensors are left alone
    const elementwise = focalElementwise(y, x, gamma, { positive, negative });
    expect(tf.memory().numTensors).toBe(before + 1);
    elementwise.dispose();
    const grad = tf.grad((l: tf.Tensor) => focalLoss(y, l, { gamma: 0.5, alpha: null, reduction: 'sum' }))(x);
    expect(tf.memory().numTensors).toBe(before + 1);
    grad.dispose();
    const loss = focalLoss(y, x, { gamma: 3, alpha: 0.5, reduction: 'none' });
    expect(tf.memory().numTensors).toBe(before + 1);
    loss.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(x.isDisposed || y.isDisposed || gamma.isDisposed || positive.isDisposed).toBe(false);
    tf.dispose([positive, negative]);
  });
});

describe('resolveLoss', () => {
  // 100 training rows, 10 positive
  const counts = { negatives: 90, positives: 10 };
  const none = { offset: 0, epsilon: 0 };
  it.each([
    [{ kind: 'bce' } as const, { gamma: 0, positive: 1, negative: 1, alphaUsed: null, ...none }],
    [{ kind: 'weighted_bce', alpha: 0.75 } as const, { gamma: 0, positive: 0.75, negative: 0.25, alphaUsed: 0.75, ...none }],
    [{ kind: 'focal', gamma: 2, alpha: 'none' } as const, { gamma: 2, positive: 1, negative: 1, alphaUsed: null, ...none }],
    [{ kind: 'focal', gamma: 1, alpha: 0.25 } as const, { gamma: 1, positive: 0.25, negative: 0.75, alphaUsed: 0.25, ...none }],
    [{ kind: 'focal', gamma: 0, alpha: 0 } as const, { gamma: 0, positive: 0, negative: 1, alphaUsed: 0, ...none }],
    [{ kind: 'poly1', epsilon: -0.5 } as const, { gamma: 0, positive: 1, negative: 1, alphaUsed: null, offset: 0, epsilon: -0.5 }],
  ])('%j', (loss, want) => {
    expect(resolveLoss(loss, counts)).toEqual(want);
  });

  it("resolves 'inverse' to the training majority fraction", () => {
    const focal = resolveLoss({ kind: 'focal', gamma: 2, alpha: 'inverse' }, counts);
    expect(focal.alphaUsed).toBeCloseTo(0.9, 15);
    expect(focal.positive).toBeCloseTo(0.9, 15);
    expect(focal.negative).toBeCloseTo(0.1, 15);
    expect(resolveLoss({ kind: 'weighted_bce', alpha: 'inverse' }, { negatives: 95, positives: 5 }).alphaUsed).toBeCloseTo(0.95, 15);
  });

  it('class-balanced weights and the logit adjustment come from the training counts', () => {
    const cb = resolveLoss({ kind: 'class_balanced', beta: 0.9, gamma: 1 }, counts);
    // w_c ∝ (1 − β)/(1 − β^n_c): 0.1/(1 − 0.9^10) and 0.1/(1 − 0.9^90), scaled to mean 1
    const w1 = 0.1 / (1 - 0.9 ** 10);
    const w0 = 0.1 / (1 - 0.9 ** 90);
    const scale = 100 / (90 * w0 + 10 * w1);
    expect(cb.positive).toBeCloseTo(w1 * scale, 12);
    expect(cb.negative).toBeCloseTo(w0 * scale, 12);
    expect(cb.gamma).toBe(1);
    expect(cb.alphaUsed).toBeCloseTo(w1 / (w0 + w1), 12);
    expect(resolveLoss({ kind: 'logit_adjusted', tau: 1.5 }, counts).offset).toBeCloseTo(1.5 * Math.log(10 / 90), 14);
  });
});

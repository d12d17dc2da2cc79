/**
 * The batched MLP's hand-written backward pass against tfjs autodiff: one SGD step of a cohort moves
 * each member's weights by exactly −lr × the gradient tf.grads gives for that member alone (its own
 * mean loss through focalElementwise, logit offsets and Poly-1 terms included), in both tensor
 * layouts, on cpu and wasm.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../src/worker/backend.js';
import { focalElementwise } from '../src/worker/losses.js';
import { BatchedMlp, fit, type Layout, type MemberSpec } from '../src/worker/model.js';
import { Rng } from '../src/worker/rng.js';

const N = 48;
const D = 3;
const HIDDEN = [5, 4];

function member(i: number, gamma: number, alpha: number | null, lr: number, extras: { logitOffset?: number; epsilon?: number } = {}): MemberSpec {
  const rng = new Rng(100 + i, 'test-data');
  const xTrain = Float32Array.from({ length: N * D }, () => rng.normal());
  const yTrain = Float32Array.from({ length: N }, (_, j) => (j % 4 === 0 ? 1 : 0));
  return {
    seed: 7 + i,
    xTrain,
    yTrain,
    gamma,
    positiveWeight: alpha ?? 1,
    negativeWeight: alpha === null ? 1 : 1 - alpha,
    learningRate: lr,
    momentum: 0,
    init: 'he',
    ...extras,
  };
}

/** Member m's mean loss and gradients by autodiff, from its weights before the step. */
function reference(m: MemberSpec, w0: { w: Float32Array[]; b: Float32Array[] }, activation: 'relu' | 'tanh') {
  return tf.tidy(() => {
    const dims = [D, ...HIDDEN, 1];
    const vars = w0.w.flatMap((w, l) => [tf.tensor2d(w, [dims[l], dims[l + 1]]), tf.tensor1d(w0.b[l])]);
    const x = tf.tensor2d(m.xTrain, [N, D]);
    const y = tf.tensor1d(m.yTrain);
    const lossOf = (...p: tf.Tensor[]) => {
      let h: tf.Tensor = x;
      for (let l = 0; l < p.length / 2; l++) {
        h = tf.add(tf.matMul(h as tf.Tensor2D, p[2 * l] as tf.Tensor2D), p[2 * l + 1]);
        if (l < p.length / 2 - 1) h = activation === 'relu' ? tf.relu(h) : tf.tanh(h);
      }
      return tf.mean(
        focalElementwise(
          y,
          tf.reshape(h, [N]),
          m.gamma,
          { positive: m.positiveWeight, negative: m.negativeWeight },
          { offset: m.logitOffset, epsilon: m.epsilon },
        ),
      ) as tf.Scalar;
    };
    const { value, grads } = tf.valueAndGrads(lossOf)(vars);
    return { loss: value.dataSync()[0], grads: grads.map((g) => g.dataSync() as Float32Array) };
  });
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const tol = 2e-5 * Math.max(1, Math.abs(expected[i]));
    expect(Math.abs(actual[i] - expected[i]), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(tol);
  }
}

describe.each(['cpu', 'wasm'] as const)('BatchedMlp backward on %s', (backend) => {
  it.each([
    ['matmul', 'relu'],
    ['conv', 'relu'],
    ['matmul', 'tanh'],
    ['conv', 'tanh'],
  ] as [Layout, 'relu' | 'tanh'][])('%s layout, %s: one SGD step is −lr × the autodiff gradient of each member', async (layout, activation) => {
    await initBackend(backend);
    const before = tf.memory().numTensors;
    const members = [
      member(0, 0, null, 0.5),
      member(1, 2, 0.25, 0.1),
      member(2, 0.5, 0.9, 1),
      member(3, 5, null, 0.3),
      // logit adjustment, Poly-1, and Poly-1 on focal with class weights
      member(4, 0, null, 0.4, { logitOffset: -2.2 }),
      member(5, 0, null, 0.6, { epsilon: 1 }),
      member(6, 2, 0.7, 0.2, { epsilon: -0.8, logitOffset: 0.5 }),
    ];
    const model = new BatchedMlp(members, D, { hidden: HIDDEN, activation }, { optimizer: 'sgd', epochs: 1, batch_size: N }, layout);
    try {
      const initial = members.map((_, k) => model.memberWeights(k));
      const history = fit(model, { nTrain: N, nFeatures: D, evalEvery: 1 });
      members.forEach((m, k) => {
        const ref = reference(m, initial[k], activation);
        expect(Math.abs(history[0].losses[k] - ref.loss)).toBeLessThanOrEqual(1e-5 * Math.max(1, ref.loss));
        const after = model.memberWeights(k);
        initial[k].w.forEach((w0, l) => {
          expectClose(
            after.w[l],
            w0.map((v, i) => v - m.learningRate * ref.grads[2 * l][i]),
            `member ${k} W${l + 1}`,
          );
          expectClose(
            after.b[l],
            initial[k].b[l].map((v, i) => v - m.learningRate * ref.grads[2 * l + 1][i]),
            `member ${k} b${l + 1}`,
          );
        });
      });
    } finally {
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

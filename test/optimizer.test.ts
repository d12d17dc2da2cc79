/**
 * The batched model's optimizers against tfjs's own: several epochs of shuffled mini-batches (the
 * last one partial), per-member γ, α, learning rate and momentum, each member's weights must end
 * where tf.train.adam / tf.train.momentum take the same member trained alone on the same batches.
 * (The cohort-equivalence test compares the model with itself, so it cannot see an optimizer bug
 * shared by every cohort size; this one can.)
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../src/worker/backend.js';
import { focalElementwise } from '../src/worker/losses.js';
import { BatchedMlp, fit, type Layout, type MemberSpec } from '../src/worker/model.js';
import { Rng } from '../src/worker/rng.js';

const N = 50;
const D = 3;
const HIDDEN = [5, 4];
const B = 16; // 50 = 3 × 16 + 2: a partial last batch every epoch
const EPOCHS = 3;

function member(i: number, gamma: number, alpha: number | null, lr: number, momentum: number): MemberSpec {
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
    momentum,
    init: 'he',
  };
}

const MEMBERS = [member(0, 0, null, 0.05, 0.9), member(1, 2, 0.25, 0.01, 0.5), member(2, 0.5, 0.9, 0.1, 0), member(3, 5, null, 0.03, 0.99)];

/** Member m trained alone with a tfjs optimizer on the batches fit() gives it (same Rng stream). */
function reference(m: MemberSpec, w0: { w: Float32Array[]; b: Float32Array[] }, optimizer: 'adam' | 'sgd'): Float32Array[] {
  const dims = [D, ...HIDDEN, 1];
  const vars = w0.w.flatMap((w, l) => [tf.variable(tf.tensor2d(w, [dims[l], dims[l + 1]])), tf.variable(tf.tensor1d(w0.b[l]))]);
  const opt = optimizer === 'adam' ? tf.train.adam(m.learningRate, 0.9, 0.999, 1e-7) : tf.train.momentum(m.learningRate, m.momentum);
  const rng = new Rng(m.seed, 'shuffle');
  for (let e = 0; e < EPOCHS; e++) {
    const perm = rng.permutation(N);
    for (let s = 0; s < N; s += B) {
      const idx = Array.from(perm.subarray(s, Math.min(N, s + B)));
      const b = idx.length;
      tf.tidy(() => {
        const xb = tf.tensor2d(
          idx.flatMap((i) => Array.from(m.xTrain.subarray(i * D, (i + 1) * D))),
          [b, D],
        );
        const yb = tf.tensor1d(idx.map((i) => m.yTrain[i]));
        opt.minimize(
          () => {
            let h: tf.Tensor = xb;
            for (let l = 0; l < vars.length / 2; l++) {
              h = tf.add(tf.matMul(h as tf.Tensor2D, vars[2 * l] as tf.Tensor2D), vars[2 * l + 1]);
              if (l < vars.length / 2 - 1) h = tf.relu(h);
            }
            return tf.mean(focalElementwise(yb, tf.reshape(h, [b]), m.gamma, { positive: m.positiveWeight, negative: m.negativeWeight })) as tf.Scalar;
          },
          false,
          vars,
        );
      });
    }
  }
  const out = vars.map((v) => v.dataSync() as Float32Array);
  tf.dispose(vars);
  opt.dispose();
  return out;
}

describe.each(['cpu', 'wasm'] as const)('optimizers on %s', (backend) => {
  it.each([
    ['matmul', 'adam'],
    ['conv', 'adam'],
    ['matmul', 'sgd'],
    ['conv', 'sgd'],
  ] as [Layout, 'adam' | 'sgd'][])("%s layout, %s: each member ends where tfjs's optimizer takes it alone", async (layout, optimizer) => {
    await initBackend(backend);
    const model = new BatchedMlp(MEMBERS, D, { hidden: HIDDEN, activation: 'relu' }, { optimizer, epochs: EPOCHS, batch_size: B }, layout);
    try {
      const initial = MEMBERS.map((_, k) => model.memberWeights(k));
      fit(model, { nTrain: N, nFeatures: D, evalEvery: 1 });
      MEMBERS.forEach((m, k) => {
        const ref = reference(m, initial[k], optimizer);
        const after = model.memberWeights(k);
        const got = after.w.flatMap((w, l) => [w, after.b[l]]);
        let worst = 0;
        for (const [p, g] of got.entries())
          for (const [i, v] of g.entries()) worst = Math.max(worst, Math.abs(v - ref[p][i]) / Math.max(1, Math.abs(ref[p][i])));
        expect(worst, `member ${k} (γ=${m.gamma}, lr=${m.learningRate})`).toBeLessThan(1e-4);
      });
    } finally {
      model.dispose();
    }
  });
});

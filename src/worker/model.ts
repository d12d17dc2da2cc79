/**
 * The batched MLP: K trials train as one model whose weights carry a leading cohort dimension
 * (W1: [K, in, h1], b1: [K, 1, h1], ...). Each step feeds [K, B, in] from each trial's own shuffled
 * data; the loss is the sum over trials of each trial's mean loss, so the gradient a trial's weights
 * receive is exactly the gradient it would receive alone. The optimizers are element-wise with
 * per-trial learning rates ([K, 1, 1]), so every trial gets exactly the update it would get alone.
 *
 * This removes tfjs's per-op overhead, which dominates small MLPs (see bench/).
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig, TrainConfig } from '../types.js';
import { focalElementwise } from './losses.js';
import { Rng } from './rng.js';

/** What one trial brings to the cohort. */
export interface MemberSpec {
  /** Seed for weight init and shuffling (streams 'init' and 'shuffle'). */
  seed: number;
  xTrain: Float32Array;
  yTrain: Float32Array;
  gamma: number;
  /** Loss weight of positives (α) and negatives (1 − α); 1 and 1 without class weighting. */
  positiveWeight: number;
  negativeWeight: number;
  learningRate: number;
  /** SGD momentum (unused by adam). */
  momentum: number;
  init: ModelConfig['init'];
}

export interface EpochLoss {
  epoch: number;
  /** Mean training loss per member over the epoch's samples (NaN if a member diverged). */
  losses: Float64Array;
}

// Adam constants (tfjs / Keras defaults).
const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-7;

export class BatchedMlp {
  readonly k: number;
  readonly dims: number[];
  private readonly weights: tf.Variable[] = [];
  private readonly slots: tf.Variable[][] = [];
  private step = 0;
  private readonly lr: tf.Tensor;
  private readonly momentum: tf.Tensor;
  private readonly gamma: tf.Tensor;
  private readonly posW: tf.Tensor;
  private readonly negW: tf.Tensor;

  constructor(
    readonly members: readonly MemberSpec[],
    nFeatures: number,
    readonly model: Pick<ModelConfig, 'hidden' | 'activation'>,
    readonly train: Pick<TrainConfig, 'optimizer' | 'epochs' | 'batch_size'>,
  ) {
    this.k = members.length;
    this.dims = [nFeatures, ...model.hidden, 1];
    const K = this.k;
    for (let l = 1; l < this.dims.length; l++) {
      const fanIn = this.dims[l - 1];
      const fanOut = this.dims[l];
      const w = new Float32Array(K * fanIn * fanOut);
      members.forEach((m, i) => initWeights(w.subarray(i * fanIn * fanOut, (i + 1) * fanIn * fanOut), fanIn, fanOut, m.init, new Rng(m.seed, `init/${l}`)));
      // unnamed: tfjs names must be unique per engine, and cohorts come and go. tidy frees the
      // initial values (a variable keeps its own reference to the data).
      this.weights.push(tf.tidy(() => tf.variable(tf.tensor3d(w, [K, fanIn, fanOut]), true)));
      this.weights.push(tf.tidy(() => tf.variable(tf.zeros([K, 1, fanOut]), true)));
    }
    const col = (f: (m: MemberSpec) => number, rank: 2 | 3) =>
      rank === 3 ? tf.tensor3d(members.map(f), [K, 1, 1]) : tf.tensor2d(members.map(f), [K, 1]);
    this.lr = col((m) => m.learningRate, 3);
    this.momentum = col((m) => m.momentum, 3);
    this.gamma = col((m) => m.gamma, 2);
    this.posW = col((m) => m.positiveWeight, 2);
    this.negW = col((m) => m.negativeWeight, 2);
    const nSlots = train.optimizer === 'adam' ? 2 : 1;
    for (const w of this.weights) {
      this.slots.push(Array.from({ length: nSlots }, () => tf.tidy(() => tf.variable(tf.zerosLike(w), false))));
    }
  }

  /** Logits [K, N] for inputs [K, N, in]. */
  forward(x: tf.Tensor3D): tf.Tensor2D {
    return tf.tidy(() => {
      let h: tf.Tensor3D = x;
      const layers = this.weights.length / 2;
      for (let l = 0; l < layers; l++) {
        h = tf.add(tf.matMul(h, this.weights[2 * l]), this.weights[2 * l + 1]) as tf.Tensor3D;
        if (l < layers - 1) h = this.model.activation === 'relu' ? tf.relu(h) : tf.tanh(h);
      }
      return tf.squeeze(h, [2]) as tf.Tensor2D;
    });
  }

  /** Element-wise loss [K, N] of each member's own loss function. */
  lossElements(labels: tf.Tensor2D, logits: tf.Tensor2D): tf.Tensor2D {
    return focalElementwise(labels, logits, this.gamma, { positive: this.posW, negative: this.negW }) as tf.Tensor2D;
  }

  /**
   * One optimizer step on a batch; returns each member's mean loss over the batch ([K], caller disposes).
   */
  trainStep(x: tf.Tensor3D, y: tf.Tensor2D): tf.Tensor1D {
    this.step++;
    const t = this.step;
    return tf.tidy(() => {
      let perMember: tf.Tensor1D | null = null;
      const { grads } = tf.variableGrads(() => {
        const el = this.lossElements(y, this.forward(x));
        perMember = tf.keep(tf.mean(el, 1) as tf.Tensor1D);
        return tf.sum(perMember) as tf.Scalar;
      }, this.weights);
      this.weights.forEach((w, i) => {
        const g = grads[w.name];
        if (this.train.optimizer === 'adam') {
          const [m, v] = this.slots[i];
          const m1 = tf.add(tf.mul(m, BETA1), tf.mul(g, 1 - BETA1));
          const v1 = tf.add(tf.mul(v, BETA2), tf.mul(tf.square(g), 1 - BETA2));
          m.assign(m1);
          v.assign(v1);
          const stepSize = tf.mul(this.lr, Math.sqrt(1 - BETA2 ** t) / (1 - BETA1 ** t));
          w.assign(tf.sub(w, tf.mul(stepSize, tf.div(m1, tf.add(tf.sqrt(v1), EPSILON)))));
        } else {
          const [acc] = this.slots[i];
          const acc1 = tf.add(tf.mul(acc, this.momentum), g);
          acc.assign(acc1);
          w.assign(tf.sub(w, tf.mul(this.lr, acc1)));
        }
      });
      return perMember as unknown as tf.Tensor1D;
    });
  }

  dispose(): void {
    for (const w of this.weights) w.dispose();
    for (const s of this.slots) for (const v of s) v.dispose();
    tf.dispose([this.lr, this.momentum, this.gamma, this.posW, this.negW]);
  }
}

/** He normal (relu) or Glorot uniform (tanh) weights for one layer of one member, from its own Rng. */
function initWeights(out: Float32Array, fanIn: number, fanOut: number, init: ModelConfig['init'], rng: Rng): void {
  if (init === 'he') {
    const std = Math.sqrt(2 / fanIn);
    for (let i = 0; i < out.length; i++) out[i] = rng.normal() * std;
  } else {
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-limit, limit);
  }
}

export interface FitOptions {
  nTrain: number;
  nFeatures: number;
  /** Called after every evaluation epoch (1-based), and after the last. */
  onEpoch?: (epoch: number, trainLoss: Float64Array) => void;
  /** Epochs at which onEval runs. */
  evalEvery: number;
  onEval?: (epoch: number) => void;
}

/**
 * Train every member for `train.epochs` epochs. Each epoch each member gets its own permutation of
 * its own data (Rng stream 'shuffle'); the last batch of an epoch may be smaller. Returns the mean
 * training loss per member for every epoch.
 */
export function fit(model: BatchedMlp, opts: FitOptions): EpochLoss[] {
  const { nTrain: n, nFeatures: d } = opts;
  const K = model.k;
  const B = Math.max(1, Math.min(model.train.batch_size, n));
  const rngs = model.members.map((m) => new Rng(m.seed, 'shuffle'));
  const xEpoch = new Float32Array(K * n * d);
  const yEpoch = new Float32Array(K * n);
  const history: EpochLoss[] = [];
  for (let epoch = 1; epoch <= model.train.epochs; epoch++) {
    model.members.forEach((m, k) => {
      const perm = rngs[k].permutation(n);
      const xo = k * n * d;
      const yo = k * n;
      for (let i = 0; i < n; i++) {
        const src = perm[i];
        yEpoch[yo + i] = m.yTrain[src];
        for (let j = 0; j < d; j++) xEpoch[xo + i * d + j] = m.xTrain[src * d + j];
      }
    });
    const sums = tf.tidy(() => {
      const x = tf.tensor3d(xEpoch, [K, n, d]);
      const y = tf.tensor2d(yEpoch, [K, n]);
      let total: tf.Tensor1D = tf.zeros([K]);
      for (let s = 0; s < n; s += B) {
        const b = Math.min(B, n - s);
        const xb = tf.slice(x, [0, s, 0], [K, b, d]);
        const yb = tf.slice(y, [0, s], [K, b]);
        const batchMean = model.trainStep(xb, yb);
        const next = tf.add(total, tf.mul(batchMean, b)) as tf.Tensor1D;
        tf.dispose([total, xb, yb, batchMean]);
        total = next;
      }
      return total;
    });
    const raw = sums.dataSync();
    sums.dispose();
    const losses = new Float64Array(K);
    for (let k = 0; k < K; k++) losses[k] = raw[k] / n;
    history.push({ epoch, losses });
    opts.onEpoch?.(epoch, losses);
    if (opts.onEval && (epoch % opts.evalEvery === 0 || epoch === model.train.epochs)) opts.onEval(epoch);
  }
  return history;
}

/** Logits [K][N] for per-member inputs already stacked as [K, N, in]. */
export function predictLogits(model: BatchedMlp, x: Float32Array, n: number, d: number): Float32Array {
  const out = tf.tidy(() => model.forward(tf.tensor3d(x, [model.k, n, d])));
  const data = out.dataSync() as Float32Array;
  out.dispose();
  return data;
}

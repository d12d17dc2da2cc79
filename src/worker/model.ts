/**
 * The batched MLP: K trials train as one model whose weights carry a cohort dimension K. Each step
 * feeds every trial a batch of its own shuffled data; the loss is the sum over trials of each
 * trial's mean loss, so the gradient a trial's weights receive is exactly the gradient it would
 * receive alone. The optimizers are element-wise with per-trial learning rates, so every trial gets
 * exactly the update it would get alone.
 *
 * This removes tfjs's per-op overhead, which dominates small MLPs (bench/RESULTS.md). For the same
 * reason a training step issues as few tfjs ops as it can (profiled with `node --cpu-prof`: about
 * 65-75 kernels per step instead of about 190 for a tf.variableGrads step, and no gradient tape):
 *
 * - all parameters of all members live in ONE flat float32 tensor, block by block (each layer's
 *   weights, then its biases); one SplitV + reshapes gives the layer views, and Adam / SGD run once
 *   over the flat buffer (13 ops) instead of once per weight tensor (6 × 12 ops);
 * - the gradients are written out by hand (forward keeps its activations; the focal/BCE gradient
 *   with respect to the logit has a closed form), so there is no tape and no op runs twice;
 * - per-sample constants (the label sign, the class weight a_t, −sign/B) are computed in JS when an
 *   epoch is shuffled and uploaded with each batch, laid out batch by batch so that each batch is
 *   one contiguous subarray of the epoch's buffers (no tfjs slice per batch);
 * - scalar constants are tensors made once per model, not per op;
 * - on wasm the products are depthwise convolutions instead of batched matMuls (see {@link Layout}).
 *
 * The loss and its gradient use the stable logit form of losses.ts; with zt = (2y − 1)·(z + b) (z the
 * logit, b the member's logit offset), a_t the class weight, m = exp(−γ·softplus(zt)) = (1 − p_t)^γ
 * and q = σ(−zt) = 1 − p_t:
 *
 *   loss      = a_t · m · (softplus(−zt) + ε·q)
 *   ∂loss/∂zt = −a_t · m · (γ · σ(zt) · softplus(−zt) + σ(−zt) + ε·(γ + 1)·σ(zt)·q)
 *
 * which is what autodiff of focalElementwise gives (test/model-gradients.test.ts checks it).
 */

import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { getOrCreate } from '../maps.js';
import type { ModelConfig, TrainConfig } from '../types.js';
import { predictChunk } from './memory.js';
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
  /** Added to the logit inside the loss only (logit adjustment); 0 otherwise. Predictions never see it. */
  logitOffset?: number;
  /** Poly-1's ε; 0 otherwise. */
  epsilon?: number;
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

/**
 * How a cohort's tensors are laid out, chosen per backend by {@link chooseLayout}:
 *
 * - `matmul`: activations [K, B, h], weights [K, in, out], biases [K, 1, out]; layers are batched
 *   matMuls. Best where batched matMul is fast (cpu, tensorflow).
 * - `conv`: the wasm backend runs batched matMul through a scalar fallback loop (its XNNPACK path
 *   only takes unbatched products), about 7× slower at K = 32 than XNNPACK. A per-member product
 *   is exactly a depthwise convolution with the member as the channel: inputs [1, in, B, K] (the
 *   reduced dimension spatial, the member innermost), filters [in, 1, K, out], outputs
 *   [1, 1, B, K·out]. So forward is one fused depthwise conv (bias and relu included) per layer,
 *   and the backward products are depthwise convs too; the price is one transpose of the
 *   activations per hidden layer each way.
 */
export type Layout = 'matmul' | 'conv';

/** The layout for the active backend (see {@link Layout}). */
export function chooseLayout(): Layout {
  return tf.getBackend() === 'wasm' ? 'conv' : 'matmul';
}

/** One parameter block of the flat buffer: all members' copies of one weight or bias. */
interface Block {
  shape: number[];
  size: number;
  /** Rows (fan-in, 1 for a bias) and columns (fan-out) of each member's matrix. */
  rows: number;
  cols: number;
}

/** Flat index of member k's element (i, j) of a block in a layout. */
function blockIndex(layout: Layout, K: number, rows: number, cols: number, k: number, i: number, j: number): number {
  return layout === 'matmul' || rows === 1 ? (k * rows + i) * cols + j : (i * K + k) * cols + j;
}

/**
 * One batch of the current epoch, as uploaded: inputs and per-sample loss constants. In the matmul
 * layout x is [K, b, in] and the rest [K, b, 1]; in the conv layout x is [1, in, b, K] and the rest
 * [1, 1, b, K].
 */
export interface Batch {
  x: tf.Tensor;
  /** 2y − 1 */
  sign: tf.Tensor;
  /** class weight a_t of each sample */
  weight: tf.Tensor;
  /** −(2y − 1)/b: the sign and the batch mean of ∂loss/∂logit */
  gradScale: tf.Tensor;
  /** conv layout: x with a row of ones after its features, [1, in + 1, b, K] (x is its first in rows) */
  xAug?: tf.Tensor;
}

interface LayerView {
  w: tf.Tensor;
  b: tf.Tensor;
  fanIn: number;
  fanOut: number;
}

export class BatchedMlp {
  readonly k: number;
  readonly dims: number[];
  readonly layout: Layout;
  /** Every member's weights and biases, block by block (see Block). */
  private params: tf.Tensor1D;
  /** Optimizer state, same layout: Adam's m and v, or SGD's momentum accumulator. */
  private slots: tf.Tensor1D[];
  private readonly blocks: Block[] = [];
  private step = 0;
  /** Per-element learning rate (and SGD momentum) in the flat layout. */
  private lr: tf.Tensor1D;
  /** The per-element learning rates as uploaded (a frozen member's are 0). */
  private readonly lrHost: Float32Array;
  /** Which member each element of the flat buffer belongs to. */
  private readonly memberOf: Uint16Array;
  /** Each member's parameters at its best epoch so far (early stopping), same layout as params. */
  private best: tf.Tensor1D | null = null;
  private readonly momentum: tf.Tensor1D | null;
  /** Per-member γ and −γ, shaped to broadcast against the logits ([K, 1, 1] or [K]). */
  private readonly gamma: tf.Tensor;
  private readonly negGamma: tf.Tensor;
  /** Per-member logit offset b, or null when every member's is 0. */
  private readonly offset: tf.Tensor | null;
  /** Per-member ε and ε·(γ + 1) of Poly-1, or null when every member's ε is 0. */
  private readonly poly: { epsilon: tf.Tensor; slope: tf.Tensor } | null;
  /** Add biases (and sum their gradients) as matMuls with ones: the cpu backend's broadcasting is slow. */
  private readonly biasAsProduct = tf.getBackend() === 'cpu';
  private readonly scalars: Record<'beta1' | 'oneMinusBeta1' | 'beta2' | 'oneMinusBeta2' | 'one', tf.Scalar>;
  private readonly onesByShape = new Map<string, tf.Tensor>();
  /** Training loss summed over the epoch's samples so far, per member [K] (null before the first step). */
  private lossSum: tf.Tensor1D | null = null;

  constructor(
    readonly members: readonly MemberSpec[],
    nFeatures: number,
    readonly model: Pick<ModelConfig, 'hidden' | 'activation'>,
    readonly train: Pick<TrainConfig, 'optimizer' | 'epochs' | 'batch_size'>,
    layout: Layout = chooseLayout(),
  ) {
    this.k = members.length;
    this.layout = layout;
    this.dims = [nFeatures, ...model.hidden, 1];
    const K = this.k;
    for (let l = 1; l < this.dims.length; l++) {
      const a = this.dims[l - 1];
      const c = this.dims[l];
      const conv = layout === 'conv';
      this.blocks.push({ shape: conv ? [a, 1, K, c] : [K, a, c], size: K * a * c, rows: a, cols: c });
      this.blocks.push({ shape: conv ? [K * c] : [K, 1, c], size: K * c, rows: 1, cols: c });
    }
    const total = this.blocks.reduce((s, b) => s + b.size, 0);
    const init = new Float32Array(total);
    const lr = new Float32Array(total);
    const memberOf = new Uint16Array(total);
    const momentum = new Float32Array(total);
    let offset = 0;
    this.blocks.forEach((block, bi) => {
      const { rows, cols } = block;
      members.forEach((m, k) => {
        // the member's own matrix, drawn row by row from its own stream whatever the layout
        const own = new Float32Array(rows * cols);
        if (bi % 2 === 0) initWeights(own, rows, cols, m.init, new Rng(m.seed, `init/${bi / 2 + 1}`));
        for (let i = 0; i < rows; i++) {
          for (let j = 0; j < cols; j++) {
            const at = offset + blockIndex(layout, K, rows, cols, k, i, j);
            init[at] = own[i * cols + j];
            lr[at] = m.learningRate;
            memberOf[at] = k;
            momentum[at] = m.momentum;
          }
        }
      });
      offset += block.size;
    });
    this.params = tf.tensor1d(init);
    this.lr = tf.tensor1d(lr);
    this.lrHost = lr;
    this.memberOf = memberOf;
    this.momentum = train.optimizer === 'sgd' ? tf.tensor1d(momentum) : null;
    const nSlots = train.optimizer === 'adam' ? 2 : 1;
    this.slots = Array.from({ length: nSlots }, () => tf.zeros([total]) as tf.Tensor1D);
    const perMember = layout === 'conv' ? [K] : [K, 1, 1];
    this.gamma = tf.tensor(
      members.map((m) => m.gamma),
      perMember,
    );
    this.negGamma = tf.tensor(
      members.map((m) => -m.gamma),
      perMember,
    );
    this.offset = members.some((m) => m.logitOffset)
      ? tf.tensor(
          members.map((m) => m.logitOffset ?? 0),
          perMember,
        )
      : null;
    this.poly = members.some((m) => m.epsilon)
      ? {
          epsilon: tf.tensor(
            members.map((m) => m.epsilon ?? 0),
            perMember,
          ),
          slope: tf.tensor(
            members.map((m) => (m.epsilon ?? 0) * (m.gamma + 1)),
            perMember,
          ),
        }
      : null;
    this.scalars = {
      beta1: tf.scalar(BETA1),
      oneMinusBeta1: tf.scalar(1 - BETA1),
      beta2: tf.scalar(BETA2),
      oneMinusBeta2: tf.scalar(1 - BETA2),
      one: tf.scalar(1),
    };
  }

  /** Per-layer weight and bias views of the flat parameters (call inside a tidy). */
  private views(): LayerView[] {
    const parts = splitFlat(
      this.params,
      this.blocks.map((b) => b.size),
    );
    const out: LayerView[] = [];
    for (let i = 0; i < parts.length; i += 2) {
      const { rows, cols } = this.blocks[i];
      out.push({ w: tf.reshape(parts[i], this.blocks[i].shape), b: tf.reshape(parts[i + 1], this.blocks[i + 1].shape), fanIn: rows, fanOut: cols });
    }
    return out;
  }

  /**
   * Forward pass on a batch of n samples in this layout. Returns the logits (matmul [K, n, 1],
   * conv [1, 1, n, K]) and, per hidden layer, its output as the next layer's input (`inputs[l + 1]`;
   * inputs[0] is x) and, in the conv layout, also in the [1, 1, n, K·h] layout (`outputs[l]`).
   */
  private forwardLayers(layers: LayerView[], x: tf.Tensor, n: number): { logits: tf.Tensor; inputs: tf.Tensor[]; outputs: tf.Tensor[] } {
    const inputs: tf.Tensor[] = [x];
    const outputs: tf.Tensor[] = [];
    const relu = this.model.activation === 'relu';
    const K = this.k;
    let logits: tf.Tensor = x;
    layers.forEach(({ w, b, fanOut }, l) => {
      const last = l === layers.length - 1;
      if (this.layout === 'matmul') {
        // cpu: a broadcasting add takes its generic per-element index path (the top kernel in the
        // profile); adding the bias as the product ones[K, n, 1] × b[K, 1, out] is much cheaper
        const bias = this.biasAsProduct ? tf.matMul(this.ones([K, n, 1]), b as tf.Tensor3D) : b;
        const a = tf.add(tf.matMul(inputs[l] as tf.Tensor3D, w as tf.Tensor3D), bias);
        if (last) logits = a;
        else inputs.push(relu ? tf.relu(a) : tf.tanh(a));
        return;
      }
      const activation = !last && relu ? 'relu' : 'linear';
      let h: tf.Tensor = tf.fused.depthwiseConv2d({ x: inputs[l] as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'valid', bias: b, activation });
      if (last) {
        logits = h;
        return;
      }
      if (!relu) h = tf.tanh(h);
      outputs.push(h);
      inputs.push(tf.reshape(tf.transpose(tf.reshape(h, [n, K, fanOut]), [2, 0, 1]), [1, fanOut, n, K]));
    });
    return { logits, inputs, outputs };
  }

  /**
   * Where member k's sample s, feature j goes in an input of n samples in this layout:
   * index = k·member + s·sample + j·feature.
   */
  inputStrides(n: number): { member: number; sample: number; feature: number } {
    const K = this.k;
    const d = this.dims[0];
    return this.layout === 'conv' ? { member: 1, sample: K, feature: n * K } : { member: n * d, sample: d, feature: 1 };
  }

  /** Where member k's sample s is in a per-sample tensor (logits, labels) of n samples: k·member + s·sample. */
  outputStrides(n: number): { member: number; sample: number } {
    return this.layout === 'conv' ? { member: 1, sample: this.k } : { member: n, sample: 1 };
  }

  /** Shapes of an input of n samples and of a per-sample tensor in this layout. */
  shapes(n: number): { x: number[]; perSample: number[] } {
    const K = this.k;
    const d = this.dims[0];
    return this.layout === 'conv' ? { x: [1, d, n, K], perSample: [1, 1, n, K] } : { x: [K, n, d], perSample: [K, n, 1] };
  }

  /** Per-member row-major [n, in] inputs, arranged as this layout's input. */
  layoutInput(parts: readonly Float32Array[], n: number): Float32Array {
    const K = this.k;
    const d = this.dims[0];
    const out = new Float32Array(K * n * d);
    parts.forEach((p, k) => {
      if (this.layout === 'matmul') {
        out.set(p.subarray(0, n * d), k * n * d);
        return;
      }
      // [1, d, n, K]: read each member's rows in order (the faster loop order, measured)
      for (let j = 0; j < d; j++) {
        for (let s = 0, i = j, o = j * n * K + k; s < n; s++, i += d, o += K) out[o] = p[i];
      }
    });
    return out;
  }

  /** Reorder a per-sample result of n samples from this layout to member by member ([K, n]). */
  private byMember<T extends Float32Array | Uint8Array>(raw: ArrayLike<number>, n: number, out: T): T {
    if (this.layout === 'matmul') {
      out.set(raw);
      return out;
    }
    const K = this.k;
    for (let k = 0; k < K; k++) {
      for (let s = 0, i = k, o = k * n; s < n; s++, i += K) out[o + s] = raw[i];
    }
    return out;
  }

  /**
   * Run `head` over the logits of an input of n samples in this layout, a chunk of samples at a
   * time (memory.ts predictChunk: bounded activations for any cohort), and return its per-sample
   * output in the same layout.
   */
  private forwardChunked<T extends Float32Array>(x: Float32Array, n: number, head: (logits: tf.Tensor) => tf.Tensor, make: (size: number) => T): T {
    const K = this.k;
    const d = this.dims[0];
    const raw = make(K * n);
    const conv = this.layout === 'conv';
    const chunk = predictChunk(K, d, this.model.hidden, this.model.activation);
    for (let s0 = 0; s0 < n; s0 += chunk) {
      const c = Math.min(chunk, n - s0);
      let xc = x;
      if (c < n) {
        xc = new Float32Array(K * c * d);
        // conv [1, d, n, K]: d runs of c·K; matmul [K, n, d]: K runs of c·d
        if (conv) for (let j = 0; j < d; j++) xc.set(x.subarray((j * n + s0) * K, (j * n + s0 + c) * K), j * c * K);
        else for (let k = 0; k < K; k++) xc.set(x.subarray((k * n + s0) * d, (k * n + s0 + c) * d), k * c * d);
      }
      const out = tf.tidy(() => head(this.forwardLayers(this.views(), tf.tensor(xc, this.shapes(c).x), c).logits));
      const part = out.dataSync() as T;
      out.dispose();
      // conv [1, 1, n, K]: one run; matmul [K, n, 1]: K runs
      if (conv) raw.set(part, s0 * K);
      else for (let k = 0; k < K; k++) raw.set(part.subarray(k * c, (k + 1) * c), k * n + s0);
    }
    return raw;
  }

  /** Logits member by member ([K, n]) for an input already in this layout (see {@link layoutInput}). */
  predictLayout(x: Float32Array, n: number): Float32Array {
    const raw = this.forwardChunked(
      x,
      n,
      (z) => z,
      (size) => new Float32Array(size),
    );
    return this.byMember(raw, n, new Float32Array(this.k * n));
  }

  /**
   * round(255 · sigmoid(logit)) member by member ([K, n]), computed in tfjs (for decision-region
   * grids: thousands of points per member, where a JS exp per point dominated the grid's cost).
   */
  predictBytes(x: Float32Array, n: number): Uint8Array {
    // whole numbers 0..255 in float32: stored into a Uint8Array exactly, no cast kernel needed
    const raw = this.forwardChunked(
      x,
      n,
      (z) => tf.floor(tf.add(tf.mul(tf.sigmoid(z), 255), 0.5)),
      (size) => new Float32Array(size),
    );
    return this.byMember(raw, n, new Uint8Array(this.k * n));
  }

  /** One optimizer step on a batch; adds each member's summed loss over the batch to the epoch's total. */
  trainStep(batch: Batch): void {
    this.step++;
    const t = this.step;
    const K = this.k;
    const conv = this.layout === 'conv';
    const n = batch.sign.shape[conv ? 2 : 1] as number;
    const prev = { params: this.params, slots: this.slots, lossSum: this.lossSum };
    const next = tf.tidy(() => {
      const layers = this.views();
      const { logits: z, inputs, outputs } = this.forwardLayers(layers, batch.x, n);

      // loss and ∂loss/∂logit (see the header), elementwise on the logits' shape
      const zt = tf.mul(batch.sign, this.offset ? tf.add(z, this.offset) : z);
      const nzt = tf.neg(zt);
      const ce = tf.softplus(nzt); // −log p_t
      const mod = tf.exp(tf.mul(tf.softplus(zt), this.negGamma)); // (1 − p_t)^γ
      const am = tf.mul(batch.weight, mod);
      const q = this.poly ? tf.sigmoid(nzt) : null; // 1 − p_t
      const perSample = q && this.poly ? tf.add(ce, tf.mul(this.poly.epsilon, q)) : ce;
      const batchLoss = tf.sum(tf.mul(am, perSample), conv ? [0, 1, 2] : [1, 2]) as tf.Tensor1D;
      const lossSum: tf.Tensor1D = prev.lossSum ? tf.add(prev.lossSum, batchLoss) : batchLoss;
      const sig = tf.sigmoid(zt);
      let inner = tf.add(tf.mul(tf.mul(sig, ce), this.gamma), q ?? tf.sigmoid(nzt));
      if (q && this.poly) inner = tf.add(inner, tf.mul(tf.mul(sig, q), this.poly.slope));
      let g: tf.Tensor = tf.mul(tf.mul(am, inner), batch.gradScale);

      // backward
      const relu = this.model.activation === 'relu';
      const grads: tf.Tensor[] = [];
      let ones: tf.Tensor | null = null;
      for (let l = layers.length - 1; l >= 0; l--) {
        const { w, fanIn: a, fanOut: c } = layers[l];
        const hIn = inputs[l];
        let dh: tf.Tensor | null = null;
        if (conv) {
          // g: [1, 1, n, K·c]; hIn: [1, a, n, K]. With a row of ones under the input, one conv gives
          // [1, a + 1, 1, K·c] = ∂W (a rows) then ∂b (the ones row): the flat layout of the W and b
          // blocks, and no separate bias-gradient sum (which wasm runs with a transpose).
          ones ??= this.ones([1, 1, n, K]);
          const hAug = l === 0 && batch.xAug ? batch.xAug : tf.concat([hIn, ones], 1);
          grads[2 * l] = tf.reshape(tf.depthwiseConv2d(hAug as tf.Tensor4D, tf.reshape(g, [1, n, K, c]) as tf.Tensor4D, 1, 'valid'), [-1]);
          if (l > 0) {
            const gF = c === 1 ? g : tf.reshape(tf.transpose(tf.reshape(g, [n, K, c]), [2, 0, 1]), [1, c, n, K]);
            const wT = tf.reshape(tf.transpose(tf.reshape(w, [a, K, c]), [2, 1, 0]), [c, 1, K, a]);
            dh = tf.depthwiseConv2d(gF as tf.Tensor4D, wT as tf.Tensor4D, 1, 'valid');
          }
        } else {
          grads[2 * l] = tf.reshape(tf.matMul(hIn as tf.Tensor3D, g as tf.Tensor3D, true, false), [-1]);
          grads[2 * l + 1] = tf.reshape(this.biasAsProduct ? tf.matMul(this.ones([K, 1, n]), g as tf.Tensor3D) : tf.sum(g, 1), [-1]);
          if (l > 0) dh = tf.matMul(g as tf.Tensor3D, w as tf.Tensor3D, false, true);
        }
        if (dh) {
          // the previous layer's activation output, in dh's layout
          const h = conv ? outputs[l - 1] : hIn;
          g = relu ? tf.mul(dh, tf.step(h)) : tf.mul(dh, tf.sub(this.scalars.one, tf.square(h)));
        }
      }
      const grad = tf.concat(grads.filter((x) => x !== undefined)) as tf.Tensor1D;

      // element-wise optimizer over the flat buffer
      const s = this.scalars;
      if (this.train.optimizer === 'adam') {
        const [m, v] = prev.slots;
        const m1 = tf.add(tf.mul(m, s.beta1), tf.mul(grad, s.oneMinusBeta1)) as tf.Tensor1D;
        const v1 = tf.add(tf.mul(v, s.beta2), tf.mul(tf.square(grad), s.oneMinusBeta2)) as tf.Tensor1D;
        // lr·m̂/(√v̂ + ε) with m̂ = m/(1−β1^t), v̂ = v/(1−β2^t), as tf.train.adam: folded into one step
        // size, ε scales by √(1−β2^t) (test/optimizer.test.ts checks against tf.train.adam)
        const c2 = Math.sqrt(1 - BETA2 ** t);
        const stepSize = tf.mul(this.lr, c2 / (1 - BETA1 ** t));
        const params = tf.sub(prev.params, tf.mul(stepSize, tf.div(m1, tf.add(tf.sqrt(v1), EPSILON * c2)))) as tf.Tensor1D;
        return { params, slots: [m1, v1], lossSum };
      }
      const [acc] = prev.slots;
      const acc1 = tf.add(tf.mul(acc, this.momentum as tf.Tensor1D), grad) as tf.Tensor1D;
      const params = tf.sub(prev.params, tf.mul(this.lr, acc1)) as tf.Tensor1D;
      return { params, slots: [acc1], lossSum };
    });
    // kept: the caller may run steps inside its own tidy
    tf.keep(next.params);
    for (const x of next.slots) tf.keep(x);
    tf.keep(next.lossSum);
    tf.dispose([prev.params, ...prev.slots]);
    if (prev.lossSum) prev.lossSum.dispose();
    this.params = next.params;
    this.slots = next.slots;
    this.lossSum = next.lossSum;
  }

  /** A tensor of ones, made once per shape (batch sizes repeat every step) and freed with the model. */
  private ones(shape: number[]): tf.Tensor {
    const key = shape.join('x');
    return getOrCreate(this.onesByShape, key, () => tf.keep(tf.ones(shape)));
  }

  /**
   * Stop training these members: their learning rates become 0, so later steps leave their
   * parameters as they are (their optimizer state still moves, but it is never used again).
   */
  freeze(members: readonly number[]): void {
    if (!members.length) return;
    const frozen = new Set(members);
    for (let i = 0; i < this.lrHost.length; i++) if (frozen.has(this.memberOf[i])) this.lrHost[i] = 0;
    this.lr.dispose();
    this.lr = tf.tensor1d(this.lrHost);
  }

  /** A bool mask over the flat buffer: true on the elements of these members. */
  private memberMask(members: readonly number[]): tf.Tensor1D {
    const chosen = new Set(members);
    const mask = new Uint8Array(this.memberOf.length);
    for (let i = 0; i < mask.length; i++) mask[i] = chosen.has(this.memberOf[i]) ? 1 : 0;
    return tf.tensor1d(mask, 'bool');
  }

  /** Remember these members' current parameters as their best (early stopping). */
  snapshot(members: readonly number[]): void {
    if (!members.length) return;
    const prev = this.best;
    this.best = tf.tidy(() => (prev ? (tf.where(this.memberMask(members), this.params, prev) as tf.Tensor1D) : tf.clone(this.params)));
    prev?.dispose();
  }

  /** Put back these members' best parameters (those of their last snapshot), exactly. */
  restoreBest(members: readonly number[]): void {
    const best = this.best;
    if (!members.length || !best) return;
    const prev = this.params;
    this.params = tf.tidy(() => tf.where(this.memberMask(members), best, prev) as tf.Tensor1D);
    prev.dispose();
  }

  /** Member k's weight matrices ([in × out], row-major) and biases ([out]), layer by layer (tests, debugging). */
  memberWeights(k: number): { w: Float32Array[]; b: Float32Array[] } {
    const flat = this.params.dataSync();
    const out: { w: Float32Array[]; b: Float32Array[] } = { w: [], b: [] };
    let offset = 0;
    this.blocks.forEach((block, bi) => {
      const { rows, cols } = block;
      const own = new Float32Array(rows * cols);
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) own[i * cols + j] = flat[offset + blockIndex(this.layout, this.k, rows, cols, k, i, j)];
      (bi % 2 === 0 ? out.w : out.b).push(own);
      offset += block.size;
    });
    return out;
  }

  /** The epoch's summed training loss per member since the last call; resets it. */
  takeLossSum(): Float32Array {
    const k = this.k;
    if (!this.lossSum) return new Float32Array(k);
    const out = this.lossSum.dataSync() as Float32Array;
    this.lossSum.dispose();
    this.lossSum = null;
    return out;
  }

  dispose(): void {
    tf.dispose([this.params, ...this.slots, this.lr, this.gamma, this.negGamma, ...Object.values(this.scalars), ...this.onesByShape.values()]);
    if (this.offset) this.offset.dispose();
    if (this.poly) tf.dispose([this.poly.epsilon, this.poly.slope]);
    this.best?.dispose();
    this.best = null;
    if (this.momentum) this.momentum.dispose();
    if (this.lossSum) this.lossSum.dispose();
    this.lossSum = null;
  }
}

const SPLIT_KERNEL = 'FocalSweepSplitFlat';
let splitKernelRegistered = false;

/**
 * Split a 1-D tensor into consecutive parts. On wasm, tf.split runs the JS slice kernel once per
 * part, and each copies the WHOLE input out of the wasm heap first (readSync): with the cohort's
 * flat parameters that was ~14% of a step at K = 32. This small kernel copies each part straight
 * from heap to heap, as the wasm backend's own concat kernel does. Other backends use tf.split.
 */
function splitFlat(x: tf.Tensor1D, sizes: number[]): tf.Tensor[] {
  if (tf.getBackend() !== 'wasm') return tf.split(x, sizes);
  if (!splitKernelRegistered) {
    tf.registerKernel({
      kernelName: SPLIT_KERNEL,
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend, attrs }) => {
        const wasm = backend as unknown as BackendWasm;
        const input = inputs.x as tf.TensorInfo;
        let offset = 0;
        return ((attrs?.sizes ?? []) as number[]).map((n) => {
          const out = wasm.makeOutput([n], 'float32');
          // views taken after makeOutput: it may grow the heap, which detaches older views
          wasm.typedArrayFromHeap(out).set(wasm.typedArrayFromHeap(input).subarray(offset, offset + n));
          offset += n;
          return out;
        });
      },
    });
    splitKernelRegistered = true;
  }
  return tf.engine().runKernel(SPLIT_KERNEL, { x }, { sizes }) as unknown as tf.Tensor[];
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
  /** Called after every epoch (1-based) with each member's mean training loss. */
  onEpoch?: (epoch: number, trainLoss: Float64Array) => void;
  /** Epochs at which onEval runs (the last epoch always). */
  evalEvery: number;
  /** Called on evaluation epochs; returning true ends training after this epoch (every member has stopped). */
  onEval?: (epoch: number) => boolean | undefined;
}

/**
 * Train every member for `train.epochs` epochs. Each epoch each member gets its own permutation of
 * its own data (Rng stream 'shuffle'); the last batch of an epoch may be smaller. Stops early when
 * onEval says so. Returns the mean training loss per member for every epoch run.
 */
export function fit(model: BatchedMlp, opts: FitOptions): EpochLoss[] {
  const { nTrain: n, nFeatures: d } = opts;
  const K = model.k;
  const B = Math.max(1, Math.min(model.train.batch_size, n));
  const rngs = model.members.map((m) => new Rng(m.seed, 'shuffle'));
  // Batch-major: batch j (samples [s, s + b) of every member's permutation) occupies rows
  // [K·s, K·(s + b)) of the epoch's buffers, laid out as the model's layout wants a batch, so each
  // batch is one contiguous subarray.
  // conv layout: each batch's inputs are followed by a row of ones (Batch.xAug)
  const rows = model.layout === 'conv' ? d + 1 : d;
  const xEpoch = new Float32Array(K * n * rows);
  if (rows > d) for (let s = 0; s < n; s += B) xEpoch.fill(1, K * s * rows + d * Math.min(B, n - s) * K, K * (s + Math.min(B, n - s)) * rows);
  const signEpoch = new Float32Array(K * n);
  const weightEpoch = new Float32Array(K * n);
  const gradEpoch = new Float32Array(K * n);
  const history: EpochLoss[] = [];
  for (let epoch = 1; epoch <= model.train.epochs; epoch++) {
    model.members.forEach((m, k) => {
      const perm = rngs[k].permutation(n);
      for (let s = 0; s < n; s += B) {
        const b = Math.min(B, n - s);
        const r0 = K * s;
        const xs = model.inputStrides(b);
        const ys = model.outputStrides(b);
        for (let i = 0; i < b; i++) {
          const src = perm[s + i];
          const at = r0 + k * ys.member + i * ys.sample;
          const y = m.yTrain[src];
          const sign = 2 * y - 1;
          signEpoch[at] = sign;
          weightEpoch[at] = y === 1 ? m.positiveWeight : m.negativeWeight;
          gradEpoch[at] = -sign / b;
          const xo = r0 * rows + k * xs.member + i * xs.sample;
          for (let j = 0; j < d; j++) xEpoch[xo + j * xs.feature] = m.xTrain[src * d + j];
        }
      }
    });
    for (let s = 0; s < n; s += B) {
      const b = Math.min(B, n - s);
      const r0 = K * s;
      const r1 = K * (s + b);
      const shapes = model.shapes(b);
      tf.tidy(() =>
        model.trainStep({
          x: tf.tensor(xEpoch.subarray(r0 * rows, r0 * rows + r1 * d - r0 * d), shapes.x),
          xAug: rows > d ? tf.tensor(xEpoch.subarray(r0 * rows, r1 * rows), [1, rows, b, K]) : undefined,
          sign: tf.tensor(signEpoch.subarray(r0, r1), shapes.perSample),
          weight: tf.tensor(weightEpoch.subarray(r0, r1), shapes.perSample),
          gradScale: tf.tensor(gradEpoch.subarray(r0, r1), shapes.perSample),
        }),
      );
    }
    const raw = model.takeLossSum();
    const losses = new Float64Array(K);
    for (let k = 0; k < K; k++) losses[k] = raw[k] / n;
    history.push({ epoch, losses });
    opts.onEpoch?.(epoch, losses);
    if (opts.onEval && (epoch % opts.evalEvery === 0 || epoch === model.train.epochs) && opts.onEval(epoch)) break;
  }
  return history;
}

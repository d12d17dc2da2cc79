/**
 * Every loss focal-sweep trains, computed from logits in one numerically stable form (see
 * docs/ARCHITECTURE.md, "Numerics"). With x the logit, b a per-trial logit offset (logit adjustment;
 * 0 otherwise), s = (2y − 1)·(x + b) (s = x + b for y = 1, −(x + b) for y = 0) and a_t the class weight:
 *
 *   −log p_t        = softplus(−s)
 *   1 − p_t         = sigmoid(−s)
 *   (1 − p_t)^γ     = exp(−γ·softplus(s))
 *   loss            = a_t · (1 − p_t)^γ · (softplus(−s) + ε·(1 − p_t))
 *
 * BCE is γ = ε = b = 0 with a_t = 1; weighted BCE sets a_t from α; focal loss γ > 0 (Lin et al.
 * 2017); class-balanced weights set a_t from the training counts (Cui et al. 2019); logit adjustment
 * is b = τ·log(π₁/π₀) during training only (Menon et al. 2021); Poly-1 is ε ≠ 0 (Leng et al. 2022,
 * whose focal form is the general line above).
 *
 * No log(0), no 0^(γ−1) in the gradient (torchvision's NaN for 0<γ<1 at saturated logits) and no
 * 1 − p cancellation. tf.logSigmoid is deliberately avoided: its gradient throws in tfjs 4.22 when
 * its input is not a leaf tensor.
 */
import * as tf from '@tensorflow/tfjs';
import { classBalancedWeights, logitAdjustment } from '../class-weights.js';
import type { LossConfig } from '../types.js';

export { classBalancedWeights, logitAdjustment };

export type Reduction = 'mean' | 'sum' | 'none';

/** Per-class weights a_t: `positive` for y = 1, `negative` for y = 0. Tensors broadcast against the logits. */
export interface ClassWeights {
  positive: number | tf.Tensor;
  negative: number | tf.Tensor;
}

/** The parts of the general loss beyond γ and the class weights (see the header). */
export interface LossExtras {
  /** b: added to the logit inside the loss only. Default 0. */
  offset?: number | tf.Tensor;
  /** ε of Poly-1. Default 0. */
  epsilon?: number | tf.Tensor;
}

/** RetinaNet/torchvision α convention: α for positives, 1 − α for negatives; null = no weighting. */
export function alphaWeights(alpha: number | null): { positive: number; negative: number } {
  return alpha === null ? { positive: 1, negative: 1 } : { positive: alpha, negative: 1 - alpha };
}

/**
 * The general loss, element-wise (BCE when gamma is 0, both weights are 1 and there are no extras).
 * `gamma`, the weights and the extras may be tensors that broadcast against `logits`, e.g. [K,1]
 * per-trial values for [K,B] logits.
 */
export function focalElementwise(labels: tf.Tensor, logits: tf.Tensor, gamma: number | tf.Tensor, weights: ClassWeights, extras: LossExtras = {}): tf.Tensor {
  return tf.tidy(() => {
    const y = tf.cast(labels, 'float32');
    const x = extras.offset === undefined || extras.offset === 0 ? logits : tf.add(logits, extras.offset);
    const s = tf.mul(tf.sub(tf.mul(y, 2), 1), x); // (2y − 1)·(x + b)
    let loss = tf.softplus(tf.neg(s)); // −log p_t
    const epsilon = extras.epsilon ?? 0;
    if (epsilon !== 0) loss = tf.add(loss, tf.mul(epsilon, tf.sigmoid(tf.neg(s)))); // + ε·(1 − p_t)
    if (gamma !== 0) {
      // (1 − p_t)^γ = exp(γ·log(1 − p_t)), log(1 − p_t) = −softplus(s)
      loss = tf.mul(tf.exp(tf.mul(tf.neg(tf.softplus(s)), gamma)), loss);
    }
    const { positive, negative } = weights;
    if (!(positive === 1 && negative === 1)) {
      // a_t = negative + y·(positive − negative)
      const at = tf.add(tf.mul(y, tf.sub(positive, negative)), negative);
      loss = tf.mul(at, loss);
    }
    return loss;
  });
}

/** 'mean' averages over every element (torchvision's "mean"); 'none' returns the input. */
function reduceLoss(loss: tf.Tensor, reduction: Reduction): tf.Tensor {
  switch (reduction) {
    case 'mean':
      return tf.mean(loss);
    case 'sum':
      return tf.sum(loss);
    case 'none':
      return loss;
  }
}

export function focalLoss(labels: tf.Tensor, logits: tf.Tensor, opts: { gamma: number; alpha: number | null; reduction?: Reduction }): tf.Tensor {
  return tf.tidy(() => reduceLoss(focalElementwise(labels, logits, opts.gamma, alphaWeights(opts.alpha)), opts.reduction ?? 'mean'));
}

export function binaryCrossEntropy(labels: tf.Tensor, logits: tf.Tensor, reduction: Reduction = 'mean'): tf.Tensor {
  return focalLoss(labels, logits, { gamma: 0, alpha: null, reduction });
}

export function weightedBinaryCrossEntropy(labels: tf.Tensor, logits: tf.Tensor, alpha: number, reduction: Reduction = 'mean'): tf.Tensor {
  return focalLoss(labels, logits, { gamma: 0, alpha, reduction });
}

/** Class-balanced (focal when γ > 0) loss for training counts n₀ (negatives) and n₁ (positives). */
export function classBalancedLoss(
  labels: tf.Tensor,
  logits: tf.Tensor,
  opts: { beta: number; gamma: number; negatives: number; positives: number; reduction?: Reduction },
): tf.Tensor {
  const w = classBalancedWeights(opts.beta, opts.negatives, opts.positives);
  return tf.tidy(() => reduceLoss(focalElementwise(labels, logits, opts.gamma, w), opts.reduction ?? 'mean'));
}

/** Logit-adjusted BCE: BCE on x + τ·log(π₁/π₀) for training counts n₀, n₁. */
export function logitAdjustedLoss(
  labels: tf.Tensor,
  logits: tf.Tensor,
  opts: { tau: number; negatives: number; positives: number; reduction?: Reduction },
): tf.Tensor {
  const offset = logitAdjustment(opts.tau, opts.negatives, opts.positives);
  return tf.tidy(() => reduceLoss(focalElementwise(labels, logits, 0, alphaWeights(null), { offset }), opts.reduction ?? 'mean'));
}

/** Poly-1: BCE + ε·(1 − p_t). */
export function poly1Loss(labels: tf.Tensor, logits: tf.Tensor, opts: { epsilon: number; reduction?: Reduction }): tf.Tensor {
  return tf.tidy(() => reduceLoss(focalElementwise(labels, logits, 0, alphaWeights(null), { epsilon: opts.epsilon }), opts.reduction ?? 'mean'));
}

/** A trial's loss as plain numbers for the batched model. */
export interface ResolvedLoss {
  gamma: number;
  positive: number;
  negative: number;
  /** b, added to the logit in the loss only (logit adjustment). */
  offset: number;
  epsilon: number;
  /**
   * The class weighting actually used as one number: α for (weighted) BCE and focal ('inverse'
   * resolved), the positive share w₁/(w₀ + w₁) of class-balanced weights; null without weighting.
   */
  alphaUsed: number | null;
}

/** Resolve a trial's loss against its training data: 'inverse' α, class-balanced weights and the logit adjustment need the class counts. */
export function resolveLoss(loss: LossConfig, train: { negatives: number; positives: number }): ResolvedLoss {
  const none = { gamma: 0, positive: 1, negative: 1, offset: 0, epsilon: 0, alphaUsed: null };
  switch (loss.kind) {
    case 'bce':
      return none;
    case 'weighted_bce':
    case 'focal': {
      const fraction = train.positives / (train.positives + train.negatives);
      const alpha = loss.alpha === 'none' ? null : loss.alpha === 'inverse' ? 1 - fraction : loss.alpha;
      return { ...none, gamma: loss.kind === 'focal' ? loss.gamma : 0, ...alphaWeights(alpha), alphaUsed: alpha };
    }
    case 'class_balanced': {
      const w = classBalancedWeights(loss.beta, train.negatives, train.positives);
      return { ...none, gamma: loss.gamma, ...w, alphaUsed: loss.beta === 0 ? null : w.positive / (w.positive + w.negative) };
    }
    case 'logit_adjusted':
      return { ...none, offset: logitAdjustment(loss.tau, train.negatives, train.positives) };
    case 'poly1':
      return { ...none, epsilon: loss.epsilon };
  }
}

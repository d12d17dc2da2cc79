/**
 * BCE, weighted BCE and focal loss, all computed from logits in one numerically stable form
 * (DESIGN.md "Numerics", refs/FOCAL_SEMANTICS.md §5). With z = x for y = 1 and −x for y = 0:
 *
 *   −log p_t        = softplus(−z)
 *   (1 − p_t)^γ     = exp(−γ·softplus(z))
 *   FL              = a_t · exp(−γ·softplus(z)) · softplus(−z)
 *
 * No log(0), no 0^(γ−1) in the gradient (torchvision's NaN for 0<γ<1 at saturated logits) and no
 * 1 − p cancellation. tf.logSigmoid is deliberately avoided: its gradient throws in tfjs 4.22 when
 * its input is not a leaf tensor.
 */
import * as tf from '@tensorflow/tfjs';
import type { LossConfig } from '../types.js';

export type Reduction = 'mean' | 'sum' | 'none';

/** Per-class weights a_t: `positive` for y = 1, `negative` for y = 0. Tensors broadcast against the logits. */
export interface ClassWeights {
  positive: number | tf.Tensor;
  negative: number | tf.Tensor;
}

/** RetinaNet/torchvision α convention: α for positives, 1 − α for negatives; null = no weighting. */
export function alphaWeights(alpha: number | null): { positive: number; negative: number } {
  return alpha === null ? { positive: 1, negative: 1 } : { positive: alpha, negative: 1 - alpha };
}

/**
 * Element-wise focal loss (BCE when gamma is 0 and both weights are 1). `gamma` and the weights may
 * be tensors that broadcast against `logits`, e.g. [K,1] per-trial values for [K,B] logits.
 */
export function focalElementwise(labels: tf.Tensor, logits: tf.Tensor, gamma: number | tf.Tensor, weights: ClassWeights): tf.Tensor {
  return tf.tidy(() => {
    const y = tf.cast(labels, 'float32');
    const z = tf.mul(tf.sub(tf.mul(y, 2), 1), logits); // (2y − 1)·x: x for y = 1, −x for y = 0
    let loss = tf.softplus(tf.neg(z)); // −log p_t
    if (gamma !== 0) {
      // (1 − p_t)^γ = exp(γ·log(1 − p_t)), log(1 − p_t) = −softplus(z)
      loss = tf.mul(tf.exp(tf.mul(tf.neg(tf.softplus(z)), gamma)), loss);
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

/** A trial's loss as plain numbers for the batched model; 'inverse' α is the training majority fraction. */
export function resolveLoss(loss: LossConfig, trainPositiveFraction: number): { gamma: number; positive: number; negative: number; alphaUsed: number | null } {
  const raw = loss.kind === 'bce' ? 'none' : loss.alpha;
  const alpha = raw === 'none' ? null : raw === 'inverse' ? 1 - trainPositiveFraction : raw;
  return { gamma: loss.kind === 'focal' ? loss.gamma : 0, ...alphaWeights(alpha), alphaUsed: alpha };
}

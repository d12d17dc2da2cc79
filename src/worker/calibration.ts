/**
 * Calibration of the predicted positive-class probability: the expected calibration error over
 * equal-width bins (Guo et al. 2017; scikit-learn's calibration_curve with strategy='uniform'), and
 * the bins themselves for a reliability diagram. Focal loss and α move the probabilities away from
 * the true frequencies; users who threshold or average them need to see by how much.
 */
import type { Calibration } from '../types.js';
import { sigmoid } from './metrics.js';

/** Bins of the reliability diagram and of the ECE. */
export const CALIBRATION_BINS = 15;

/** Bin b holds p in [b/B, (b+1)/B); the last bin also holds p = 1. */
function binOf(p: number, bins: number): number {
  return Math.min(bins - 1, Math.floor(p * bins));
}

/** Count, summed probability and positives per bin of sigmoid(logit). */
export function calibrationBins(labels: ArrayLike<number>, logits: ArrayLike<number>, bins = CALIBRATION_BINS): Calibration {
  const count = new Array<number>(bins).fill(0);
  const sumP = new Array<number>(bins).fill(0);
  const positives = new Array<number>(bins).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const p = sigmoid(logits[i]);
    const b = binOf(p, bins);
    count[b]++;
    sumP[b] += p;
    positives[b] += labels[i] === 1 ? 1 : 0;
  }
  return { count, sum_p: sumP, positives };
}

/** ECE = Σ_b (n_b / n) · |positive rate_b − mean p_b| over non-empty bins. */
export function expectedCalibrationError(c: Calibration): number {
  let n = 0;
  let total = 0;
  for (let b = 0; b < c.count.length; b++) {
    if (c.count[b] === 0) continue;
    n += c.count[b];
    total += Math.abs(c.positives[b] - c.sum_p[b]); // n_b · |rate − mean p| = |positives − Σp|
  }
  return n > 0 ? total / n : 0;
}

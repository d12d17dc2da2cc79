/**
 * Choosing a trial's decision threshold on its validation split. A practitioner never ships a model
 * at the default 0.5 on 99:1 data; they pick the cut that serves their metric. Comparing losses at
 * tuned cuts separates "ranks the classes better" from "only moves the operating point".
 *
 * The search is exact, like scikit-learn's precision_recall_curve: every distinct validation score is
 * a candidate cut ("predicted positive iff logit >= cut"), the confusion matrix at each is counted in
 * one pass down the sorted scores, and the best cut by the metric wins; among equally good cuts the
 * one closest to p = 0.5 (the smallest |logit|; of two as close, the higher). Cuts are logits, so saturated probabilities (p = 1
 * in float64 for logits above ~37) stay distinct.
 */
import type { ThresholdMetric } from '../types.js';
import { type LabelMetrics, labelMetrics, sigmoid } from './metrics.js';

export interface TunedThreshold {
  /** The cut as a logit: predicted positive iff logit >= this. */
  logit: number;
  /** The same cut as a probability, sigmoid(logit) (what is stored and shown). */
  probability: number;
  /** The metric's value at the cut on the split it was tuned on. */
  value: number;
}

/** Relative tolerance under which two metric values count as a tie (MCC goes through square roots). */
const TIE = 1e-12;

function metricValue(m: LabelMetrics, metric: ThresholdMetric): number {
  return m[metric];
}

/**
 * The cut that maximises `metric` over every distinct score of `logits` (ties: closest to p = 0.5,
 * then the higher).
 * Needs at least one sample; labels are 0/1.
 */
export function tuneThreshold(labels: ArrayLike<number>, logits: ArrayLike<number>, metric: ThresholdMetric): TunedThreshold {
  const n = labels.length;
  if (n === 0 || logits.length !== n) throw new RangeError(`tuneThreshold: ${n} labels and ${logits.length} scores`);
  let nPos = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new RangeError(`tuneThreshold: label ${i} is ${labels[i]}, expected 0 or 1`);
    if (Number.isNaN(logits[i])) throw new RangeError(`tuneThreshold: score ${i} is NaN`);
    nPos += labels[i];
  }
  const nNeg = n - nPos;
  const pos = new Float64Array(nPos);
  const neg = new Float64Array(nNeg);
  for (let i = 0, p = 0, q = 0; i < n; i++) {
    if (labels[i] === 1) pos[p++] = logits[i];
    else neg[q++] = logits[i];
  }
  pos.sort();
  neg.sort();
  // Walk the distinct scores from the top: after taking every score >= t, tp and fp are the counts at cut t.
  let i = nPos - 1;
  let j = nNeg - 1;
  let tp = 0;
  let fp = 0;
  let best: TunedThreshold | null = null;
  while (i >= 0 || j >= 0) {
    const t = i >= 0 && (j < 0 || pos[i] >= neg[j]) ? pos[i] : neg[j];
    while (i >= 0 && pos[i] === t) {
      tp++;
      i--;
    }
    while (j >= 0 && neg[j] === t) {
      fp++;
      j--;
    }
    const value = metricValue(labelMetrics(tp, fp, nNeg - fp, nPos - tp), metric);
    if (best === null || value > best.value + TIE * Math.max(1, Math.abs(best.value))) best = { logit: t, probability: sigmoid(t), value };
    else if (Math.abs(value - best.value) <= TIE * Math.max(1, Math.abs(best.value)) && Math.abs(t) < Math.abs(best.logit)) {
      best = { logit: t, probability: sigmoid(t), value: Math.max(value, best.value) };
    }
  }
  return best as TunedThreshold;
}

/**
 * Imbalance-aware test metrics in plain float64 JS, with scikit-learn's definitions and its
 * zero_division=0 conventions. Positive = label 1 = the minority class.
 */

/** Logistic sigmoid without overflow for large |x|. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** log(1 + e^x) without overflow or underflow to 0 in the tails. */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** Positive iff the label is 1; anything but 0 or 1 is a bug upstream. */
function isPositive(label: number, i: number): boolean {
  if (label === 1) return true;
  if (label === 0) return false;
  throw new RangeError(`metrics: label ${i} is ${label}, expected 0 or 1`);
}

function checkInputs(labels: ArrayLike<number>, scores: ArrayLike<number>): void {
  if (labels.length !== scores.length) {
    throw new RangeError(`metrics: ${labels.length} labels but ${scores.length} scores`);
  }
  if (labels.length === 0) throw new RangeError('metrics: no samples');
}

/** Mean binary cross-entropy from logits: mean softplus(−z), z = x for y = 1 and −x for y = 0. */
export function logLossFromLogits(labels: ArrayLike<number>, logits: ArrayLike<number>): number {
  return lossFromLogits(labels, logits, { gamma: 0, positive: 1, negative: 1 });
}

/** The terms of the general loss (losses.ts): γ, the class weights, the logit offset b and Poly-1's ε. */
export interface LossTerms {
  gamma: number;
  positive: number;
  negative: number;
  offset?: number;
  epsilon?: number;
}

/**
 * Mean loss from logits in float64, the formula training uses (losses.ts): with s = (2y − 1)·(x + b),
 * a_t·(1 − p_t)^γ·(softplus(−s) + ε·(1 − p_t)), (1 − p_t)^γ = exp(−γ·softplus(s)), 1 − p_t = sigmoid(−s).
 */
export function lossFromLogits(labels: ArrayLike<number>, logits: ArrayLike<number>, terms: LossTerms): number {
  checkInputs(labels, logits);
  const { gamma, positive: pw, negative: nw } = terms;
  const offset = terms.offset ?? 0;
  const epsilon = terms.epsilon ?? 0;
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const positive = isPositive(labels[i], i);
    const s = positive ? logits[i] + offset : -(logits[i] + offset);
    const ce = softplus(-s) + (epsilon === 0 ? 0 : epsilon * sigmoid(-s));
    const mod = gamma === 0 ? 1 : Math.exp(-gamma * softplus(s));
    sum += (positive ? pw : nw) * mod * ce;
  }
  return sum / labels.length;
}

// Scores split by class, reused across calls: the worker evaluates every trial every eval epoch.
let scratch = new Float64Array(0);

/**
 * ROC-AUC and average precision in one O(n log n) pass. Scores of each class are sorted on their
 * own (native typed-array sort, no comparator), then merged from the top, one distinct score at a
 * time, so tied scores form one threshold as in scikit-learn.
 */
function rankMetrics(labels: ArrayLike<number>, scores: ArrayLike<number>): { rocAuc: number | null; averagePrecision: number | null } {
  checkInputs(labels, scores);
  const n = labels.length;
  let nPos = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(scores[i])) throw new RangeError(`metrics: score ${i} is NaN`);
    if (isPositive(labels[i], i)) nPos++;
  }
  const nNeg = n - nPos;
  if (scratch.length < n) scratch = new Float64Array(n);
  const pos = scratch.subarray(0, nPos);
  const neg = scratch.subarray(nPos, n);
  for (let i = 0, p = 0, q = 0; i < n; i++) {
    if (labels[i] === 1) pos[p++] = scores[i];
    else neg[q++] = scores[i];
  }
  pos.sort();
  neg.sort();

  // Walk thresholds t from the highest score down; "predicted positive" = score >= t.
  let i = nPos - 1;
  let j = nNeg - 1;
  let tp = 0;
  let fp = 0;
  let ap = 0; // Σ (R_n − R_{n−1}) P_n (scikit-learn's average_precision_score), times nPos
  let wins = 0; // Mann–Whitney U: positive above negative counts 1, ties count ½
  while (i >= 0 || j >= 0) {
    const t = i >= 0 && (j < 0 || pos[i] >= neg[j]) ? pos[i] : neg[j];
    const tp0 = tp;
    const fp0 = fp;
    while (i >= 0 && pos[i] === t) {
      tp++;
      i--;
    }
    while (j >= 0 && neg[j] === t) {
      fp++;
      j--;
    }
    const dtp = tp - tp0;
    if (dtp > 0) {
      ap += dtp * (tp / (tp + fp));
      wins += dtp * (nNeg - fp) + 0.5 * dtp * (fp - fp0);
    }
  }
  return {
    rocAuc: nPos > 0 && nNeg > 0 ? wins / (nPos * nNeg) : null,
    averagePrecision: nPos > 0 ? ap / nPos : null, // one division: exactly 1 when perfect
  };
}

/** ROC-AUC (ties count ½); null when the labels hold one class. Only the order of scores matters. */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number | null {
  return rankMetrics(labels, scores).rocAuc;
}

/**
 * Average precision as scikit-learn's average_precision_score: a step sum over distinct score
 * thresholds (not the trapezoidal PR area); null when there are no positives.
 */
export function averagePrecision(labels: ArrayLike<number>, scores: ArrayLike<number>): number | null {
  return rankMetrics(labels, scores).averagePrecision;
}

/** The metrics that depend on a decision threshold, from a confusion matrix. */
export type LabelMetrics = {
  accuracy: number;
  balanced_accuracy: number;
  minority_precision: number;
  minority_recall: number;
  minority_f1: number;
  mcc: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  predicted_positive_rate: number;
};

/**
 * Label-based metrics from confusion counts, as scikit-learn with zero_division=0: precision is 0
 * when nothing is predicted positive, recall 0 when there are no positives, F1 0 when there are no
 * true positives, MCC 0 when its denominator is 0. balanced_accuracy is the mean recall over the
 * classes present in the labels (sklearn's adjusted=False drops absent classes), so with one class
 * it is that class's recall.
 */
export function labelMetrics(tp: number, fp: number, tn: number, fn: number): LabelMetrics {
  const n = tp + fp + tn + fn;
  const nPos = tp + fn;
  const nNeg = tn + fp;
  const recall = nPos > 0 ? tp / nPos : 0;
  const specificity = nNeg > 0 ? tn / nNeg : 0;
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const presentClasses = (nPos > 0 ? 1 : 0) + (nNeg > 0 ? 1 : 0);
  // Square roots taken pairwise so the product cannot overflow for any realistic n.
  const mccDenominator = Math.sqrt((tp + fp) * (tp + fn)) * Math.sqrt((tn + fp) * (tn + fn));
  return {
    accuracy: (tp + tn) / n,
    balanced_accuracy: (recall + specificity) / presentClasses, // an absent class contributes 0 and is not counted
    minority_precision: precision,
    minority_recall: recall,
    // 2PR/(P+R) written in counts: exact, and 0 exactly when P + R = 0 (tp = 0)
    minority_f1: tp > 0 ? (2 * tp) / (2 * tp + fp + fn) : 0,
    mcc: mccDenominator > 0 ? (tp * tn - fp * fn) / mccDenominator : 0,
    tp,
    fp,
    tn,
    fn,
    predicted_positive_rate: (tp + fp) / n,
  };
}

/** Where a split is cut into predicted classes: at a probability (sigmoid(z) >= p) or at a logit (z >= z0). */
export type Cut = { probability: number } | { logit: number };

/** Label-based metrics at a cut. A probability cut compares sigmoid(z), a logit cut z itself (exact for tuned cuts). */
export function labelMetricsAt(labels: ArrayLike<number>, logits: ArrayLike<number>, cut: Cut): LabelMetrics {
  checkInputs(labels, logits);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  const byLogit = 'logit' in cut;
  const at = byLogit ? cut.logit : cut.probability;
  for (let i = 0; i < labels.length; i++) {
    const positive = isPositive(labels[i], i);
    const predicted = byLogit ? logits[i] >= at : sigmoid(logits[i]) >= at;
    if (positive) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  return labelMetrics(tp, fp, tn, fn);
}

/** The threshold-free metrics of a split: ranking (ROC-AUC, PR-AUC) and probability quality (Brier, log loss). */
export function scoreMetrics(
  labels: ArrayLike<number>,
  logits: ArrayLike<number>,
): { roc_auc: number | null; pr_auc: number | null; brier: number; log_loss: number } {
  checkInputs(labels, logits);
  const n = labels.length;
  let brier = 0;
  let logLoss = 0;
  for (let i = 0; i < n; i++) {
    const x = logits[i];
    const positive = isPositive(labels[i], i);
    const err = sigmoid(x) - (positive ? 1 : 0);
    brier += err * err;
    logLoss += softplus(positive ? -x : x);
  }
  const { rocAuc, averagePrecision } = rankMetrics(labels, logits);
  return { roc_auc: rocAuc, pr_auc: averagePrecision, brier: brier / n, log_loss: logLoss / n };
}

/** Label metrics at a probability threshold (predicted positive iff sigmoid(logit) >= threshold) and the threshold-free ones. */
export function classificationMetrics(labels: ArrayLike<number>, logits: ArrayLike<number>, threshold = 0.5): LabelMetrics & ReturnType<typeof scoreMetrics> {
  return { ...labelMetricsAt(labels, logits, { probability: threshold }), ...scoreMetrics(labels, logits) };
}

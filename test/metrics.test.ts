import { describe, expect, it } from 'vitest';
import { averagePrecision, classificationMetrics, logLossFromLogits, rocAuc, sigmoid } from '../src/worker/metrics.js';
import { Rng } from '../src/worker/rng.js';

const logit = (p: number) => Math.log(p / (1 - p));

/** No metric may be NaN or infinite, whatever the input. */
function expectAllFinite(m: Record<string, number | null>): void {
  for (const [name, v] of Object.entries(m)) {
    if (v !== null) expect(Number.isFinite(v), `${name} = ${v}`).toBe(true);
  }
}

describe('ranking metrics', () => {
  // scikit-learn's documented example for both functions.
  const y = [0, 0, 1, 1];
  const s = [0.1, 0.4, 0.35, 0.8];

  it("match scikit-learn's documented example", () => {
    // thresholds 0.8: R=½ P=1; 0.4: R unchanged; 0.35: R=1 P=⅔ → AP = ½·1 + ½·⅔ = 0.8333
    expect(averagePrecision(y, s)).toBeCloseTo(5 / 6, 14);
    // pairs (pos, neg): 0.8>0.1, 0.8>0.4, 0.35>0.1, 0.35<0.4 → 3/4
    expect(rocAuc(y, s)).toBeCloseTo(0.75, 14);
  });

  it('depend only on the order of the scores', () => {
    expect(averagePrecision(y, s.map(logit))).toBeCloseTo(5 / 6, 14);
    expect(
      rocAuc(
        y,
        s.map((v) => 1000 * v - 3),
      ),
    ).toBeCloseTo(0.75, 14);
  });

  it('is average precision, not the trapezoidal PR area', () => {
    // y=[1,0,1] s=[3,2,1]: AP = ½·1 + ½·⅔ = 0.8333; the trapezoid over (0,1),(½,1),(½,½),(1,⅔) is 0.7917
    expect(averagePrecision([1, 0, 1], [3, 2, 1])).toBeCloseTo(5 / 6, 14);
  });

  it('group tied scores into one threshold', () => {
    // all equal: one threshold with everything predicted positive → AP = positive fraction, ROC ½
    expect(averagePrecision([1, 0, 0, 0, 1], [0.3, 0.3, 0.3, 0.3, 0.3])).toBeCloseTo(0.4, 14);
    expect(rocAuc([1, 0, 0, 0, 1], [0.3, 0.3, 0.3, 0.3, 0.3])).toBe(0.5);
    // y=[1,0,1,0,0] s=[.9,.9,.5,.5,.1]: t=.9 R=½ P=½; t=.5 R=1 P=½ → AP = ½
    // ROC: pos .9 vs negs (.9 tie, .5, .1) = 2.5; pos .5 vs (.9, .5 tie, .1) = 1.5 → 4/6
    expect(averagePrecision([1, 0, 1, 0, 0], [0.9, 0.9, 0.5, 0.5, 0.1])).toBeCloseTo(0.5, 14);
    expect(rocAuc([1, 0, 1, 0, 0], [0.9, 0.9, 0.5, 0.5, 0.1])).toBeCloseTo(4 / 6, 14);
  });

  it('are 1 for a perfect ranking and ROC 0 for an inverted one', () => {
    expect(rocAuc([0, 1, 0, 1], [1, 4, 2, 3])).toBe(1);
    expect(averagePrecision([0, 1, 0, 1], [1, 4, 2, 3])).toBe(1);
    expect(rocAuc([1, 1, 0, 0], [1, 2, 3, 4])).toBe(0);
    // inverted: t=2 R=½ P=⅓; t=1 R=1 P=½ → AP = ⅙ + ¼
    expect(averagePrecision([1, 1, 0, 0], [1, 2, 3, 4])).toBeCloseTo(1 / 6 + 1 / 4, 14);
  });

  it('are null when undefined: ROC with one class, AP without positives', () => {
    expect(rocAuc([0, 0, 0], [1, 2, 3])).toBeNull();
    expect(rocAuc([1, 1, 1], [1, 2, 3])).toBeNull();
    expect(averagePrecision([0, 0, 0], [1, 2, 3])).toBeNull();
    expect(averagePrecision([1, 1, 1], [1, 2, 3])).toBe(1); // precision is 1 at every threshold
  });

  it('agree with brute-force definitions on random data with many ties', () => {
    const rng = new Rng(3, 'test/metrics');
    const n = 1500;
    const labels = new Float32Array(n);
    const scores = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = rng.next() < 0.15 ? 1 : 0;
      scores[i] = Math.round(4 * (rng.normal() + labels[i])) / 4; // coarse grid → ties
    }
    // ROC: every (positive, negative) pair, ties ½
    let wins = 0;
    let pairs = 0;
    for (let i = 0; i < n; i++) {
      if (labels[i] !== 1) continue;
      for (let j = 0; j < n; j++) {
        if (labels[j] !== 0) continue;
        pairs++;
        wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
      }
    }
    // AP: Σ over distinct thresholds (descending) of ΔR · P, counting by a full scan at each
    const nPos = labels.reduce((a, b) => a + b, 0);
    const thresholds = [...new Set(scores)].sort((a, b) => b - a);
    let ap = 0;
    let prevRecall = 0;
    for (const t of thresholds) {
      let tp = 0;
      let predicted = 0;
      for (let i = 0; i < n; i++) {
        if (scores[i] >= t) {
          predicted++;
          tp += labels[i];
        }
      }
      ap += (tp / nPos - prevRecall) * (tp / predicted);
      prevRecall = tp / nPos;
    }
    expect(rocAuc(labels, scores)).toBeCloseTo(wins / pairs, 12);
    expect(averagePrecision(labels, scores)).toBeCloseTo(ap, 12);
  });

  it('handle 10^5 samples (O(n log n))', () => {
    const rng = new Rng(5, 'test/metrics-large');
    const n = 100_000;
    const labels = new Float32Array(n);
    const logits = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 10 === 0 ? 1 : 0;
      logits[i] = labels[i] ? 10 + rng.next() : rng.next() - 10; // perfectly separated
    }
    const m = classificationMetrics(labels, logits);
    expect(m.roc_auc).toBe(1);
    expect(m.pr_auc).toBe(1);
    expect(m.tp).toBe(10_000);
    expect(m.tn).toBe(90_000);
  });

  it('reject NaN scores and labels other than 0/1', () => {
    expect(() => rocAuc([0, 1], [0.1, NaN])).toThrow(/score 1 is NaN/);
    expect(() => averagePrecision([0, 0.5], [0.1, 0.2])).toThrow(/label 1 is 0.5/);
    expect(() => rocAuc([0, 1, 1], [0.1, 0.2])).toThrow(/3 labels but 2 scores/);
  });
});

describe('classificationMetrics', () => {
  it('matches a hand-worked example', () => {
    // probabilities 0.1, 0.4, 0.35, 0.8 for labels 0, 0, 1, 1; threshold 0.5 predicts only the last
    // tp=1 fp=0 tn=2 fn=1
    const m = classificationMetrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8].map(logit));
    expect({ tp: m.tp, fp: m.fp, tn: m.tn, fn: m.fn }).toEqual({ tp: 1, fp: 0, tn: 2, fn: 1 });
    expect(m.accuracy).toBeCloseTo(0.75, 14);
    expect(m.balanced_accuracy).toBeCloseTo((1 / 2 + 2 / 2) / 2, 14); // (TPR ½ + TNR 1) / 2
    expect(m.minority_precision).toBeCloseTo(1, 14);
    expect(m.minority_recall).toBeCloseTo(0.5, 14);
    expect(m.minority_f1).toBeCloseTo(2 / 3, 14); // 2·1·½ / (1 + ½)
    expect(m.mcc).toBeCloseTo(2 / Math.sqrt(12), 14); // (1·2 − 0·1) / √(1·2·2·3)
    expect(m.roc_auc).toBeCloseTo(0.75, 14);
    expect(m.pr_auc).toBeCloseTo(5 / 6, 14);
    expect(m.brier).toBeCloseTo((0.01 + 0.16 + 0.4225 + 0.04) / 4, 14); // (p−y)²: .1², .4², .65², .2²
    expect(m.log_loss).toBeCloseTo(-(Math.log(0.9) + Math.log(0.6) + Math.log(0.35) + Math.log(0.8)) / 4, 14);
    expect(m.predicted_positive_rate).toBe(0.25);
  });

  it('predicts positive iff sigmoid(logit) >= threshold', () => {
    const labels = [1, 1, 0, 0];
    const logits = [0, logit(0.7), logit(0.2), logit(0.69)];
    expect(classificationMetrics(labels, logits).tp).toBe(2); // p = 0.5 counts as positive
    const strict = classificationMetrics(labels, logits, 0.7);
    expect([strict.tp, strict.fn, strict.fp, strict.tn]).toEqual([1, 1, 0, 2]);
  });

  it('gives nulls and zeros, never NaN, when the labels hold one class', () => {
    // labels all negative: tp=0 fp=1 tn=2 fn=0
    const neg = classificationMetrics([0, 0, 0], [-1, 2, -3]);
    expectAllFinite(neg);
    expect(neg.roc_auc).toBeNull();
    expect(neg.pr_auc).toBeNull();
    expect(neg.minority_precision).toBe(0);
    expect(neg.minority_recall).toBe(0);
    expect(neg.minority_f1).toBe(0);
    expect(neg.mcc).toBe(0);
    expect(neg.balanced_accuracy).toBeCloseTo(2 / 3, 14); // only the negative class's recall
    // labels all positive, all predicted positive
    const pos = classificationMetrics([1, 1], [3, 4]);
    expectAllFinite(pos);
    expect(pos.roc_auc).toBeNull();
    expect(pos.pr_auc).toBe(1);
    expect(pos.balanced_accuracy).toBe(1);
    expect(pos.mcc).toBe(0);
  });

  it('gives zeros, never NaN, when every prediction is one class', () => {
    const none = classificationMetrics([1, 0, 0, 1, 0], [-5, -4, -3, -2, -1]);
    expectAllFinite(none);
    expect(none.minority_precision).toBe(0); // nothing predicted positive: zero_division=0
    expect(none.minority_recall).toBe(0);
    expect(none.minority_f1).toBe(0);
    expect(none.mcc).toBe(0);
    expect(none.balanced_accuracy).toBe(0.5);
    expect(none.predicted_positive_rate).toBe(0);
    expect(none.accuracy).toBeCloseTo(0.6, 14);
    expect(none.roc_auc).toBeCloseTo(2 / 6, 14); // positives at −5, −2 beat 0 and 2 of the 3 negatives
    const all = classificationMetrics([1, 0, 0, 1, 0], [5, 4, 3, 2, 1]);
    expectAllFinite(all);
    expect(all.minority_precision).toBeCloseTo(0.4, 14);
    expect(all.minority_recall).toBe(1);
    expect(all.mcc).toBe(0);
    expect(all.balanced_accuracy).toBe(0.5);
  });

  it('keeps log loss finite at saturated logits', () => {
    // well classified cost ≈ 0, badly classified cost ≈ |logit|: (0 + 0 + 100 + 100) / 4
    const m = classificationMetrics([1, 0, 1, 0], [100, -100, -100, 100]);
    expectAllFinite(m);
    expect(m.log_loss).toBeCloseTo(50, 12);
    expect(m.brier).toBeCloseTo(0.5, 14);
    expect(logLossFromLogits([1, 0], [-1000, 1000])).toBe(1000);
    expect(logLossFromLogits([1, 0], [1000, -1000])).toBe(0);
  });

  it('logLossFromLogits equals the metric and the textbook formula', () => {
    const labels = [1, 0, 1, 0, 1];
    const logits = [0.3, -1.2, 2.5, 0.8, -0.4];
    const textbook =
      -labels.reduce((s, y, i) => {
        const p = 1 / (1 + Math.exp(-logits[i]));
        return s + (y ? Math.log(p) : Math.log(1 - p));
      }, 0) / labels.length;
    expect(logLossFromLogits(labels, logits)).toBeCloseTo(textbook, 14);
    expect(classificationMetrics(labels, logits).log_loss).toBeCloseTo(textbook, 14);
  });
});

describe('sigmoid', () => {
  it('is stable in both tails', () => {
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(800)).toBe(1);
    expect(sigmoid(-800)).toBe(0);
    expect(sigmoid(-40)).toBeCloseTo(Math.exp(-40), 30);
    expect(sigmoid(2) + sigmoid(-2)).toBeCloseTo(1, 15);
  });
});

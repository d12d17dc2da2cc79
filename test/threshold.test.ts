/**
 * Tuning a trial's threshold on its validation split: the exact search against brute force over
 * every candidate cut, the tie rule (closest to p = 0.5), and a cut that never looks at test labels.
 */
import { describe, expect, it } from 'vitest';
import { THRESHOLD_METRICS, type ThresholdMetric } from '../src/types.js';
import { evaluateTrial } from '../src/worker/evaluate.js';
import { labelMetricsAt, sigmoid } from '../src/worker/metrics.js';
import { Rng } from '../src/worker/rng.js';
import { tuneThreshold } from '../src/worker/threshold.js';

/** The metric at cut "logit >= t", written out from counts independently of the code under test. */
function metricAt(labels: number[], logits: number[], t: number, metric: ThresholdMetric): number {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  labels.forEach((y, i) => {
    const predicted = logits[i] >= t;
    if (y === 1 && predicted) tp++;
    else if (y === 1) fn++;
    else if (predicted) fp++;
    else tn++;
  });
  if (metric === 'minority_f1') return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  if (metric === 'balanced_accuracy') {
    const classes = (tp + fn > 0 ? 1 : 0) + (tn + fp > 0 ? 1 : 0);
    return ((tp + fn > 0 ? tp / (tp + fn) : 0) + (tn + fp > 0 ? tn / (tn + fp) : 0)) / classes;
  }
  const d = Math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn));
  return d === 0 ? 0 : (tp * tn - fp * fn) / d;
}

/** Brute force: every distinct score is tried; the best value wins, ties go to the cut nearest p = 0.5, then the higher one. */
function bruteForce(labels: number[], logits: number[], metric: ThresholdMetric): { logit: number; value: number } {
  let best: { logit: number; value: number } | null = null;
  for (const t of [...new Set(logits)]) {
    const value = metricAt(labels, logits, t, metric);
    const tie = best !== null && Math.abs(value - best.value) <= 1e-12;
    const nearer = best !== null && (Math.abs(t) < Math.abs(best.logit) || (Math.abs(t) === Math.abs(best.logit) && t > best.logit));
    if (!best || value > best.value + 1e-12 || (tie && nearer)) best = { logit: t, value };
  }
  return best as { logit: number; value: number };
}

/** Random labels (a given positive rate) and scores rounded to a grid so that many tie. */
function sample(rng: Rng, n: number, positiveRate: number, grid: number): { labels: number[]; logits: number[] } {
  const labels: number[] = [];
  const logits: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = rng.next() < positiveRate ? 1 : 0;
    labels.push(y);
    logits.push(Math.round((rng.normal() + (y ? 1 : 0)) * grid) / grid);
  }
  return { labels, logits };
}

describe('tuneThreshold', () => {
  it.each(THRESHOLD_METRICS)('finds the cut brute force finds, on random scores with ties (%s)', (metric) => {
    const rng = new Rng(7, 'threshold-test');
    for (let round = 0; round < 200; round++) {
      const n = 1 + Math.floor(rng.next() * 80);
      const { labels, logits } = sample(rng, n, [0.02, 0.1, 0.3, 0.5][round % 4], [1, 4, 20, 1000][round % 4]);
      const got = tuneThreshold(labels, logits, metric);
      const want = bruteForce(labels, logits, metric);
      expect(got.logit + 0, `round ${round}`).toBe(want.logit + 0); // + 0: -0 and 0 are the same cut
      expect(got.value).toBeCloseTo(want.value, 12);
      expect(got.probability).toBe(sigmoid(want.logit));
      // the value reported is the metric at the cut
      expect(got.value).toBeCloseTo(metricAt(labels, logits, got.logit, metric), 12);
    }
  });

  it('breaks ties toward p = 0.5', () => {
    // y = [1, 0, 0, 1] with logits [3.5, 1, -1, -3]: F1 at cut 3.5 is 2/3, at cut −3 is 2/3 too
    // (everything positive: 2tp / (2tp + fp) = 4/6); cut −3 is nearer p = 0.5
    expect(tuneThreshold([1, 0, 0, 1], [3.5, 1, -1, -3], 'minority_f1').logit).toBe(-3);
    expect(tuneThreshold([1, 0, 0, 1], [2, 1, -1, -3], 'minority_f1').logit).toBe(2);
    expect(tuneThreshold([1, 0, 0, 1], [3, 1, -1, -2.5], 'minority_f1').logit).toBe(-2.5);
    // a perfect separation: F1 = 1 at the cut 0.2 (p ≈ 0.55) only
    expect(tuneThreshold([0, 0, 1, 1], [-2, -1, 0.2, 4], 'minority_f1')).toMatchObject({ logit: 0.2, value: 1 });
  });

  it('keeps saturated scores apart (cuts are logits, not probabilities that round to 1)', () => {
    // sigmoid(40) and sigmoid(45) are both 1 in float64; the cut between the classes is still found
    const t = tuneThreshold([0, 0, 1, 1], [30, 40, 45, 50], 'minority_f1');
    expect(t).toMatchObject({ logit: 45, value: 1 });
    expect(labelMetricsAt([0, 1], [40, 45], { logit: t.logit })).toMatchObject({ tp: 1, fp: 0 });
  });

  it('refuses what it cannot tune on', () => {
    expect(() => tuneThreshold([], [], 'mcc')).toThrow('tuneThreshold: 0 labels and 0 scores');
    expect(() => tuneThreshold([1, 2], [0, 1], 'mcc')).toThrow('tuneThreshold: label 1 is 2, expected 0 or 1');
    expect(() => tuneThreshold([1, 0], [0, Number.NaN], 'mcc')).toThrow('tuneThreshold: score 1 is NaN');
  });
});

describe('evaluateTrial', () => {
  const rng = new Rng(3, 'evaluate-trial');
  const val = sample(rng, 300, 0.1, 50);
  const test = sample(rng, 300, 0.1, 50);
  const train = { threshold: 0.5, threshold_metric: 'minority_f1' as const };

  it('tunes on validation only: the test labels never move the cut', () => {
    const a = evaluateTrial({ yVal: val.labels, zVal: val.logits, yTest: test.labels, zTest: test.logits }, train);
    expect(a.tuned?.logit).toBe(tuneThreshold(val.labels, val.logits, 'minority_f1').logit);
    // the cut a search on the test split would pick is another one: tuning on test would be caught
    expect(tuneThreshold(test.labels, test.logits, 'minority_f1').logit).not.toBe(a.tuned?.logit);
    for (const flip of [0, 1]) {
      const other = test.labels.map((y, i) => (i % 3 === flip ? 1 - y : y));
      const b = evaluateTrial({ yVal: val.labels, zVal: val.logits, yTest: other, zTest: test.logits }, train);
      expect(b.test.threshold_tuned).toBe(a.test.threshold_tuned);
    }
  });

  it('reads the test split at the tuned cut and the fixed threshold, validation likewise', () => {
    const r = evaluateTrial({ yVal: val.labels, zVal: val.logits, yTest: test.labels, zTest: test.logits }, train);
    const cut = { logit: r.tuned?.logit as number };
    const atCut = labelMetricsAt(test.labels, test.logits, cut);
    expect(r.test).toMatchObject({
      minority_f1_tuned: atCut.minority_f1,
      minority_recall_tuned: atCut.minority_recall,
      minority_precision_tuned: atCut.minority_precision,
      balanced_accuracy_tuned: atCut.balanced_accuracy,
      mcc_tuned: atCut.mcc,
      accuracy_tuned: atCut.accuracy,
      tp_tuned: atCut.tp,
      fp_tuned: atCut.fp,
      tn_tuned: atCut.tn,
      fn_tuned: atCut.fn,
      predicted_positive_rate_tuned: atCut.predicted_positive_rate,
    });
    expect(r.test.minority_f1).toBe(labelMetricsAt(test.labels, test.logits, { probability: 0.5 }).minority_f1);
    expect(r.validation?.minority_f1_tuned).toBeCloseTo(r.tuned?.value as number, 12);
    // on validation the tuned cut is the best there is
    expect(r.validation?.minority_f1_tuned).toBeGreaterThanOrEqual(r.validation?.minority_f1 as number);
  });

  it('without a validation split: no tuned cut, the *_tuned fields are null', () => {
    const r = evaluateTrial({ yVal: null, zVal: null, yTest: test.labels, zTest: test.logits }, train);
    expect(r.tuned).toBeNull();
    expect(r.validation).toBeNull();
    expect(r.test.threshold_tuned).toBeNull();
    expect(r.test.minority_f1_tuned).toBeNull();
    expect(r.test.tp_tuned).toBeNull();
  });
});

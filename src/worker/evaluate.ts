/**
 * A trial's metrics on one split: the label metrics at the fixed threshold, the threshold-free ones,
 * calibration, and (with a tuned cut) the label metrics at that cut.
 */
import type { Calibration, Metrics, TrainConfig } from '../types.js';
import { calibrationBins, expectedCalibrationError } from './calibration.js';
import { type Cut, classificationMetrics, labelMetricsAt } from './metrics.js';
import { type TunedThreshold, tuneThreshold } from './threshold.js';

/** Every Metrics field but the training loss, for one split. */
export type SplitMetrics = Omit<Metrics, 'final_train_loss'>;

/**
 * Evaluate logits against labels at the fixed probability `threshold` and, when given, at the tuned
 * cut (the *_tuned fields; null without one).
 */
export function evaluateSplit(
  labels: ArrayLike<number>,
  logits: ArrayLike<number>,
  threshold: number,
  tuned: TunedThreshold | null,
): { metrics: SplitMetrics; calibration: Calibration } {
  const fixed = classificationMetrics(labels, logits, threshold);
  const calibration = calibrationBins(labels, logits);
  const at = tuned ? labelMetricsAt(labels, logits, { logit: tuned.logit } satisfies Cut) : null;
  return {
    metrics: {
      ...fixed,
      ece: expectedCalibrationError(calibration),
      threshold_tuned: tuned ? tuned.probability : null,
      accuracy_tuned: at?.accuracy ?? null,
      balanced_accuracy_tuned: at?.balanced_accuracy ?? null,
      minority_precision_tuned: at?.minority_precision ?? null,
      minority_recall_tuned: at?.minority_recall ?? null,
      minority_f1_tuned: at?.minority_f1 ?? null,
      mcc_tuned: at?.mcc ?? null,
      tp_tuned: at?.tp ?? null,
      fp_tuned: at?.fp ?? null,
      tn_tuned: at?.tn ?? null,
      fn_tuned: at?.fn ?? null,
      predicted_positive_rate_tuned: at?.predicted_positive_rate ?? null,
    },
    calibration,
  };
}

/** One trial's predictions: logits and labels of its validation split (absent without one) and test split. */
export interface TrialPredictions {
  yVal: ArrayLike<number> | null;
  zVal: ArrayLike<number> | null;
  yTest: ArrayLike<number>;
  zTest: ArrayLike<number>;
}

/**
 * A trial's metrics on test and validation. The tuned cut is chosen on the validation split alone
 * (its labels and logits); the test split is only read at it.
 */
export function evaluateTrial(
  p: TrialPredictions,
  train: Pick<TrainConfig, 'threshold' | 'threshold_metric'>,
): { test: SplitMetrics; validation: SplitMetrics | null; calibration: Calibration; tuned: TunedThreshold | null } {
  const hasVal = p.yVal !== null && p.zVal !== null && p.yVal.length > 0;
  const tuned = hasVal ? tuneThreshold(p.yVal as ArrayLike<number>, p.zVal as ArrayLike<number>, train.threshold_metric ?? 'minority_f1') : null;
  const test = evaluateSplit(p.yTest, p.zTest, train.threshold, tuned);
  const validation = hasVal ? evaluateSplit(p.yVal as ArrayLike<number>, p.zVal as ArrayLike<number>, train.threshold, tuned).metrics : null;
  return { test: test.metrics, validation, calibration: test.calibration, tuned };
}

/** A complete trial result with fixed, plausible values, for tests that exercise the store or the loop without training. */
import type { Metrics, TrialResult } from '../../src/types.js';

/** The *_tuned fields of a trial without a validation split. */
export const untuned = {
  threshold_tuned: null,
  accuracy_tuned: null,
  balanced_accuracy_tuned: null,
  minority_precision_tuned: null,
  minority_recall_tuned: null,
  minority_f1_tuned: null,
  mcc_tuned: null,
  tp_tuned: null,
  fp_tuned: null,
  tn_tuned: null,
  fn_tuned: null,
  predicted_positive_rate_tuned: null,
} as const;

export function fakeResult(key: string, metrics: Partial<Metrics> = {}): TrialResult {
  return {
    key,
    state: 'complete',
    backend: 'cpu',
    worker: 'test',
    alpha_used: null,
    train_positive_fraction: 0.1,
    n_train: 3000,
    n_val: 0,
    n_test: 1000,
    positives: { train: 300, val: 0, test: 100 },
    validation_metrics: null,
    best_epoch: null,
    stopped_epoch: null,
    metrics: {
      accuracy: 0.9,
      balanced_accuracy: 0.8,
      minority_precision: 0.5,
      minority_recall: 0.6,
      minority_f1: 0.55,
      mcc: 0.4,
      roc_auc: 0.9,
      pr_auc: 0.6,
      brier: 0.07,
      log_loss: 0.2,
      tp: 60,
      fp: 60,
      tn: 840,
      fn: 40,
      predicted_positive_rate: 0.12,
      ece: 0.05,
      ...untuned,
      final_train_loss: 0.2,
      ...metrics,
    },
    curves: [{ epoch: 1, train_loss: 0.5, eval_loss: 0.4, eval_log_loss: 0.4, eval_pr_auc: 0.5 }],
    timings: { cohort_size: 4, setup_ms: 1, train_ms: 10, eval_ms: 1 },
  };
}

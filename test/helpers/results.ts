/** A complete trial result with fixed, plausible values, for tests that exercise the store or the loop without training. */
import type { Metrics, TrialResult } from '../../src/types.js';

export function fakeResult(key: string, metrics: Partial<Metrics> = {}): TrialResult {
  return {
    key,
    state: 'complete',
    backend: 'cpu',
    worker: 'test',
    alpha_used: null,
    train_positive_fraction: 0.1,
    n_train: 3000,
    n_test: 1000,
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
      final_train_loss: 0.2,
      ...metrics,
    },
    curves: [{ epoch: 1, train_loss: 0.5, eval_loss: 0.4, eval_log_loss: 0.4, eval_pr_auc: 0.5 }],
    timings: { cohort_size: 4, setup_ms: 1, train_ms: 10, eval_ms: 1 },
  };
}

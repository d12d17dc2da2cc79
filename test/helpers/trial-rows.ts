/**
 * Trial rows built by hand for analysis tests: each setting's per-seed values of the three lens
 * metrics on test and validation, everything else plausible and fixed.
 */
import type { TrialRow } from '../../src/store/read.js';
import type { LossKind, ResampleMode } from '../../src/types.js';

export interface RowSpec {
  loss: LossKind;
  gamma?: number | null;
  alpha?: string | null;
  resample?: ResampleMode;
  ratio?: string;
  fraction?: number;
  /** Extra swept values (e.g. {"train.learning_rate": 0.01}) for the setting's context. */
  params?: Record<string, unknown>;
  /** Per seed (1, 2, ...): test values. */
  f1: number[];
  f1Tuned?: number[];
  prAuc?: number[];
  /** Per seed: validation values (default: the test values). */
  valF1?: number[];
  valF1Tuned?: number[];
  valPrAuc?: number[];
  /** Positives in each validation and test split (default 30). */
  positives?: number;
  /** No validation split (n_val 0, val_* null). */
  noValidation?: boolean;
}

let nextId = 1;

/** The rows of one setting, one per seed. */
export function settingRows(s: RowSpec): TrialRow[] {
  const ratio = s.ratio ?? '95:5';
  const loss = s.loss;
  const gamma = s.gamma ?? null;
  const alpha = s.alpha ?? null;
  const label = loss === 'bce' ? 'bce' : loss === 'weighted_bce' ? `weighted_bce(α=${alpha})` : `focal(γ=${gamma}, α=${alpha})`;
  const extra = s.params ?? {};
  const settingKey = JSON.stringify([label, ratio, s.resample ?? 'none', extra]);
  return s.f1.map((f1, i) => {
    const seed = i + 1;
    const pick = (xs: number[] | undefined, fallback: number) => xs?.[i] ?? fallback;
    const test = { f1, f1t: pick(s.f1Tuned, f1), ap: pick(s.prAuc, f1) };
    const val = { f1: pick(s.valF1, test.f1), f1t: pick(s.valF1Tuned, test.f1t), ap: pick(s.valPrAuc, test.ap) };
    const id = nextId++;
    return {
      id,
      key: `t${id}`,
      setting_key: settingKey,
      setting: [label, ratio, ...Object.entries(extra).map(([k, v]) => `${k}=${v}`)].join(' · '),
      loss,
      gamma,
      alpha,
      beta: null,
      tau: null,
      epsilon: null,
      resample: s.resample ?? 'none',
      alpha_used: null,
      imbalance: ratio,
      minority_fraction: s.fraction ?? 0.05,
      dataset: '',
      seed,
      state: 'complete',
      attempts: 1,
      error: null,
      params: JSON.stringify({ 'data.imbalance': s.fraction ?? 0.05, seed, loss, ...(s.resample ? { 'data.resample': s.resample } : {}), ...extra }),
      backend: 'cpu',
      worker: 'test',
      cohort_size: 1,
      setup_ms: 1,
      train_ms: 1,
      eval_ms: 1,
      n_train: 1000,
      n_val: s.noValidation ? 0 : 250,
      n_test: 400,
      train_positives: 50,
      val_positives: s.noValidation ? 0 : (s.positives ?? 30),
      test_positives: s.positives ?? 30,
      best_epoch: null,
      stopped_epoch: null,
      train_positive_fraction: 0.05,
      started_at: null,
      finished_at: null,
      minority_f1: test.f1,
      minority_f1_tuned: test.f1t,
      pr_auc: test.ap,
      val_minority_f1: s.noValidation ? null : val.f1,
      val_minority_f1_tuned: s.noValidation ? null : val.f1t,
      val_pr_auc: s.noValidation ? null : val.ap,
    } as TrialRow;
  });
}

/** Rows of several settings. */
export function rowsOf(...specs: RowSpec[]): TrialRow[] {
  return specs.flatMap(settingRows);
}

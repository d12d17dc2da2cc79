/**
 * The plain, serialisable types that cross module boundaries:
 * spec -> grid (Trial) -> cohort (Cohort) -> worker (TrialResult) -> store.
 * Snake_case fields are user-facing names (YAML keys, SQL columns, metric names).
 */

/** Version of the canonical trial config; part of every trial key. */
export const CONFIG_VERSION = 2;

/** Version of the Cohort payload a worker accepts (checked by distributed workers). */
export const COHORT_FORMAT = 1;

// ---------------------------------------------------------------- data

export type Generator = 'classification' | 'moons' | 'csv';

interface CommonData {
  /** Minority (positive) fraction in (0, 0.5], or 'native' (csv only: keep the file's own ratio). */
  imbalance: number | 'native';
  /** Fraction of rows held out for testing, stratified. */
  test_fraction: number;
  /**
   * Fraction of the non-test rows held out for validation, stratified (default 0.2). Thresholds,
   * early stopping and the choice of the best setting use it; 0 = none (everything on test).
   */
  validation_fraction: number;
  /** Standardise features with the training split's mean and std. */
  standardize: boolean;
  /** Dataset seed; null means "use the trial seed". */
  seed: number | null;
  /** Resample the training split (seeded by the trial seed): random oversampling of the minority or undersampling of the majority. */
  resample: ResampleMode;
  /** Minority:majority ratio the resampling aims for (1 = 1:1); present only when resampling. */
  resample_ratio?: number;
}

export interface ClassificationData extends CommonData {
  generator: 'classification';
  samples: number;
  features: number;
  /** Informative features (null = all features). */
  informative: number | null;
  /** Redundant features (linear combinations of informative ones). */
  redundant: number;
  clusters_per_class: number;
  class_sep: number;
  /** Fraction of labels assigned at random (label noise), as scikit-learn's flip_y. */
  flip_y: number;
}

export interface MoonsData extends CommonData {
  generator: 'moons';
  samples: number;
  noise: number;
}

export interface CsvData extends CommonData {
  generator: 'csv';
  /** Path as written in the spec, resolved against the spec's folder. Not part of the trial key. */
  path: string;
  /** SHA-256 of the file's bytes: the key follows the content, not the path. */
  sha256: string;
  /** Label column name. */
  label: string;
  /** Value of the label column that is the positive (minority) class. */
  positive: string;
  /** Feature columns (null = every column but the label). */
  features: string[] | null;
}

export type DataConfig = ClassificationData | MoonsData | CsvData;

// ---------------------------------------------------------------- model, train, loss

export interface ModelConfig {
  hidden: number[];
  activation: 'relu' | 'tanh';
  /** Weight init: 'he' (normal, for relu) or 'glorot' (uniform, for tanh). */
  init: 'he' | 'glorot';
}

export interface TrainConfig {
  epochs: number;
  batch_size: number;
  learning_rate: number;
  optimizer: 'adam' | 'sgd';
  /** SGD momentum; present for sgd only (removed from adam configs, where it does not apply). */
  momentum?: number;
  /** Evaluate test/validation loss and PR-AUC every this many epochs (the last epoch always). */
  eval_every: number;
  /** Probability threshold for the label-based metrics (the untuned columns). */
  threshold: number;
  /**
   * What the tuned threshold maximises on the validation split (the *_tuned columns). Present only
   * with a validation split.
   */
  threshold_metric?: ThresholdMetric;
  /** Stop each trial when its validation `monitor` stops improving, keeping its best weights. Absent = off. */
  early_stopping?: EarlyStopping;
}

/** The metrics a threshold can be tuned for (on the validation split). */
export const THRESHOLD_METRICS = ['minority_f1', 'balanced_accuracy', 'mcc'] as const;
export type ThresholdMetric = (typeof THRESHOLD_METRICS)[number];

export interface EarlyStopping {
  /** A metric measured on the validation split, or 'loss' (the trial's own loss). */
  monitor: MetricName | 'loss';
  /** Epochs without an improvement before the trial stops (checked on evaluation epochs). */
  patience: number;
  /** The smallest change of `monitor` that counts as an improvement. */
  min_delta: number;
}

/** α as written: a number in [0,1], 'none' (no class weighting), 'inverse' (training majority fraction). */
export type Alpha = number | 'none' | 'inverse';

/** The loss kinds a spec may name and a worker trains. */
export const LOSS_KINDS = ['bce', 'weighted_bce', 'focal', 'class_balanced', 'logit_adjusted', 'poly1'] as const;
export type LossKind = (typeof LOSS_KINDS)[number];

export type LossConfig =
  | { kind: 'bce' }
  | { kind: 'weighted_bce'; alpha: number | 'inverse' }
  | { kind: 'focal'; gamma: number; alpha: Alpha }
  /** Cui et al. 2019: class weights (1 − β)/(1 − β^n_c) from the training counts, normalised to mean 1; focal when γ > 0. */
  | { kind: 'class_balanced'; beta: number; gamma: number }
  /** Menon et al. 2021: BCE on z + τ·log(π₁/π₀) (training priors); predictions use z. */
  | { kind: 'logit_adjusted'; tau: number }
  /** Leng et al. 2022: BCE + ε·(1 − p_t). */
  | { kind: 'poly1'; epsilon: number };

/** How the training split is resampled (validation and test keep the true ratio). */
export const RESAMPLE_MODES = ['none', 'oversample', 'undersample'] as const;
export type ResampleMode = (typeof RESAMPLE_MODES)[number];

/** Everything that affects a trial's result, with defaults filled in; hashed into its key. */
export interface TrialConfig {
  v: number;
  seed: number;
  data: DataConfig;
  model: ModelConfig;
  train: TrainConfig;
  loss: LossConfig;
}

export interface Trial {
  /** Stable hash of the canonical config. */
  key: string;
  config: TrialConfig;
  /** The grid values that produced this trial, by dotted path (for display and SQL columns). */
  params: Record<string, unknown>;
  /** Hash of the config without its seeds: trials that differ only by seed share it. */
  settingKey: string;
  /** Human label of the setting, e.g. "focal(γ=2, α=inverse) · 90:10 · train.learning_rate=0.01". */
  setting: string;
}

// ---------------------------------------------------------------- execution

/** What --backend accepts: auto tries tensorflow, then wasm, then cpu. */
export const BACKEND_CHOICES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** Trials with the same tensor shapes, trained together as one batched model. */
export interface Cohort {
  format: number;
  /** Hash of the member trial keys (BullMQ job id). */
  key: string;
  /** Shape signature shared by every member. */
  shape: string;
  backend: BackendChoice;
  trials: Trial[];
}

// ---------------------------------------------------------------- results

/** Metrics on the test split; positive = minority = label 1. null where undefined (e.g. one class). */
export interface Metrics {
  accuracy: number;
  balanced_accuracy: number;
  minority_precision: number;
  minority_recall: number;
  minority_f1: number;
  mcc: number;
  roc_auc: number | null;
  pr_auc: number | null;
  brier: number;
  log_loss: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  predicted_positive_rate: number;
  /** Expected calibration error of the positive-class probability: 15 equal-width bins. */
  ece: number;
  /** The validation-tuned threshold (a probability); null without a validation split. */
  threshold_tuned: number | null;
  /** The label-based metrics at the tuned threshold; null without a validation split. */
  accuracy_tuned: number | null;
  balanced_accuracy_tuned: number | null;
  minority_precision_tuned: number | null;
  minority_recall_tuned: number | null;
  minority_f1_tuned: number | null;
  mcc_tuned: number | null;
  tp_tuned: number | null;
  fp_tuned: number | null;
  tn_tuned: number | null;
  fn_tuned: number | null;
  predicted_positive_rate_tuned: number | null;
  /** The trial's own training loss over the epoch whose weights it keeps (the last, or the best with early stopping). */
  final_train_loss: number;
}

/** Reliability of the predicted probabilities on the test split: 15 equal-width bins of p. */
export interface Calibration {
  /** Test rows whose p falls in each bin. */
  count: number[];
  /** Sum of p over each bin's rows. */
  sum_p: number[];
  /** Positives among each bin's rows. */
  positives: number[];
}

export interface EpochPoint {
  epoch: number;
  /** Mean training loss (the trial's own loss) over the epoch's batches. */
  train_loss: number;
  /** The trial's own loss on the evaluation split (validation if any, else test); on eval epochs only. */
  eval_loss?: number;
  /** Log loss (BCE) on the evaluation split: comparable across losses. */
  eval_log_loss?: number;
  /** PR-AUC on the evaluation split. */
  eval_pr_auc?: number | null;
}

/** Predicted probabilities over the 2-D data's bounding box (original feature units). */
export interface DecisionGrid {
  /** Key of the dataset whose test points belong on this grid (see DatasetPoints). */
  dataset_key: string;
  resolution: number;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  /** resolution² probabilities, row-major from (x0, y0), quantised to bytes (p·255), base64. */
  probs: string;
}

/** Test points of a 2-D dataset, for plotting over decision regions (shared by trials with the same data). */
export interface DatasetPoints {
  /** Hash of the data config and data seed. */
  key: string;
  x: number[];
  y: number[];
  label: number[];
}

export interface TrialTimings {
  /** Trials trained together in this cohort. */
  cohort_size: number;
  /** Data generation, splitting and model set-up for the whole cohort. */
  setup_ms: number;
  /** Training of the whole cohort. */
  train_ms: number;
  /** Final evaluation, metrics and decision grids of the whole cohort. */
  eval_ms: number;
}

export interface TrialResult {
  key: string;
  state: 'complete' | 'failed';
  error?: string;
  /** tfjs backend that trained the trial: 'tensorflow' | 'wasm' | 'cpu'. */
  backend: string;
  /** Who trained it: host/pid/thread. */
  worker: string;
  /** α actually used (resolved 'inverse'); null when no class weighting. */
  alpha_used: number | null;
  /** Training-split positive fraction. */
  train_positive_fraction: number;
  n_train: number;
  n_val: number;
  n_test: number;
  /** Positives in each split (the training split before any resampling): too few make verdicts meaningless. */
  positives: { train: number; val: number; test: number };
  /** Metrics on the test split. */
  metrics: Metrics | null;
  /** The same metrics on the validation split (settings are chosen on these); null without one. */
  validation_metrics: Metrics | null;
  /** With early stopping: the epoch whose weights were kept, and the epoch training stopped at. */
  best_epoch: number | null;
  stopped_epoch: number | null;
  calibration?: Calibration;
  curves: EpochPoint[];
  grid?: DecisionGrid;
  points?: DatasetPoints;
  timings: TrialTimings;
}

/** A metric's direction and its label for people. */
export interface MetricInfo {
  higherIsBetter: boolean;
  label: string;
}

/** Metric names, their direction, and a short label. Objectives must be one of these. */
export const METRICS = {
  minority_f1: { higherIsBetter: true, label: 'minority F1' },
  pr_auc: { higherIsBetter: true, label: 'PR-AUC' },
  roc_auc: { higherIsBetter: true, label: 'ROC-AUC' },
  minority_recall: { higherIsBetter: true, label: 'minority recall' },
  minority_precision: { higherIsBetter: true, label: 'minority precision' },
  balanced_accuracy: { higherIsBetter: true, label: 'balanced accuracy' },
  mcc: { higherIsBetter: true, label: 'MCC' },
  accuracy: { higherIsBetter: true, label: 'accuracy' },
  brier: { higherIsBetter: false, label: 'Brier score' },
  log_loss: { higherIsBetter: false, label: 'log loss' },
  ece: { higherIsBetter: false, label: 'ECE' },
  minority_f1_tuned: { higherIsBetter: true, label: 'minority F1 (tuned threshold)' },
  minority_recall_tuned: { higherIsBetter: true, label: 'minority recall (tuned threshold)' },
  minority_precision_tuned: { higherIsBetter: true, label: 'minority precision (tuned threshold)' },
  balanced_accuracy_tuned: { higherIsBetter: true, label: 'balanced accuracy (tuned threshold)' },
  mcc_tuned: { higherIsBetter: true, label: 'MCC (tuned threshold)' },
  accuracy_tuned: { higherIsBetter: true, label: 'accuracy (tuned threshold)' },
} as const satisfies Record<string, MetricInfo>;

export type MetricName = keyof typeof METRICS;

/** Every metric name, in the table's order. */
export const METRIC_NAMES = Object.keys(METRICS) as MetricName[];

/** Whether a string names a metric (objectives, --metric, early stopping monitors). */
export function isMetricName(name: unknown): name is MetricName {
  return typeof name === 'string' && Object.hasOwn(METRICS, name);
}

/**
 * A setting: every trial of one configuration but its seed. Its metrics are averaged over the seeds
 * of its complete trials, with a Student-t 95% CI, on the test split (what is reported) or the
 * validation split (what settings are chosen by).
 */
import { isDatasetParam, lossLabel, paramLabel } from '../labels.js';
import { getOrCreate } from '../maps.js';
import { metricOf, type TrialRow } from '../store/read.js';
import type { Alpha, LossConfig, LossKind, MetricName, ResampleMode } from '../types.js';
import { type MeanCI, meanCI } from './stats.js';

export type Split = 'test' | 'validation';

/**
 * What a setting is compared as: its loss, or its resampling mode when it resamples the training
 * split (the Remedies section compares the best of each family).
 */
export type Family = LossKind | 'oversample' | 'undersample';

export const FAMILIES: readonly Family[] = ['bce', 'weighted_bce', 'focal', 'class_balanced', 'logit_adjusted', 'poly1', 'oversample', 'undersample'];

/** Grid paths that say which ratio, dataset, loss and seed a trial has: everything else is the setting's context. */
const NOT_CONTEXT = new Set(['loss', 'seed', 'data.imbalance', 'data.seed']);

/** Context: what is tuned besides the loss (model, training, resampling), not where the trial sits. */
function isContext(path: string): boolean {
  return !NOT_CONTEXT.has(path) && !isDatasetParam(path);
}

/** The loss config a trials row describes (its columns hold every parameter). */
export function lossOf(t: Pick<TrialRow, 'loss' | 'gamma' | 'alpha' | 'beta' | 'tau' | 'epsilon'>): LossConfig {
  const alpha = (a: string | null): Alpha => (a === null || a === 'none' ? 'none' : a === 'inverse' ? 'inverse' : Number(a));
  switch (t.loss) {
    case 'bce':
      return { kind: 'bce' };
    case 'weighted_bce':
      return { kind: 'weighted_bce', alpha: alpha(t.alpha) as number | 'inverse' };
    case 'focal':
      return { kind: 'focal', gamma: t.gamma ?? 0, alpha: alpha(t.alpha) };
    case 'class_balanced':
      return { kind: 'class_balanced', beta: t.beta ?? 0, gamma: t.gamma ?? 0 };
    case 'logit_adjusted':
      return { kind: 'logit_adjusted', tau: t.tau ?? 0 };
    case 'poly1':
      return { kind: 'poly1', epsilon: t.epsilon ?? 0 };
  }
}

export class Setting {
  readonly key: string;
  readonly loss: LossConfig;
  readonly resample: ResampleMode;
  readonly family: Family;
  /** The ratio's label ("90:10", "native"). */
  readonly ratio: string;
  readonly minorityFraction: number | null;
  /** The swept data parameters besides ratio and seed ('' when none). */
  readonly dataset: string;
  /** The swept model/train (and resampling) values, e.g. ["train.learning_rate=0.01"]. */
  readonly context: string[];
  /** Identifies the setting's context (model/train/resampling values) for finding its twins with another loss. */
  readonly contextKey: string;
  /** Every trial of this setting in the current spec, any state. */
  readonly trials: TrialRow[] = [];
  private readonly cache = new Map<string, MeanCI>();
  private completeBySeed: TrialRow[] | undefined;

  constructor(first: TrialRow) {
    this.key = first.setting_key;
    this.loss = lossOf(first);
    this.resample = first.resample ?? 'none';
    this.family = this.resample === 'none' ? first.loss : this.resample;
    this.ratio = first.imbalance;
    this.minorityFraction = first.minority_fraction;
    this.dataset = first.dataset ?? '';
    const params = parseParams(first.params);
    const context = Object.entries(params).filter(([k]) => isContext(k));
    this.context = context.map(([k, v]) => paramLabel(k, v));
    this.contextKey = JSON.stringify(context);
  }

  /** "focal(γ=2, α=inverse)". */
  get lossLabel(): string {
    return lossLabel(this.loss);
  }

  /** The loss and the other swept values, without ratio and dataset: "focal(γ=2, α=inverse) · train.learning_rate=0.01". */
  get label(): string {
    return [this.lossLabel, ...this.context].join(' · ');
  }

  /** Plain BCE on the training data as it is: the baseline every remedy is compared with. */
  get isBaseline(): boolean {
    return this.loss.kind === 'bce' && this.resample === 'none';
  }

  /** Complete trials, by seed ascending (computed once: every trial is added before any read). */
  get complete(): TrialRow[] {
    this.completeBySeed ??= this.trials.filter((t) => t.state === 'complete').sort((a, b) => a.seed - b.seed);
    return this.completeBySeed;
  }

  /** The metric by seed over the complete trials (null where undefined). */
  values(metric: MetricName, split: Split = 'test'): Map<number, number | null> {
    return new Map(this.complete.map((t) => [t.seed, metricOf(t, metric, split)]));
  }

  /** Mean and 95% CI of a metric over the complete trials' seeds. */
  stats(metric: MetricName, split: Split = 'test'): MeanCI {
    return getOrCreate(this.cache, `${split}/${metric}`, () => meanCI(this.complete.map((t) => metricOf(t, metric, split))));
  }
}

function parseParams(params: string | null | undefined): Record<string, unknown> {
  if (!params) return {};
  try {
    const parsed = JSON.parse(params) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Group trials by setting, in first-seen order. */
export function groupSettings(trials: readonly TrialRow[]): Setting[] {
  const by = new Map<string, Setting>();
  for (const t of trials) getOrCreate(by, t.setting_key, () => new Setting(t)).trials.push(t);
  return [...by.values()];
}

/**
 * The settings at one imbalance ratio (and dataset, when data parameters are swept), and everything
 * the answer says about them. One verdict logic serves the report, `best`, the run summary and the
 * views' readers:
 *
 * - Settings are ranked by the mean of a metric over seeds on the VALIDATION split (on test only
 *   when the sweep has no validation split, which the answer then says), and reported on TEST.
 * - The baseline is the best plain BCE setting (no resampling), chosen the same way.
 * - A setting's difference to the baseline is paired by seed on test, with a Student-t 95% CI.
 * - The setting chosen on validation is one pre-specified comparison: its verdict reads its CI.
 *   Every other setting at the ratio is one of many looked at: its verdict reads its paired t-test
 *   p-value after Holm's correction over those settings, so a row is not "better" by chance.
 * - Splits with fewer than MIN_POSITIVES positives make every verdict 'too_few'.
 */
import { lossLabel } from '../labels.js';
import { getOrCreate } from '../maps.js';
import { METRICS, type MetricName } from '../types.js';
import { FAMILIES, type Family, type Setting, type Split } from './setting.js';
import { holmAdjust, type PairedDiff, pairedDiff, pairedPValue, type Verdict, verdictFromP, verdictOf } from './stats.js';

/** Fewer positives than this in a validation or test split and a verdict would be noise. */
export const MIN_POSITIVES = 10;

/**
 * The three lenses of the answer: the label metric at the fixed threshold (today's comparison), the
 * same metric at each trial's validation-tuned threshold, and ranking quality (PR-AUC, no threshold).
 */
export type Lens = 'fixed' | 'tuned' | 'ranking';
export const LENSES: readonly Lens[] = ['fixed', 'tuned', 'ranking'];

/** Threshold-dependent metrics and their tuned twins. */
const TUNABLE = ['minority_f1', 'minority_recall', 'minority_precision', 'balanced_accuracy', 'mcc', 'accuracy'] as const;

/** The metric of each lens for an objective: its untuned and tuned forms (minority F1 for a threshold-free objective) and PR-AUC. */
export function lensMetrics(objective: MetricName): Record<Lens, MetricName> {
  const base = objective.endsWith('_tuned') ? objective.slice(0, -'_tuned'.length) : objective;
  const label = (TUNABLE as readonly string[]).includes(base) ? (base as (typeof TUNABLE)[number]) : 'minority_f1';
  return { fixed: label, tuned: `${label}_tuned`, ranking: 'pr_auc' };
}

/** A setting against the baseline on one metric: the paired difference on test and how it reads. */
export interface Comparison {
  diff: PairedDiff;
  /** Paired t-test p-value (null below 2 seeds). */
  p: number | null;
  /** Holm-adjusted p-value; the same as p for the chosen setting (not corrected). */
  pAdjusted: number | null;
  verdict: Verdict;
  /** Whether this is the setting chosen on validation for this metric (its verdict is not corrected). */
  chosen: boolean;
}

/** One lens at one ratio: the best setting of the answer's family against the best BCE, both chosen by the lens's metric. */
export interface LensAnswer {
  lens: Lens;
  metric: MetricName;
  /** The best setting of the answer's family under this lens (chosen on the selection split). */
  challenger: Setting | null;
  baseline: Setting | null;
  comparison: Comparison | null;
}

/** Whether the focal gain comes from γ (the focusing term) or α (the class weighting), for the best focal setting. */
export interface Attribution {
  focal: Setting;
  /** Its γ = 0 twin: weighted BCE at the same α (BCE when α is none), same other values. */
  gammaTwin: Setting | null;
  /** Its α = none twin: focal at the same γ without class weighting (null when α is none). */
  alphaTwin: Setting | null;
  /** Per lens: focal − γ-twin (what γ adds) and focal − α-twin (what α adds), plain verdicts. */
  byLens: Record<Lens, { gamma: Comparison | null; alpha: Comparison | null }>;
}

export class RatioGroup {
  readonly ratio: string;
  readonly minorityFraction: number | null;
  readonly dataset: string;
  /** Every setting at this ratio and dataset, in first-seen order. */
  readonly settings: Setting[];
  /** Where settings are chosen: validation when every complete trial here has validation metrics. */
  readonly selection: Split;
  /** The fewest positives any complete trial here had in its validation and test splits (null: none complete). */
  readonly positives: { validation: number | null; test: number | null };
  private readonly rankCache = new Map<string, Setting[]>();
  private readonly comparisonCache = new Map<string, Map<string, Comparison>>();

  constructor(
    settings: Setting[],
    readonly objective: MetricName,
  ) {
    this.settings = settings;
    const first = settings[0];
    this.ratio = first.ratio;
    this.minorityFraction = first.minorityFraction;
    this.dataset = first.dataset;
    const complete = settings.flatMap((s) => s.complete);
    this.selection = complete.length > 0 && complete.every((t) => (t.n_val ?? 0) > 0) ? 'validation' : 'test';
    const fewest = (xs: (number | null)[]) => (xs.some((x) => x === null) || !xs.length ? null : Math.min(...(xs as number[])));
    this.positives = {
      validation: this.selection === 'validation' ? fewest(complete.map((t) => t.val_positives)) : null,
      test: fewest(complete.map((t) => t.test_positives)),
    };
  }

  /** "90:10", or "90:10 · data.class_sep=2" when data parameters are swept. */
  get title(): string {
    return this.dataset ? `${this.ratio} · ${this.dataset}` : this.ratio;
  }

  /** Too few positives in a validation or test split to tell settings apart. */
  get tooFewPositives(): boolean {
    const { validation, test } = this.positives;
    return (validation !== null && validation < MIN_POSITIVES) || (test !== null && test < MIN_POSITIVES);
  }

  /** Settings with a value of `metric` on the selection split, best first (ties: more seeds, then the label). */
  ranked(metric: MetricName = this.objective): Setting[] {
    return getOrCreate(this.rankCache, metric, () => rank(this.settings, metric, this.selection));
  }

  /** The setting chosen for `metric` (the objective by default): the best on the selection split. */
  chosen(metric: MetricName = this.objective): Setting | null {
    return this.ranked(metric)[0] ?? null;
  }

  /** The best plain BCE setting for `metric`, chosen the same way. */
  baseline(metric: MetricName = this.objective): Setting | null {
    return this.ranked(metric).find((s) => s.isBaseline) ?? null;
  }

  /** The best setting of a family for `metric`. */
  bestOf(family: Family, metric: MetricName = this.objective): Setting | null {
    return this.ranked(metric).find((s) => s.family === family) ?? null;
  }

  /** Families with at least one ranked setting here, in FAMILIES order. */
  get families(): Family[] {
    const present = new Set(this.ranked().map((s) => s.family));
    return FAMILIES.filter((f) => present.has(f));
  }

  /**
   * Every ranked setting but the baseline against the baseline on `metric` (test values, paired by
   * seed): the chosen one read by its CI, the others by Holm-adjusted p-values.
   */
  comparisons(metric: MetricName = this.objective): Map<string, Comparison> {
    return getOrCreate(this.comparisonCache, metric, () => {
      const out = new Map<string, Comparison>();
      const base = this.baseline(metric);
      if (!base) return out;
      const higher = METRICS[metric].higherIsBetter;
      const chosen = this.chosen(metric);
      const others = this.ranked(metric).filter((s) => s !== base);
      const diffs = others.map((s) => pairedDiff(s.values(metric), base.values(metric), higher));
      const ps = diffs.map(pairedPValue);
      const adjusted = holmAdjust(ps.map((p, i) => (others[i] === chosen ? null : p)));
      others.forEach((s, i) => {
        const isChosen = s === chosen;
        const pAdjusted = isChosen ? ps[i] : adjusted[i];
        const verdict = this.tooFewPositives ? 'too_few' : isChosen ? verdictOf(diffs[i], higher) : verdictFromP(diffs[i], pAdjusted, higher);
        out.set(s.key, { diff: diffs[i], p: ps[i], pAdjusted, verdict, chosen: isChosen });
      });
      return out;
    });
  }

  /** The family the answer is about: the chosen setting's, or focal loss when plain BCE was chosen (the tool's question). */
  get answerFamily(): Family {
    const chosen = this.chosen();
    return chosen && !chosen.isBaseline ? chosen.family : 'focal';
  }

  /** The answer through each lens: the best of the answer's family against the best BCE, both chosen by the lens's metric. */
  lenses(): Record<Lens, LensAnswer> {
    const metrics = lensMetrics(this.objective);
    const family = this.answerFamily;
    const out = {} as Record<Lens, LensAnswer>;
    for (const lens of LENSES) {
      const metric = metrics[lens];
      const challenger = this.bestOf(family, metric);
      const baseline = this.baseline(metric);
      out[lens] = { lens, metric, challenger, baseline, comparison: challenger && baseline ? this.single(challenger, baseline, metric) : null };
    }
    return out;
  }

  /** The best setting of every family present, under each lens, against the best BCE (each a single comparison). */
  remedies(): { family: Family; byLens: Record<Lens, { setting: Setting | null; comparison: Comparison | null }> }[] {
    const metrics = lensMetrics(this.objective);
    return this.families.map((family) => {
      const byLens = {} as Record<Lens, { setting: Setting | null; comparison: Comparison | null }>;
      for (const lens of LENSES) {
        const setting = this.bestOf(family, metrics[lens]);
        const baseline = this.baseline(metrics[lens]);
        byLens[lens] = { setting, comparison: setting && baseline && setting !== baseline ? this.single(setting, baseline, metrics[lens]) : null };
      }
      return { family, byLens };
    });
  }

  /** γ versus α for the best focal setting (null without one). */
  attribution(): Attribution | null {
    const focal = this.bestOf('focal');
    if (focal?.loss.kind !== 'focal') return null;
    const { gamma, alpha } = focal.loss;
    const gammaTwin = this.twin(focal, lossLabel(alpha === 'none' ? { kind: 'bce' } : { kind: 'weighted_bce', alpha: alpha as number | 'inverse' }));
    const alphaTwin = alpha === 'none' ? null : this.twin(focal, lossLabel({ kind: 'focal', gamma, alpha: 'none' }));
    const metrics = lensMetrics(this.objective);
    const byLens = {} as Attribution['byLens'];
    for (const lens of LENSES) {
      byLens[lens] = {
        gamma: gammaTwin ? this.single(focal, gammaTwin, metrics[lens]) : null,
        alpha: alphaTwin ? this.single(focal, alphaTwin, metrics[lens]) : null,
      };
    }
    return { focal, gammaTwin, alphaTwin, byLens };
  }

  /** The setting here with the same context (other swept values, resampling) and another loss. */
  private twin(of: Setting, loss: string): Setting | null {
    return this.settings.find((s) => s.contextKey === of.contextKey && s.resample === of.resample && s.lossLabel === loss && s.complete.length > 0) ?? null;
  }

  /** One pre-specified comparison a − b on test: read by its CI, no correction. */
  private single(a: Setting, b: Setting, metric: MetricName): Comparison {
    const higher = METRICS[metric].higherIsBetter;
    const diff = pairedDiff(a.values(metric), b.values(metric), higher);
    const p = pairedPValue(diff);
    return { diff, p, pAdjusted: p, verdict: this.tooFewPositives ? 'too_few' : verdictOf(diff, higher), chosen: true };
  }
}

/** Settings with a value of the metric on the split, best first; ties: more seeds first, then the label. */
export function rank(settings: readonly Setting[], metric: MetricName, split: Split): Setting[] {
  const higher = METRICS[metric].higherIsBetter;
  return settings
    .filter((s) => s.stats(metric, split).mean !== null)
    .sort((a, b) => {
      const ma = a.stats(metric, split);
      const mb = b.stats(metric, split);
      const va = ma.mean as number;
      const vb = mb.mean as number;
      if (va !== vb) return higher ? vb - va : va - vb;
      if (ma.n !== mb.n) return mb.n - ma.n;
      return a.label < b.label ? -1 : a.label > b.label ? 1 : 0;
    });
}

/** Group settings by ratio and dataset; mildest ratio first, 'native' by its share (or last when unknown). */
export function groupByRatio(settings: readonly Setting[], objective: MetricName): RatioGroup[] {
  const groups = new Map<string, Setting[]>();
  for (const s of settings) getOrCreate(groups, `${s.ratio}\u0000${s.dataset}`, () => []).push(s);
  return [...groups.values()]
    .map((g) => new RatioGroup(g, objective))
    .sort((a, b) => (b.minorityFraction ?? -1) - (a.minorityFraction ?? -1) || (a.title < b.title ? -1 : a.title > b.title ? 1 : 0));
}

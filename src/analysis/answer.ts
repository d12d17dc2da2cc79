/**
 * The answer in plain words, per ratio and over the sweep: does the winning remedy beat BCE at the
 * fixed threshold, with tuned thresholds, and in ranking quality, and (for focal loss) does the gain
 * come from γ or from α. The report, `best` and the run summary print these same sentences.
 */
import { fixed3, signed3 } from '../numbers.js';
import { METRICS, type MetricName } from '../types.js';
import { type Attribution, type Comparison, type Lens, type LensAnswer, MIN_POSITIVES, type RatioGroup } from './ratio-group.js';
import type { Family, Setting } from './setting.js';
import type { SweepAnalysis } from './sweep.js';

/** How one ratio's answer reads, for grouping ratios in the headline. */
export type Finding =
  /** Better than BCE with tuned thresholds or in ranking: it separates the classes better. */
  | 'separates'
  /** Better only at the fixed threshold: it moves the operating point. */
  | 'operating-point'
  /** No clear difference from BCE through any lens. */
  | 'no-difference'
  /** Worse than BCE through some lens and better through none. */
  | 'worse'
  /** The setting chosen on validation is not clearly better, but another is, even after Holm's correction. */
  | 'other-better'
  | 'too-few'
  | 'no-baseline'
  | 'no-results';

export interface RatioAnswer {
  group: RatioGroup;
  finding: Finding;
  /** The family the answer is about (the chosen setting's; focal loss when BCE was chosen). */
  family: Family;
  /** One paragraph in plain words. */
  text: string;
  /** The γ-vs-α sentence (focal loss only), also part of `text`. */
  attribution: string | null;
}

const FAMILY_WORDS: Record<Family, string> = {
  bce: 'BCE',
  weighted_bce: 'weighted BCE',
  focal: 'focal loss',
  class_balanced: 'class-balanced loss',
  logit_adjusted: 'logit adjustment',
  poly1: 'Poly-1',
  oversample: 'oversampling',
  undersample: 'undersampling',
};

/** "focal loss", "weighted BCE", … */
export function familyWords(f: Family): string {
  return FAMILY_WORDS[f];
}

/** A setting as written in sentences: "BCE" for bce, the loss label otherwise. */
export function settingWords(s: Setting): string {
  return s.label.replace(/^bce\b/, 'BCE').replace(/^weighted_bce\(/, 'weighted BCE (');
}

const VERDICT_WORDS: Record<string, string> = {
  better: 'better',
  worse: 'worse',
  unclear: 'no clear difference',
  same: 'the same',
  n1: 'one seed, no verdict',
  none: 'not compared',
  too_few: 'too few positives',
};

/** "+0.062 minority F1 (95% CI +0.020 to +0.104: better)" or "+0.062 minority F1 (one seed, no CI)". */
function delta(c: Comparison, metric: MetricName): string {
  const d = c.diff;
  const ci = d.lo !== null && d.hi !== null ? `95% CI ${signed3(d.lo)} to ${signed3(d.hi)}: ${VERDICT_WORDS[c.verdict] ?? c.verdict}` : 'one seed, no CI';
  return `${signed3(d.mean)} ${METRICS[metric].label.replace(/ \(tuned threshold\)$/, '')} (${ci})`;
}

const better = (c: Comparison | null | undefined) => c?.verdict === 'better';
const worse = (c: Comparison | null | undefined) => c?.verdict === 'worse';

/** The sentence about γ and α for the best focal setting, from its comparisons on one lens. */
export function attributionText(a: Attribution, lens: Lens): string | null {
  if (a.focal.loss.kind !== 'focal') return null;
  const { gamma, alpha } = a.focal.loss;
  const g = a.byLens[lens].gamma;
  const al = a.byLens[lens].alpha;
  const gTerm = `the focusing term (γ = ${gamma})`;
  const aTerm = `the class weighting (α = ${alpha})`;
  if (!g && !al) return null;
  if (alpha === 'none') {
    if (!g) return null;
    return better(g)
      ? `The focusing term (γ = ${gamma}) is what helps: it beats plain BCE on the same seeds (${signed3(g.diff.mean)}).`
      : `The focusing term (γ = ${gamma}) adds nothing measurable over plain BCE (${signed3(g.diff.mean)}).`;
  }
  const gHelps = better(g);
  const aHelps = better(al);
  const gText = g ? `${signed3(g.diff.mean)} over weighted BCE at α = ${alpha}` : 'no weighted BCE twin to compare with';
  const aText = al ? `${signed3(al.diff.mean)} over focal loss without α` : 'no α = none twin to compare with';
  if (gHelps && aHelps) return `Both ${aTerm} (${aText}) and ${gTerm} (${gText}) contribute.`;
  if (aHelps) return `The gain comes from ${aTerm} (${aText}); ${gTerm} adds nothing measurable (${gText}).`;
  if (gHelps) return `The gain comes from ${gTerm} (${gText}); ${aTerm} adds nothing measurable (${aText}).`;
  return `Neither ${aTerm} (${aText}) nor ${gTerm} (${gText}) alone makes a measurable difference.`;
}

/** The lens whose metric is the objective (fixed for a threshold-free objective). */
export function objectiveLens(group: RatioGroup, lenses: Record<Lens, LensAnswer>): Lens {
  return (Object.values(lenses).find((l) => l.metric === group.objective)?.lens ?? 'fixed') as Lens;
}

export function answerRatio(group: RatioGroup, threshold: number | null): RatioAnswer {
  const where = group.title;
  const family = group.answerFamily;
  const base = { group, family, attribution: null };
  const chosen = group.chosen();
  if (!chosen) return { ...base, finding: 'no-results', text: `${where}: no complete trials yet.` };
  if (group.tooFewPositives) {
    const { validation, test } = group.positives;
    const counts = [validation !== null ? `${validation} in validation` : null, test !== null ? `${test} in test` : null].filter(Boolean).join(', ');
    return {
      ...base,
      finding: 'too-few',
      text: `${where}: too few positives to tell (${counts}; at least ${MIN_POSITIVES} per split are needed for a verdict).`,
    };
  }
  if (!group.baseline())
    return { ...base, finding: 'no-baseline', text: `${where}: ${settingWords(chosen)} is best (BCE was not run at this ratio, so nothing is compared).` };

  const lenses = group.lenses();
  const F = familyWords(family);
  const { fixed, tuned, ranking } = lenses;
  const at = threshold === null ? 'at the fixed threshold' : `at the ${threshold} threshold`;
  // each lens: who (the best of the family through it; "it" when the same as the lens before), Δ vs BCE, CI and verdict
  const lensParts: string[] = [];
  let previous: Setting | null = null;
  for (const [l, where] of [
    [fixed, at],
    [tuned, 'with thresholds tuned on validation'],
    [ranking, 'in ranking'],
  ] as const) {
    if (!l.comparison) continue;
    const who = l.challenger ? (l.challenger === previous ? 'the same setting' : settingWords(l.challenger)) : F;
    lensParts.push(`${where}, ${who}${lensParts.length ? '' : ' vs BCE'}: ${delta(l.comparison, l.metric)}`);
    previous = l.challenger;
  }
  // Settings looked at among many that are better than BCE even after Holm's correction.
  const holmBetter = [...group.comparisons().entries()].filter(([, c]) => !c.chosen && c.verdict === 'better');
  const separates = better(tuned.comparison) || better(ranking.comparison);
  let finding: Finding = separates
    ? 'separates'
    : better(fixed.comparison)
      ? 'operating-point'
      : worse(tuned.comparison) || worse(ranking.comparison) || worse(fixed.comparison)
        ? 'worse'
        : 'no-difference';
  if ((finding === 'no-difference' || finding === 'worse') && holmBetter.length) finding = 'other-better';
  const conclusion: Record<Finding, string> = {
    separates: `${F} separates the classes better than BCE.`,
    'operating-point': `${F} only moves the operating point: it beats BCE ${at}, but not once each loss gets its own tuned threshold, nor in ranking.`,
    'no-difference': 'no clear difference from BCE.',
    worse: 'BCE with a tuned threshold is the better choice.',
    'other-better': 'the setting chosen on validation is not clearly better than BCE.',
    'too-few': '',
    'no-baseline': '',
    'no-results': '',
  };
  const sentence = (t: string) => t.replace(/^./, (c) => c.toUpperCase());
  let text = `${where}: ${conclusion[finding]} ${sentence(lensParts.join('; '))}.`;
  if (group.selection === 'test') text += ' (Chosen on the test split itself: this sweep has no validation split, so the margins are optimistic.)';

  if (!better(group.comparisons().get(chosen.key)) && holmBetter.length) {
    const s = group.settings.find((x) => x.key === holmBetter[0][0]) as Setting;
    text += ` ${settingWords(s)} (not the one chosen on validation) is better than BCE on ${METRICS[group.objective].label} even after correcting for the ${group.comparisons().size - 1} other settings compared (Holm)${holmBetter.length > 1 ? `, and ${holmBetter.length - 1} more` : ''}.`;
  }

  let attribution: string | null = null;
  const a = family === 'focal' ? group.attribution() : null;
  if (a) {
    const lens = objectiveLens(group, lenses);
    if (better(lenses[lens].comparison) || a.byLens[lens].gamma || a.byLens[lens].alpha) attribution = attributionText(a, lens);
    if (attribution) text += ` ${attribution}`;
  }
  return { group, finding, family, text, attribution };
}

/** One sentence over every ratio, grouping ratios that read the same way. */
export function headline(answers: RatioAnswer[]): string {
  const shown = answers.filter((a) => a.finding !== 'no-results');
  if (!shown.length) return 'No trial has completed yet.';
  const list = (as: RatioAnswer[]) => (as.length === shown.length && shown.length > 1 ? 'every ratio' : as.map((a) => a.group.title).join(', '));
  const by = (f: Finding) => shown.filter((a) => a.finding === f);
  const families = (as: RatioAnswer[]) => {
    const names = [...new Set(as.map((a) => familyWords(a.family)))];
    return names.length === 1 ? names[0].replace(/^./, (c) => c.toUpperCase()) : 'A tuned loss';
  };
  const sentences: string[] = [];
  const sep = by('separates');
  if (sep.length) sentences.push(`${families(sep)} beats BCE even with tuned thresholds or in ranking at ${list(sep)}: it separates the classes better there.`);
  const op = by('operating-point');
  if (op.length)
    sentences.push(
      `${families(op)} beats BCE at the fixed threshold at ${list(op)}, but not once every loss gets its own tuned threshold, nor in ranking: it moves the operating point there.`,
    );
  const none = by('no-difference');
  if (none.length) sentences.push(`At ${list(none)}, no setting is clearly better than BCE.`);
  const worse = by('worse');
  if (worse.length) sentences.push(`At ${list(worse)} BCE with a tuned threshold is the better choice.`);
  const other = by('other-better');
  if (other.length)
    sentences.push(
      `At ${list(other)} the setting chosen on validation is not clearly better than BCE, but another setting is, even after correcting for the many compared.`,
    );
  const few = by('too-few');
  if (few.length) sentences.push(`Too few positives to tell at ${list(few)}.`);
  const nb = by('no-baseline');
  if (nb.length) sentences.push(`BCE was not run at ${list(nb)}.`);
  return sentences.join(' ');
}

/** The answer for every ratio of an analysis, with the headline. */
export function answerSweep(a: SweepAnalysis, threshold: number | null): { ratios: RatioAnswer[]; headline: string } {
  const ratios = a.groups.map((g) => answerRatio(g, threshold));
  return { ratios, headline: headline(ratios) };
}

/** "0.731 ± 0.012" or "0.731 (n=1)". */
export function meanText(mean: number | null, half: number | null, n: number): string {
  if (mean === null) return '—';
  return half === null ? `${fixed3(mean)} (n=${n})` : `${fixed3(mean)} ± ${fixed3(half)}`;
}

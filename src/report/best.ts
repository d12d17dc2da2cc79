/**
 * `focal-sweep best`: the best settings per imbalance ratio (or per family, or overall), chosen on
 * validation and reported on test, with the same verdicts as the report: the chosen setting read by
 * its CI, every other row with Holm's correction, and the three lenses as three verdict columns.
 */
import type Database from 'better-sqlite3';
import { answerSweep } from '../analysis/answer.js';
import { LENSES, type Lens, lensMetrics, type RatioGroup, rank } from '../analysis/ratio-group.js';
import type { Setting } from '../analysis/setting.js';
import { analyzeSweep, fixedThreshold, type SweepAnalysis } from '../analysis/sweep.js';
import { UsageError } from '../errors.js';
import { fixed3, signed3 } from '../numbers.js';
import { quoted } from '../text.js';
import { METRICS, type MetricName } from '../types.js';

export type BestBy = 'imbalance' | 'family' | 'none';
export const BEST_BY: BestBy[] = ['imbalance', 'family', 'none'];

export interface BestOptions {
  sweep?: string;
  /** Default: the sweep's objective. */
  metric?: string;
  by?: BestBy;
  /** Rows per imbalance ratio (by imbalance), per ratio and family (by family: always 1), or overall (none). Default 3 / 1 / 10. */
  top?: number;
}

/** One ranked setting. Numbers are full precision; nulls where undefined (e.g. CI with one seed). */
export interface BestRow {
  /** The ratio (and dataset, when data parameters are swept). */
  imbalance: string;
  rank: number;
  /** The setting chosen for this ratio on validation (its verdict is not corrected). */
  chosen: boolean;
  setting: string;
  family: string;
  loss: string;
  gamma: number | null;
  alpha: string | null;
  beta: number | null;
  tau: number | null;
  epsilon: number | null;
  resample: string;
  metric: string;
  /** Where settings were ranked: validation, or test when the sweep has no validation split. */
  selection: string;
  /** Mean of the metric over seeds on the selection split (what ranked the row). */
  selection_mean: number | null;
  seeds: number;
  /** Test: mean, sd and 95% CI over seeds. */
  mean: number;
  sd: number | null;
  ci95_low: number | null;
  ci95_high: number | null;
  /** The best BCE setting at the same ratio (test mean). */
  bce_mean: number | null;
  /** This setting minus BCE on test, paired by seed. */
  delta_vs_bce: number | null;
  delta_ci95_low: number | null;
  delta_ci95_high: number | null;
  seeds_better: number | null;
  seeds_paired: number | null;
  /** Paired t-test p-value, and Holm-adjusted over the ratio's settings other than the chosen one (= p_value for the chosen). */
  p_value: number | null;
  p_holm: number | null;
  /** better | worse | unclear | same | n1 | none | too_few | baseline, on `metric`. */
  verdict: string;
  /** The same rule on each lens's metric: the label metric at the fixed threshold, at tuned thresholds, and PR-AUC. */
  verdict_fixed: string;
  verdict_tuned: string;
  verdict_ranking: string;
  setting_key: string;
}

export const BEST_COLUMNS: (keyof BestRow)[] = [
  'imbalance',
  'rank',
  'chosen',
  'setting',
  'family',
  'loss',
  'gamma',
  'alpha',
  'beta',
  'tau',
  'epsilon',
  'resample',
  'metric',
  'selection',
  'selection_mean',
  'seeds',
  'mean',
  'sd',
  'ci95_low',
  'ci95_high',
  'bce_mean',
  'delta_vs_bce',
  'delta_ci95_low',
  'delta_ci95_high',
  'seeds_better',
  'seeds_paired',
  'p_value',
  'p_holm',
  'verdict',
  'verdict_fixed',
  'verdict_tuned',
  'verdict_ranking',
  'setting_key',
];

/** The row's verdict on a metric under the shared rule: 'baseline' for the BCE row, 'none' when not compared. */
function verdictOn(g: RatioGroup, s: Setting, metric: MetricName): string {
  if (g.baseline(metric) === s) return 'baseline';
  return g.comparisons(metric).get(s.key)?.verdict ?? 'none';
}

function row(a: SweepAnalysis, g: RatioGroup, s: Setting, rankNo: number): BestRow {
  const m = a.metric;
  const st = s.stats(m);
  const base = g.baseline(m);
  const c = g.comparisons(m).get(s.key);
  const lens = lensMetrics(m);
  const loss = s.loss;
  return {
    imbalance: g.title,
    rank: rankNo,
    chosen: g.chosen(m) === s,
    setting: s.label,
    family: s.family,
    loss: loss.kind,
    gamma: loss.kind === 'focal' || loss.kind === 'class_balanced' ? loss.gamma : null,
    alpha: loss.kind === 'focal' || loss.kind === 'weighted_bce' ? String(loss.alpha) : null,
    beta: loss.kind === 'class_balanced' ? loss.beta : null,
    tau: loss.kind === 'logit_adjusted' ? loss.tau : null,
    epsilon: loss.kind === 'poly1' ? loss.epsilon : null,
    resample: s.resample,
    metric: m,
    selection: g.selection,
    selection_mean: s.stats(m, g.selection).mean,
    seeds: st.n,
    mean: st.mean as number,
    sd: st.sd,
    ci95_low: st.lo,
    ci95_high: st.hi,
    bce_mean: base?.stats(m).mean ?? null,
    delta_vs_bce: c ? c.diff.mean : base === s ? 0 : null,
    delta_ci95_low: c?.diff.lo ?? null,
    delta_ci95_high: c?.diff.hi ?? null,
    seeds_better: c ? c.diff.better : null,
    seeds_paired: c ? c.diff.n : null,
    p_value: c?.p ?? null,
    p_holm: c?.pAdjusted ?? null,
    verdict: verdictOn(g, s, m),
    verdict_fixed: verdictOn(g, s, lens.fixed),
    verdict_tuned: verdictOn(g, s, lens.tuned),
    verdict_ranking: verdictOn(g, s, lens.ranking),
    setting_key: s.key,
  };
}

export function bestRows(db: Database.Database, opts: BestOptions = {}): { analysis: SweepAnalysis; rows: BestRow[]; answers: string[] } {
  const by = opts.by ?? 'imbalance';
  const top = opts.top ?? (by === 'imbalance' ? 3 : by === 'family' ? 1 : 10);
  if (!Number.isInteger(top) || top < 1) throw new UsageError(`--top: must be a whole number ≥ 1, got ${quoted(opts.top)}`);
  const a = analyzeSweep(db, opts.sweep, opts.metric);
  const rows: BestRow[] = [];
  if (by === 'imbalance') {
    for (const g of a.groups) for (const [i, s] of g.ranked().slice(0, top).entries()) rows.push(row(a, g, s, i + 1));
  } else if (by === 'family') {
    for (const g of a.groups) {
      const families = g.families;
      // the families ranked by their best setting
      const bests = families.flatMap((f) =>
        g
          .ranked()
          .filter((s) => s.family === f)
          .slice(0, top),
      );
      for (const [i, s] of rank(bests, a.metric, g.selection).entries()) rows.push(row(a, g, s, i + 1));
    }
  } else {
    const groupOf = new Map(a.groups.flatMap((g) => g.settings.map((s) => [s.key, g] as const)));
    const selection = a.selection;
    for (const [i, s] of rank(a.settings, a.metric, selection).slice(0, top).entries()) rows.push(row(a, groupOf.get(s.key) as RatioGroup, s, i + 1));
  }
  const answers = answerSweep(a, fixedThreshold(a.sweep));
  return { analysis: a, rows, answers: [answers.headline, ...answers.ratios.map((r) => r.text)] };
}

const VERDICT: Record<string, string> = {
  better: 'better',
  worse: 'worse',
  unclear: 'no clear diff.',
  same: 'identical',
  n1: 'n=1, no CI',
  none: '—',
  too_few: 'too few positives',
  baseline: 'baseline',
};

/** One character per lens verdict: + better, − worse, ~ no clear difference, = baseline or identical, · otherwise. */
const LENS_MARK: Record<string, string> = { better: '+', worse: '\u2212', unclear: '~', same: '=', baseline: '=', n1: '·', none: '·', too_few: '·' };

/** The rows as a people-friendly table: mean ± CI, Δ with its CI, verdicts. */
export function bestDisplay(rows: BestRow[], metric: MetricName): { columns: string[]; rows: string[][] } {
  const label = METRICS[metric].label;
  return {
    columns: ['imbalance', '#', 'setting', 'seeds', `${label} (test, mean ± 95% CI)`, 'BCE', 'Δ vs BCE [95% CI]', 'better', 'verdict', 'lenses'],
    rows: rows.map((r) => [
      r.imbalance,
      `${r.rank}${r.chosen ? '*' : ''}`,
      r.setting.replace(/^bce\b/, 'BCE'),
      String(r.seeds),
      r.ci95_low !== null && r.ci95_high !== null ? `${fixed3(r.mean)} ± ${fixed3((r.ci95_high - r.ci95_low) / 2)}` : `${fixed3(r.mean)} (n=${r.seeds})`,
      fixed3(r.bce_mean),
      r.verdict === 'baseline'
        ? '(baseline)'
        : r.verdict === 'same'
          ? 'identical on every seed'
          : r.delta_vs_bce === null
            ? '—'
            : r.delta_ci95_low !== null
              ? `${signed3(r.delta_vs_bce)} [${signed3(r.delta_ci95_low)}, ${signed3(r.delta_ci95_high)}]`
              : signed3(r.delta_vs_bce),
      r.seeds_paired ? `${r.seeds_better}/${r.seeds_paired}` : '',
      `${VERDICT[r.verdict] ?? r.verdict}${!r.chosen && ['better', 'worse', 'unclear'].includes(r.verdict) ? ' (Holm)' : ''}`,
      LENSES.map((l: Lens) => LENS_MARK[r[`verdict_${l}` as 'verdict_fixed']] ?? '·').join(' '),
    ]),
  };
}

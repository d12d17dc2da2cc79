/**
 * `focal-sweep best`: the best settings aggregated over seeds, per imbalance ratio (or overall), with
 * the same ranking, CIs and paired BCE comparison as the report.
 */
import type Database from 'better-sqlite3';
import { UsageError } from '../errors.js';
import { analyzeSweep, type ImbalanceGroup, rankBy, type Setting, type SweepAnalysis } from '../store/read.js';
import { quoted } from '../text.js';
import { METRICS } from '../types.js';
import { pairedDiff, verdictOf } from './stats.js';

export type BestBy = 'imbalance' | 'none';

export interface BestOptions {
  sweep?: string;
  /** Default: the sweep's objective. */
  metric?: string;
  by?: BestBy;
  /** Rows per imbalance ratio (by imbalance) or overall (none). Default 3 / 10. */
  top?: number;
}

/** One ranked setting. Numbers are full precision; nulls where undefined (e.g. CI with one seed). */
export interface BestRow {
  imbalance: string;
  rank: number;
  setting: string;
  loss: string;
  gamma: number | null;
  alpha: string | null;
  metric: string;
  seeds: number;
  mean: number;
  sd: number | null;
  ci95_low: number | null;
  ci95_high: number | null;
  /** The best BCE setting at the same imbalance ratio. */
  bce_mean: number | null;
  /** This setting minus BCE, paired by seed. */
  delta_vs_bce: number | null;
  delta_ci95_low: number | null;
  delta_ci95_high: number | null;
  seeds_better: number | null;
  seeds_paired: number | null;
  /** better | worse | unclear | same | n1 | none | baseline (this is the BCE baseline). */
  verdict: string;
  setting_key: string;
}

export const BEST_COLUMNS: (keyof BestRow)[] = [
  'imbalance',
  'rank',
  'setting',
  'loss',
  'gamma',
  'alpha',
  'metric',
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
  'verdict',
  'setting_key',
];

function row(a: SweepAnalysis, g: ImbalanceGroup, s: Setting, rank: number): BestRow {
  const st = s.stats(a.metric);
  const bce = g.bce;
  const base = bce?.stats(a.metric);
  const isBaseline = bce === s;
  const d = bce && !isBaseline ? pairedDiff(s.values(a.metric), bce.values(a.metric), a.higherIsBetter) : null;
  return {
    imbalance: s.imbalance,
    rank,
    setting: s.label,
    loss: s.loss,
    gamma: s.gamma,
    alpha: s.alpha,
    metric: a.metric,
    seeds: st.n,
    mean: st.mean as number,
    sd: st.sd,
    ci95_low: st.lo,
    ci95_high: st.hi,
    bce_mean: base?.mean ?? null,
    delta_vs_bce: d ? d.mean : isBaseline ? 0 : null,
    delta_ci95_low: d ? d.lo : null,
    delta_ci95_high: d ? d.hi : null,
    seeds_better: d ? d.better : null,
    seeds_paired: d ? d.n : null,
    verdict: isBaseline ? 'baseline' : d ? verdictOf(d, a.higherIsBetter) : 'none',
    setting_key: s.setting_key,
  };
}

export function bestRows(db: Database.Database, opts: BestOptions = {}): { analysis: SweepAnalysis; rows: BestRow[] } {
  const by = opts.by ?? 'imbalance';
  const top = opts.top ?? (by === 'imbalance' ? 3 : 10);
  if (!Number.isInteger(top) || top < 1) throw new UsageError(`--top: must be a whole number ≥ 1, got ${quoted(opts.top)}`);
  const a = analyzeSweep(db, opts.sweep, opts.metric);
  const groupOf = new Map(a.groups.map((g) => [g.imbalance, g]));
  const rows: BestRow[] = [];
  if (by === 'imbalance') {
    for (const g of a.groups) for (const [i, s] of g.ranked.slice(0, top).entries()) rows.push(row(a, g, s, i + 1));
  } else {
    for (const [i, s] of rankBy(a.settings, a.metric).slice(0, top).entries()) rows.push(row(a, groupOf.get(s.imbalance) as ImbalanceGroup, s, i + 1));
  }
  return { analysis: a, rows };
}

const MINUS = '\u2212';
function f(v: number | null, signed = false): string {
  if (v === null || !Number.isFinite(v)) return '—';
  const s = Math.abs(v).toFixed(3);
  if (s === '0.000') return s;
  return (v < 0 ? MINUS : signed ? '+' : '') + s;
}

const VERDICT: Record<string, string> = {
  better: 'better',
  worse: 'worse',
  unclear: 'no clear diff.',
  same: 'identical',
  n1: 'n=1, no CI',
  none: '—',
  baseline: 'baseline',
};

/** The rows as a people-friendly table: mean ± CI half-width, Δ with its CI. */
export function bestDisplay(rows: BestRow[], metric: string): { columns: string[]; rows: string[][] } {
  const label = METRICS[metric]?.label ?? metric;
  return {
    columns: ['imbalance', '#', 'setting', 'seeds', `${label} (mean ± 95% CI)`, 'BCE', 'Δ vs BCE [95% CI]', 'better', 'verdict'],
    rows: rows.map((r) => [
      r.imbalance,
      String(r.rank),
      r.setting,
      String(r.seeds),
      r.ci95_low !== null && r.ci95_high !== null ? `${f(r.mean)} ± ${f((r.ci95_high - r.ci95_low) / 2)}` : `${f(r.mean)} (n=${r.seeds})`,
      f(r.bce_mean),
      r.verdict === 'baseline'
        ? '(baseline)'
        : r.verdict === 'same'
          ? 'identical on every seed'
          : r.delta_vs_bce === null
            ? '—'
            : r.delta_ci95_low !== null
              ? `${f(r.delta_vs_bce, true)} [${f(r.delta_ci95_low, true)}, ${f(r.delta_ci95_high, true)}]`
              : f(r.delta_vs_bce, true),
      r.seeds_paired ? `${r.seeds_better}/${r.seeds_paired}` : '',
      VERDICT[r.verdict] ?? r.verdict,
    ]),
  };
}

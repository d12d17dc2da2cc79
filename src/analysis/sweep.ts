/**
 * A sweep read for answering: its trials grouped into settings, the settings grouped by ratio (and
 * dataset), ranked by one metric. The report, `best` and the run summary all start here.
 */
import type Database from 'better-sqlite3';
import { parse } from 'yaml';
import { UsageError } from '../errors.js';
import { findSweep, loadTrials, type SweepRow, type TrialRow } from '../store/read.js';
import { quoted } from '../text.js';
import { isMetricName, METRIC_NAMES, METRICS, type MetricName } from '../types.js';
import { groupByRatio, type RatioGroup } from './ratio-group.js';
import { groupSettings, type Setting, type Split } from './setting.js';

export interface SweepAnalysis {
  sweep: SweepRow;
  /** The metric that ranks settings (the sweep's objective unless overridden). */
  metric: MetricName;
  higherIsBetter: boolean;
  trials: TrialRow[];
  settings: Setting[];
  groups: RatioGroup[];
  /** 'validation' when every ratio chose on a validation split; 'test' when any chose on test (no validation split). */
  selection: Split;
}

/** A metric name from a flag or a stored objective; UsageError listing the valid ones otherwise. */
export function checkMetric(metric: string, flag = 'metric'): MetricName {
  if (!isMetricName(metric)) throw new UsageError(`unknown ${flag} ${quoted(metric)} (expected one of: ${METRIC_NAMES.join(', ')})`);
  return metric;
}

/** Analyse trial rows of a sweep, ranking by `metric`. */
export function analyzeTrials(sweep: SweepRow, trials: TrialRow[], metric: MetricName): SweepAnalysis {
  const settings = groupSettings(trials);
  const groups = groupByRatio(settings, metric);
  const selection = groups.some((g) => g.selection === 'test' && g.ranked().length > 0) ? 'test' : 'validation';
  return { sweep, metric, higherIsBetter: METRICS[metric].higherIsBetter, trials, settings, groups, selection };
}

/** Read and analyse a sweep, ranking by `metric` (default: the sweep's objective). */
export function analyzeSweep(db: Database.Database, sweepName: string | undefined, metric?: string): SweepAnalysis {
  const sweep = findSweep(db, sweepName);
  return analyzeTrials(sweep, loadTrials(db, sweep.id), checkMetric(metric ?? sweep.objective));
}

/**
 * The fixed decision threshold the sweep's spec sets (train.threshold, default 0.5), for the answer's
 * words; null when it is swept or the stored spec does not parse.
 */
export function fixedThreshold(sweep: Pick<SweepRow, 'spec_text'>): number | null {
  try {
    const spec = parse(sweep.spec_text, { maxAliasCount: 100 }) as { train?: { threshold?: unknown }; grid?: Record<string, unknown> } | null;
    if (spec?.grid && Object.hasOwn(spec.grid, 'train.threshold')) return null;
    const t = spec?.train?.threshold ?? 0.5;
    return typeof t === 'number' ? t : null;
  } catch {
    return null;
  }
}

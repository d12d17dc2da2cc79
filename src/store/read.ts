/**
 * The results database, reader side: what `run`'s summary, `best`, `query` and the report read.
 */
import type Database from 'better-sqlite3';
import { UsageError } from '../errors.js';
import { METRICS } from '../types.js';

export interface SweepRow {
  id: number;
  name: string;
  spec_file: string | null;
  spec_text: string;
  objective: string;
  created_at: string;
  updated_at: string;
}

/** The sweep named `name`, or the only sweep when `name` is undefined. UsageError otherwise. */
export function findSweep(db: Database.Database, name?: string): SweepRow {
  const rows = db.prepare(`SELECT * FROM sweeps ORDER BY updated_at DESC`).all() as SweepRow[];
  if (rows.length === 0) throw new UsageError(`${db.name}: no sweeps in this database`);
  if (name === undefined) {
    if (rows.length > 1) throw new UsageError(`${db.name}: holds ${rows.length} sweeps (${rows.map((r) => r.name).join(', ')}); pick one with --sweep`);
    return rows[0];
  }
  const row = rows.find((r) => r.name === name);
  if (!row) throw new UsageError(`${db.name}: no sweep named ${JSON.stringify(name)} (have: ${rows.map((r) => r.name).join(', ')})`);
  return row;
}

export interface SettingSummary {
  setting_key: string;
  setting: string;
  loss: string;
  gamma: number | null;
  alpha: string | null;
  imbalance: string;
  minority_fraction: number | null;
  seeds: number;
  mean: number;
}

/** Settings of a sweep aggregated over seeds, best first, for one metric (default: the objective). */
export function rankSettings(db: Database.Database, sweep: string, metric: string): SettingSummary[] {
  const m = METRICS[metric];
  if (!m) throw new UsageError(`unknown metric ${JSON.stringify(metric)} (expected one of: ${Object.keys(METRICS).join(', ')})`);
  return db
    .prepare(
      `SELECT setting_key, setting, loss, gamma, alpha, imbalance, minority_fraction, COUNT(*) AS seeds, AVG(${metric}) AS mean
       FROM results WHERE sweep = ? AND state = 'complete' AND ${metric} IS NOT NULL
       GROUP BY setting_key ORDER BY mean ${m.higherIsBetter ? 'DESC' : 'ASC'}`,
    )
    .all(sweep) as SettingSummary[];
}

/** Best setting per imbalance ratio with the BCE baseline's mean beside it. */
export function bestPerImbalance(db: Database.Database, sweep: string, metric: string): { best: SettingSummary; bce: SettingSummary | null }[] {
  const ranked = rankSettings(db, sweep, metric);
  const out = new Map<string, { best: SettingSummary; bce: SettingSummary | null }>();
  for (const s of ranked) {
    const e = out.get(s.imbalance);
    if (!e) out.set(s.imbalance, { best: s, bce: s.loss === 'bce' ? s : null });
    else if (!e.bce && s.loss === 'bce') e.bce = s;
  }
  return [...out.values()].sort((a, b) => (b.best.minority_fraction ?? 0) - (a.best.minority_fraction ?? 0));
}

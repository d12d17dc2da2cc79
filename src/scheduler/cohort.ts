/**
 * Trial[] -> Cohort[]: trials whose tensors have the same shapes train together as one batched model
 * (weights with a leading cohort dimension). Per-trial values (γ, α, learning rate, seed, data values
 * that do not change shapes) vary freely inside a cohort.
 */

import { shortHash } from '../canonical.js';
import { getOrCreate } from '../maps.js';
import { type BackendChoice, COHORT_FORMAT, type Cohort, type Trial, type TrialConfig } from '../types.js';
import { type CsvSummary, datasetShape } from '../worker/data.js';

/** What must be equal for trials to share one batched model. */
export function shapeSignature(config: TrialConfig, csv?: CsvSummary): string {
  const s = datasetShape(config.data, csv);
  const t = config.train;
  const m = config.model;
  return [
    `in=${s.nFeatures}`,
    `n=${s.nTrain}/${s.nVal}/${s.nTest}`,
    `hidden=${m.hidden.join('x') || '-'}`,
    m.activation,
    `B=${t.batch_size}`,
    `E=${t.epochs}`,
    `eval=${t.eval_every}`,
    t.optimizer,
  ].join(' ');
}

export interface CohortOptions {
  /** Most trials in one cohort. */
  cohortSize: number;
  /** Worker threads (or processes) that will run cohorts: small sweeps are split to keep them all busy. */
  workers: number;
  backend: BackendChoice;
  csv?: CsvSummary;
}

/** Cohort key: a hash of its member keys (the BullMQ job id in distributed mode). */
export function cohortKey(trials: readonly Trial[]): string {
  return shortHash(trials.map((t) => t.key).sort(), 20);
}

/**
 * Group by shape, cap each cohort at `cohortSize` (sizes balanced within a group), split further so
 * the workers stay busy, and order the largest work first (shortest makespan).
 */
export function planCohorts(trials: readonly Trial[], opts: CohortOptions): Cohort[] {
  const groups = new Map<string, Trial[]>();
  for (const t of trials) {
    const sig = shapeSignature(t.config, opts.csv);
    getOrCreate(groups, sig, () => []).push(t);
  }
  // Cohorts per group: enough to respect the cap, then more (always splitting the group with the
  // largest cohorts) until the total is a multiple of the workers, so no thread idles in the last round.
  const entries = [...groups.entries()].map(([shape, g]) => ({ shape, trials: g, n: Math.ceil(g.length / Math.max(1, opts.cohortSize)) }));
  const total = () => entries.reduce((s, e) => s + e.n, 0);
  const workers = Math.max(1, opts.workers);
  while (total() % workers !== 0 || total() < workers) {
    let pick: (typeof entries)[number] | null = null;
    for (const e of entries) if (e.trials.length / e.n > 1 && (!pick || e.trials.length / e.n > pick.trials.length / pick.n)) pick = e;
    if (!pick) break;
    pick.n++;
  }
  const parts = entries.flatMap((e) => balancedChunks(e.trials, e.n).map((trials) => ({ shape: e.shape, trials })));
  const cost = (p: { trials: Trial[] }) => estimateCost(p.trials);
  parts.sort((x, y) => cost(y) - cost(x));
  return parts.map((p) => ({ format: COHORT_FORMAT, key: cohortKey(p.trials), shape: p.shape, backend: opts.backend, trials: p.trials }));
}

function balancedChunks<T>(items: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const size = Math.floor(items.length / n) + (i < items.length % n ? 1 : 0);
    out.push(items.slice(start, start + size));
    start += size;
  }
  return out.filter((c) => c.length > 0);
}

/** Rough relative cost: steps × (per-step overhead + work proportional to cohort size × batch × weights). */
function estimateCost(trials: readonly Trial[]): number {
  const c = trials[0].config;
  const samples = c.data.generator === 'csv' ? 1000 : c.data.samples;
  const steps = Math.max(1, c.train.epochs) * Math.ceil(samples / c.train.batch_size);
  const dims = [c.data.generator === 'classification' ? c.data.features : 2, ...c.model.hidden, 1];
  let weights = 0;
  for (let i = 1; i < dims.length; i++) weights += dims[i - 1] * dims[i];
  return steps * (1 + (trials.length * c.train.batch_size * weights) / 20_000);
}

/**
 * Trial[] -> Cohort[]: trials whose tensors have the same shapes train together as one batched model
 * (weights with a leading cohort dimension). Per-trial values (γ, α, learning rate, seed, data values
 * that do not change shapes) vary freely inside a cohort.
 */

import { shortHash } from '../canonical.js';
import { SpecError, UsageError } from '../errors.js';
import { getOrCreate } from '../maps.js';
import { formatBytes } from '../text.js';
import { type BackendChoice, COHORT_FORMAT, type Cohort, type Trial, type TrialConfig } from '../types.js';
import { type CsvSummary, datasetShape } from '../worker/data.js';
import { type CohortShape, cohortPeakBytes, membersWithin, THREAD_MEMORY_BUDGET } from '../worker/memory.js';

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
  /** Tensor bytes one cohort may use (default THREAD_MEMORY_BUDGET): larger cohorts are split. */
  memoryBudget?: number;
}

/** What a cohort's memory depends on, for trials of this config (all trials of one shape agree). */
function memoryShape(config: TrialConfig, csv?: CsvSummary): Omit<CohortShape, 'members'> {
  const s = datasetShape(config.data, csv);
  const { hidden, activation } = config.model;
  return { features: s.nFeatures, hidden, activation, batch: config.train.batch_size, nTrain: s.nTrain, nVal: s.nVal, nTest: s.nTest };
}

/**
 * Why a trial of this config cannot train within `budget` bytes even alone, or null when it can
 * (a user error: the spec asks for a model too large for a training thread).
 */
export function trialTooLarge(config: TrialConfig, csv?: CsvSummary, budget = THREAD_MEMORY_BUDGET): string | null {
  const shape = memoryShape(config, csv);
  const need = cohortPeakBytes({ ...shape, members: 1 });
  if (need <= budget) return null;
  const layers = [shape.features, ...shape.hidden, 1].join('-');
  return (
    `a trial of this sweep (a ${layers} MLP, batch ${Math.min(shape.batch, shape.nTrain)}) needs about ${formatBytes(need)} of tensor memory, ` +
    `more than the ${formatBytes(budget)} a training thread may use: make model.hidden smaller or train.batch_size smaller`
  );
}

/** Refuse (SpecError naming the spec file) a sweep with a trial too large for a training thread, before anything runs. */
export function checkTrialsFit(trials: readonly Trial[], file: string, csv?: CsvSummary, budget = THREAD_MEMORY_BUDGET): void {
  const seen = new Set<string>();
  for (const t of trials) {
    const shape = shapeSignature(t.config, csv);
    if (seen.has(shape)) continue;
    seen.add(shape);
    const why = trialTooLarge(t.config, csv, budget);
    if (why) throw new SpecError({ file }, why);
  }
}

/** Cohort key: a hash of its member keys (the BullMQ job id in distributed mode). */
export function cohortKey(trials: readonly Trial[]): string {
  return shortHash(trials.map((t) => t.key).sort(), 20);
}

/**
 * Group by shape, cap each cohort at `cohortSize` and at what fits `memoryBudget` (sizes balanced
 * within a group), split further so the workers stay busy, and order the largest work first
 * (shortest makespan). UsageError when a single trial does not fit the budget.
 */
export function planCohorts(trials: readonly Trial[], opts: CohortOptions): Cohort[] {
  const groups = new Map<string, Trial[]>();
  for (const t of trials) {
    const sig = shapeSignature(t.config, opts.csv);
    getOrCreate(groups, sig, () => []).push(t);
  }
  const budget = opts.memoryBudget ?? THREAD_MEMORY_BUDGET;
  // The cap of a group: cohort_size, or fewer when that many would not fit a thread's memory.
  const capOf = (g: Trial[]) => {
    const fit = membersWithin(memoryShape(g[0].config, opts.csv), budget);
    if (fit === 0) throw new UsageError(trialTooLarge(g[0].config, opts.csv, budget) ?? 'a trial does not fit a training thread');
    return Math.max(1, Math.min(opts.cohortSize, fit));
  };
  // Cohorts per group: enough to respect the cap, then more (always splitting the group with the
  // largest cohorts) until the total is a multiple of the workers, so no thread idles in the last round.
  const entries = [...groups.entries()].map(([shape, g]) => ({ shape, trials: g, n: Math.ceil(g.length / capOf(g)) }));
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

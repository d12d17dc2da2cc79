/**
 * The worker's trainCohort: a trial trained alone equals the same trial inside a mixed cohort,
 * the same trial twice gives identical results, no tensors leak, divergence fails only that trial.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { cohortKey } from '../src/scheduler/cohort.js';
import { expandGrid } from '../src/scheduler/grid.js';
import { parseSpec } from '../src/scheduler/spec.js';
import { COHORT_FORMAT, type Cohort, type Trial, type TrialResult } from '../src/types.js';
import { checkCohort } from '../src/worker/payload.js';
import { trainCohort } from '../src/worker/task.js';

const SPEC = `
name: cohort-equivalence
data: { generator: classification, samples: 400, features: 2, flip_y: 0.02, test_fraction: 0.25 }
model: { hidden: [8, 8] }
train: { epochs: 4, batch_size: 32, learning_rate: 0.02, eval_every: 2 }
grid:
  controls: false
  imbalance: ["90:10", "80:20"]
  seed: [1, 2]
  loss:
    - bce
    - weighted_bce: { alpha: [inverse] }
    - focal: { gamma: [0.5, 2], alpha: [none, 0.25] }
  train.learning_rate: [0.02, 0.005]
`;

function trialsOf(yaml: string): Trial[] {
  return expandGrid(parseSpec(yaml, 't.yaml')).trials;
}

/**
 * 16 mixed trials of the 48: the first 12 are every (loss, learning rate) pair once, spread over both
 * ratios and seeds; 4 more fill the cohort. Grid order: imbalance, seed, loss, lr (lr fastest).
 */
function pick(all: Trial[]): Trial[] {
  const at = (pair: number, block: number) => all[pair + 12 * block];
  const picked = Array.from({ length: 12 }, (_, p) => at(p, p % 4));
  for (const p of [0, 5, 7, 10]) picked.push(at(p, (p + 1) % 4));
  const pairs = new Set(picked.slice(0, 12).map((t) => `${JSON.stringify(t.config.loss)} ${t.config.train.learning_rate}`));
  if (pairs.size !== 12) throw new Error('pick() must cover every (loss, learning rate) pair');
  return picked;
}

function cohortOf(trials: Trial[], backend: Cohort['backend'] = 'cpu'): Cohort {
  return { format: COHORT_FORMAT, key: cohortKey(trials), shape: 'test', backend, trials };
}

function relClose(a: number | null, b: number | null, rel = 1e-4): boolean {
  if (a === null || b === null) return a === b;
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1e-12) + 1e-7;
}

describe.each(['cpu', 'wasm'] as const)('trainCohort on %s', (backend) => {
  let all: Trial[];
  let mixed: TrialResult[];
  beforeAll(async () => {
    all = trialsOf(SPEC);
    expect(all).toHaveLength(48);
    mixed = await trainCohort(cohortOf(pick(all), backend), { checkLeaks: true });
  });

  it('records the backend that trained each trial', () => {
    expect(new Set(mixed.map((r) => r.backend))).toEqual(new Set([backend]));
  });

  it('a trial alone equals the same trial inside a cohort of 16 mixed trials (1e-4 relative)', async () => {
    const picked = pick(all);
    // every (loss, learning rate) pair, each alone
    for (let idx = 0; idx < 12; idx++) {
      const [alone] = await trainCohort(cohortOf([picked[idx]], backend), { checkLeaks: true });
      const inCohort = mixed[idx];
      expect(alone.key).toBe(inCohort.key);
      expect(alone.state).toBe('complete');
      const la = alone.curves.at(-1)!.train_loss;
      const lc = inCohort.curves.at(-1)!.train_loss;
      expect(relClose(la, lc), `final loss ${la} vs ${lc}`).toBe(true);
      for (const m of ['minority_f1', 'pr_auc', 'roc_auc', 'log_loss', 'brier', 'mcc'] as const) {
        expect(relClose(alone.metrics![m], inCohort.metrics![m]), `${m}: ${alone.metrics![m]} vs ${inCohort.metrics![m]}`).toBe(true);
      }
      expect(alone.timings.cohort_size).toBe(1);
      expect(inCohort.timings.cohort_size).toBe(16);
    }
  });

  it('the same trial twice gives identical results', async () => {
    const t = all[7];
    const [a] = await trainCohort(cohortOf([t], backend));
    const [b] = await trainCohort(cohortOf([t], backend));
    expect(a.metrics).toEqual(b.metrics);
    expect(a.curves).toEqual(b.curves);
    expect(a.grid).toEqual(b.grid);
  });
});

describe('trainCohort results', () => {
  it('carry metrics, curves, decision grids, test points and timings', async () => {
    const trials = trialsOf(SPEC).slice(0, 3);
    const results = await trainCohort(cohortOf(trials));
    for (const r of results) {
      expect(r.state).toBe('complete');
      expect(r.metrics!.tp + r.metrics!.fn).toBeGreaterThan(0);
      expect(r.metrics!.tp + r.metrics!.fp + r.metrics!.tn + r.metrics!.fn).toBe(r.n_test);
      expect(r.curves.map((c) => c.epoch)).toEqual([1, 2, 3, 4]);
      // eval_every 2: evaluation at epochs 2 and 4
      expect(r.curves.map((c) => c.eval_pr_auc !== undefined)).toEqual([false, true, false, true]);
      expect(r.grid!.resolution).toBe(64);
      expect(Buffer.from(r.grid!.probs, 'base64')).toHaveLength(64 * 64);
      expect(r.points!.key).toBe(r.grid!.dataset_key);
      expect(r.points!.x).toHaveLength(r.n_test);
      expect(r.timings.train_ms).toBeGreaterThan(0);
    }
    // α = inverse resolves to the training majority fraction
    const wbce = results.find((r) => r.key === trials.find((t) => t.config.loss.kind === 'weighted_bce')!.key)!;
    expect(wbce.alpha_used).toBeCloseTo(1 - wbce.train_positive_fraction, 12);
  });

  it('tensors return to their starting count after every cohort', async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    const trials = trialsOf(SPEC);
    await trainCohort(cohortOf(trials.slice(0, 4)));
    expect(tf.memory().numTensors).toBe(before);
    await trainCohort(cohortOf(trials.slice(4, 12)));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a diverging trial fails alone; its cohort-mates complete', async () => {
    // A learning rate far past what the spec allows (it is checked there): built directly.
    const base = trialsOf(SPEC.replace('train: { epochs: 4,', 'train: { optimizer: sgd, epochs: 4,'))
      .filter((t) => t.config.loss.kind === 'bce')
      .slice(0, 4);
    const cohort = base.map((t, i) => (i === 1 ? { ...t, key: `${t.key}-hot`, config: { ...t.config, train: { ...t.config.train, learning_rate: 1e9 } } } : t));
    const results = await trainCohort(cohortOf(cohort));
    expect(results.map((r) => r.key)).toEqual(cohort.map((t) => t.key));
    expect(results.map((r) => r.state)).toEqual(['complete', 'failed', 'complete', 'complete']);
    expect(results[1].error).toMatch(/^training diverged: the loss became (NaN|Infinity) at epoch \d+ \(try a lower learning rate\)$/);
    expect(results[1].metrics).toBeNull();
  });

  it('refuses payloads it does not understand', () => {
    const t = trialsOf(SPEC)[0];
    expect(() => checkCohort({ ...cohortOf([t]), format: 99 })).toThrow(
      'cohort format 99 is not supported (this worker understands format 1); upgrade the worker',
    );
    expect(() => checkCohort({ ...cohortOf([t]), trials: [] })).toThrow('cohort payload has no key or no trials');
    expect(() => checkCohort({ ...cohortOf([{ ...t, config: { ...t.config, v: 7 } }]) })).toThrow(
      `trial ${t.key}: config version 7 is not supported (expected 2)`,
    );
    expect(() => checkCohort('nonsense')).toThrow('cohort payload is not an object');
    expect(() => checkCohort({ ...cohortOf([t]), backend: 'gpu' })).toThrow('cohort backend gpu is unknown');
    expect(() => checkCohort({ ...cohortOf([t]), trials: [{ key: t.key }] })).toThrow('cohort trial has no key or config');
    expect(() => checkCohort({ ...cohortOf([{ ...t, config: { ...t.config, seed: undefined } as unknown as typeof t.config }]) })).toThrow(
      `trial ${t.key}: config is missing data, model, train, loss or seed`,
    );
    expect(() => checkCohort({ ...cohortOf([{ ...t, config: { ...t.config, loss: { kind: 'hinge' } } as unknown as typeof t.config }]) })).toThrow(
      `trial ${t.key}: malformed model or loss`,
    );
  });
});

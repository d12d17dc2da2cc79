/**
 * Early stopping with restored weights: the stopping rule, a member stopped at epoch e equal to the
 * same trial trained alone to its best epoch, cohort-mates unaffected, and a cohort that ends when
 * every member has stopped.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { cohortKey } from '../src/scheduler/cohort.js';
import { expandGrid } from '../src/scheduler/grid.js';
import { parseSpec } from '../src/scheduler/spec.js';
import { COHORT_FORMAT, type Trial, type TrialResult } from '../src/types.js';
import { EarlyStopper } from '../src/worker/early-stopping.js';
import { trainCohort } from '../src/worker/task.js';

describe('EarlyStopper', () => {
  it('stops after `patience` epochs without an improvement above min_delta, remembering the best epoch', () => {
    const s = new EarlyStopper({ monitor: 'pr_auc', patience: 2, min_delta: 0.01 });
    expect(s.observe(1, 0.5)).toBe('improved');
    expect(s.observe(2, 0.55)).toBe('improved');
    expect(s.observe(3, 0.555)).toBe('wait'); // +0.005 is not above min_delta
    expect(s.observe(4, 0.54)).toBe('stop');
    expect(s).toMatchObject({ bestValue: 0.55, bestEpoch: 2, stoppedEpoch: 4 });
    expect(s.observe(5, 0.9)).toBe('stop'); // stopped stays stopped
  });

  it('lower is better for losses; an undefined value is never an improvement', () => {
    const s = new EarlyStopper({ monitor: 'loss', patience: 3, min_delta: 0 });
    expect(s.observe(1, 0.7)).toBe('improved');
    expect(s.observe(2, 0.6)).toBe('improved');
    expect(s.observe(3, Number.NaN)).toBe('wait');
    expect(s.observe(4, null)).toBe('wait');
    expect(s.observe(5, 0.61)).toBe('stop');
    expect(s).toMatchObject({ bestEpoch: 2, stoppedEpoch: 5 });
    const brier = new EarlyStopper({ monitor: 'brier', patience: 1, min_delta: 0 });
    brier.observe(1, 0.2);
    expect(brier.observe(2, 0.1)).toBe('improved');
    const ece = new EarlyStopper({ monitor: 'mcc', patience: 1, min_delta: 0 });
    ece.observe(1, 0.2);
    expect(ece.observe(2, 0.1)).toBe('stop');
  });
});

const SPEC = `
name: early-stopping
data: { generator: classification, samples: 600, features: 2, class_sep: 0.6, flip_y: 0.05, imbalance: 0.2 }
model: { hidden: [8] }
train: { epochs: 60, batch_size: 32, learning_rate: 0.05 }
grid:
  controls: false
  seed: [1, 2]
  loss: [bce, { focal: { gamma: [2], alpha: [0.75] } }]
  train.early_stopping: [null, { monitor: loss, patience: 3 }]
`;

const trials = (yaml: string): Trial[] => expandGrid(parseSpec(yaml, 't.yaml')).trials;
const cohort = (ts: Trial[], backend: 'cpu' | 'wasm') => ({ format: COHORT_FORMAT, key: cohortKey(ts), shape: 'test', backend, trials: ts });

function relClose(a: number | null | undefined, b: number | null | undefined, rel = 1e-4): boolean {
  if (typeof a !== 'number' || typeof b !== 'number') return a === b;
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1e-12) + 1e-6;
}

const COMPARED = ['minority_f1', 'pr_auc', 'log_loss', 'brier', 'ece', 'threshold_tuned', 'minority_f1_tuned', 'mcc_tuned'] as const;

function expectSameMetrics(a: TrialResult, b: TrialResult, what: string): void {
  for (const m of COMPARED) {
    expect(relClose(a.metrics?.[m], b.metrics?.[m]), `${what} test ${m}: ${a.metrics?.[m]} vs ${b.metrics?.[m]}`).toBe(true);
    expect(relClose(a.validation_metrics?.[m], b.validation_metrics?.[m]), `${what} validation ${m}`).toBe(true);
  }
}

describe.each(['cpu', 'wasm'] as const)('early stopping in a cohort on %s', (backend) => {
  let all: Trial[];
  let mixed: TrialResult[];
  let epochsRun = 0;
  beforeAll(async () => {
    all = trials(SPEC);
    expect(all).toHaveLength(8);
    mixed = await trainCohort(cohort(all, backend), { checkLeaks: true, onEpoch: (e) => (epochsRun = e) });
  });

  it('stopped members record their best and stopped epochs; the others train every epoch', () => {
    for (const [i, t] of all.entries()) {
      const r = mixed[i];
      expect(r.state).toBe('complete');
      if (t.config.train.early_stopping) {
        expect(r.best_epoch).toBeGreaterThanOrEqual(1);
        expect(r.stopped_epoch).toBeLessThan(60);
        expect((r.stopped_epoch as number) - (r.best_epoch as number)).toBe(3);
        expect(r.curves.at(-1)?.epoch).toBe(r.stopped_epoch);
        // the epoch kept was the best by the monitored validation loss
        const best = Math.min(...r.curves.map((p) => p.eval_loss as number));
        expect(r.curves[(r.best_epoch as number) - 1].eval_loss).toBe(best);
        expect(r.metrics?.final_train_loss).toBe(r.curves[(r.best_epoch as number) - 1].train_loss);
      } else {
        expect(r).toMatchObject({ best_epoch: null, stopped_epoch: null });
        expect(r.curves).toHaveLength(60);
      }
    }
    expect(epochsRun).toBe(60);
  });

  it('a member stopped at its best epoch e equals the same trial trained alone for e epochs', async () => {
    for (const [i, t] of all.entries()) {
      if (!t.config.train.early_stopping) continue;
      const e = mixed[i].best_epoch as number;
      const yaml = SPEC.replace('epochs: 60', `epochs: ${e}`).replace('train.early_stopping: [null, { monitor: loss, patience: 3 }]', '');
      const twin = trials(yaml).find((x) => x.config.seed === t.config.seed && x.config.loss.kind === t.config.loss.kind) as Trial;
      const [alone] = await trainCohort(cohort([twin], backend));
      expectSameMetrics(mixed[i], alone, `${t.config.loss.kind} seed ${t.config.seed} at epoch ${e}`);
    }
  });

  it('cohort-mates without early stopping are unaffected', async () => {
    for (const [i, t] of all.entries()) {
      if (t.config.train.early_stopping) continue;
      const [alone] = await trainCohort(cohort([t], backend));
      expectSameMetrics(mixed[i], alone, `${t.config.loss.kind} seed ${t.config.seed}`);
    }
  });

  it('the cohort ends when every member has stopped', async () => {
    const stopping = all.filter((t) => t.config.train.early_stopping);
    let last = 0;
    const results = await trainCohort(cohort(stopping, backend), { checkLeaks: true, onEpoch: (e) => (last = e) });
    const stopped = results.map((r) => r.stopped_epoch as number);
    expect(Math.max(...stopped)).toBeLessThan(60);
    expect(last).toBe(Math.max(...stopped));
    // stopping together changes nothing for any of them
    for (const [i, r] of results.entries()) expectSameMetrics(r, mixed[all.indexOf(stopping[i])], `member ${i}`);
  });
});

describe('early stopping in the spec', () => {
  const base = 'name: x\ntrain: {epochs: 5, early_stopping: {monitor: pr_auc}}\ngrid: {loss: [bce]}\n';

  it('defaults: pr_auc, patience 5, min_delta 0; off unless set', () => {
    expect(trials(base)[0].config.train.early_stopping).toEqual({ monitor: 'pr_auc', patience: 5, min_delta: 0 });
    expect(trials('name: x\ngrid: {loss: [bce]}\n')[0].config.train).not.toHaveProperty('early_stopping');
  });

  it('needs a validation split', () => {
    expect(() => trials(base.replace('train:', 'data: {validation_fraction: 0}\ntrain:'))).toThrow(
      't.yaml:3:36: train.early_stopping: needs a validation split: set data.validation_fraction above 0',
    );
  });

  it('refuses an unknown monitor, a patience below 1 and an unknown key', () => {
    expect(() => trials(base.replace('monitor: pr_auc', 'monitor: f1'))).toThrow(
      't.yaml:2:46: train.early_stopping.monitor: must be loss or a metric (minority_f1, pr_auc, roc_auc, minority_recall, minority_precision, balanced_accuracy, mcc, accuracy, brier, log_loss, ece, minority_f1_tuned, minority_recall_tuned, minority_precision_tuned, balanced_accuracy_tuned, mcc_tuned, accuracy_tuned), got "f1"',
    );
    expect(() => trials(base.replace('monitor: pr_auc', 'patience: 0'))).toThrow('t.yaml:2:47: train.early_stopping.patience: must be ≥ 1, got 0');
    expect(() => trials(base.replace('monitor: pr_auc', 'patients: 3'))).toThrow('train.early_stopping.patients: unknown key (did you mean patience?)');
  });
});

/**
 * The coordinator's check of what workers return (src/result-check.ts), before anything is written:
 * real results pass (as a thread sends them and after BullMQ's JSON), every rule refuses what breaks
 * it with its reason, and SweepStore.recordCohort writes only what passed (a decision grid of
 * resolution 1e8 is never stored).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkResults, MAX_DATASET_POINTS, MAX_GRID_RESOLUTION } from '../src/result-check.js';
import { cohortKey } from '../src/scheduler/cohort.js';
import { expandGrid } from '../src/scheduler/grid.js';
import { parseSpec } from '../src/scheduler/spec.js';
import { SweepStore } from '../src/store/store.js';
import { COHORT_FORMAT, type Trial, type TrialResult } from '../src/types.js';
import { trainCohort } from '../src/worker/task.js';

const SPEC = `
name: checked
data: { generator: classification, samples: 300, features: 2 }
model: { hidden: [4] }
train: { epochs: 3, batch_size: 32, optimizer: sgd }
grid:
  seed: [1, 2]
  loss: [bce, { focal: { gamma: 2 } }]
`;

let trials: Trial[];
let results: TrialResult[];

beforeAll(async () => {
  const all = expandGrid(parseSpec(SPEC, 'checked.yaml')).trials;
  // the last trial diverges (a learning rate past the spec's limit, built directly): a real failed result
  trials = all.map((t, i) => (i === 3 ? { ...t, config: { ...t.config, train: { ...t.config.train, learning_rate: 1e9 } } } : t));
  results = await trainCohort({ format: COHORT_FORMAT, key: cohortKey(trials), shape: 'checked', backend: 'cpu', trials });
  expect(results.map((r) => r.state)).toEqual(['complete', 'complete', 'complete', 'failed']);
});

// biome-ignore lint/suspicious/noExplicitAny: the tests break results field by field, any field
type Loose = Record<string, any>;

/** A change that sets the field at a dotted path ("grid.resolution", "points.label.5"). */
function set(path: string, value: unknown): (r: Loose) => void {
  return (r) => {
    const parts = path.split('.');
    const last = parts.pop() as string;
    let o = r;
    for (const p of parts) o = o[p];
    o[last] = value;
  };
}

/** A deep copy of the results with `change` applied to the first one (and to its own copy of the points it shares with another trial). */
function changed(change: (r: Loose) => void): Loose[] {
  const copy = structuredClone(results) as Loose[];
  copy[0].points = structuredClone(copy[0].points);
  change(copy[0]);
  return copy;
}

/** The reason the first trial's result is refused for ('' when it passes). */
function reasonFor(change: (r: Loose) => void): string {
  const { refused } = checkResults(trials, changed(change));
  return refused.find((r) => r.key === trials[0].key)?.reason ?? '';
}

describe('checking what a worker returned', () => {
  it('passes real results: as a thread sends them, after JSON (NaN becomes null), with points sent once', () => {
    expect(checkResults(trials, results)).toEqual({ valid: results, refused: [] });
    const viaJson = JSON.parse(JSON.stringify(results)) as TrialResult[];
    expect(viaJson[3].curves.some((p) => p.train_loss === null)).toBe(true);
    expect(checkResults(trials, viaJson).refused).toEqual([]);
    const pointsOnce = viaJson.map((r, i) => (i > 0 ? { ...r, points: undefined } : r));
    expect(checkResults(trials, pointsOnce).refused).toEqual([]);
    // fewer results than trials: the check passes them; the store marks the rest missing
    expect(checkResults(trials, results.slice(0, 2))).toEqual({ valid: results.slice(0, 2), refused: [] });
  });

  it('refuses the whole answer when it is not one result per asked trial', () => {
    const every = (reason: string) => trials.map((t) => ({ key: t.key, reason }));
    expect(checkResults(trials, { results })).toEqual({ valid: [], refused: every('not a list of trial results, got a mapping') });
    expect(checkResults(trials, null).refused).toEqual(every('not a list of trial results, got null'));
    expect(checkResults(trials, [...results, results[0]]).refused).toEqual(every('5 results for 4 trials'));
    expect(checkResults(trials, [results[0], results[0]]).refused).toEqual(every(`two results for trial ${trials[0].key}`));
    expect(checkResults(trials, [results[0], { ...results[1], key: 'x'.repeat(100) }]).refused).toEqual(
      every(`a result for trial "${'x'.repeat(40)}"… (100 characters), which was not asked for`),
    );
    expect(checkResults(trials, [results[0], 'junk']).refused).toEqual(every('result 1 has no trial key'));
  });

  it('refuses a result that breaks any rule, naming the field; the other results pass', () => {
    const cases: [string, (r: Loose) => void, string][] = [
      ['state', set('state', 'done'), 'state: must be complete or failed, got "done"'],
      ['unknown field', set('evil', 1), 'evil: unknown field'],
      ['error on a complete trial', set('error', 'x'), 'error: a complete trial has no error'],
      ['backend', set('backend', 'gpu'), 'backend: must be one of tensorflow, wasm, cpu, got "gpu"'],
      ['worker', set('worker', 'w'.repeat(201)), `worker: must be a text of 1 to 200 characters, got "${'w'.repeat(40)}"… (201 characters)`],
      ['alpha_used', set('alpha_used', 2), 'alpha_used: must be from 0 to 1, got 2'],
      ['n_test', set('n_test', 1.5), 'n_test: must be a whole number ≥ 0, got 1.5'],
      ['timings', set('timings.cohort_size', 0), 'timings.cohort_size: must be a whole number from 1 to 4096, got 0'],
      ['negative time', set('timings.setup_ms', -1), 'timings.setup_ms: must be ≥ 0, got -1'],
      ['F1 out of range', set('metrics.minority_f1', 1.5), 'metrics.minority_f1: must be from 0 to 1, got 1.5'],
      ['NaN metric', set('metrics.minority_f1', Number.NaN), 'metrics.minority_f1: must be a finite number, got NaN'],
      ['NaN after JSON', set('metrics.pr_auc', '0.9'), 'metrics.pr_auc: must be a finite number, got "0.9"'],
      [
        'a forged F1 with counts that do not add up',
        (r) => {
          r.metrics.minority_f1 = 0.999;
          r.metrics.tp += 5;
        },
        `metrics: tp + fp + tn + fn must be n_test (${results[0].n_test}), got ${results[0].n_test + 5}`,
      ],
      ['MCC', set('metrics.mcc', -2), 'metrics.mcc: must be from -1 to 1, got -2'],
      ['log loss', set('metrics.log_loss', -1), 'metrics.log_loss: must be ≥ 0, got -1'],
      ['count', set('metrics.tp', -1), 'metrics.tp: must be a whole number ≥ 0, got -1'],
      ['unknown metric', set('metrics.f2', 0.5), 'metrics.f2: unknown field'],
      ['no metrics', set('metrics', null), 'metrics: must be a mapping, got null'],
      ['curves', set('curves', 'none'), 'curves: must be a list, got "none"'],
      ['no validation metrics', set('validation_metrics', null), 'validation_metrics: must be a mapping, got null'],
      [
        'validation counts that do not add up',
        (r) => {
          r.validation_metrics.fn += 1;
        },
        `validation_metrics: tp + fp + tn + fn must be n_val (${results[0].n_val}), got ${results[0].n_val + 1}`,
      ],
      [
        'tuned counts that do not add up',
        (r) => {
          r.metrics.tp_tuned += 2;
        },
        `metrics: tp_tuned + fp_tuned + tn_tuned + fn_tuned must be n_test (${results[0].n_test}), got ${results[0].n_test + 2}`,
      ],
      ['tuned F1 out of range', set('metrics.minority_f1_tuned', 2), 'metrics.minority_f1_tuned: must be from 0 to 1, got 2'],
      ['tuned threshold', set('metrics.threshold_tuned', -0.1), 'metrics.threshold_tuned: must be from 0 to 1, got -0.1'],
      ['ECE', set('metrics.ece', 1.5), 'metrics.ece: must be from 0 to 1, got 1.5'],
      [
        'positives above the split',
        set('positives.test', results[0].n_test + 1),
        `positives.test: at most the split's ${results[0].n_test} rows, got ${results[0].n_test + 1}`,
      ],
      ['best epoch after the stop', (r) => Object.assign(r, { best_epoch: 3, stopped_epoch: 2 }), 'best_epoch: must be a whole number from 1 to 2, got 3'],
      ['stopped past the training', (r) => Object.assign(r, { best_epoch: 1, stopped_epoch: 9 }), 'stopped_epoch: must be a whole number from 1 to 3, got 9'],
      ['calibration bins of other lengths', set('calibration.sum_p', [0]), 'calibration: 1 to 100 bins of equal length, got 15, 1, 15'],
      [
        'calibration counts that do not add up',
        (r) => {
          r.calibration.count[0] += 1;
        },
        `calibration: its counts must add up to n_test (${results[0].n_test}), got ${results[0].n_test + 1}`,
      ],
      [
        'calibration positives above the count',
        (r) => {
          const b = r.calibration.count.findIndex((c: number) => c > 0);
          r.calibration.positives[b] = r.calibration.count[b] + 1;
        },
        (() => {
          const c = results[0].calibration as NonNullable<TrialResult['calibration']>;
          const b = c.count.findIndex((n) => n > 0);
          return `calibration.positives[${b}]: at most count[${b}] (${c.count[b]}), got ${c.count[b] + 1}`;
        })(),
      ],
      ['curve longer than the training', (r) => r.curves.push({ epoch: 4, train_loss: 0.1 }), 'curves: at most 3 epochs (train.epochs), got 4'],
      ['epoch numbers', set('curves.1.epoch', 7), 'curves[1].epoch: must be 2, got 7'],
      ['NaN loss on a complete trial', set('curves.0.train_loss', null), 'curves[0].train_loss: must be a finite number, got null'],
      ['eval PR-AUC', set('curves.2.eval_pr_auc', 3), 'curves[2].eval_pr_auc: must be from 0 to 1, got 3'],
      ['grid resolution 1e8', set('grid.resolution', 1e8), `grid.resolution: must be a whole number from 2 to ${MAX_GRID_RESOLUTION}, got 100000000`],
      ['grid size', set('grid.probs', 'AAAA'), 'grid.probs: must hold resolution² = 4096 bytes, got 3'],
      ['grid bytes', set('grid.probs', '!!!'), 'grid.probs: must be base64, got "!!!"'],
      ['grid bounds', set('grid.x0', 1e6), 'grid: its bounds must have x0 ≤ x1 and y0 ≤ y1'],
      ['grid bound', set('grid.y1', null), 'grid.y1: must be a finite number, got null'],
      [
        'points longer than the test split',
        (r) => {
          r.points.x = new Array(r.n_test + 1).fill(0);
          r.points.y = r.points.x;
          r.points.label = r.points.x;
        },
        `points: at most ${results[0].n_test} points (the test split, up to ${MAX_DATASET_POINTS}), got ${results[0].n_test + 1}`,
      ],
      [
        'points lengths',
        (r) => r.points.y.pop(),
        `points: x, y and label must have the same length, got ${results[0].n_test}, ${results[0].n_test - 1}, ${results[0].n_test}`,
      ],
      ['point label', set('points.label.5', 2), 'points.label[5]: must be 0 or 1, got 2'],
      ['point value', set('points.x.0', null), 'points: x[0] and y[0] must be finite numbers'],
    ];
    for (const [what, change, reason] of cases) {
      const { valid, refused } = checkResults(trials, changed(change));
      expect(refused, what).toEqual([{ key: trials[0].key, reason }]);
      expect(
        valid.map((r) => r.key),
        what,
      ).toEqual(trials.slice(1).map((t) => t.key));
    }
    // a failed trial: its message is required and bounded, it has no metrics
    const failed = (change: (r: Loose) => void) => {
      const copy = structuredClone(results) as Loose[];
      change(copy[3]);
      return checkResults(trials, copy).refused;
    };
    expect(
      failed((r) => {
        delete r.error;
      }),
    ).toEqual([{ key: trials[3].key, reason: 'error: a failed trial needs its message, got undefined' }]);
    expect(failed(set('error', 'e'.repeat(10_001)))).toEqual([{ key: trials[3].key, reason: 'error: at most 10000 characters, got 10001' }]);
    expect(failed(set('metrics', results[0].metrics))).toEqual([{ key: trials[3].key, reason: 'metrics: a failed trial has none' }]);
    // an infinite log loss (an infinite logit) and a missing ROC-AUC (one class) are legitimate
    expect(
      reasonFor((r) => {
        r.metrics.log_loss = null;
        r.metrics.roc_auc = null;
      }),
    ).toBe('');
  });
});

describe('recording checked results', () => {
  it('writes what passed; a refused result fails its trial with the reason and leaves nothing else behind', () => {
    const store = new SweepStore(join(mkdtempSync(join(tmpdir(), 'fs-check-')), 'c.db'));
    store.upsertSweep('checked', 'checked.yaml', SPEC, 'minority_f1');
    const run = store.beginRun({ mode: 'local', workers: 1, backend: 'cpu', machine: {}, versions: {} });
    store.plan(trials, false);
    // the forged result of defect 7: a decision grid of resolution 1e8 (the report would need 10 GB for it)
    const sent = changed(set('grid.resolution', 1e8)).slice(0, 3);
    const { results: recorded, failed } = store.recordCohort(trials, sent, run);
    expect(recorded.map((r) => r.key)).toEqual([trials[1].key, trials[2].key]);
    expect(failed).toEqual([
      {
        key: trials[0].key,
        error: `the worker returned an invalid result: grid.resolution: must be a whole number from 2 to ${MAX_GRID_RESOLUTION}, got 100000000`,
      },
      { key: trials[3].key, error: 'the worker returned no result for this trial' },
    ]);
    const rows = store.db
      .prepare(
        `SELECT t.key, t.state, count(a.trial_id) AS grids FROM trials t LEFT JOIN artifacts a ON a.trial_id = t.id AND a.kind = 'decision_grid' GROUP BY t.id ORDER BY t.id`,
      )
      .all();
    expect(rows).toEqual([
      { key: trials[0].key, state: 'failed', grids: 0 },
      { key: trials[1].key, state: 'complete', grids: 1 },
      { key: trials[2].key, state: 'complete', grids: 1 },
      { key: trials[3].key, state: 'failed', grids: 0 },
    ]);
    expect(store.db.prepare(`SELECT max(json_extract(meta, '$.resolution')) AS r FROM artifacts`).get()).toEqual({ r: 64 });
    store.close();
  });
});

/**
 * A small results database for the report/best/query tests, written with the real SweepStore from
 * hand-made TrialResults (no training): 2 imbalance ratios × 3 seeds × 4 losses, known metric values,
 * one failed trial with HTML in its message, per-epoch curves, 8×8 decision grids and test points.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandGrid } from '../../src/scheduler/grid.js';
import { parseSpec } from '../../src/scheduler/spec.js';
import { SweepStore } from '../../src/store/store.js';
import type { Metrics, Trial, TrialResult } from '../../src/types.js';
import { untuned } from './results.js';

export const XSS_NAME = '<script>alert(1)</script>';
export const XSS_ERROR = 'boom <img src=x onerror="alert(2)"> & </td></tr></table><script>alert(3)</script>';

export function fixtureSpec(name = 'fixture'): string {
  return `name: ${JSON.stringify(name)}
objective: minority_f1
data: { generator: classification, samples: 400, features: 2 }
model: { hidden: [4] }
train: { epochs: 5, batch_size: 32 }
grid:
  imbalance: ["90:10", "97:3"]
  seed: [1, 2, 3]
  loss:
    - bce
    - weighted_bce: { alpha: [inverse] }
    - focal: { gamma: [2], alpha: [none, inverse] }
`;
}

/** Short name of a trial's loss: bce | wbce | f2none | f2inv. */
export function lossName(t: Trial): string {
  const l = t.config.loss;
  if (l.kind === 'bce') return 'bce';
  if (l.kind === 'weighted_bce') return 'wbce';
  if (l.kind !== 'focal') throw new Error(`the report fixture has no ${l.kind} trials`);
  return `f${l.gamma}${l.alpha === 'none' ? 'none' : 'inv'}`;
}

export function imbalanceName(t: Trial): string {
  return t.config.data.imbalance === 0.1 ? '90:10' : '97:3';
}

/** minority F1 by imbalance, loss and seed (1, 2, 3). */
export const F1: Record<string, Record<string, number[]>> = {
  '90:10': { bce: [0.6, 0.62, 0.64], wbce: [0.61, 0.66, 0.6], f2none: [0.65, 0.6, 0.66], f2inv: [0.7, 0.75, 0.71] },
  '97:3': { bce: [0.4, 0.5, 0.45], wbce: [0.42, 0.49, 0.43], f2none: [0.3, 0.35, 0.33], f2inv: [0.38, 0.55, 0.44] },
};

/** The failed trial: 97:3, focal γ=2 α=none, seed 3. */
export const FAILED = { imbalance: '97:3', loss: 'f2none', seed: 3 };

function metricsFor(f1: number): Metrics {
  return {
    accuracy: 0.9 + f1 / 20,
    balanced_accuracy: 0.5 + f1 / 2,
    minority_precision: f1 - 0.05,
    minority_recall: f1 + 0.05,
    minority_f1: f1,
    mcc: f1 - 0.1,
    roc_auc: 0.8 + f1 / 10,
    pr_auc: f1 + 0.1,
    brier: 0.1 - f1 / 20,
    log_loss: 0.3 - f1 / 10,
    tp: 10,
    fp: 3,
    tn: 80,
    fn: 7,
    predicted_positive_rate: 0.13,
    ece: 0.04,
    ...untuned,
    final_train_loss: 0.2 - f1 / 10,
  };
}

function resultFor(t: Trial, opts: { error?: string }): TrialResult {
  const imb = imbalanceName(t);
  const loss = lossName(t);
  const seed = t.config.seed;
  const failed = imb === FAILED.imbalance && loss === FAILED.loss && seed === FAILED.seed;
  const timings = { cohort_size: 24, setup_ms: 5, train_ms: 120, eval_ms: 3 };
  const base = {
    key: t.key,
    backend: 'cpu',
    worker: 'test/1/1',
    alpha_used: loss === 'wbce' || loss === 'f2inv' ? 0.9 : null,
    train_positive_fraction: 0.1,
    n_train: 300,
    n_val: 100,
    n_test: 100,
    positives: { train: 30, val: 12, test: 12 },
    best_epoch: null,
    stopped_epoch: null,
    timings,
  };
  if (failed) return { ...base, state: 'failed', error: opts.error ?? XSS_ERROR, metrics: null, validation_metrics: null, curves: [] };
  const f1 = F1[imb][loss][seed - 1];
  const R = 8;
  const probs = new Uint8Array(R * R);
  for (let r = 0; r < R; r++) for (let c = 0; c < R; c++) probs[r * R + c] = Math.round((255 * c) / (R - 1));
  const datasetKey = `ds-${imb}-${seed}`;
  const x: number[] = [];
  const y: number[] = [];
  const label: number[] = [];
  for (let i = 0; i < 40; i++) {
    x.push(-1 + (i % 10) / 5);
    y.push(-1 + Math.floor(i / 10) / 2);
    label.push(i % 10 >= 8 ? 1 : 0);
  }
  return {
    ...base,
    state: 'complete',
    metrics: metricsFor(f1),
    // validation values equal to test here: the ranking is the same either way (test/analysis.test.ts covers them apart)
    validation_metrics: metricsFor(f1),
    curves: [1, 2, 3, 4, 5].map((e) => ({ epoch: e, train_loss: 0.5 / e, eval_loss: 0.6 / e, eval_log_loss: 0.4 / e + 0.1, eval_pr_auc: f1 - 0.05 / e })),
    grid: { dataset_key: datasetKey, resolution: R, x0: -1, x1: 1, y0: -1, y1: 1, probs: Buffer.from(probs).toString('base64') },
    points: { key: datasetKey, x, y, label },
  };
}

export interface Fixture {
  dir: string;
  file: string;
  trials: Trial[];
}

/** Write the fixture database (in a fresh temp folder unless `file` is given). */
export function makeFixtureDb(opts: { name?: string; error?: string; file?: string } = {}): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'fs-report-'));
  const file = opts.file ?? join(dir, 'fixture.db');
  const spec = parseSpec(fixtureSpec(opts.name), join(dir, 'fixture.yaml'));
  const { trials } = expandGrid(spec);
  const store = new SweepStore(file, { create: true });
  try {
    store.upsertSweep(spec.name, join(dir, 'fixture.yaml'), spec.text, spec.objective);
    const runId = store.beginRun({
      mode: 'local',
      workers: 2,
      backend: 'cpu',
      machine: { cpu: 'Test CPU', cores: 2, memory_gb: 4, os: 'test' },
      versions: { 'focal-sweep': '0.0.0-test' },
    });
    store.plan(trials, false);
    store.markRunning(
      trials.map((t) => t.key),
      runId,
      'cohort-1',
    );
    store.record(
      trials.map((t) => resultFor(t, opts)),
      runId,
    );
    store.finishRun(runId, 'failed', { planned: trials.length, completed: trials.length - 1, failed: 1, wallMs: 1234 });
  } finally {
    store.close();
  }
  return { dir, file, trials };
}

/** Run the built CLI (shared with the engine tests). */
export { runCli as cli } from './cli.js';

#!/usr/bin/env node
/**
 * Report size and build time at scale: writes a synthetic results database with the real SweepStore
 * (5 imbalance ratios × 4 learning rates × 50 losses × ⌈trials/1000⌉ seeds, every trial with 30
 * epochs of curves, a 64×64 decision grid and 2-D test points, ~1% failed), then times
 * `writeReport` on it. Targets at 10,000 trials: under 10 s and under 5 MB.
 *
 *   npm run build && node bench/report-size.mjs [--trials 10000] [--keep]
 *
 * bench/run.mjs calls measureReport({ trials }) -> { ms, bytes, trials, buildDbMs, path }.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeReport } from '../dist/report/report.js';
import { expandGrid } from '../dist/scheduler/grid.js';
import { parseSpec } from '../dist/scheduler/spec.js';
import { SweepStore } from '../dist/store/store.js';

const IMBALANCES = ['90:10', '95:5', '97:3', '98:2', '99:1'];
const RESOLUTION = 64;
const EPOCHS = 30;
const POINTS = 2000;

function specText(seeds) {
  return `name: report-bench
objective: minority_f1
data: { generator: classification, samples: 8000, features: 2, test_fraction: 0.25 }
model: { hidden: [16, 16] }
train: { epochs: ${EPOCHS}, batch_size: 64 }
grid:
  imbalance: ${JSON.stringify(IMBALANCES)}
  seed: ${JSON.stringify(Array.from({ length: seeds }, (_, i) => i + 1))}
  train.learning_rate: [0.03, 0.01, 0.003, 0.001]
  loss:
    - bce
    - weighted_bce: { alpha: [0.25, 0.5, 0.75, inverse] }
    - focal: { gamma: [0.5, 1, 2, 3, 4, 5, 6, 7, 8], alpha: [none, 0.25, 0.5, 0.75, inverse] }
`;
}

/** Deterministic noise in [-1, 1) from integers. */
function noise(...xs) {
  let h = 2166136261;
  for (const x of xs) h = Math.imul(h ^ Math.round(x * 1000), 16777619) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0x5bd1e995) >>> 0;
  return ((h >>> 0) / 2 ** 32) * 2 - 1;
}

function synthetic(trial, index) {
  const c = trial.config;
  const imb = c.data.imbalance;
  const gamma = c.loss.kind === 'focal' ? c.loss.gamma : 0;
  const alpha = c.loss.kind === 'bce' ? 0.5 : c.loss.alpha === 'inverse' ? 1 - imb : c.loss.alpha === 'none' ? 0.5 : c.loss.alpha;
  const seed = c.seed;
  const base = 0.95 - 2.5 * (0.1 - imb) - 0.02 * Math.abs(Math.log10(c.train.learning_rate / 0.01));
  const f1 = Math.min(
    0.99,
    Math.max(
      0.01,
      base + 0.03 * Math.exp(-((gamma - 2) ** 2) / 4) * (1 - imb * 5) - 0.05 * Math.abs(alpha - 0.6) + 0.03 * noise(seed, imb) + 0.01 * noise(index),
    ),
  );
  const timings = { cohort_size: 32, setup_ms: 40, train_ms: 900 + 100 * noise(index, 7), eval_ms: 20 };
  const common = {
    key: trial.key,
    backend: 'wasm',
    worker: `bench/${process.pid}/${index % 2}`,
    alpha_used: c.loss.kind === 'bce' || c.loss.alpha === 'none' ? null : alpha,
    train_positive_fraction: imb,
    n_train: 6000,
    n_test: 2000,
    timings,
  };
  if (index % 97 === 13) {
    return {
      ...common,
      state: 'failed',
      error: index % 2 ? `cohort timed out after 30 min (execution.trial_timeout)` : `NaN loss at epoch ${index % EPOCHS} for trial ${trial.key}`,
      metrics: null,
      curves: [],
    };
  }
  const probs = new Uint8Array(RESOLUTION * RESOLUTION);
  const tilt = 0.8 + gamma / 10;
  for (let r = 0; r < RESOLUTION; r++) {
    for (let k = 0; k < RESOLUTION; k++) {
      const z = (k - RESOLUTION * 0.55) * 0.25 * tilt + (r - RESOLUTION / 2) * 0.12 + Math.log(imb / (1 - imb)) * 0.3;
      probs[r * RESOLUTION + k] = Math.round(255 / (1 + Math.exp(-z)));
    }
  }
  const datasetKey = `bench-${imb}-${seed}`;
  const x = [];
  const y = [];
  const label = [];
  for (let i = 0; i < POINTS; i++) {
    const pos = i < POINTS * imb;
    x.push((pos ? 1 : -1) + 1.2 * noise(seed, i, 1));
    y.push(1.2 * noise(seed, i, 2));
    label.push(pos ? 1 : 0);
  }
  const curves = [];
  for (let e = 1; e <= EPOCHS; e++)
    curves.push({ epoch: e, train_loss: 0.3 / e + 0.05, eval_loss: 0.35 / e + 0.06, eval_log_loss: 0.2 / e + 0.08, eval_pr_auc: f1 + 0.05 - 0.3 / e });
  return {
    ...common,
    state: 'complete',
    metrics: {
      accuracy: 1 - imb * (1 - f1),
      balanced_accuracy: 0.5 + f1 / 2,
      minority_precision: Math.min(1, f1 + 0.04 * noise(index, 3)),
      minority_recall: Math.min(1, f1 + 0.04 * noise(index, 4)),
      minority_f1: f1,
      mcc: f1 - 0.05,
      roc_auc: Math.min(1, 0.8 + f1 / 5),
      pr_auc: Math.min(1, f1 + 0.05),
      brier: 0.05 * (1 - f1),
      log_loss: 0.3 * (1 - f1) + 0.02,
      tp: 100,
      fp: 20,
      tn: 1800,
      fn: 80,
      predicted_positive_rate: imb,
      final_train_loss: 0.06,
    },
    curves,
    grid: { dataset_key: datasetKey, resolution: RESOLUTION, x0: -2.5, x1: 2.5, y0: -2, y1: 2, probs: Buffer.from(probs).toString('base64') },
    points: { key: datasetKey, x, y, label },
  };
}

/** Write the synthetic database; returns its path and the number of trials. */
export function buildSyntheticDb(file, trials = 10_000) {
  const seeds = Math.max(1, Math.round(trials / 1000));
  const spec = parseSpec(specText(seeds), 'report-bench.yaml');
  const all = expandGrid(spec).trials;
  const store = new SweepStore(file, { create: true });
  try {
    store.upsertSweep(spec.name, 'report-bench.yaml', spec.text, spec.objective);
    const runId = store.beginRun({ mode: 'local', workers: 2, backend: 'wasm', machine: { cpu: 'synthetic', cores: 2 }, versions: {} });
    store.plan(all, false);
    for (let i = 0; i < all.length; i += 500) {
      const batch = all.slice(i, i + 500);
      store.markRunning(
        batch.map((t) => t.key),
        runId,
        `bench-${i}`,
      );
      store.record(
        batch.map((t, j) => synthetic(t, i + j)),
        runId,
      );
    }
    store.finishRun(runId, 'failed', { planned: all.length, completed: all.length, failed: 0, wallMs: all.length * 120 });
  } finally {
    store.close();
  }
  return { file, trials: all.length };
}

/** Build a synthetic DB of about `trials` trials and time the report on it. */
export async function measureReport({ trials = 10_000, keep = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'fs-report-bench-'));
  try {
    const t0 = performance.now();
    const db = buildSyntheticDb(join(dir, 'bench.db'), trials);
    const buildDbMs = performance.now() - t0;
    const r = await writeReport({ db: db.file, out: join(dir, 'report.html') });
    return {
      trials: db.trials,
      ms: Math.round(r.ms),
      bytes: r.bytes,
      buildDbMs: Math.round(buildDbMs),
      dbBytes: statSync(db.file).size,
      path: keep ? r.path : undefined,
    };
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--trials');
  const trials = i >= 0 ? Number(args[i + 1]) : 10_000;
  const r = await measureReport({ trials, keep: args.includes('--keep') });
  const ok = r.ms < 10_000 && r.bytes < 5e6;
  console.log(JSON.stringify(r));
  console.log(
    `report at ${r.trials} trials: ${(r.ms / 1000).toFixed(2)} s, ${(r.bytes / 1e6).toFixed(2)} MB (targets: < 10 s, < 5 MB) ${ok ? 'OK' : 'OVER TARGET'}`,
  );
  if (!ok) process.exitCode = 1;
}

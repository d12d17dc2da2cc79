/**
 * 8. Planning a large sweep: an unchanged rerun of a 100,000-trial sweep, from reading the spec to
 * knowing there is nothing to run (what `focal-sweep run` does before its "0 trials" plan line:
 * loadSpec, expandGrid, opening the database, the sweep and run rows, store.plan). The database is
 * made once (every trial planned and marked complete); each rerun is a fresh process, as a real
 * rerun is (cold JIT), timed in its parts; the CLI's own start-up (loading modules) is left out.
 * Also counts the rows the re-plan wrote (SQLite's total_changes() around store.plan).
 *
 *   node bench/plan.mjs [--runs 3]
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expandGrid } from '../dist/scheduler/grid.js';
import { loadSpec } from '../dist/scheduler/spec.js';
import { SweepStore } from '../dist/store/store.js';
import { flags, isMain, log, stats, tempDir } from './lib.mjs';

/** 4 ratios × 50 seeds × 25 losses × 4 learning rates × 5 class separations = 100,000 trials. */
export const PLAN_SPEC = `name: bench-plan
data: { generator: classification, samples: 1000, features: 2 }
grid:
  imbalance: ["80:20", "90:10", "95:5", "99:1"]
  seed: [${Array.from({ length: 50 }, (_, i) => i + 1).join(', ')}]
  loss:
    - bce
    - weighted_bce: { alpha: [inverse, 0.25, 0.5, 0.75] }
    - focal: { gamma: [0.5, 1, 2, 5], alpha: [none, 0.25, 0.5, 0.75, inverse] }
  train.learning_rate: [0.03, 0.01, 0.003, 0.001]
  data.class_sep: [0.5, 1, 1.5, 2, 3]
`;

const INFO = { mode: 'local', workers: 1, backend: 'wasm', machine: {}, versions: {} };

/** One unchanged rerun, timed in its parts (runs in a child process). */
function replan(specFile, dbFile) {
  const t = [performance.now()];
  const spec = loadSpec(specFile);
  t.push(performance.now());
  const { trials } = expandGrid(spec);
  t.push(performance.now());
  const store = new SweepStore(dbFile);
  store.upsertSweep(spec.name, specFile, spec.text, spec.objective);
  const runId = store.beginRun(INFO);
  t.push(performance.now());
  const before = store.db.prepare('SELECT total_changes() AS n').get().n;
  const plan = store.plan(trials, false);
  const rowsWritten = store.db.prepare('SELECT total_changes() AS n').get().n - before;
  t.push(performance.now());
  store.finishRun(runId, 'complete', { planned: 0, completed: 0, failed: 0, wallMs: 0 });
  store.close();
  if (plan.pending.length !== 0) throw new Error(`the rerun planned ${plan.pending.length} trials, expected 0`);
  const ms = t.slice(1).map((x, i) => Math.round((x - t[i]) * 10) / 10);
  return {
    trials: trials.length,
    rowsWritten,
    loadSpecMs: ms[0],
    expandGridMs: ms[1],
    openMs: ms[2],
    storePlanMs: ms[3],
    totalMs: Math.round((t[4] - t[0]) * 10) / 10,
  };
}

function child(args) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1))) : reject(new Error(`plan child exited ${code}`))));
  });
}

export async function measurePlan({ runs = 3 } = {}) {
  const { dir, cleanup } = tempDir('fs-bench-plan-');
  try {
    const specFile = join(dir, 'plan.yaml');
    const dbFile = join(dir, 'plan.db');
    writeFileSync(specFile, PLAN_SPEC);
    // the first run: plan every trial, then mark them all complete
    const t0 = performance.now();
    const spec = loadSpec(specFile);
    const { trials } = expandGrid(spec);
    const store = new SweepStore(dbFile);
    store.upsertSweep(spec.name, specFile, spec.text, spec.objective);
    const runId = store.beginRun(INFO);
    store.plan(trials, false);
    store.db.prepare(`UPDATE trials SET state = 'complete'`).run();
    store.finishRun(runId, 'complete', { planned: trials.length, completed: trials.length, failed: 0, wallMs: 0 });
    store.close();
    const firstPlanMs = Math.round(performance.now() - t0);
    log(`plan: ${trials.length} trials planned the first time in ${firstPlanMs} ms`);
    const reruns = [];
    for (let r = 0; r < runs; r++) {
      reruns.push(await child(['--replan', specFile, dbFile]));
      log(`plan: unchanged rerun ${r + 1}: ${JSON.stringify(reruns.at(-1))}`);
    }
    const pick = (k) => stats(reruns.map((x) => x[k]));
    return {
      trials: trials.length,
      firstPlanMs,
      rerun: {
        totalMs: pick('totalMs'),
        loadSpecMs: pick('loadSpecMs'),
        expandGridMs: pick('expandGridMs'),
        openMs: pick('openMs'),
        storePlanMs: pick('storePlanMs'),
        rowsWritten: pick('rowsWritten'),
      },
      targetMs: 1000,
    };
  } finally {
    cleanup();
  }
}

if (isMain(import.meta.url)) {
  const f = flags();
  if (f.replan) {
    const i = process.argv.indexOf('--replan');
    console.log(JSON.stringify(replan(process.argv[i + 1], process.argv[i + 2])));
  } else {
    console.log(JSON.stringify(await measurePlan({ runs: f.runs ? Number(f.runs) : undefined })));
  }
}

/**
 * 4. End to end vs a plain loop: `focal-sweep run sweeps/quickstart.yaml` (the CLI in a child
 * process, cold start included, --no-report: the baseline writes no report) against the same trials
 * trained one after another with tf.sequential + model.fit in one thread (bench/baseline.mjs).
 *
 * The plain loop takes ~3 s per quickstart trial here, so by default it trains about 36 trials
 * spread over the grid (every k-th, covering every loss setting, ratio and seed; bench/baseline.mjs
 * pickTrials) and the comparison uses its mean time per trial × the number of trials (trials have
 * identical shapes, so their times differ only by noise); --full trains them all. Metrics are
 * compared on the trials both trained.
 *
 *   node bench/e2e.mjs [--runs 3] [--full]
 */

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { flags, isMain, log, ROOT, runNode, stats, tempDir, timeCommand } from './lib.mjs';

const SPEC = 'sweeps/quickstart.yaml';
/** Trials the plain loop trains by default (~3 s each here); --full trains them all. */
const BASELINE_MAX = 36;

function mean(xs) {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function sd(xs) {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1));
}

export async function measureE2e({ runs = 3, full = false } = {}) {
  const walls = [];
  let rows = null;
  const { dir, cleanup } = tempDir();
  try {
    for (let r = 0; r < runs; r++) {
      const db = join(dir, `quickstart-${r}.db`);
      const res = await timeCommand(process.execPath, [join(ROOT, 'dist/cli.js'), 'run', SPEC, '--db', db, '--no-report', '--progress', 'none']);
      if (res.code !== 0) throw new Error(`focal-sweep run ${SPEC} exited with ${res.code}:\n${res.out.slice(-3000)}`);
      walls.push(res.ms);
      log(`e2e focal-sweep run ${SPEC}: ${(res.ms / 1000).toFixed(1)} s`);
      if (r === runs - 1) {
        const d = new Database(db, { readonly: true });
        rows = d.prepare(`SELECT key, setting_key, minority_f1, pr_auc, state FROM trials`).all();
        d.close();
      }
    }
  } finally {
    cleanup();
  }
  const base = await runNode(join(ROOT, 'bench/baseline.mjs'), ['--spec', SPEC, ...(full ? [] : ['--max', String(BASELINE_MAX)])]);
  const perTrialMs = base.results.map((r) => r.ms);
  const baselineTotalMs = mean(perTrialMs) * base.totalTrials;
  const sweepMs = stats(walls);

  // metrics on the trials both trained; noise: the spread over seeds of the same setting in the sweep
  const byKey = new Map(rows.map((r) => [r.key, r]));
  const both = base.results.filter((r) => byKey.has(r.key));
  const pairs = (m) => both.map((r) => ({ plain: r[m], sweep: byKey.get(r.key)[m] })).filter((p) => p.plain !== null && p.sweep !== null);
  const bySetting = new Map();
  for (const r of rows) {
    if (!bySetting.has(r.setting_key)) bySetting.set(r.setting_key, []);
    bySetting.get(r.setting_key).push(r);
  }
  const metric = (m) => {
    const p = pairs(m);
    const diffs = p.map((x) => x.sweep - x.plain);
    const seedSd = mean([...bySetting.values()].map((g) => sd(g.map((r) => r[m]).filter((v) => v !== null))));
    const se = sd(diffs) / Math.sqrt(diffs.length);
    return {
      n: p.length,
      sweepMean: mean(p.map((x) => x.sweep)),
      plainMean: mean(p.map((x) => x.plain)),
      meanDiff: mean(diffs),
      diffSe: se,
      seedSd,
      // the same within noise: not distinguishable from 0 (2 standard errors of the paired
      // differences), or smaller than a quarter of the spread between seeds of one setting
      withinNoise: Math.abs(mean(diffs)) <= Math.max(2 * se, 0.25 * seedSd),
    };
  };
  return {
    spec: SPEC,
    trials: base.totalTrials,
    sweepWallMs: sweepMs,
    sweepComplete: rows.filter((r) => r.state === 'complete').length,
    baseline: {
      backend: base.backend,
      trained: base.trained,
      every: base.every,
      perTrialMs: stats(perTrialMs),
      totalMs: baselineTotalMs,
      extrapolated: base.trained < base.totalTrials,
      tensorsLeaked: base.tensorsLeaked,
    },
    speedup: baselineTotalMs / sweepMs.median,
    metrics: { minority_f1: metric('minority_f1'), pr_auc: metric('pr_auc') },
  };
}

if (isMain(import.meta.url)) {
  const f = flags();
  console.log(JSON.stringify(await measureE2e({ runs: Number(f.runs ?? 3), full: !!f.full })));
}

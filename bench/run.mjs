#!/usr/bin/env node
/**
 * `npm run bench`: every benchmark of issue 6, each in its own child process, one after another.
 * Writes bench/results/<timestamp>.json, rewrites bench/RESULTS.md, and prints the table of every
 * figure with its target. Budget: under 15 minutes on 2 cores (it prints its own total).
 *
 *   npm run bench                      # everything
 *   node bench/run.mjs --only cohort,threads
 *   node bench/run.mjs --quick         # one run each: a smoke test, not results
 *   node bench/run.mjs --full-baseline # the plain loop trains every quickstart trial (~10 min more)
 *
 * Sections: overhead, cohort, threads, e2e, memory, report, signing, recovery (needs redis-server),
 * plan. bench/distributed.mjs (throughput over Redis) is not run here. A partial run (--only)
 * rewrites only the detail blocks of the sections it ran in bench/RESULTS.md (those marked
 * <!-- section:<id> -->), not the summary table.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { machineInfo, versions } from '../dist/machine.js';
import { DEFAULT_COHORT_SIZE } from '../dist/scheduler/spec.js';
import { BENCH_DIR, flags, fmtNum, fmtStats, load, log, ROOT, runNode } from './lib.mjs';

const f = flags();
const quick = !!f.quick;
const only = f.only ? new Set(String(f.only).split(',')) : null;
const want = (s) => !only || only.has(s);

const SECTIONS = [
  { id: 'overhead', script: 'overhead.mjs', args: ['--runs', quick ? '1' : '3'] },
  { id: 'cohortWasm', group: 'cohort', script: 'cohort.mjs', args: ['--backend', 'wasm', '--rounds', quick ? '1' : '3'] },
  { id: 'cohortCpu', group: 'cohort', script: 'cohort.mjs', args: ['--backend', 'cpu', '--rounds', quick ? '1' : '3'] },
  { id: 'threads', script: 'threads.mjs', args: ['--runs', quick ? '1' : '3'] },
  { id: 'e2e', script: 'e2e.mjs', args: ['--runs', quick ? '1' : '3', ...(f['full-baseline'] ? ['--full'] : [])] },
  { id: 'memory', script: 'memory.mjs', nodeArgs: ['--expose-gc'] },
  { id: 'report', script: 'report.mjs', args: quick ? ['--runs', '1', '--sizes', '1000'] : [] },
  { id: 'signing', script: 'signing.mjs', args: ['--runs', quick ? '10' : '50'] },
  { id: 'recovery', script: 'recovery.mjs', args: ['--kills', quick ? '2' : '5'] },
  { id: 'plan', script: 'plan.mjs', args: ['--runs', quick ? '1' : '5'] },
];

const started = new Date();
const t0 = performance.now();
const results = {
  started: started.toISOString(),
  quick,
  machine: { ...machineInfo(), loadBefore: load() },
  versions: versions(),
  defaultCohortSize: DEFAULT_COHORT_SIZE,
  sections: {},
  durationsS: {},
};

for (const s of SECTIONS) {
  if (!want(s.group ?? s.id) && !want(s.id)) continue;
  log(`--- ${s.id} (load ${load().join(' ')})`);
  const ts = performance.now();
  try {
    results.sections[s.id] = await runNode(join(BENCH_DIR, s.script), s.args ?? [], { nodeArgs: s.nodeArgs ?? [] });
  } catch (e) {
    results.sections[s.id] = { error: e.message.split('\n').slice(0, 12).join('\n') };
    log(`${s.id} failed: ${e.message.split('\n')[0]}`);
  }
  results.durationsS[s.id] = Math.round((performance.now() - ts) / 100) / 10;
}
results.machine.loadAfter = load();
results.totalS = Math.round((performance.now() - t0) / 100) / 10;

// ------------------------------------------------------------------ figures and targets

const S = results.sections;
const ok = (s) => s && !s.error;
const K = DEFAULT_COHORT_SIZE;
const rows = [];
const row = (section, figure, value, target, pass) => rows.push({ section, figure, value, target, pass });

if (ok(S.overhead)) {
  const o = S.overhead;
  for (const [n, v] of Object.entries(o.sizes)) {
    row(
      '1 overhead',
      `per trial at ${fmtNum(Number(n))} trials (cohorts of ${o.cohortSize}, the default)`,
      fmtStats(v.perTrialMs, 3, 'ms'),
      '< 1 ms',
      v.perTrialMs.median < 1,
    );
  }
  if (o.flatness) row('1 overhead', `10k per-trial cost / 1k per-trial cost`, `${o.flatness.ratio.toFixed(2)}×`, '≤ 1.2×', o.flatness.ratio <= 1.2);
  const first = Object.values(o.sizes)[0];
  row(
    '1 overhead',
    `fixed cost per sweep (pool start-up + the rest)`,
    `${fmtStats(o.fixed.startupMs, 0, 'ms')} + ${fmtStats(o.fixed.otherMs, 0, 'ms')}`,
    '–',
    null,
  );
  row(
    '1 overhead',
    `all-in wall per trial at ${fmtNum(Number(Object.keys(o.sizes)[0]))} trials (fixed cost included)`,
    fmtStats(first.allInPerTrialMs, 2, 'ms'),
    '–',
    null,
  );
} else if (S.overhead) row('1 overhead', 'orchestration overhead', 'error', '< 1 ms', false);

for (const id of ['cohortWasm', 'cohortCpu']) {
  const c = S[id];
  if (!c) continue;
  if (!ok(c)) {
    row('2 cohort', `${id}`, 'error', '', false);
    continue;
  }
  for (const [arch, a] of Object.entries(c.archs)) {
    const at = a.byK[K] ?? a.byK[String(K)];
    const one = a.byK[1] ?? a.byK['1'];
    if (!at) continue;
    const target = c.backend === 'wasm';
    row(
      '2 cohort',
      `${c.backend} ${arch}: speedup at K=${K} (default) vs K=1 [${fmtNum(one.trialSamplesPerSec.median / 1000)}k → ${fmtNum(at.trialSamplesPerSec.median / 1000)}k trial-samples/s]`,
      fmtStats(at.speedup, 1, '×'),
      target ? '≥ 10×' : '–',
      target ? at.speedup.median >= 10 : null,
    );
  }
}

if (ok(S.threads)) {
  const t = S.threads;
  for (const [n, v] of Object.entries(t.byThreads)) {
    if (Number(n) === 1) continue;
    const target = Number(n) === 2 ? 1.7 : null;
    row(
      '3 threads',
      `trials/s with ${n} threads vs 1 [${fmtNum(t.byThreads[1].trialsPerSec.median, 1)} → ${fmtNum(v.trialsPerSec.median, 1)} trials/s]`,
      fmtStats(v.scaling, 2, '×'),
      target ? `≥ ${target}× on ${t.cores} cores` : '–',
      target ? v.scaling.median >= target : null,
    );
  }
} else if (S.threads) row('3 threads', 'thread scaling', 'error', '≥ 1.7×', false);

if (ok(S.e2e)) {
  const e = S.e2e;
  const how = e.baseline.extrapolated ? `${e.baseline.trained} of ${e.trials} trained, × ${e.trials}/${e.baseline.trained}` : `all ${e.trials}`;
  row(
    '4 end to end',
    `quickstart (${e.trials} trials): focal-sweep ${fmtStats({ ...e.sweepWallMs, median: e.sweepWallMs.median / 1000, min: e.sweepWallMs.min / 1000, max: e.sweepWallMs.max / 1000, runs: e.sweepWallMs.runs }, 1, 's')} vs plain loop ${fmtNum(e.baseline.totalMs / 1000, 0)} s (${how})`,
    `${e.speedup.toFixed(1)}× faster`,
    '≥ 10×',
    e.speedup >= 10,
  );
  for (const [m, v] of Object.entries(e.metrics)) {
    row(
      '4 end to end',
      `mean ${m} on the ${v.n} trials both trained: focal-sweep ${v.sweepMean.toFixed(3)} vs plain ${v.plainMean.toFixed(3)} (diff ${v.meanDiff >= 0 ? '+' : ''}${v.meanDiff.toFixed(3)} ± ${(2 * v.diffSe).toFixed(3)}; seed-to-seed sd ${v.seedSd.toFixed(3)})`,
      v.withinNoise ? 'same within noise' : 'differs',
      'same within noise',
      v.withinNoise,
    );
  }
} else if (S.e2e) row('4 end to end', 'quickstart vs plain loop', 'error', '≥ 10×', false);

if (ok(S.memory)) {
  const m = S.memory;
  const [a, b] = [m.snapshots[0], m.snapshots[m.snapshots.length - 1]];
  row(
    '5 memory',
    `worker RSS after ${fmtNum(b.trials)} trials / after ${fmtNum(a.trials)} [${a.rssMb.toFixed(0)} → ${b.rssMb.toFixed(0)} MB]`,
    `${m.rssRatio.toFixed(2)}×`,
    '≤ 1.2×',
    m.rssRatio <= 1.2,
  );
  row(
    '5 memory',
    `tfjs tensors after ${fmtNum(a.trials)} / ${fmtNum(b.trials)} trials (max during: ${m.tensorsMax})`,
    `${a.tensors} / ${b.tensors}`,
    'flat',
    a.tensors === b.tensors,
  );
} else if (S.memory) row('5 memory', 'worker memory', 'error', '≤ 1.2×', false);

if (S.report) {
  const r = S.report;
  if (!ok(r)) row('6 report', 'report build time and size', 'error', '< 10 s, < 5 MB', false);
  else
    for (const v of Object.values(r.sizes)) {
      row(
        '6 report',
        `build time at ${fmtNum(v.trials)} trials`,
        fmtStats({ ...v.ms, median: v.ms.median / 1000, min: v.ms.min / 1000, max: v.ms.max / 1000 }, 2, 's'),
        '< 10 s',
        v.ms.median < 10_000,
      );
      row('6 report', `file size at ${fmtNum(v.trials)} trials`, `${(v.bytes.median / 1e6).toFixed(2)} MB`, '< 5 MB', v.bytes.median < 5e6);
    }
}
if (S.signing) {
  const g = S.signing;
  if (!ok(g)) row('7 signing', 'signing and checking a job and its result', 'error', 'negligible', false);
  else {
    row(
      '7 signing',
      `sign + check a quickstart cohort's job and result (${g.trials} trials, job ${fmtNum(g.jobBytes / 1000)} kB, result ${fmtNum(g.resultBytes / 1000)} kB) vs training the cohort (${fmtNum(g.trainMs / 1000, 1)} s)`,
      `${fmtNum(g.perJobMs, 1)} ms = ${fmtNum(100 * g.fractionOfTraining, 2)}%`,
      '< 1% of training',
      g.fractionOfTraining < 0.01,
    );
    row('7 signing', `field-by-field check of that result before recording (any run, key or not)`, fmtStats(g.checkResultsMs, 1, 'ms'), '–', null);
  }
}
if (S.recovery) {
  const r = S.recovery;
  if (!ok(r)) row('8 recovery', 'dead worker: kill to restart; false stalls under load', 'error', '≤ 10 s; 0', false);
  else {
    const d = r.defaults;
    const ms = r.restart.ms;
    row(
      '8 recovery',
      `a worker killed (-9) at a job's start, to the job's restart on another worker, defaults: lock ${d.lockDurationMs / 1000} s renewed every ~${d.lockRenewTimeMs / 2000} s, stall check every ${d.stalledIntervalMs / 1000} s (${ms.runs.length} kills; max ${fmtNum(ms.max / 1000, 1)} s)`,
      fmtStats({ ...ms, median: ms.median / 1000, min: ms.min / 1000, max: ms.max / 1000 }, 1, 's'),
      `≤ ${r.restart.targetMs / 1000} s (max)`,
      ms.max <= r.restart.targetMs,
    );
    const st = r.stalls;
    if (st)
      row(
        '8 recovery',
        `false stalls: ${st.trials} trials (${st.cohorts} jobs) on ${st.workers} workers × ${st.threadsPerWorker} threads beside ${st.busyLoops} busy loops (load ${fmtNum(st.load1mDuring.median, 1)}), defaults; lowest lock time-to-live seen ${fmtNum(st.minLockTtlMs)} of ${fmtNum(d.lockDurationMs)} ms`,
        `${st.falseStalls}`,
        '0',
        st.falseStalls === 0,
      );
  }
}
if (S.plan) {
  const p = S.plan;
  if (!ok(p)) row('9 planning', 'unchanged rerun of a 100,000-trial sweep', 'error', '< 1 s', false);
  else {
    const r = p.rerun;
    row(
      '9 planning',
      `unchanged rerun of a ${fmtNum(p.trials)}-trial sweep, loadSpec to the "0 trials" plan (fresh process, its start-up excluded; ${r.totalMs.runs.length} runs)`,
      fmtStats({ ...r.totalMs, median: r.totalMs.median / 1000, min: r.totalMs.min / 1000, max: r.totalMs.max / 1000 }, 2, 's'),
      '< 1 s',
      r.totalMs.median < p.targetMs,
    );
    row('9 planning', 'of which expandGrid', fmtStats(r.expandGridMs, 0, 'ms'), '–', null);
    row('9 planning', 'of which store.plan', fmtStats(r.storePlanMs, 0, 'ms'), '–', null);
    row('9 planning', 'rows the unchanged re-plan wrote', fmtNum(r.rowsWritten.max), '0', r.rowsWritten.max === 0);
  }
}
results.figures = rows;

// ------------------------------------------------------------------ output

const stamp = started.toISOString().replace(/[:.]/g, '-').replace('T', '_').slice(0, 19);
mkdirSync(join(BENCH_DIR, 'results'), { recursive: true });
const jsonFile = join(BENCH_DIR, 'results', `${stamp}.json`);
writeFileSync(jsonFile, `${JSON.stringify(results, null, 1)}\n`);

const mark = (p) => (p === true ? 'pass' : p === false ? '**MISS**' : '');
const table = [
  '| # | figure | result: median (min–max) | target | |',
  '|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.section} | ${r.figure} | ${r.value} | ${r.target} | ${mark(r.pass)} |`),
].join('\n');

const resultsFile = join(BENCH_DIR, 'RESULTS.md');
if (!only && !quick) writeFileSync(resultsFile, resultsMarkdown(results, table, relative(BENCH_DIR, jsonFile)));
else if (!quick && existsSync(resultsFile)) {
  // A partial run: replace (or add, before the methods) the detail blocks of the sections it ran.
  let md = readFileSync(resultsFile, 'utf8');
  for (const [id, block] of Object.entries(detailBlocks(results, relative(BENCH_DIR, jsonFile)))) {
    const marked = new RegExp(`<!-- section:${id} -->[\\s\\S]*?<!-- /section:${id} -->\n`);
    md = marked.test(md) ? md.replace(marked, block) : md.replace('## How each figure is measured', `${block}\n## How each figure is measured`);
  }
  writeFileSync(resultsFile, md);
}

// console table
const w = [12, Math.min(110, Math.max(...rows.map((r) => r.figure.length))), Math.max(...rows.map((r) => String(r.value).length)), 22];
const cut = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n));
console.log(
  `\nfocal-sweep benchmarks — ${results.machine.cpu}, ${results.machine.cores} cores, node ${results.machine.node}, load ${results.machine.loadBefore.join(' ')} → ${results.machine.loadAfter.join(' ')}`,
);
for (const r of rows)
  console.log(
    `${cut(r.section, w[0])}  ${cut(r.figure, w[1])}  ${cut(String(r.value), w[2])}  ${cut(r.target, w[3])}  ${r.pass === true ? 'pass' : r.pass === false ? 'MISS' : ''}`,
  );
console.log(
  `\ntotal ${Math.floor(results.totalS / 60)} min ${Math.round(results.totalS % 60)} s (${Object.entries(results.durationsS)
    .map(([k, v]) => `${k} ${v} s`)
    .join(', ')})`,
);
console.log(
  `results: ${relative(ROOT, jsonFile)}${!only && !quick ? ', bench/RESULTS.md' : quick ? ' (RESULTS.md not rewritten: quick run)' : ' (RESULTS.md: only the detail blocks of the sections run)'}`,
);

/** The detail blocks of RESULTS.md that a run of one section can rewrite alone, by section id. */
function detailBlocks(res, jsonRel) {
  const blocks = {};
  const g = res.sections.signing;
  if (g && !g.error) {
    const ms = (x) => fmtStats(x, 2, 'ms');
    blocks.signing = [
      '<!-- section:signing -->',
      '## 7. Signing jobs and results in detail',
      '',
      `Measured by bench/signing.mjs on ${res.started.slice(0, 16).replace('T', ' ')} UTC (raw numbers in [${jsonRel}](${jsonRel}); load before ${res.machine.loadBefore.join(' / ')}). The first cohort of sweeps/quickstart.yaml (${g.trials} trials, ${g.epochs} epochs, 2-D data with decision grids and test points) is trained by trainCohort on wasm, as a worker thread would; then each step is timed ${g.signJobMs.runs.length} times on that real job and result (median, min–max). HMAC-SHA256 over canonical JSON (keys sorted), checked in constant time.`,
      '',
      '| step | who | time |',
      '|---|---|---|',
      `| sign the job (${fmtNum(g.jobBytes / 1000, 1)} kB of JSON) | coordinator | ${ms(g.signJobMs)} |`,
      `| check the job's signature and envelope after the JSON trip | worker | ${ms(g.verifyJobMs)} |`,
      `| sign the result (${fmtNum(g.resultBytes / 1000)} kB of JSON) | worker | ${ms(g.signResultMs)} |`,
      `| check the result's signature after the JSON trip | coordinator | ${ms(g.verifyResultMs)} |`,
      `| **all four, per job** | | **${fmtNum(g.perJobMs, 1)} ms = ${fmtNum(100 * g.fractionOfTraining, 2)}% of training the cohort (${fmtNum(g.trainMs / 1000, 1)} s)** |`,
      `| for scale: the JSON round trip BullMQ makes of the result anyway | | ${ms(g.jsonRoundTripMs)} |`,
      `| the field-by-field check of the result before recording (every run, key or not) | coordinator | ${ms(g.checkResultsMs)} = ${fmtNum((1000 * g.checkResultsMs.median) / g.trials, 0)} µs per trial |`,
      '',
      'Signing costs about what one more JSON serialisation of the message costs (canonical JSON is a JSON.stringify of a key-sorted copy); next to the training of the cohort it is negligible.',
      '<!-- /section:signing -->',
      '',
    ].join('\n');
  }
  return blocks;
}

function resultsMarkdown(res, table, jsonRel) {
  const m = res.machine;
  const v = res.versions;
  const sec = res.sections;
  const lines = [];
  lines.push('# Benchmarks', '');
  lines.push(`Written by \`npm run bench\` (bench/run.mjs) on ${res.started.slice(0, 16).replace('T', ' ')} UTC; raw numbers in [${jsonRel}](${jsonRel}).`);
  lines.push(
    `Every figure is the median of several runs with min–max; ratios are measured within one run (alternating the things compared). Total: ${Math.floor(res.totalS / 60)} min ${Math.round(res.totalS % 60)} s.`,
    '',
  );
  lines.push('## Machine', '');
  lines.push(
    `${m.cpu}, ${m.cores} cores, ${m.memory_gb} GB, ${m.os}, Node ${m.node}. Load average (1/5/15 min) before: ${m.loadBefore.join(' / ')}, after: ${m.loadAfter.join(' / ')}. The machine is shared with other people's test runs, so single figures move by ±30%; the ratios are steadier.`,
    '',
  );
  lines.push(
    `Versions: ${Object.entries(v)
      .map(([k, x]) => `${k} ${x}`)
      .join(', ')}.`,
    '',
  );
  lines.push('## Results', '', table, '');
  lines.push(`Default cohort size: **${res.defaultCohortSize}** (src/scheduler/spec.ts, chosen from section 2).`, '');

  if (sec.cohortWasm?.archs || sec.cohortCpu?.archs) {
    lines.push('## 2. Cohort speedup in detail', '');
    lines.push(
      'Trial-samples/s = training samples per second summed over the K trials of one batched model (fit(), batch 64, Adam, one thread); speedup over K = 1 in the same round.',
      '',
    );
    for (const c of [sec.cohortWasm, sec.cohortCpu]) {
      if (!c?.archs) continue;
      for (const [arch, a] of Object.entries(c.archs)) {
        const ks = Object.keys(a.byK);
        lines.push(`**${c.backend}, ${arch}** (${c.layout} layout, ${a.nTrain} training samples per trial)`, '');
        lines.push(`| K | ${ks.join(' | ')} |`, `|---|${ks.map(() => '---').join('|')}|`);
        lines.push(`| trial-samples/s | ${ks.map((k) => `${fmtNum(a.byK[k].trialSamplesPerSec.median / 1000)}k`).join(' | ')} |`);
        lines.push(`| per trial | ${ks.map((k) => `${fmtNum(a.byK[k].trialSamplesPerSec.median / 1000 / Number(k), 1)}k`).join(' | ')} |`);
        lines.push(
          `| speedup vs K=1 | ${ks.map((k) => `${fmtNum(a.byK[k].speedup.median, 1)}× (${fmtNum(a.byK[k].speedup.min, 1)}–${fmtNum(a.byK[k].speedup.max, 1)})`).join(' | ')} |`,
          '',
        );
      }
    }
  }
  if (sec.threads?.byThreads) {
    lines.push('## 3. Thread scaling in detail', '');
    lines.push(`| threads | trials/s (pool start-up excluded) | scaling | cores busy | trials/s all-in | pool start-up |`, '|---|---|---|---|---|---|');
    for (const [n, x] of Object.entries(sec.threads.byThreads))
      lines.push(
        `| ${n} | ${fmtStats(x.trialsPerSec, 1)} | ${fmtStats(x.scaling, 2, '×')} | ${fmtStats(x.coresUsed, 2)} | ${fmtStats(x.allInTrialsPerSec, 1)} | ${fmtStats(x.startupMs, 0, 'ms')} |`,
      );
    lines.push('');
  }
  for (const block of Object.values(detailBlocks(res, jsonRel))) lines.push(block);
  lines.push('## How each figure is measured', '');
  lines.push(
    '1. **Orchestration overhead** (bench/overhead.mjs): sweeps of trials with `epochs: 0` on a 40-sample, 2-feature dataset with a 2-4-1 MLP, through `runSweep` exactly as `focal-sweep run` (spec file, grid, SQLite plan, cohorts of the **default** size, the Piscina pool, SQLite results). A sweep costs F + N·c; each round times a 10-trial sweep (F) and then 1,000 and 10,000 trials, and reports c = (wall − F)/N. The pool start-up (each thread loading tfjs) is timed inside every run. What c contains: grid expansion and keys, planning rows, cohort payloads, data generation, final evaluation with metrics and the 64×64 decision grid, the structured-clone trip back, and recording the result, grid and points in SQLite.',
    '2. **Cohort speedup** (bench/cohort.mjs): `fit()` of one BatchedMlp of K trials (each on its own data from the project generator, mixed γ/α) in one thread, after a warm-up epoch, for at least 400 ms; K alternates within a round. cpu 20-64-64-1 uses 192 training samples per trial (3 steps per epoch) to fit the time budget.',
    '3. **Thread scaling** (bench/threads.mjs): the same 768-trial sweep (2-D, 2-16-16-1, 1,000 samples, 20 epochs: 24 cohorts of 32) through `runSweep` with 1 and 2 worker threads, alternating; trials/s after the pool start-up (each thread loads tfjs and trains one warm-up cohort). "Cores busy" is the process CPU time over wall time.',
    `4. **End to end** (bench/e2e.mjs, bench/baseline.mjs): \`focal-sweep run sweeps/quickstart.yaml --no-report\` as a child process (cold start included) against the plain loop, timed on about 36 of the trials spread over the grid (every k-th, covering every loss setting, ratio and seed) and extrapolated by its mean time per trial (the trials have identical shapes; \`--full-baseline\` trains them all): each trial one after another in one thread with \`tf.sequential\` + \`model.fit\` (He init, same data, split, epochs, batch size, learning rate and Adam; \`tf.losses.sigmoidCrossEntropy\` for BCE, the project's focal loss as a custom loss for weighted BCE and focal), the model and optimizer disposed after each trial, same wasm backend; metrics on the test split with the same code. The plain loop trains no per-epoch evaluation and writes nothing, so it does less work than focal-sweep. Metrics: mean over the trials both ran; "same within noise" = the mean paired difference is within 2 standard errors of 0, or smaller than a quarter of the standard deviation between seeds of one setting (the two use different random initialisations — tfjs's heNormal is a truncated normal — and different shuffles, so per-trial results differ as different seeds do).`,
    '5. **Memory** (bench/memory.mjs): one process calls trainCohort (what each worker thread runs) on 1,000 small real trials in cohorts of the default size; RSS and tfjs tensors after a full GC at 100 and 1,000 trials.',
    '6. **Report** (bench/report.mjs → bench/report-size.mjs `measureReport`): a synthetic database of N trials built with the real store, then the HTML report written and timed.',
    '7. **Signing** (bench/signing.mjs): see section 7 above.',
    "8. **Recovery from a dead worker** (bench/recovery.mjs), the CLI against a private redis-server with the default lock and stall settings: (a) two `focal-sweep worker --threads 1` serve a two-cohort sweep; the worker that starts a job first is SIGKILLed at once (its lock was just taken, the slowest case; the stall check's phase is random), timed from the kill to the job's start on the other worker, fresh processes for each kill. (b) One busy-loop process per core saturates the machine while a sweep of about 20 cohort jobs runs on two workers (threads auto); false stalls = the coordinator's `stalled` notes + the workers' `job-stalled` events + jobs started more than once; every job lock's time-to-live in Redis is sampled every 200 ms (the lowest is how close a live job came to being taken for dead).",
    "9. **Planning a large sweep** (bench/plan.mjs): a 100,000-trial spec (4 ratios × 50 seeds × 25 losses × 4 learning rates × 5 class separations) is planned once and every trial marked complete; then each rerun is a fresh process (as a real rerun is, cold JIT) that times what `focal-sweep run` does before its plan line: loadSpec, expandGrid, opening the database with the sweep and run rows, store.plan; the module loading of the CLI is left out. Rows written = SQLite's total_changes() around store.plan.",
    '',
    'Not run by `npm run bench`: distributed mode throughput (bench/distributed.mjs `measureDistributed()`, needs a Redis server; run it by hand). Profiling aid: `node bench/kernels.mjs --k 32` lists the tfjs kernels of a training step.',
    '',
    '## What was profiled and changed (issue 6)',
    '',
    'Numbers from A/B runs in one process on this machine (see the commits for each).',
    '',
    '- **Training step** (src/worker/model.ts; `node --cpu-prof`, tf.profile): a step was ~190 tfjs kernels plus a gradient tape (tf.variableGrads, Adam per weight tensor, scalar tensors made per op, a slice per batch). Now ~65-75 kernels: one flat parameter buffer with one Adam/SGD pass, a hand-written backward pass with the closed-form focal/BCE gradient (checked against tf.grads in test/model-gradients.test.ts), per-sample constants computed in JS and uploaded per batch, scalars made once. wasm 2-16-16-1: K=1 ~15k → ~70-100k, K=32 ~264k → ~650-830k trial-samples/s.',
    '- **wasm layout**: wasm runs batched matMul in a scalar fallback loop (its XNNPACK path only takes unbatched products); the per-member products are depthwise convolutions (member = channel), ~7× faster per product at K=32. One conv gives weight and bias gradients together (a row of ones under each layer input), and the flat parameters are split by a small heap-to-heap kernel (tf.split copies the whole buffer out of the wasm heap once per part). cpu: biases added and summed as matMuls with ones (its broadcasting add takes a per-element index path): K=8 31k → 59k.',
    "- **Per-trial work in the worker** (src/worker/task.ts): datasets generated once per cohort per dataset, decision-grid points once per dataset, the grid's sigmoid in tfjs instead of a JS exp per point, the eval split laid out once per cohort, last-epoch test logits reused: worker CPU per zero-epoch trial ~1.6 → ~0.8 ms.",
    "- **Scheduler** (src/scheduler/run.ts, grid.ts; src/store/store.ts): a free thread gets its next cohort before the previous cohort's results are written (workers idled ~30% of the time on fast trials); setting keys hashed once per setting, not per trial (expandGrid 48 → 27 µs/trial); dataset points written once per dataset. Overhead per trial at 10,000 trials ~0.9-1.0 → ~0.6-0.7 ms.",
    '',
    "**Targets that are missed or marginal, and why.** (1) Cohort speedup on wasm: the same changes made K = 1 about 7× faster (15k → ~100k trial-samples/s) and K = 32 about 2.8× faster (264k → ~700k), so the ratio fell while every absolute figure rose. At K = 32 a step is compute-bound in tfjs-wasm kernels (XNNPACK grouped convolutions at 1-2 GMAC/s, scalar exp/softplus, memory-bound transposes), and larger cohorts stop paying beyond K ≈ 32 (K = 64 is no faster); getting to 10× would need faster kernels (tfjs-node's native backend, or custom wasm kernels), not fewer ops. For 20-64-64-1 one model is compute-bound already at K = 1 (16k multiply-adds per sample), so batching has little overhead left to remove: ~2×. (2) Thread scaling: one worker keeps ~1.06-1.1 cores busy (V8 compiles and collects garbage on helper threads, which the idle second core absorbs in the one-thread run), so two threads on two cores can reach ~1.8× at best; it measures 1.65-1.82× on a quiet machine and less when other processes take CPU (the load averages are above). Raw wasm kernels scale 1.85-1.9× here.",
    '',
  );
  return lines.join('\n');
}

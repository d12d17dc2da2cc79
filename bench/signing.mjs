/**
 * 7. Signing: what authenticated jobs and results cost per job, on a quickstart-sized cohort. This
 * process trains the first cohort of sweeps/quickstart.yaml (32 trials, 2-D data: decision grids and
 * test points, 30 epochs of curves) with trainCohort, as a worker thread would, on the wasm backend,
 * then times on the real job and result, each `runs` times (median, min–max):
 *
 * - signing the job (coordinator) and checking it after the JSON trip through Redis (worker);
 * - signing the result (worker, points sent once per dataset as the worker does) and checking it
 *   (coordinator);
 * - for scale: the JSON round trip BullMQ makes of the result anyway, the coordinator's field-by-field
 *   result check (src/result-check.ts, run with or without a key) and the cohort's training time.
 *
 *   node bench/signing.mjs [--runs 50]
 */
import { SharedKey } from '../dist/distributed/auth.js';
import { checkJobData, jobIdOf, makeJobData, makeJobResult, openJobResult } from '../dist/distributed/job.js';
import { checkResults } from '../dist/result-check.js';
import { planCohorts } from '../dist/scheduler/cohort.js';
import { expandGrid } from '../dist/scheduler/grid.js';
import { DEFAULT_COHORT_SIZE, loadSpec } from '../dist/scheduler/spec.js';
import { trainCohort } from '../dist/worker/task.js';
import { flags, isMain, log, ROOT, stats } from './lib.mjs';

/** Median, min and max in ms of `runs` calls of fn (after 3 warm-up calls). */
function time(fn, runs) {
  for (let i = 0; i < 3; i++) fn();
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return stats(ms);
}

/** As the worker sends results: each dataset's test points once. */
function withPointsOnce(results) {
  const seen = new Set();
  return results.map((r) => {
    if (!r.points) return r;
    if (seen.has(r.points.key)) return { ...r, points: undefined };
    seen.add(r.points.key);
    return r;
  });
}

export async function measureSigning({ runs = 50 } = {}) {
  const spec = loadSpec(`${ROOT}/sweeps/quickstart.yaml`);
  const trials = expandGrid(spec).trials;
  const [cohort] = planCohorts(trials, { cohortSize: DEFAULT_COHORT_SIZE, workers: 1, backend: 'wasm' });
  log(`signing: training a quickstart cohort of ${cohort.trials.length} trials`);
  const t0 = performance.now();
  const results = await trainCohort(cohort);
  const trainMs = performance.now() - t0;
  if (results.some((r) => r.state !== 'complete')) throw new Error('signing: a trial failed');

  const key = new SharedKey(Buffer.from('0123456789abcdef0123456789abcdef'));
  const jobId = jobIdOf('quickstart.0123456789', cohort.key);
  const fields = { sweep: spec.name, namespace: 'quickstart.0123456789', timeoutMs: spec.execution.trial_timeout_ms, cohort };
  const data = makeJobData(key, jobId, fields);
  const received = JSON.parse(JSON.stringify(data));
  const sent = withPointsOnce(results);
  const value = makeJobResult(key, jobId, sent);
  const returned = JSON.parse(JSON.stringify(value));
  if (!('results' in openJobResult(returned, jobId, key))) throw new Error('signing: the signed result does not check out');
  const signJob = time(() => makeJobData(key, jobId, fields), runs);
  const verifyJob = time(() => checkJobData(received, jobId, key), runs);
  const signResult = time(() => makeJobResult(key, jobId, sent), runs);
  const verifyResult = time(() => openJobResult(returned, jobId, key), runs);
  const jsonRoundTrip = time(() => JSON.parse(JSON.stringify(value)), runs);
  const checkResult = time(() => checkResults(cohort.trials, returned.results), runs);
  const perJob = signJob.median + verifyJob.median + signResult.median + verifyResult.median;
  log(`signing: ${perJob.toFixed(2)} ms per job (training ${trainMs.toFixed(0)} ms)`);
  return {
    trials: cohort.trials.length,
    epochs: cohort.trials[0].config.train.epochs,
    jobBytes: JSON.stringify(data).length,
    resultBytes: JSON.stringify(value).length,
    trainMs,
    signJobMs: signJob,
    verifyJobMs: verifyJob,
    signResultMs: signResult,
    verifyResultMs: verifyResult,
    jsonRoundTripMs: jsonRoundTrip,
    checkResultsMs: checkResult,
    perJobMs: perJob,
    fractionOfTraining: perJob / trainMs,
  };
}

if (isMain(import.meta.url)) {
  const f = flags();
  console.log(JSON.stringify(await measureSigning({ runs: Number(f.runs ?? 50) })));
}

/**
 * The sweep loop: plan (skip what is done), dispatch cohorts, record each result as it arrives,
 * report progress, and stop cleanly on a signal. The scheduler process is the only writer of the DB.
 */
import { resolve } from 'node:path';
import { answerSweep } from '../analysis/answer.js';
import { MIN_POSITIVES } from '../analysis/ratio-group.js';
import type { Setting } from '../analysis/setting.js';
import { analyzeSweep } from '../analysis/sweep.js';
import { formatDuration } from '../duration.js';
import { UsageError } from '../errors.js';
import { slug } from '../labels.js';
import { machineInfo, versions } from '../machine.js';
import { fixed3 } from '../numbers.js';
import { SweepStore } from '../store/store.js';
import { parseThreadCount } from '../threads.js';
import { type BackendChoice, METRICS } from '../types.js';
import { expectedBackend, initBackend } from '../worker/backend.js';
import { checkTrialsFit, planCohorts } from './cohort.js';
import { Dispatcher } from './dispatcher.js';
import type { Executor, ExecutorFactory } from './executor.js';
import { expandGrid, nativeShareOf, smallSplits } from './grid.js';
import { localExecutors } from './local-executor.js';
import { Progress, type ProgressMode } from './progress.js';
import { Recorder } from './recorder.js';
import { type Recovered, recoverOutcomes } from './recover.js';
import { loadSpec, type SweepSpec } from './spec.js';

export interface RunOptions {
  specFile: string;
  /** Database path. Default results/<sweep name>.db. */
  db?: string;
  /** Worker threads; 'auto' = one per core. Default 'auto'. */
  workers?: number | 'auto';
  /** tfjs backend. Default 'auto' (tensorflow -> wasm -> cpu). */
  backend?: BackendChoice;
  /** Also rerun failed trials. Default false. */
  retryFailed?: boolean;
  /** Run a grid above the size limit. Default false. */
  yes?: boolean;
  /**
   * Treat runs of this sweep marked running by a process on another host as dead (their running
   * trials become interrupted). Default false: such a run blocks this one.
   */
  forceUnlock?: boolean;
  /** Progress output. Default 'plain'. */
  progress?: ProgressMode;
  /** Plain-mode progress interval in ms. Default 5000. */
  progressIntervalMs?: number;
  /** Where progress and the summary go. Default process.stdout. */
  out?: { write(s: string): unknown };
  /** Aborting this stops the sweep (first Ctrl-C): in-flight trials are marked interrupted. */
  stop?: AbortSignal;
  /** How cohorts run: local threads (the default, localExecutors()) or remote workers (distributed/bullmq-executor.ts); tests pass fixtures. */
  executor?: ExecutorFactory;
  /** Called once the database path is known, before anything is written: throw to refuse the run (the report's path is checked here). */
  before?: (ctx: { db: string; sweep: string }) => void;
  /** Called after the run finishes and the DB is closed (the report hooks in here). */
  after?: (info: RunSummary) => Promise<string[]> | string[];
}

export interface RunSummary {
  exitCode: number;
  sweep: string;
  db: string;
  planned: number;
  ran: number;
  complete: number;
  failed: number;
  interrupted: number;
  wallMs: number;
}

/** Default database path for a sweep: results/<name with unsafe characters replaced>.db. */
export function defaultDbPath(name: string): string {
  return `results/${slug(name)}.db`;
}

export async function runSweep(opts: RunOptions): Promise<RunSummary> {
  // Everything that can be wrong with the input is checked before the database is touched.
  const spec: SweepSpec = loadSpec(opts.specFile);
  const expansion = expandGrid(spec, { yes: opts.yes });
  checkTrialsFit(expansion.trials, spec.file, spec.csv ?? undefined);
  const threads = parseThreadCount('workers', opts.workers);
  const backendChoice = opts.backend ?? 'auto';
  const executors = opts.executor ?? localExecutors();
  // Remote workers load their own backend; this machine need not have tfjs-node.
  if (backendChoice === 'tensorflow' && executors.trainsHere) {
    await initBackend('tensorflow').catch((e: Error) => {
      throw new UsageError(`--backend tensorflow: ${e.message}`);
    });
  }
  const dbPath = opts.db ?? defaultDbPath(spec.name);
  opts.before?.({ db: dbPath, sweep: spec.name });
  const out = opts.out ?? process.stdout;
  const progress = new Progress(opts.progress ?? 'plain', out, opts.progressIntervalMs);
  const t0 = performance.now();
  const summary: RunSummary = { exitCode: 0, sweep: spec.name, db: dbPath, planned: 0, ran: 0, complete: 0, failed: 0, interrupted: 0, wallMs: 0 };
  // Stopped while checking the input (e.g. a slow Redis): nothing was written, nothing to resume.
  if (opts.stop?.aborted) return { ...summary, exitCode: 130 };

  const store = new SweepStore(dbPath, { create: true });
  let executor: Executor | null = null;
  let runId = 0;
  try {
    store.upsertSweep(spec.name, resolve(spec.file), spec.text, spec.objective);
    const backendShown = expectedBackend(backendChoice);
    if (opts.forceUnlock) store.forceUnlock();
    runId = store.beginRun({ mode: executors.mode, workers: threads, backend: backendShown, machine: { ...machineInfo() }, versions: versions() });
    const plan = store.plan(expansion.trials, !!opts.retryFailed, nativeShareOf(spec.csv));
    // An executor that keeps outcomes outside the database is made even with nothing left to run:
    // it records and cleans up what finished while no coordinator was running.
    const wantExecutor = plan.pending.length > 0 || executors.keepsOutcomes;
    // Local threads each load tfjs (~1 s, ~130 MB): start no more than there are trials to run.
    const poolSize = executors.trainsHere ? Math.max(1, Math.min(threads, plan.pending.length)) : threads;
    executor = wantExecutor ? await executors.create(poolSize) : null;
    const recovered: Recovered | null = executor?.prepare
      ? await recoverOutcomes(
          executor as Executor & Required<Pick<Executor, 'prepare'>>,
          store,
          runId,
          { name: spec.name, trialTimeoutMs: spec.execution.trial_timeout_ms },
          plan.pending,
          !!opts.retryFailed,
          progress,
        )
      : null;
    const pending = recovered?.pending ?? plan.pending;
    const resumed = recovered?.resumed ?? [];
    summary.planned = pending.length + resumed.reduce((n, c) => n + c.trials.length, 0);
    const cohorts = [
      ...resumed,
      ...planCohorts(pending, {
        cohortSize: spec.execution.cohort_size,
        workers: executor?.concurrency ?? threads,
        backend: backendChoice,
        csv: spec.csv ?? undefined,
      }),
    ];
    const alreadyComplete = plan.complete + (recovered?.complete ?? 0);
    progress.plan({
      sweep: spec.name,
      db: dbPath,
      total: plan.total,
      toRun: summary.planned,
      complete: alreadyComplete,
      failed: plan.failed + (recovered?.failed ?? 0),
      merged: expansion.merged,
      controls: expansion.controls,
      cohorts: cohorts.length,
      executor: executor?.describe() ?? `${threads} thread${threads === 1 ? '' : 's'}`,
      // Remote workers pick their own backend (recorded per trial); this machine's guess would mislead.
      backend: !executors.trainsHere && backendChoice === 'auto' ? 'auto (per worker)' : backendChoice === 'auto' ? `${backendShown} (auto)` : backendShown,
    });
    recovered?.showNotes();
    for (const w of smallSplits(expansion.trials, spec.csv, MIN_POSITIVES)) {
      const about = w.approximate ? 'about ' : '';
      const counts = `${about}${w.val} validation and ${about}${w.test} test positives`;
      progress.note(
        `warning: at ${w.ratio} the splits hold ${counts}, fewer than ${MIN_POSITIVES}: the answer there will say "too few positives to tell" (use more samples, a milder ratio or a larger validation or test fraction)`,
        { warning: 'few_positives', ratio: w.ratio, val_positives: w.val, test_positives: w.test },
      );
    }
    if (executor) {
      const recorder = new Recorder(store, runId);
      const dispatcher = new Dispatcher({
        executor,
        recorder,
        progress,
        objective: spec.objective,
        timeoutMs: spec.execution.trial_timeout_ms,
        stop: opts.stop,
      });
      try {
        await dispatcher.runAll(cohorts);
      } finally {
        summary.ran = dispatcher.ran;
        Object.assign(summary, recorder.counts);
      }
    }
    // Stopped by a signal is "interrupted" even when no cohort was in flight at that moment.
    const status = opts.stop?.aborted || summary.interrupted > 0 ? 'interrupted' : summary.failed > 0 ? 'failed' : 'complete';
    summary.wallMs = performance.now() - t0;
    store.finishRun(runId, status, { planned: summary.planned, completed: summary.complete, failed: summary.failed, wallMs: summary.wallMs });
    summary.exitCode = status === 'interrupted' ? 130 : status === 'failed' ? 1 : 0;
    const lines = summaryLines(store, spec, summary, alreadyComplete, status === 'interrupted');
    store.close();
    // an interrupted run gets its (partial) report too; a second Ctrl-C still exits at once
    if (opts.after) lines.push(...(await opts.after(summary)));
    progress.summary(lines, { ...summary });
    return summary;
  } catch (e) {
    progress.stop();
    throw e;
  } finally {
    await executor?.close().catch(() => undefined);
    store.close();
  }
}

const VERDICT_WORDS: Record<string, string> = {
  better: 'better than BCE',
  worse: 'worse than BCE',
  unclear: 'no clear difference from BCE',
  same: 'identical to BCE',
  n1: 'one seed, no CI',
  none: 'not compared',
  too_few: 'too few positives to tell',
};

function summaryLines(store: SweepStore, spec: SweepSpec, s: RunSummary, alreadyComplete: number, interrupted: boolean): string[] {
  const secs = s.wallMs / 1000;
  const rate = secs > 0 && s.ran > 0 ? ` (${((s.complete + s.failed) / secs).toFixed(1)} trials/s)` : '';
  const lines: string[] = [];
  const head = interrupted
    ? `Interrupted: ${s.complete} complete, ${s.failed} failed, ${s.interrupted} interrupted in ${formatDuration(s.wallMs)}; run the same command again to finish`
    : `Done: ${s.complete} complete, ${s.failed} failed in ${formatDuration(s.wallMs)}${rate}${alreadyComplete ? `; ${alreadyComplete} were already complete` : ''}`;
  lines.push(head);
  if (s.failed > 0 && !interrupted)
    lines.push(
      `${s.failed} trial${s.failed === 1 ? '' : 's'} failed: see focal-sweep query "select key, error from failures" --db ${s.db}; rerun them with --retry-failed`,
    );
  lines.push(`Results: ${s.db}`);
  const a = analyzeSweep(store.db, spec.name, spec.objective);
  const chosen = a.groups.filter((g) => g.chosen());
  if (chosen.length) {
    const where = a.selection === 'validation' ? 'chosen on validation, reported on test' : 'chosen and reported on test: no validation split';
    lines.push(`Best by ${METRICS[spec.objective].label} (mean over seeds, ${where}):`);
    const shown = chosen.slice(0, 8).map((g) => {
      const b = g.chosen() as Setting;
      const st = b.stats(spec.objective);
      const bce = g.baseline();
      const verdict = g.comparisons().get(b.key)?.verdict;
      return {
        group: g.title,
        what: b.label,
        tail: `${fixed3(st.mean)} over ${st.n} seed${st.n === 1 ? '' : 's'}${bce && bce !== b ? `  (bce ${fixed3(bce.stats(spec.objective).mean)}${verdict ? `; ${VERDICT_WORDS[verdict]}` : ''})` : ''}`,
      };
    });
    const w1 = Math.max(...shown.map((x) => x.group.length));
    const w2 = Math.max(...shown.map((x) => x.what.length));
    for (const x of shown) lines.push(`  ${x.group.padEnd(w1)}  ${x.what.padEnd(w2)}  ${x.tail}`);
    lines.push(answerSweep(a, spec.train.threshold).headline);
  }
  // settings still short of the seeds the spec asks for (an interrupted or partly failed run)
  const short = a.settings.filter((st) => st.complete.length < st.trials.length);
  if (short.length && interrupted) {
    const examples = short.slice(0, 3).map((st) => `${st.label} at ${st.ratio} (${st.complete.length} of ${st.trials.length})`);
    lines.push(
      `${short.length} setting${short.length === 1 ? ' has' : 's have'} fewer complete seeds than the spec asks for, e.g. ${examples.join('; ')}: their numbers are partial`,
    );
  }
  return lines;
}

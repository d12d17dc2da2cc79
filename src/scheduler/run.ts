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
import { firstLine, UsageError } from '../errors.js';
import { slug } from '../labels.js';
import { machineInfo, versions } from '../machine.js';
import { fixed3 } from '../numbers.js';
import { SweepStore } from '../store/store.js';
import { parseThreadCount } from '../threads.js';
import { type BackendChoice, type Cohort, METRICS, type Trial, type TrialResult } from '../types.js';
import { expectedBackend, initBackend } from '../worker/backend.js';
import { checkTrialsFit, planCohorts } from './cohort.js';
import type { Executor, PrepareContext } from './executors/executor.js';
import { LocalExecutor } from './executors/local.js';
import { expandGrid, nativeShareOf, smallSplits } from './grid.js';
import { Progress, type ProgressMode } from './progress.js';
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
  /** Build the executor (tests, distributed mode). Default: local Piscina threads. */
  executor?: (threads: number) => Executor | Promise<Executor>;
  /** Mode recorded on the run. Default 'local'. */
  mode?: 'local' | 'redis';
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
  // Remote workers load their own backend; this machine need not have tfjs-node.
  if (backendChoice === 'tensorflow' && opts.mode !== 'redis') {
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
    runId = store.beginRun({ mode: opts.mode ?? 'local', workers: threads, backend: backendShown, machine: { ...machineInfo() }, versions: versions() });
    const plan = store.plan(expansion.trials, !!opts.retryFailed, nativeShareOf(spec.csv));
    // Distributed mode always connects, even with nothing left to run: it also collects and cleans
    // up results that workers finished while no coordinator was running.
    const wantExecutor = plan.pending.length > 0 || opts.mode === 'redis';
    // Local threads each load tfjs (~1 s, ~130 MB): start no more than there are trials to run.
    const poolSize = opts.mode === 'redis' ? threads : Math.max(1, Math.min(threads, plan.pending.length));
    executor = wantExecutor ? await (opts.executor ?? ((n) => new LocalExecutor({ threads: n })))(poolSize) : null;
    const prepared = executor?.prepare ? await prepareExecutor(executor, store, runId, spec, plan.pending, !!opts.retryFailed, progress) : null;
    const pending = prepared?.pending ?? plan.pending;
    const resumed = prepared?.resumed ?? [];
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
    const alreadyComplete = plan.complete + (prepared?.complete ?? 0);
    progress.plan({
      sweep: spec.name,
      db: dbPath,
      total: plan.total,
      toRun: summary.planned,
      complete: alreadyComplete,
      failed: plan.failed + (prepared?.failed ?? 0),
      merged: expansion.merged,
      controls: expansion.controls,
      cohorts: cohorts.length,
      executor: executor?.describe() ?? `${threads} thread${threads === 1 ? '' : 's'}`,
      // Remote workers pick their own backend (recorded per trial); this machine's guess would mislead.
      backend: opts.mode === 'redis' && backendChoice === 'auto' ? 'auto (per worker)' : backendChoice === 'auto' ? `${backendShown} (auto)` : backendShown,
    });
    if (prepared) prepared.showNotes();
    for (const w of smallSplits(expansion.trials, spec.csv, MIN_POSITIVES)) {
      const about = w.approximate ? 'about ' : '';
      const counts = `${about}${w.val} validation and ${about}${w.test} test positives`;
      progress.note(
        `warning: at ${w.ratio} the splits hold ${counts}, fewer than ${MIN_POSITIVES}: the answer there will say "too few positives to tell" (use more samples, a milder ratio or a larger validation or test fraction)`,
        { warning: 'few_positives', ratio: w.ratio, val_positives: w.val, test_positives: w.test },
      );
    }
    if (executor) await dispatchAll(cohorts, executor, store, runId, spec, progress, summary, opts.stop);
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

/**
 * Let a queue-backed executor record what finished while no coordinator was running, and learn which
 * cohorts are still out (reused as they are). Returns what is left to plan into new cohorts.
 */
async function prepareExecutor(
  executor: Executor,
  store: SweepStore,
  runId: number,
  spec: SweepSpec,
  planned: Trial[],
  retryFailed: boolean,
  progress: Progress,
): Promise<{ pending: Trial[]; resumed: Cohort[]; complete: number; failed: number; showNotes(): void }> {
  const left = new Map(planned.map((t) => [t.key, t]));
  let complete = 0;
  let failed = 0;
  let cohortsRecorded = 0;
  // Notes wait until the plan line is out; later ones (e.g. Redis trouble mid-sweep) go straight out.
  const notes: { message: string; data: Record<string, unknown> }[] = [];
  let live = false;
  const ctx: PrepareContext = {
    sweep: spec.name,
    sweepIdentity: store.sweepIdentity(),
    trialTimeoutMs: spec.execution.trial_timeout_ms,
    pending: left,
    record(cohort, outcome) {
      const keys = cohort.trials.map((t) => t.key).filter((k) => left.has(k));
      if (!keys.length) return;
      cohortsRecorded++;
      if ('error' in outcome) {
        store.markFailed(keys, runId, outcome.error);
        // --retry-failed: the failure is recorded, and the trials run again now.
        if (!retryFailed) for (const k of keys) left.delete(k);
        failed += keys.length;
        return;
      }
      let recorded: ReturnType<SweepStore['recordCohort']>;
      try {
        recorded = store.recordCohort(cohort.trials, outcome.results, runId, new Set(keys));
      } catch (err) {
        // As in the live loop: the batch was rolled back; its trials fail with the reason, the sweep goes on.
        const error = `could not record results: ${firstLine(err)}`;
        store.markFailed(keys, runId, error);
        recorded = { results: [], failed: keys.map((key) => ({ key, error })) };
      }
      for (const r of recorded.results) {
        if (r.state === 'complete') {
          complete++;
          left.delete(r.key);
        } else {
          failed++;
          if (!retryFailed) left.delete(r.key);
        }
      }
      failed += recorded.failed.length;
      if (!retryFailed) for (const f of recorded.failed) left.delete(f.key);
    },
    note: (message, data = {}) => (live ? progress.note(message, data) : notes.push({ message, data })),
  };
  const resumed = (await executor.prepare?.(ctx)) ?? [];
  if (complete + failed > 0) {
    notes.unshift({
      message: `recorded ${complete + failed} result${complete + failed === 1 ? '' : 's'} (${failed} failed) of ${cohortsRecorded} cohort${cohortsRecorded === 1 ? '' : 's'} that finished while no coordinator was running`,
      data: { recovered: complete + failed, recovered_failed: failed, recovered_cohorts: cohortsRecorded },
    });
  }
  const inResumed = new Set<string>();
  const usable: Cohort[] = [];
  for (const c of resumed) {
    if (c.trials.every((t) => left.has(t.key) && !inResumed.has(t.key))) {
      usable.push(c);
      for (const t of c.trials) inResumed.add(t.key);
    }
  }
  if (usable.length) {
    const n = usable.reduce((s, c) => s + c.trials.length, 0);
    notes.push({
      message: `${usable.length} cohort${usable.length === 1 ? '' : 's'} (${n} trials) still queued or running on workers: waiting for them instead of enqueueing again`,
      data: { resumed_cohorts: usable.length, resumed_trials: n },
    });
  }
  const showNotes = () => {
    live = true;
    for (const n of notes.splice(0)) progress.note(n.message, n.data);
  };
  return { pending: [...left.values()].filter((t) => !inResumed.has(t.key)), resumed: usable, complete, failed: retryFailed ? 0 : failed, showNotes };
}

async function dispatchAll(
  cohorts: Cohort[],
  executor: Executor,
  store: SweepStore,
  runId: number,
  spec: SweepSpec,
  progress: Progress,
  summary: RunSummary,
  stop: AbortSignal | undefined,
): Promise<void> {
  const queue = [...cohorts];
  const inFlight = new Map<string, { cohort: Cohort; controller: AbortController; started: boolean }>();
  // A queue-backed executor takes every cohort at once; its cohorts count as running (and their
  // timeout starts) only when a worker starts them.
  const limit = executor.queued ? Infinity : executor.concurrency;
  const objective = spec.objective;
  progress.start();

  // Set when the database itself cannot be written: the sweep stops and the error propagates.
  let fatal: unknown = null;

  const onResults = (cohort: Cohort, all: TrialResult[]) => {
    const members = new Map(cohort.trials.map((t) => [t.key, t]));
    let recorded: ReturnType<SweepStore['recordCohort']>;
    try {
      recorded = store.recordCohort(cohort.trials, all, runId);
    } catch (err) {
      // The batch was rolled back: fail the cohort's trials (a rerun with --retry-failed retries them).
      const msg = `could not record results: ${firstLine(err)}`;
      progress.note(msg, { cohort: cohort.key });
      try {
        store.markFailed([...members.keys()], runId, msg);
        summary.failed += members.size;
      } catch (again) {
        fatal = again;
        for (const f of inFlight.values()) f.controller.abort(new Error('the database cannot be written'));
      }
      return;
    }
    const { results, failed } = recorded;
    for (const r of results) {
      if (r.state === 'complete') summary.complete++;
      else summary.failed++;
      const t = members.get(r.key);
      progress.trial({
        key: r.key,
        state: r.state,
        setting: t?.setting,
        seed: t?.config.seed,
        objective: r.metrics ? ((r.metrics as unknown as Record<string, number | null>)[objective] ?? null) : null,
        error: r.error,
      });
    }
    // trials the worker returned no result, or an invalid one, for
    for (const f of failed) {
      summary.failed++;
      const t = members.get(f.key);
      progress.trial({ key: f.key, state: 'failed', setting: t?.setting, seed: t?.config.seed, objective: null, error: f.error });
    }
  };

  const onError = (cohort: Cohort, err: unknown, timedOut: boolean) => {
    const keys = cohort.trials.map((t) => t.key);
    if (stop?.aborted && !timedOut) {
      store.markInterrupted(keys, runId, 'interrupted by a signal');
      summary.interrupted += keys.length;
      return;
    }
    const msg = timedOut ? `cohort timed out after ${formatDuration(spec.execution.trial_timeout_ms)} (execution.trial_timeout)` : firstLine(err);
    store.markFailed(keys, runId, msg);
    summary.failed += keys.length;
    progress.note(`cohort of ${keys.length} trial${keys.length === 1 ? '' : 's'} failed: ${msg}`, { cohort: cohort.key });
    for (const k of keys) progress.trial({ key: k, state: 'failed', error: msg });
  };

  await new Promise<void>((resolveAll) => {
    let finished = false;
    const maybeDone = () => {
      if (!finished && inFlight.size === 0 && (queue.length === 0 || stop?.aborted || fatal)) {
        finished = true;
        resolveAll();
      }
    };
    const refreshCounts = () => {
      let running = 0;
      for (const f of inFlight.values()) if (f.started) running += f.cohort.trials.length;
      progress.update({ done: summary.complete, failed: summary.failed, running });
    };
    const launch = () => {
      while (!stop?.aborted && !fatal && inFlight.size < limit && queue.length > 0) {
        const cohort = queue.shift() as Cohort;
        const controller = new AbortController();
        const entry = { cohort, controller, started: false };
        inFlight.set(cohort.key, entry);
        summary.ran += cohort.trials.length;
        let timedOut = false;
        let timer: NodeJS.Timeout | null = null;
        const started = () => {
          if (inFlight.get(cohort.key) !== entry || controller.signal.aborted) return;
          entry.started = true;
          store.markRunning(
            cohort.trials.map((t) => t.key),
            runId,
            cohort.key,
          );
          // (Re)start the timeout: a retried job gets the full time again.
          if (timer) clearTimeout(timer);
          timer =
            spec.execution.trial_timeout_ms > 0
              ? setTimeout(() => {
                  timedOut = true;
                  controller.abort(new Error('timeout'));
                }, spec.execution.trial_timeout_ms)
              : null;
          refreshCounts();
        };
        if (!executor.queued) started();
        const hooks = executor.queued
          ? { started, note: (message: string, data: Record<string, unknown> = {}) => progress.note(message, { cohort: cohort.key, ...data }) }
          : undefined;
        const release = () => {
          if (timer) clearTimeout(timer);
          inFlight.delete(cohort.key);
        };
        (hooks ? executor.run(cohort, controller.signal, hooks) : executor.run(cohort, controller.signal))
          .then(
            (results) => {
              // A local thread is free: hand it the next cohort before recording these results, so
              // it does not idle while this thread writes them (a third of the time for fast trials).
              if (!executor.queued) {
                release();
                launch();
              }
              onResults(cohort, results);
            },
            (err) => onError(cohort, err, timedOut),
          )
          .then(() => executor.recorded?.(cohort))
          .catch((err) => progress.note(`could not record results: ${firstLine(err)}`))
          .finally(() => {
            release();
            refreshCounts();
            launch();
            maybeDone();
          });
      }
      refreshCounts();
    };
    stop?.addEventListener(
      'abort',
      () => {
        progress.note('stopping: interrupting running trials (Ctrl-C again to exit at once)');
        for (const f of inFlight.values()) f.controller.abort(new Error('interrupted'));
        maybeDone();
      },
      { once: true },
    );
    launch();
    maybeDone();
  });
  // Cohorts never dispatched stay queued: the next run picks them up.
  progress.stop();
  if (fatal) throw fatal;
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

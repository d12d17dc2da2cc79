/**
 * Hands cohorts to an executor and records each outcome as it arrives: the queue, the cohorts in
 * flight, their timeouts and the stop signal, in one place. The executor says what it can do: a
 * local one takes as many cohorts as it has threads; a queue-backed one (`queued`) takes them all
 * at once and says when each really starts.
 */
import { firstLine, Interrupted, TrialTimeout } from '../errors.js';
import type { Cohort, MetricName, TrialResult } from '../types.js';
import type { Executor, RunHooks } from './executor.js';
import type { Progress } from './progress.js';
import type { Recorder } from './recorder.js';

export interface DispatcherOptions {
  executor: Executor;
  /** Where outcomes are written and counted. */
  recorder: Recorder;
  progress: Progress;
  /** Shown per trial in the progress output. */
  objective: MetricName;
  /** execution.trial_timeout in ms (0 = none): a cohort running longer is stopped and its trials fail. */
  timeoutMs: number;
  /** Aborted on the first Ctrl-C: running cohorts are stopped, their trials interrupted; nothing new starts. */
  stop?: AbortSignal;
}

interface InFlight {
  cohort: Cohort;
  controller: AbortController;
  /** Started on a thread or by a worker (counted as running; its timeout runs). */
  started: boolean;
  timer: NodeJS.Timeout | null;
}

export class Dispatcher {
  /** Trials handed to the executor. */
  ran = 0;
  private readonly queue: Cohort[] = [];
  private readonly inFlight = new Map<string, InFlight>();
  /** Set when the database itself cannot be written: the sweep stops and this is thrown. */
  private fatal: unknown = null;
  private finished: (() => void) | null = null;

  constructor(private readonly opts: DispatcherOptions) {}

  /** Run these cohorts; resolves when all are recorded, or when stopped and the running ones are. Cohorts never dispatched stay queued for the next run. */
  async runAll(cohorts: readonly Cohort[]): Promise<void> {
    const { progress, stop } = this.opts;
    this.queue.push(...cohorts);
    progress.start();
    const onStop = () => {
      progress.note('stopping: interrupting running trials (Ctrl-C again to exit at once)');
      this.abortAll(new Interrupted('interrupted by a signal'));
      this.maybeDone();
    };
    stop?.addEventListener('abort', onStop, { once: true });
    try {
      await new Promise<void>((resolve) => {
        this.finished = resolve;
        this.launch();
        this.maybeDone();
      });
    } finally {
      stop?.removeEventListener('abort', onStop);
      progress.stop();
    }
    if (this.fatal) throw this.fatal;
  }

  private get stopped(): boolean {
    return !!this.opts.stop?.aborted || this.fatal !== null;
  }

  private launch(): void {
    const { executor } = this.opts;
    const limit = executor.queued ? Infinity : executor.concurrency;
    while (!this.stopped && this.inFlight.size < limit && this.queue.length > 0) {
      this.dispatch(this.queue.shift() as Cohort);
    }
    this.refreshCounts();
  }

  private dispatch(cohort: Cohort): void {
    const { executor, progress } = this.opts;
    const entry: InFlight = { cohort, controller: new AbortController(), started: false, timer: null };
    this.inFlight.set(cohort.key, entry);
    this.ran += cohort.trials.length;
    let hooks: RunHooks | undefined;
    if (executor.queued) {
      hooks = {
        started: () => this.started(entry),
        note: (message, data = {}) => progress.note(message, { cohort: cohort.key, ...data }),
      };
    } else {
      this.started(entry);
    }
    executor
      .run(cohort, entry.controller.signal, hooks)
      .then(
        (results) => {
          // A local thread is free: hand it the next cohort before recording these results, so it
          // does not idle while this thread writes them (a third of the time for fast trials).
          if (!executor.queued) {
            this.release(entry);
            this.launch();
          }
          this.onResults(cohort, results);
        },
        (err) => this.onError(entry, err),
      )
      .then(() => executor.recorded?.(cohort))
      .catch((err) => progress.note(`could not record results: ${firstLine(err)}`))
      .finally(() => {
        this.release(entry);
        this.refreshCounts();
        this.launch();
        this.maybeDone();
      });
  }

  /** The cohort really started: its trials are running and its timeout starts (again, for a retried job: it gets the full time). */
  private started(entry: InFlight): void {
    if (this.inFlight.get(entry.cohort.key) !== entry || entry.controller.signal.aborted) return;
    entry.started = true;
    this.opts.recorder.running(entry.cohort);
    if (entry.timer) clearTimeout(entry.timer);
    const ms = this.opts.timeoutMs;
    entry.timer = ms > 0 ? setTimeout(() => entry.controller.abort(new TrialTimeout(ms)), ms) : null;
    this.refreshCounts();
  }

  private release(entry: InFlight): void {
    if (entry.timer) clearTimeout(entry.timer);
    if (this.inFlight.get(entry.cohort.key) === entry) this.inFlight.delete(entry.cohort.key);
  }

  private onResults(cohort: Cohort, results: TrialResult[]): void {
    const { recorder, progress, objective } = this.opts;
    let recorded: ReturnType<Recorder['results']>;
    try {
      recorded = recorder.results(cohort, results);
    } catch (err) {
      // not even the failure could be written: stop the sweep
      this.fatal = err;
      this.abortAll(new Interrupted('the database cannot be written'));
      return;
    }
    if (recorded.storeError) {
      progress.note(recorded.storeError, { cohort: cohort.key });
      return;
    }
    const members = new Map(cohort.trials.map((t) => [t.key, t]));
    for (const r of recorded.trials) {
      const t = members.get(r.key);
      progress.trial({
        key: r.key,
        state: r.state,
        setting: t?.setting,
        seed: t?.config.seed,
        objective: r.metrics?.[objective] ?? null,
        error: r.error ?? undefined,
      });
    }
  }

  private onError(entry: InFlight, err: unknown): void {
    const { recorder, progress } = this.opts;
    const keys = entry.cohort.trials.map((t) => t.key);
    const reason: unknown = entry.controller.signal.reason;
    if (reason instanceof Interrupted) {
      recorder.interrupted(keys, reason.message);
      return;
    }
    const msg = reason instanceof TrialTimeout ? reason.message : firstLine(err);
    recorder.failed(keys, msg);
    progress.note(`cohort of ${keys.length} trial${keys.length === 1 ? '' : 's'} failed: ${msg}`, { cohort: entry.cohort.key });
    for (const k of keys) progress.trial({ key: k, state: 'failed', error: msg });
  }

  private abortAll(reason: Error): void {
    for (const f of this.inFlight.values()) f.controller.abort(reason);
  }

  private refreshCounts(): void {
    let running = 0;
    for (const f of this.inFlight.values()) if (f.started) running += f.cohort.trials.length;
    const { complete, failed } = this.opts.recorder.counts;
    this.opts.progress.update({ done: complete, failed, running });
  }

  private maybeDone(): void {
    if (this.finished && this.inFlight.size === 0 && (this.queue.length === 0 || this.stopped)) {
      const done = this.finished;
      this.finished = null;
      done();
    }
  }
}

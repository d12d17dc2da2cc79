/**
 * The contract between the sweep loop (run.ts, dispatcher.ts) and a way of running cohorts: local
 * threads (local-executor.ts) or remote workers (distributed/bullmq-executor.ts). The loop never asks
 * which one it has; it asks what it can do.
 */
import type { Cohort, Trial, TrialResult } from '../types.js';

/** Recorded on each run row. */
export type RunMode = 'local' | 'redis';

/**
 * A kind of executor, known before one is made: the loop reads what it can do while it plans
 * (before it knows how many threads to ask for), then calls `create`.
 */
export interface ExecutorFactory {
  /** Recorded on the run. */
  readonly mode: RunMode;
  /**
   * Cohorts train on this machine's threads: `--backend tensorflow` must load here, the plan line
   * shows this machine's backend, and no more threads start than there are trials to run. False
   * for remote workers, which load their own backend (recorded per trial).
   */
  readonly trainsHere: boolean;
  /**
   * Outcomes can wait outside the database between runs (finished jobs in Redis): the executor is
   * made and `prepare`d even when nothing is left to run, so they are recorded and cleaned up.
   */
  readonly keepsOutcomes: boolean;
  /** Make the executor: `threads` is the thread count to start (local) or the capacity to assume (remote, until workers say). */
  create(threads: number): Executor | Promise<Executor>;
}

/** Optional callbacks a queue-backed executor uses while a cohort is out (local threads ignore them). */
export interface RunHooks {
  /** The cohort really started (a worker took its job); called again when a retry starts. */
  started?(): void;
  /** Something the user should see about this cohort (a stalled job requeued, a retry). */
  note?(message: string, data?: Record<string, unknown>): void;
}

/** What `prepare` gets: the planned sweep, and a way to record results nobody received yet. */
export interface PrepareContext {
  sweep: string;
  /** Stable identity of this sweep in this database (SweepStore.sweepIdentity). */
  sweepIdentity: string;
  /** execution.trial_timeout in ms (0 = none), for executors whose workers enforce it. */
  trialTimeoutMs: number;
  /** Trials to run now, by key. Live: shrinks as `record` records them. */
  pending: ReadonlyMap<string, Trial>;
  /**
   * Record the outcome of a cohort that finished while no coordinator was listening. Only its
   * pending trials are recorded; `results` is what the worker returned, checked field by field
   * before anything is written. Synchronous: when it returns, the outcome is in the database.
   */
  record(cohort: Cohort, outcome: { results: unknown } | { error: string }): void;
  /** Tell the user something (progress note). */
  note(message: string, data?: Record<string, unknown>): void;
}

export interface Executor {
  /** Cohorts that can run at once (threads, or an estimate of remote capacity, used to size cohorts). */
  readonly concurrency: number;
  /** For the plan line, e.g. "2 threads" or "workers via redis://host:6379". */
  describe(): string;
  /**
   * Run one cohort. Resolves with one result per trial; rejects with the cohort's error. Aborting
   * `signal` stops the cohort (its promise then rejects) and must free its thread or job.
   */
  run(cohort: Cohort, signal: AbortSignal, hooks?: RunHooks): Promise<TrialResult[]>;
  /** Release threads and connections. */
  close(): Promise<void>;

  // ---- optional, for queue-backed (distributed) executors; the local executor has none of these

  /**
   * The executor queues cohorts itself: the loop hands it every cohort at once, and marks a
   * cohort's trials running and starts its timeout only when `hooks.started` says it started.
   */
  readonly queued?: boolean;
  /**
   * Called once after the sweep is planned and before any `run`: record (through ctx.record) what
   * finished while no coordinator was running, and return the cohorts still queued or running
   * remotely, which the loop dispatches again as they are (so they are not enqueued twice under
   * other keys). Their trials are all in ctx.pending.
   */
  prepare?(ctx: PrepareContext): Promise<Cohort[]>;
  /** A cohort's outcome (results, failure or interruption) is in the database: forget what was kept for it. */
  recorded?(cohort: Cohort): void;
}

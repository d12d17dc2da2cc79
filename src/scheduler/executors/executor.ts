/** What the sweep loop needs from a way of running cohorts (local threads or remote workers). */
import type { Cohort, TrialResult } from '../../types.js';

export interface Executor {
  /** Cohorts that can run at once (threads, or an estimate of remote capacity). */
  readonly concurrency: number;
  /** For the plan line, e.g. "2 threads" or "workers via redis://host:6379". */
  describe(): string;
  /**
   * Run one cohort. Resolves with one result per trial; rejects with the cohort's error. Aborting
   * `signal` stops the cohort (its promise then rejects) and must free its thread or job.
   */
  run(cohort: Cohort, signal: AbortSignal): Promise<TrialResult[]>;
  /** Release threads and connections. */
  close(): Promise<void>;
}

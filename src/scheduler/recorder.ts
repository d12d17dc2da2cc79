/**
 * Writes cohort outcomes to the store and counts them: the one place where results, failures and
 * interruptions are recorded and tallied, for the live loop (dispatcher.ts) and for outcomes found
 * waiting from an earlier run (recover.ts) alike.
 */
import { firstLine } from '../errors.js';
import type { SweepStore } from '../store/store.js';
import type { Cohort, Metrics, TrialResult } from '../types.js';

/** What became of one trial of a recorded cohort. */
export interface RecordedTrial {
  key: string;
  state: TrialResult['state'];
  metrics?: Metrics | null;
  error?: string | null;
}

export interface RecordedCohort {
  trials: RecordedTrial[];
  /** Set when the results could not be written (the batch was rolled back and its trials failed with this). */
  storeError?: string;
}

export class Recorder {
  /** Trials recorded complete, failed and interrupted by this recorder. */
  readonly counts = { complete: 0, failed: 0, interrupted: 0 };

  constructor(
    private readonly store: SweepStore,
    private readonly runId: number,
  ) {}

  /**
   * Record what a worker returned for a cohort (checked field by field by the store). `only`: record
   * just these trials (the others are done already or left the spec). When the batch cannot be
   * written it is rolled back and its trials fail with the reason (a rerun with --retry-failed
   * retries them); if even that cannot be written, the error propagates: the database is unusable.
   */
  results(cohort: Cohort, returned: unknown, only?: ReadonlySet<string>): RecordedCohort {
    let recorded: ReturnType<SweepStore['recordCohort']>;
    try {
      recorded = this.store.recordCohort(cohort.trials, returned, this.runId, only);
    } catch (err) {
      const error = `could not record results: ${firstLine(err)}`;
      const keys = cohort.trials.map((t) => t.key).filter((k) => !only || only.has(k));
      this.failed(keys, error);
      return { trials: keys.map((key) => ({ key, state: 'failed', error })), storeError: error };
    }
    const trials: RecordedTrial[] = recorded.results.map((r) => ({
      key: r.key,
      state: r.state,
      metrics: r.metrics,
      error: r.error,
    }));
    // trials the worker returned no result, or an invalid one, for (already marked failed by the store)
    for (const f of recorded.failed) trials.push({ key: f.key, state: 'failed', error: f.error });
    for (const t of trials) this.counts[t.state]++;
    return { trials };
  }

  /** The whole cohort failed (its error, a timeout, a refused job). */
  failed(keys: readonly string[], message: string): void {
    this.store.markFailed(keys, this.runId, message);
    this.counts.failed += keys.length;
  }

  /** Stopped before it finished, not by its own fault (a signal): the next run retries it. */
  interrupted(keys: readonly string[], message: string): void {
    this.store.markInterrupted(keys, this.runId, message);
    this.counts.interrupted += keys.length;
  }

  /** The cohort started (locally at once; remotely when a worker takes its job). */
  running(cohort: Cohort): void {
    this.store.markRunning(
      cohort.trials.map((t) => t.key),
      this.runId,
      cohort.key,
    );
  }
}

/**
 * Before a run dispatches anything, a queue-backed executor may hold outcomes from an earlier run:
 * cohorts that finished while no coordinator was running (recorded now), and cohorts still queued or
 * running on workers (waited for as they are, so they are not enqueued twice under other keys).
 */
import type { SweepStore } from '../store/store.js';
import type { Cohort, Trial } from '../types.js';
import type { Executor, PrepareContext } from './executor.js';
import type { Progress } from './progress.js';
import { Recorder } from './recorder.js';

export interface Recovered {
  /** Trials left to plan into new cohorts. */
  pending: Trial[];
  /** Cohorts still out on workers, dispatched again as they are. */
  resumed: Cohort[];
  /** Trials recorded complete / failed from what finished meanwhile (failed: 0 with --retry-failed, which runs them again). */
  complete: number;
  failed: number;
  /** Print the notes gathered so far (after the plan line); later notes go straight out. */
  showNotes(): void;
}

export async function recoverOutcomes(
  executor: Executor & Required<Pick<Executor, 'prepare'>>,
  store: SweepStore,
  runId: number,
  sweep: { name: string; trialTimeoutMs: number },
  planned: Trial[],
  retryFailed: boolean,
  progress: Progress,
): Promise<Recovered> {
  const left = new Map(planned.map((t) => [t.key, t]));
  const recorder = new Recorder(store, runId);
  let cohortsRecorded = 0;
  // Notes wait until the plan line is out; later ones (e.g. Redis trouble mid-sweep) go straight out.
  const notes: { message: string; data: Record<string, unknown> }[] = [];
  let live = false;
  const ctx: PrepareContext = {
    sweep: sweep.name,
    sweepIdentity: store.sweepIdentity(),
    trialTimeoutMs: sweep.trialTimeoutMs,
    pending: left,
    record(cohort, outcome) {
      const keys = cohort.trials.map((t) => t.key).filter((k) => left.has(k));
      if (!keys.length) return;
      cohortsRecorded++;
      if ('error' in outcome) {
        recorder.failed(keys, outcome.error);
        // --retry-failed: the failure is recorded, and the trials run again now.
        if (!retryFailed) for (const k of keys) left.delete(k);
        return;
      }
      for (const t of recorder.results(cohort, outcome.results, new Set(keys)).trials) {
        if (t.state === 'complete' || !retryFailed) left.delete(t.key);
      }
    },
    note: (message, data = {}) => (live ? progress.note(message, data) : notes.push({ message, data })),
  };
  const resumed = await executor.prepare(ctx);
  const { complete, failed } = recorder.counts;
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

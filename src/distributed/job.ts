/**
 * What travels through the BullMQ queue: one job per cohort. The coordinator and the workers agree on
 * this file only; the cohort inside is the same `Cohort` a local Piscina thread receives.
 *
 * Naming: every coordinator and worker uses one well-known queue (`focal-sweep` unless --queue says
 * otherwise), so `focal-sweep worker --redis URL` serves any sweep. Job ids are the cohort key
 * prefixed by a namespace of the sweep *in its database*: `<name>.<hash of name + creation time>.<cohort key>`.
 * A restarted coordinator (same database) computes the same ids and finds its jobs again; two
 * databases (even of the same sweep) never share a job; adding a job that exists is a no-op.
 */
import { shortHash } from '../canonical.js';
import { JobFormatError, UsageError } from '../errors.js';
import { COHORT_FORMAT, type Cohort } from '../types.js';

/** The queue coordinators and workers use unless --queue names another. */
export const DEFAULT_QUEUE = 'focal-sweep';

/**
 * Worker lock and stall defaults: a job held by a worker that died (kill -9, a crash, a lost
 * machine) restarts on another worker within 10 s, and a live worker's job is never taken for dead.
 *
 * - A worker's main thread never trains (its Piscina threads do), so it can renew its jobs' locks
 *   often: every lockDuration / 6 (see {@link lockRenewTimeFor}), 1 s by default. A lock expires
 *   only after lockDuration without a renewal, so a live worker's job is requeued only if its main
 *   thread or its link to Redis stalls for about 5 s. Measured (bench/recovery.mjs, section 7 of
 *   bench/RESULTS.md): a 20-job sweep on two workers beside a busy loop per core, load average 12,
 *   had 0 false stalls, and the lowest lock time-to-live seen was 4.2 s of 6 s.
 * - A dead worker's job is requeued by the first stall check (any worker's, every stalled interval)
 *   after its lock expired: at most lockDuration + stalledInterval = 8 s after the death, plus the
 *   moment a free worker takes it. Measured: a worker killed at a job's start (the slowest case),
 *   the job restarted on the other worker after 6.9 s (median of 5 kills; max 7.6 s).
 * - The lock does not bound a job's length: a cohort may run for hours under a 6 s lock. A flaky
 *   link to Redis is what a longer --lock-duration is for.
 *
 * The earlier defaults, 30 s / 15 s, restarted such a job 26-42 s after the kill (BullMQ's own are
 * 30 s / 30 s / 1 stall). Stalls here get a second chance, because a stall is usually a machine
 * that died, not the cohort's fault, while a cohort that crashes every worker that takes it still
 * stops after 3 tries.
 */
export const DEFAULT_LOCK_DURATION_MS = 6_000;
export const DEFAULT_STALLED_INTERVAL_MS = 2_000;
export const DEFAULT_MAX_STALLED = 2;

/**
 * BullMQ's lockRenewTime for a lock duration. BullMQ's renewal timer ticks every half of it and
 * renews the locks older than that, i.e. at every tick: a third of the lock duration renews every
 * sixth of it (1 s for 6 s), leaving five sixths of it for a renewal to be late.
 */
export function lockRenewTimeFor(lockDurationMs: number): number {
  return Math.round(lockDurationMs / 3);
}

/** BullMQ job name of a cohort job (shown by queue dashboards). */
export const JOB_NAME = 'cohort';

/** The data of a cohort job. */
export interface CohortJobData {
  /** Payload format: the COHORT_FORMAT of the coordinator that made the job. */
  format: number;
  /** Sweep name, for what workers print. */
  sweep: string;
  /** The sweep's job-id namespace (see {@link jobNamespace}). */
  namespace: string;
  /** Wall-time limit of one attempt in ms (execution.trial_timeout); 0 = none. Enforced by the worker. */
  timeoutMs: number;
  cohort: Cohort;
}

/** Namespace of a sweep's jobs: readable name prefix + hash of the sweep's identity in its database. */
export function jobNamespace(sweepName: string, sweepIdentity: string): string {
  const slug =
    sweepName
      .replace(/[^A-Za-z0-9_-]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 40) || 'sweep';
  return `${slug}.${shortHash(sweepIdentity, 10)}`;
}

/** BullMQ job id of a cohort of a sweep. */
export function jobIdOf(namespace: string, cohortKey: string): string {
  return `${namespace}.${cohortKey}`;
}

/** Check a --queue value (BullMQ refuses ':' in queue names; keep them printable). */
export function checkQueueName(name: string): string {
  const q = String(name ?? '').trim();
  if (!q) throw new UsageError('--queue: must not be empty');
  if (q.length > 100) throw new UsageError(`--queue: at most 100 characters, got ${q.length}`);
  if (!/^[A-Za-z0-9._-]+$/.test(q)) throw new UsageError(`--queue: use letters, digits, '.', '_' and '-' only, got ${JSON.stringify(q)}`);
  return q;
}

/**
 * Check the envelope of a job a worker received (the cohort inside is checked by the worker's
 * checkCohort). Throws JobFormatError for anything this version does not understand.
 */
export function checkJobData(data: unknown): asserts data is CohortJobData {
  const d = data as Partial<CohortJobData> | null;
  if (!d || typeof d !== 'object' || Array.isArray(d)) throw new JobFormatError('job data is not an object');
  if (d.format !== COHORT_FORMAT) {
    throw new JobFormatError(
      `job format ${JSON.stringify(d.format ?? null)} is not supported (this worker understands format ${COHORT_FORMAT}); run workers of the coordinator's focal-sweep version`,
    );
  }
  if (typeof d.sweep !== 'string' || typeof d.namespace !== 'string') throw new JobFormatError('job data has no sweep or namespace');
  if (typeof d.timeoutMs !== 'number' || !Number.isFinite(d.timeoutMs) || d.timeoutMs < 0) throw new JobFormatError('job data has no valid timeoutMs');
  if (!d.cohort || typeof d.cohort !== 'object') throw new JobFormatError('job data has no cohort');
}

/** Short job label for log lines: "<sweep>/<first 8 of the cohort key>". */
export function jobLabel(data: Partial<CohortJobData> | undefined, id: string | undefined): string {
  const key = data?.cohort?.key ?? id ?? '?';
  return `${data?.sweep ?? '?'}/${String(key).slice(0, 8)}`;
}

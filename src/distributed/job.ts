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
 * Worker lock and stall defaults. A worker's main thread renews its jobs' locks every half lock
 * duration and never trains (its threads do), so a cohort may run for hours under a 30 s lock: the
 * lock does not bound a job's length, only how long a dead worker's job waits before another
 * worker's stall check (every stalled interval) requeues it: about 30-45 s with these defaults.
 * BullMQ's defaults are 30 s / 30 s / 1; stalls here get a second chance, because a stall is
 * usually a machine that died, not the cohort's fault, while a cohort that crashes every worker that
 * takes it still stops after 3 tries.
 */
export const DEFAULT_LOCK_DURATION_MS = 30_000;
export const DEFAULT_STALLED_INTERVAL_MS = 15_000;
export const DEFAULT_MAX_STALLED = 2;

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

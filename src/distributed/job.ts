/**
 * What travels through the BullMQ queue: one job per cohort, and its result. The coordinator and the
 * workers agree on this file only; the cohort inside is the same `Cohort` a local Piscina thread
 * receives (CSV paths aside, see {@link jobCohort}).
 *
 * Naming: every coordinator and worker uses one well-known queue (`focal-sweep` unless --queue says
 * otherwise), so `focal-sweep worker --redis URL` serves any sweep. Job ids are the cohort key
 * prefixed by a namespace of the sweep *in its database*: `<name>.<hash of name + creation time>.<cohort key>`.
 * A restarted coordinator (same database) computes the same ids and finds its jobs again; two
 * databases (even of the same sweep) never share a job; adding a job that exists is a no-op.
 *
 * Trust: with a shared key, jobs and results carry a signature over their content and job id
 * (src/distributed/auth.ts); what is unsigned or wrongly signed is refused.
 */
import { isAbsolute } from 'node:path';
import { shortHash } from '../canonical.js';
import { JobFormatError, UsageError } from '../errors.js';
import { slug } from '../labels.js';
import type { Cohort, TrialResult } from '../types.js';
import { type SharedKey, sign, verify } from './auth.js';
import { insideFolder } from './data-root.js';

/**
 * Version of the job and result envelopes. 2: signed with a shared key, results wrapped in
 * {@link CohortJobResult}, CSV paths relative to the coordinator's working directory.
 */
export const JOB_FORMAT = 2;

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
  /** Envelope format: the JOB_FORMAT of the coordinator that made the job. */
  format: number;
  /** Sweep name, for what workers print. */
  sweep: string;
  /** The sweep's job-id namespace (see {@link jobNamespace}). */
  namespace: string;
  /** Wall-time limit of one attempt in ms (execution.trial_timeout); 0 = none. Enforced by the worker. */
  timeoutMs: number;
  cohort: Cohort;
  /** HMAC of everything else and the job id, when the coordinator has a key. */
  signature?: string;
}

/** What a worker returns for a job (BullMQ stores it as the job's return value). */
export interface CohortJobResult {
  format: number;
  results: TrialResult[];
  /** HMAC of the results and the job id, when the worker has a key. */
  signature?: string;
}

/** Namespace of a sweep's jobs: readable name prefix + hash of the sweep's identity in its database. */
export function jobNamespace(sweepName: string, sweepIdentity: string): string {
  return `${slug(sweepName).slice(0, 40)}.${shortHash(sweepIdentity, 10)}`;
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

/** The data of the job `jobId`, signed when there is a key. */
export function makeJobData(key: SharedKey | null, jobId: string, fields: Omit<CohortJobData, 'format' | 'signature'>): CohortJobData {
  const data: CohortJobData = { format: JOB_FORMAT, ...fields };
  if (key) data.signature = sign(key, 'job', jobId, { ...data });
  return data;
}

/**
 * Check the envelope of a job a worker received (the cohort inside is checked by the worker's
 * checkCohort): its format, and with a key its signature for this job id. Throws JobFormatError, with
 * a reason that shows nothing of the key, for anything this worker must not run.
 */
export function checkJobData(data: unknown, jobId: string, key: SharedKey | null): asserts data is CohortJobData {
  const d = data as Partial<CohortJobData> | null;
  if (!d || typeof d !== 'object' || Array.isArray(d)) throw new JobFormatError('job data is not an object');
  if (d.format !== JOB_FORMAT) {
    throw new JobFormatError(
      `job format ${JSON.stringify(d.format ?? null)} is not supported (this worker understands format ${JOB_FORMAT}); run workers of the coordinator's focal-sweep version`,
    );
  }
  if (key) {
    const verdict = verify(key, 'job', jobId, d);
    if (verdict === 'unsigned')
      throw new JobFormatError('the job is not signed, and this worker has a key: give the coordinator the same key (FOCAL_SWEEP_KEY or --key-file)');
    if (verdict === 'wrong')
      throw new JobFormatError("the job's signature does not match this worker's key (the coordinator has another key, or the job was altered in Redis)");
  } else if (d.signature !== undefined) {
    throw new JobFormatError("the job is signed, but this worker has no key: start it with the coordinator's key (FOCAL_SWEEP_KEY or --key-file)");
  }
  if (typeof d.sweep !== 'string' || typeof d.namespace !== 'string') throw new JobFormatError('job data has no sweep or namespace');
  if (typeof d.timeoutMs !== 'number' || !Number.isFinite(d.timeoutMs) || d.timeoutMs < 0) throw new JobFormatError('job data has no valid timeoutMs');
  if (!d.cohort || typeof d.cohort !== 'object') throw new JobFormatError('job data has no cohort');
}

/** A worker's return value for the job `jobId`, signed when there is a key. */
export function makeJobResult(key: SharedKey | null, jobId: string, results: TrialResult[]): CohortJobResult {
  const value: CohortJobResult = { format: JOB_FORMAT, results };
  if (key) value.signature = sign(key, 'result', jobId, { ...value });
  return value;
}

/**
 * Open what a worker returned for the job `jobId`. With a key, a result that is unsigned or wrongly
 * signed is refused with `retry`: it is not a worker's answer (someone wrote it into Redis, or a
 * worker has no or another key), so the job is worth running again. A result of another format is
 * refused for good. The results inside are checked field by field when they are recorded
 * (src/result-check.ts).
 */
export function openJobResult(value: unknown, jobId: string, key: SharedKey | null): { results: unknown } | { refused: string; retry: boolean } {
  if (key) {
    const verdict = verify(key, 'result', jobId, value);
    if (verdict === 'unsigned')
      return { refused: 'the result is not signed (by a worker without the key, or written into Redis by someone else)', retry: true };
    if (verdict === 'wrong')
      return { refused: "the result's signature does not match (a worker with another key, or the result was altered in Redis)", retry: true };
  }
  const v = value as Partial<CohortJobResult> | null;
  if (!v || typeof v !== 'object' || Array.isArray(v)) return { refused: 'the worker returned a malformed result (not a result envelope)', retry: false };
  if (v.format !== JOB_FORMAT)
    return {
      refused: `the worker's result has format ${JSON.stringify(v.format ?? null)} (this coordinator reads format ${JOB_FORMAT}); run workers of the coordinator's focal-sweep version`,
      retry: false,
    };
  return { results: v.results };
}

/**
 * The cohort as a job carries it: a CSV path inside the coordinator's working directory becomes
 * relative to it (workers resolve relative paths under their --data-root, by default their own
 * working directory, so a coordinator and workers started in the same folder of the same checkout
 * agree); any other path stays absolute (a worker accepts it only inside its data root).
 */
export function jobCohort(cohort: Cohort, cwd = process.cwd()): Cohort {
  if (!cohort.trials.some((t) => t.config.data.generator === 'csv')) return cohort;
  return {
    ...cohort,
    trials: cohort.trials.map((t) => {
      const d = t.config.data;
      if (d.generator !== 'csv' || !isAbsolute(d.path)) return t;
      const rel = insideFolder(cwd, d.path);
      return rel === null ? t : { ...t, config: { ...t.config, data: { ...d, path: rel } } };
    }),
  };
}

/** Short job label for log lines: "<sweep>/<first 8 of the cohort key>". */
export function jobLabel(data: Partial<CohortJobData> | undefined, id: string | undefined): string {
  const key = data?.cohort?.key ?? id ?? '?';
  return `${data?.sweep ?? '?'}/${String(key).slice(0, 8)}`;
}

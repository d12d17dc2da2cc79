/**
 * Runs cohorts on remote `focal-sweep worker` processes through BullMQ on Redis. The coordinator
 * (this side) enqueues one job per cohort, learns about progress from the queue's event stream, and
 * hands results to the sweep loop, which stays the only writer of the database.
 *
 * Reliability, in order of defence:
 * - Job id = sweep namespace + cohort key: adding a job that exists is a no-op, so a restarted
 *   coordinator re-attaches to its jobs instead of duplicating them.
 * - Finished jobs (completed or failed) stay in Redis until the loop has recorded them
 *   (`recorded`), then are removed. A coordinator that dies in between finds them on restart
 *   (`prepare`) and records them before planning what is left.
 * - Events (QueueEvents) give low latency; a periodic reconcile of every job still out catches any
 *   event that was missed (stream trimmed, reconnect) and re-adds a job that vanished.
 * - Workers that die mid-job are BullMQ's business: the job's lock expires, another worker's stall
 *   check moves it back to the queue (the worker flags --lock-duration etc. tune this).
 * - Redis is a trust boundary: with a shared key, jobs are signed here and a result that is not
 *   signed with the key is not a worker's answer: it is refused and the job runs again (up to
 *   --attempts times, then its trials fail with the reason). Every result is checked field by field
 *   when recorded (src/result-check.ts).
 */
import { type Job, type JobType, Queue, QueueEvents } from 'bullmq';
import { firstLine, TrialTimeout } from '../errors.js';
import type { Executor, ExecutorFactory, PrepareContext, RunHooks } from '../scheduler/executor.js';
import { COHORT_FORMAT, type Cohort, type TrialResult } from '../types.js';
import type { SharedKey } from './auth.js';
import {
  type CohortJobData,
  type CohortJobResult,
  checkJobData,
  DEFAULT_QUEUE,
  JOB_NAME,
  jobCohort,
  jobIdOf,
  jobNamespace,
  makeJobData,
  openJobResult,
} from './job.js';
import { describeRedisError, type RedisTarget } from './redis.js';
import { withTimeout } from './timeout.js';

export interface BullmqExecutorOptions {
  /** The Redis server (checked to answer before the executor is made: see checkRedis). */
  target: RedisTarget;
  /** Queue name, the same as the workers'. The command line defaults it to DEFAULT_QUEUE. */
  queue: string;
  /** Attempts per job before its trials are marked failed (thrown errors; stalls have their own limit). */
  attempts: number;
  /** First retry delay; doubles per attempt. Default 2000 ms. */
  backoffMs?: number;
  /** Cohorts the workers run at once when no worker is connected yet (sizes cohorts only). */
  fallbackCapacity: number;
  /** How often every job still out is checked directly, besides events. Default 5000 ms. */
  reconcileMs?: number;
  /** The shared key: jobs are signed with it, results must be. Null: unauthenticated. */
  key: SharedKey | null;
}

/** Cohorts on remote workers through this queue: created even with nothing to run (finished jobs may wait in Redis). */
export function bullmqExecutors(opts: Omit<BullmqExecutorOptions, 'fallbackCapacity'>): ExecutorFactory {
  return {
    mode: 'redis',
    trainsHere: false,
    keepsOutcomes: true,
    create: (threads) => BullmqExecutor.create({ ...opts, fallbackCapacity: threads }),
  };
}

interface Waiter {
  id: string;
  cohort: Cohort;
  hooks: RunHooks | undefined;
  resolve(results: TrialResult[]): void;
  reject(err: Error): void;
  started: boolean;
  /** Attempts and stalls seen so far (to tell a retry from a stall from a hand-back). */
  attemptsSeen: number;
  stallsSeen: number;
  /** A job that vanished from Redis was re-added once already (say so only once). */
  readded: boolean;
  /** Results refused (not signed with the key) so far; the job runs again until --attempts. */
  refusals: number;
  /** Bumped when the job is enqueued again after a refusal: checks begun before that are stale. */
  epoch: number;
}

/** States in which a job is still to be run or running. */
const LIVE_STATES: JobType[] = ['active', 'waiting', 'delayed', 'prioritized', 'paused', 'waiting-children'];
const ALL_STATES: JobType[] = ['completed', 'failed', ...LIVE_STATES];

/** Events kept in the queue's stream (results travel in `completed` events; keep it bounded). */
const EVENTS_MAX_LEN = 1000;

export class BullmqExecutor implements Executor {
  readonly queued = true;
  readonly concurrency: number;
  private namespace: string | null = null;
  private sweep = '';
  private trialTimeoutMs = 0;
  private readonly waiters = new Map<string, Waiter>();
  /** Jobs whose outcome was handed to the loop: removed from Redis once recorded. */
  private readonly delivered = new Set<string>();
  /** Jobs given up on (timeout) while a worker still runs them: removed when they finish. */
  private readonly orphans = new Set<string>();
  /** Jobs being removed and enqueued again after a refused result (not "vanished" meanwhile). */
  private readonly requeueing = new Set<string>();
  /** Background Redis operations (removals), awaited by close(). */
  private readonly background = new Set<Promise<unknown>>();
  private reconcileTimer: NodeJS.Timeout | null = null;
  private reconciling = false;
  private closed = false;
  private lastConnectionNote = 0;
  private noteGlobal: (message: string, data?: Record<string, unknown>) => void = () => undefined;

  private constructor(
    private readonly opts: BullmqExecutorOptions,
    private readonly queue: Queue<CohortJobData, CohortJobResult>,
    private readonly events: QueueEvents,
    private readonly workersDescription: string,
    capacity: number,
  ) {
    this.concurrency = capacity;
    this.queue.on('error', (e) => this.connectionTrouble(e));
    this.events.on('error', (e) => this.connectionTrouble(e));
    this.events.on('active', ({ jobId }) => this.onActive(jobId));
    this.events.on('completed', ({ jobId, returnvalue }) => this.onCompleted(jobId, returnvalue as unknown));
    this.events.on('failed', ({ jobId, failedReason }) => void this.onFailed(jobId, failedReason));
    for (const ev of ['completed', 'failed'] as const) {
      this.events.on(ev, ({ jobId }: { jobId: string }) => {
        if (this.orphans.delete(jobId)) this.track(this.remove(jobId));
      });
    }
    this.events.on('stalled', ({ jobId }) => this.onStalled(jobId));
    this.events.on('waiting', ({ jobId, prev }) => void (prev === 'active' && this.onRequeued(jobId)));
    this.events.on('delayed', ({ jobId }) => void this.onRequeued(jobId));
    this.events.on('removed', ({ jobId }) => void this.reconcile([jobId]));
  }

  /**
   * Connect to the queue, start listening to its events, and see which workers are there. The
   * caller has already checked that Redis answers (checkRedis), so problems here are unexpected.
   */
  static async create(opts: BullmqExecutorOptions): Promise<BullmqExecutor> {
    // Long-lived connections wait for Redis to come back instead of failing commands.
    const connection = { ...opts.target.options, maxRetriesPerRequest: null };
    const queue = new Queue<CohortJobData, CohortJobResult>(opts.queue, { connection, streams: { events: { maxLen: EVENTS_MAX_LEN } } });
    queue.on('error', () => undefined);
    await queue.waitUntilReady();
    // Listen from "now" by the server's clock: everything older is found by prepare()'s scan.
    const lastEventId = `${(await serverTimeMs(queue)) - 1}-0`;
    const events = new QueueEvents(opts.queue, { connection, lastEventId, autorun: true });
    events.on('error', () => undefined);
    await events.waitUntilReady();
    const { threads, count } = await connectedWorkers(queue);
    const capacity = threads > 0 ? threads : opts.fallbackCapacity;
    const who =
      count > 0
        ? `${count} worker${count === 1 ? '' : 's'} connected, ${threads} thread${threads === 1 ? '' : 's'}`
        : `no workers connected yet: start them with focal-sweep worker --redis ${opts.target.display}${opts.queue === DEFAULT_QUEUE ? '' : ` --queue ${opts.queue}`}`;
    return new BullmqExecutor(opts, queue, events, `workers via ${opts.target.display} queue ${opts.queue} (${who})`, capacity);
  }

  describe(): string {
    return this.workersDescription;
  }

  async prepare(ctx: PrepareContext): Promise<Cohort[]> {
    this.namespace = jobNamespace(ctx.sweep, ctx.sweepIdentity);
    this.sweep = ctx.sweep;
    this.trialTimeoutMs = ctx.trialTimeoutMs;
    this.noteGlobal = ctx.note;
    const prefix = `${this.namespace}.`;
    const ids = [...new Set(await this.queue.getRanges(ALL_STATES, 0, -1))].filter((id) => id.startsWith(prefix));
    const resumed: Cohort[] = [];
    let stale = 0;
    const refused: string[] = [];
    for (const id of ids) {
      const job = (await this.queue.getJob(id)) as Job<CohortJobData, CohortJobResult> | undefined;
      if (!job) continue;
      const state = await job.getState();
      const cohort = validCohort(job.data, id, this.opts.key);
      if (!cohort) {
        // Not something this version (or, with a key, this key) made, under this sweep's job ids: drop
        // it unless a worker is running it, so that its trials are enqueued again as they should be
        // (adding a job whose id exists would do nothing).
        if (state !== 'active') await this.remove(id);
        continue;
      }
      const keys = cohort.trials.map((t) => t.key);
      const pending = keys.filter((k) => ctx.pending.has(k));
      const opened = state === 'completed' ? openJobResult(job.returnvalue, id, this.opts.key) : null;
      if (opened && 'refused' in opened && opened.retry) {
        // Not a worker's answer: run the job again (below, like a cohort that is still queued).
        refused.push(opened.refused);
        await this.remove(id);
      }
      if (opened && 'results' in opened) {
        if (pending.length) ctx.record(cohort, { results: opened.results });
        await this.remove(id);
      } else if (opened && !opened.retry) {
        if (pending.length) ctx.record(cohort, { error: opened.refused });
        await this.remove(id);
      } else if (state === 'failed') {
        if (pending.length) ctx.record(cohort, { error: failureMessage(job.failedReason, job.attemptsMade, job.opts.attempts) });
        await this.remove(id);
      } else if (pending.length === keys.length && cohort.format === COHORT_FORMAT) {
        // Still queued or running (or refused above): wait for it rather than enqueue its trials again.
        resumed.push(cohort);
      } else {
        // Some of its trials are done or left the spec: drop it if no worker has it yet.
        stale++;
        if (state !== 'active') await this.remove(id);
      }
    }
    if (refused.length)
      ctx.note(
        `refused the result of ${refused.length} cohort${refused.length === 1 ? '' : 's'} found in Redis (${refused[0]}): ${refused.length === 1 ? 'it runs' : 'they run'} again`,
        { refused_results: refused.length },
      );
    if (stale)
      ctx.note(`${stale} job${stale === 1 ? '' : 's'} of an earlier run no longer match the sweep: dropped (or left to finish if running)`, {
        stale_jobs: stale,
      });
    this.reconcileTimer = setInterval(() => void this.reconcile([...this.waiters.keys()], true), this.opts.reconcileMs ?? 5000);
    this.reconcileTimer.unref();
    return resumed;
  }

  run(cohort: Cohort, signal: AbortSignal, hooks?: RunHooks): Promise<TrialResult[]> {
    if (!this.namespace) return Promise.reject(new Error('BullmqExecutor.prepare() must run before run()'));
    const id = jobIdOf(this.namespace, cohort.key);
    return new Promise<TrialResult[]>((resolve, reject) => {
      if (signal.aborted) return reject(abortError(signal));
      if (this.waiters.has(id)) return reject(new Error(`cohort ${cohort.key} is already running`));
      const waiter: Waiter = { id, cohort, hooks, resolve, reject, started: false, attemptsSeen: 0, stallsSeen: 0, readded: false, refusals: 0, epoch: 0 };
      this.waiters.set(id, waiter);
      signal.addEventListener('abort', () => this.abort(waiter, signal), { once: true });
      this.track(
        this.enqueue(cohort)
          .then(() => this.reconcile([id]))
          .catch((e: Error) => this.settleError(id, new Error(`could not enqueue the cohort: ${describeRedisError(e)}`))),
      );
    });
  }

  recorded(cohort: Cohort): void {
    if (!this.namespace) return;
    const id = jobIdOf(this.namespace, cohort.key);
    if (this.delivered.delete(id)) this.track(this.remove(id));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    for (const w of this.waiters.values()) w.reject(new Error('the coordinator is closing'));
    this.waiters.clear();
    await withTimeout(Promise.allSettled([...this.background]), 10_000);
    await withTimeout(Promise.allSettled([this.events.close(), this.queue.close()]), 5000);
  }

  // ------------------------------------------------------------------ internals

  private async enqueue(cohort: Cohort): Promise<void> {
    const jobId = jobIdOf(this.namespace as string, cohort.key);
    const data = makeJobData(this.opts.key, jobId, {
      sweep: this.sweep,
      namespace: this.namespace as string,
      timeoutMs: this.trialTimeoutMs,
      cohort: jobCohort(cohort),
    });
    await this.queue.add(JOB_NAME, data, {
      jobId,
      attempts: this.opts.attempts,
      backoff: { type: 'exponential', delay: this.opts.backoffMs ?? 2000 },
      // Kept until the coordinator has recorded them (see recorded()).
      removeOnComplete: false,
      removeOnFail: false,
    });
  }

  private onActive(jobId: string): void {
    const w = this.waiters.get(jobId);
    // Once per attempt: the reconcile pass and the 'active' event can both report the same start.
    if (!w || w.started) return;
    w.started = true;
    w.hooks?.started?.();
  }

  private onCompleted(jobId: string, returnvalue: unknown): void {
    const w = this.waiters.get(jobId);
    if (!w) return;
    const opened = openJobResult(returnvalue, jobId, this.opts.key);
    if ('results' in opened) this.settle(jobId, opened.results);
    // Refused: read the job itself (the stream may have mangled the value; and a refusal is decided once, there).
    else void this.reconcile([jobId]);
  }

  private async onFailed(jobId: string, failedReason: string): Promise<void> {
    if (!this.waiters.has(jobId)) return;
    const job = await this.queue.getJob(jobId).catch(() => undefined);
    this.settleError(jobId, new Error(failureMessage(job?.failedReason ?? failedReason, job?.attemptsMade, job?.opts.attempts)), true);
  }

  private onStalled(jobId: string): void {
    const w = this.waiters.get(jobId);
    if (!w) return;
    w.hooks?.note?.(
      `cohort ${w.cohort.key.slice(0, 8)} (${w.cohort.trials.length} trials) stalled: its worker stopped renewing the job's lock (killed, or lost Redis); BullMQ requeued it for another worker`,
      { stalled: true },
    );
  }

  /** The job went back to the queue: an attempt failed (retry), it stalled, or a worker handed it back. */
  private async onRequeued(jobId: string): Promise<void> {
    const w = this.waiters.get(jobId);
    if (!w?.started) return;
    // Back in the queue: its next start is a new attempt.
    w.started = false;
    const job = await this.queue.getJob(jobId).catch(() => undefined);
    if (!job || this.waiters.get(jobId) !== w) return;
    const label = `cohort ${w.cohort.key.slice(0, 8)} (${w.cohort.trials.length} trials)`;
    if (job.attemptsMade > w.attemptsSeen) {
      w.attemptsSeen = job.attemptsMade;
      w.hooks?.note?.(`${label}: attempt ${job.attemptsMade} of ${job.opts.attempts ?? 1} failed (${firstLine(job.failedReason ?? '?')}); retrying`, {
        retry: job.attemptsMade,
      });
    } else if ((job.stalledCounter ?? 0) > w.stallsSeen) {
      w.stallsSeen = job.stalledCounter; // the 'stalled' event says it
    } else {
      w.hooks?.note?.(`${label}: a worker handed it back (stopped); waiting for another worker`, { handed_back: true });
    }
  }

  /**
   * Check jobs directly: settle the finished ones, re-add vanished ones, notice started ones. The
   * states are asked for all at once (one round trip's wait, not one per job: a periodic pass covers
   * every queued cohort); periodic passes never overlap.
   */
  private async reconcile(ids: string[], periodic = false): Promise<void> {
    const wanted = ids.filter((id) => this.waiters.has(id) && !this.requeueing.has(id));
    if (!wanted.length || this.closed) return;
    if (periodic && this.reconciling) return;
    if (periodic) this.reconciling = true;
    try {
      // A job enqueued again after a refused result meanwhile: what was read before is stale.
      const epochs = wanted.map((id) => this.waiters.get(id)?.epoch);
      const current = (w: Waiter | undefined, i: number): w is Waiter => !!w && w.epoch === epochs[i] && !this.requeueing.has(w.id);
      const states = await Promise.all(wanted.map((id) => this.queue.getJobState(id)));
      for (const [i, id] of wanted.entries()) {
        const w = this.waiters.get(id);
        if (!current(w, i)) continue;
        const state = states[i];
        if (state === 'completed' || state === 'failed') {
          const job = (await this.queue.getJob(id)) as Job<CohortJobData, CohortJobResult> | undefined;
          if (!job || this.waiters.get(id) !== w || !current(w, i)) continue;
          if (state === 'completed') {
            const opened = openJobResult(job.returnvalue, id, this.opts.key);
            if ('results' in opened) this.settle(id, opened.results);
            else if (opened.retry) this.refuse(w, opened.refused);
            else this.settleError(id, new Error(opened.refused), true);
          } else {
            this.settleError(id, new Error(failureMessage(job.failedReason, job.attemptsMade, job.opts.attempts)), true);
          }
        } else if (state === 'active') {
          if (!w.started) this.onActive(id);
        } else if (state === 'unknown') {
          // Removed by someone else, or Redis lost its data: put it back.
          if (!w.readded) w.hooks?.note?.(`cohort ${w.cohort.key.slice(0, 8)}: its job disappeared from Redis; enqueued it again`, { readded: true });
          w.readded = true;
          await this.enqueue(w.cohort);
        }
      }
    } catch (e) {
      this.connectionTrouble(e as Error);
    } finally {
      if (periodic) this.reconciling = false;
    }
  }

  /** `results` is what the worker returned; the loop checks it field by field when it records it. */
  private settle(id: string, results: unknown): void {
    const w = this.waiters.get(id);
    if (!w) return;
    this.waiters.delete(id);
    this.delivered.add(id);
    w.resolve(results as TrialResult[]);
  }

  /**
   * A result that is not a worker's answer (not signed with the key): take it off the queue and
   * enqueue the job again, so a worker with the key runs it; after --attempts refusals its trials
   * fail with the reason.
   */
  private refuse(w: Waiter, reason: string): void {
    w.refusals++;
    const label = `cohort ${w.cohort.key.slice(0, 8)} (${w.cohort.trials.length} trials)`;
    if (w.refusals >= this.opts.attempts) {
      this.settleError(w.id, new Error(`${reason} (refused ${w.refusals} time${w.refusals === 1 ? '' : 's'})`), true);
      return;
    }
    w.epoch++;
    w.started = false;
    w.hooks?.note?.(`${label}: refused its result: ${reason}; enqueued it again`, { refused_result: w.refusals });
    this.requeueing.add(w.id);
    this.track(
      (async () => {
        try {
          await this.remove(w.id);
          await this.enqueue(w.cohort);
        } finally {
          this.requeueing.delete(w.id);
        }
        await this.reconcile([w.id]);
      })(),
    );
  }

  /** `finished`: the job is in the failed set (remove it once recorded); else it may still be out. */
  private settleError(id: string, err: Error, finished = false): void {
    const w = this.waiters.get(id);
    if (!w) return;
    this.waiters.delete(id);
    if (finished) this.delivered.add(id);
    w.reject(err);
  }

  /**
   * Ctrl-C or a timeout: give up on the cohort now. A job no worker has taken yet is removed. One
   * that is running is left to finish (a remote job cannot be stopped from here; its worker enforces
   * the timeout itself): after Ctrl-C its result stays in Redis for the next run to record; after a
   * timeout (the loop goes on) it is removed when it ends.
   */
  private abort(w: Waiter, signal: AbortSignal): void {
    if (this.waiters.get(w.id) !== w) return;
    this.waiters.delete(w.id);
    w.reject(abortError(signal));
    const timeout = signal.reason instanceof TrialTimeout;
    this.track(
      (async () => {
        if (timeout) this.orphans.add(w.id);
        const state = await this.queue.getJobState(w.id);
        if (state === 'active') return;
        this.orphans.delete(w.id);
        if (state !== 'unknown' && (timeout || (state !== 'completed' && state !== 'failed'))) await this.remove(w.id);
      })(),
    );
  }

  private async remove(id: string): Promise<void> {
    try {
      await this.queue.remove(id);
    } catch {
      // Locked by a worker that took it meanwhile, or already gone: a later run cleans up.
    }
  }

  private track(p: Promise<unknown>): void {
    const q = p.catch(() => undefined).finally(() => this.background.delete(q));
    this.background.add(q);
  }

  private connectionTrouble(e: Error): void {
    const now = Date.now();
    if (this.closed || now - this.lastConnectionNote < 30_000) return;
    this.lastConnectionNote = now;
    this.noteGlobal(`Redis at ${this.opts.target.display}: ${describeRedisError(e)} (retrying)`, { redis_error: true });
  }
}

/** The Redis server's clock in ms (stream ids are made from it), or ours if the client cannot ask. */
async function serverTimeMs(queue: Queue): Promise<number> {
  const client = (await queue.client) as unknown as { time?: () => Promise<[string | number, string | number]> };
  if (typeof client.time !== 'function') return Date.now();
  const [secs, micros] = await client.time();
  return Number(secs) * 1000 + Math.floor(Number(micros) / 1000);
}

/** Connected BullMQ workers of this queue and their threads (our workers put "t<threads>" in their name). */
async function connectedWorkers(queue: Queue): Promise<{ count: number; threads: number }> {
  try {
    const workers = await queue.getWorkers();
    let threads = 0;
    for (const w of workers) {
      const m = /\.t(\d+)$/.exec(String(w.rawname ?? w.name ?? ''));
      threads += m ? Number(m[1]) : 1;
    }
    return { count: workers.length, threads };
  } catch {
    return { count: 0, threads: 0 };
  }
}

/** The cohort of a job this coordinator could have made (with a key: signed with it), else null. */
function validCohort(data: unknown, jobId: string, key: SharedKey | null): Cohort | null {
  try {
    // without a key, a signature is not checked (nor held against the job)
    checkJobData(key || !data || typeof data !== 'object' ? data : { ...data, signature: undefined }, jobId, key);
  } catch {
    return null;
  }
  const c = (data as CohortJobData).cohort;
  return Array.isArray(c.trials) && c.trials.length > 0 && typeof c.key === 'string' ? c : null;
}

function failureMessage(reason: string | undefined, attemptsMade: number | undefined, attempts: number | undefined): string {
  let msg = firstLine(reason || 'the job failed without a reason');
  if (msg === 'job stalled more than allowable limit')
    msg = 'the job stalled more times than --max-stalled allows (its workers died or lost Redis while running it)';
  // Only when it was retried: a final failure on the first attempt (a timeout, a refused payload)
  // reads the same whichever path (event or job read) reports it.
  const tries = attempts && attempts > 1 && attemptsMade && attemptsMade > 1 ? ` (after ${attemptsMade} attempts)` : '';
  return `${msg}${tries}`;
}

function abortError(signal: AbortSignal): Error {
  const r = signal.reason as unknown;
  return r instanceof Error ? r : new Error('aborted');
}

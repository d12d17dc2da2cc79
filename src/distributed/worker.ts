/**
 * `focal-sweep worker`: take cohort jobs from the BullMQ queue and train them on this machine's
 * Piscina threads (the same worker entry as a local run), one job per thread. Any number of workers
 * on any number of machines can serve the same queue; they need no database, only Redis.
 *
 * Stopping: the first Ctrl-C (or SIGTERM) stops taking jobs and lets the running ones finish
 * (BullMQ worker.close()); a second Ctrl-C hands the running jobs back to the queue at once (they
 * start over on another worker) and exits. A worker killed outright loses nothing either: its jobs'
 * locks expire and another worker's stall check requeues them.
 */
import { hostname } from 'node:os';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { formatDuration } from '../duration.js';
import { firstLine, Interrupted, JobFormatError, TrialTimeout } from '../errors.js';
import { fileSha256 } from '../file-hash.js';
import type { Cohort, TrialResult } from '../types.js';
import { checkCohort, checkTrialConfigs } from '../worker/payload.js';
import { ThreadPool } from '../worker/pool.js';
import { type SharedKey, UNAUTHENTICATED_WARNING } from './auth.js';
import { DataRoot, shownPath } from './data-root.js';
import {
  type CohortJobData,
  type CohortJobResult,
  checkJobData,
  checkQueueName,
  DEFAULT_LOCK_DURATION_MS,
  DEFAULT_MAX_STALLED,
  DEFAULT_STALLED_INTERVAL_MS,
  jobLabel,
  lockRenewTimeFor,
  makeJobResult,
} from './job.js';
import { checkRedis, describeRedisError, parseRedisUrl } from './redis.js';
import { withTimeout } from './timeout.js';

export type WorkerProgress = 'plain' | 'jsonl' | 'none';

export interface WorkerOptions {
  redis: string;
  queue: string;
  threads: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  maxStalledCount?: number;
  progress?: WorkerProgress;
  out?: { write(s: string): unknown };
  /** First Ctrl-C: finish running jobs, take no more, exit. */
  stop?: AbortSignal;
  /** Second Ctrl-C: hand running jobs back and exit now. */
  kill?: AbortSignal;
  /** Worker module for the pool (tests). Default: the built dist/worker/task.js. */
  workerFile?: string;
  /** The shared key: jobs must be signed with it, results are. Null: unauthenticated. */
  key: SharedKey | null;
  /** Folder CSV paths of jobs resolve under (nothing outside it is read). Default: the working directory. */
  dataRoot?: string;
}

interface Running {
  job: Job<CohortJobData, CohortJobResult>;
  token: string | undefined;
}

/** Run a worker until stopped. Resolves with the exit code (0 after a clean stop, 130 after a hand-back). */
export async function runWorker(opts: WorkerOptions): Promise<number> {
  const target = parseRedisUrl(opts.redis);
  const queueName = checkQueueName(opts.queue);
  const lockDuration = opts.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS;
  const stalledInterval = opts.stalledIntervalMs ?? DEFAULT_STALLED_INTERVAL_MS;
  const maxStalledCount = opts.maxStalledCount ?? DEFAULT_MAX_STALLED;
  const out = opts.out ?? process.stdout;
  const mode = opts.progress ?? 'plain';
  const me = `${hostname()}/${process.pid}`;
  const say = (event: string, text: string, data: Record<string, unknown> = {}) => {
    if (mode === 'jsonl') out.write(`${JSON.stringify({ event, worker: me, ...data })}\n`);
    else if (mode === 'plain') out.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);
    else if (event === 'error') process.stderr.write(`${text}\n`);
  };

  const dataFiles = new DataFiles(DataRoot.open(opts.dataRoot ?? process.cwd()));
  await checkRedis(target);
  if (!opts.key) process.stderr.write(`${UNAUTHENTICATED_WARNING}\n`);
  const pool = new ThreadPool({ threads: opts.threads, workerFile: opts.workerFile });
  const running = new Map<string, Running>();
  let jobsDone = 0;
  let jobsFailed = 0;

  const processor = async (job: Job<CohortJobData, CohortJobResult>, token?: string, signal?: AbortSignal): Promise<CohortJobResult> => {
    const label = jobLabel(job.data, job.id);
    let cohort: Cohort;
    try {
      // Everything from Redis is checked before anything runs: the envelope and its signature, the
      // cohort's structure, every trial config by the spec's rules, and where its data files are.
      checkJobData(job.data, String(job.id), opts.key);
      checkCohort(job.data.cohort);
      checkTrialConfigs(job.data.cohort);
      cohort = dataFiles.place(job.data.cohort);
    } catch (e) {
      if (!(e instanceof JobFormatError)) throw e;
      const msg = `refused by worker ${me}: ${e.message}`;
      jobsFailed++;
      say('job-refused', `refused ${label}: ${e.message}`, { job: job.id, error: e.message });
      // Refused for what the job is (its format, signature, configs or paths): not worth retrying.
      throw new UnrecoverableError(msg);
    }
    const attempt = job.attemptsMade + 1;
    const t0 = performance.now();
    say('job-start', `start  ${label}: ${cohort.trials.length} trial${cohort.trials.length === 1 ? '' : 's'}${attempt > 1 ? ` (attempt ${attempt})` : ''}`, {
      job: job.id,
      sweep: job.data.sweep,
      cohort: cohort.key,
      trials: cohort.trials.length,
      attempt,
    });
    const controller = new AbortController();
    running.set(String(job.id), { job, token });
    const timeoutMs = job.data.timeoutMs;
    const timer = timeoutMs > 0 ? setTimeout(() => controller.abort(new TrialTimeout(timeoutMs)), timeoutMs) : null;
    const onCancel = () => controller.abort(new Interrupted('cancelled'));
    signal?.addEventListener('abort', onCancel, { once: true });
    try {
      dataFiles.check(cohort, me);
      const results = await pool.run(cohort, controller.signal);
      if (!Array.isArray(results) || results.length === 0) throw new Error(`worker ${me} produced no results`);
      jobsDone++;
      const failed = results.filter((r) => r.state !== 'complete').length;
      say(
        'job-done',
        `done   ${label}: ${results.length} trial${results.length === 1 ? '' : 's'}${failed ? ` (${failed} failed)` : ''} in ${formatDuration(performance.now() - t0)}`,
        {
          job: job.id,
          cohort: cohort.key,
          trials: results.length,
          failed,
          ms: Math.round(performance.now() - t0),
        },
      );
      return makeJobResult(opts.key, String(job.id), withPointsOnce(results));
    } catch (e) {
      jobsFailed++;
      if (controller.signal.reason instanceof TrialTimeout) {
        const msg = `cohort timed out after ${formatDuration(timeoutMs)} on worker ${me} (execution.trial_timeout)`;
        say('job-failed', `failed ${label}: ${msg}`, { job: job.id, cohort: cohort.key, error: msg, final: true });
        throw new UnrecoverableError(msg);
      }
      const msg = `${dataFiles.reword(firstLine(e))} (on worker ${me})`;
      say('job-failed', `failed ${label}: ${msg}`, { job: job.id, cohort: cohort.key, error: msg, attempt });
      throw new Error(msg);
    } finally {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onCancel);
      running.delete(String(job.id));
    }
  };

  const worker = new Worker<CohortJobData, CohortJobResult>(queueName, processor, {
    connection: { ...target.options, maxRetriesPerRequest: null },
    concurrency: opts.threads,
    lockDuration,
    lockRenewTime: lockRenewTimeFor(lockDuration),
    stalledInterval,
    maxStalledCount,
    // connected coordinators read "t<threads>" from the name to size cohorts
    name: `${hostname().replace(/[^A-Za-z0-9_-]+/g, '_')}.${process.pid}.t${opts.threads}`,
    autorun: false,
  });
  let lastError = 0;
  worker.on('error', (e: Error) => {
    const now = Date.now();
    if (now - lastError < 10_000) return;
    lastError = now;
    say('error', `Redis at ${target.display}: ${describeRedisError(e)} (retrying)`, { error: describeRedisError(e) });
  });
  worker.on('stalled', (jobId: string) => say('job-stalled', `requeued stalled job ${jobId} (its worker died or lost Redis)`, { job: jobId }));

  const runLoop = worker.run().catch((e: Error) => say('error', `worker stopped: ${describeRedisError(e)}`, { error: describeRedisError(e) }));
  await worker.waitUntilReady();
  say(
    'ready',
    `worker ${me}: connected to ${target.display}, queue ${queueName}, ${opts.threads} thread${opts.threads === 1 ? '' : 's'} (lock ${formatDuration(lockDuration)}, stall check every ${formatDuration(stalledInterval)}, max ${maxStalledCount} stall${maxStalledCount === 1 ? '' : 's'}); Ctrl-C to stop`,
    {
      redis: target.display,
      queue: queueName,
      threads: opts.threads,
      lock_duration_ms: lockDuration,
      stalled_interval_ms: stalledInterval,
      max_stalled: maxStalledCount,
    },
  );

  // Wait for the first stop request (or a worker that ends by itself).
  await new Promise<void>((resolve) => {
    if (opts.stop?.aborted) return resolve();
    opts.stop?.addEventListener('abort', () => resolve(), { once: true });
    void runLoop.then(() => resolve());
  });

  const handBack = async (): Promise<number> => {
    const jobs = [...running.values()];
    say('handing-back', `handing back ${jobs.length} running job${jobs.length === 1 ? '' : 's'} and exiting`, { jobs: jobs.map((r) => r.job.id) });
    await withTimeout(
      Promise.allSettled(
        // The threads die with the process; only the queue needs telling.
        jobs.map((r) => r.job.moveToWait(r.token)),
      ),
      3000,
    );
    return 130;
  };
  if (opts.kill?.aborted) return handBack();

  const n = running.size;
  say(
    'stopping',
    n ? `stopping: finishing ${n} running job${n === 1 ? '' : 's'} (Ctrl-C again to hand ${n === 1 ? 'it' : 'them'} back and exit now)` : 'stopping',
    { running: n },
  );
  const closed = worker.close().then(() => 'closed' as const);
  const killed = new Promise<'killed'>((resolve) => {
    opts.kill?.addEventListener('abort', () => resolve('killed'), { once: true });
  });
  const how = await Promise.race([closed, killed]);
  if (how === 'killed') return handBack();
  await pool.close();
  say('closed', `stopped after ${jobsDone} job${jobsDone === 1 ? '' : 's'} done, ${jobsFailed} failed`, { done: jobsDone, failed: jobsFailed });
  return 0;
}

/**
 * CSV data travels by path: a job names the file relative to the coordinator's working directory
 * (or absolute), and the worker finds it under its data root, with the content the coordinator
 * planned with (the trial key hashes the content).
 */
class DataFiles {
  /** Real paths of the files in use -> the path the job gave, to keep real paths and content out of messages. */
  private readonly named = new Map<string, string>();

  constructor(private readonly root: DataRoot) {}

  /**
   * The cohort with each CSV path replaced by the real file under the data root. Throws
   * JobFormatError (the job is refused) for a path outside the root or not a regular file.
   */
  place(cohort: Cohort): Cohort {
    if (!cohort.trials.some((t) => t.config.data.generator === 'csv')) return cohort;
    const trials = cohort.trials.map((t) => {
      const d = t.config.data;
      if (d.generator !== 'csv') return t;
      const where = this.root.locate(d.path);
      if ('refused' in where) throw new JobFormatError(where.refused);
      if ('missing' in where) return t; // check() fails it on this worker; another may have it
      this.named.set(where.file, d.path);
      return { ...t, config: { ...t.config, data: { ...d, path: where.file } } };
    });
    return { ...cohort, trials };
  }

  /** Before training: every file is there, with the coordinator's content. Throws (the job is retried) otherwise. */
  check(cohort: Cohort, me: string): void {
    for (const t of cohort.trials) {
      const d = t.config.data;
      if (d.generator !== 'csv') continue;
      const where = this.root.locate(d.path);
      if (!('file' in where)) throw new Error(`${'missing' in where ? where.missing : where.refused} on worker ${me}`);
      if (fileSha256(where.file) !== d.sha256)
        throw new Error(`data file ${this.shown(where.file)} on worker ${me} differs from the coordinator's copy (sha256 mismatch)`);
    }
  }

  /**
   * A training thread's error about one of the data files (a CsvError: "<real path>[:line]: …") may
   * quote the file (cells, the header). It leaves this machine through Redis, so only the path the
   * job gave and the line are kept.
   */
  reword(message: string): string {
    for (const [file, given] of this.named) {
      if (!message.startsWith(`${file}:`)) continue;
      const line = /^:(\d+):/.exec(message.slice(file.length))?.[1];
      return `data file ${shownPath(given)}${line ? `, line ${line}` : ''}: cannot be read as this sweep's CSV (workers do not repeat what a file says; a local run of the sweep shows the details)`;
    }
    return message;
  }

  private shown(file: string): string {
    return shownPath(this.named.get(file) ?? file);
  }
}

/**
 * The trials of one dataset share one points object, which a thread's structured clone sends once;
 * BullMQ's JSON would copy it into every trial's result (5.7x the bytes for a quickstart cohort).
 * The store writes a dataset's points once, from whichever result carries them first.
 */
function withPointsOnce(results: TrialResult[]): TrialResult[] {
  const seen = new Set<string>();
  return results.map((r) => {
    if (!r.points) return r;
    if (seen.has(r.points.key)) return { ...r, points: undefined };
    seen.add(r.points.key);
    return r;
  });
}

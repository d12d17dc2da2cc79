/**
 * The command-line side of distributed mode: `run --redis/--queue/--attempts` and the `worker`
 * command. Kept here so src/cli.ts only wires them in.
 */
import type { Argv } from 'yargs';
import { parseDuration } from '../duration.js';
import { UsageError } from '../errors.js';
import type { RunOptions } from '../scheduler/run.js';
import { parseThreadCount } from '../threads.js';
import { KEY_ENV, loadKey, UNAUTHENTICATED_WARNING } from './auth.js';
import { DataRoot } from './data-root.js';
import { checkQueueName, DEFAULT_LOCK_DURATION_MS, DEFAULT_MAX_STALLED, DEFAULT_QUEUE, DEFAULT_STALLED_INTERVAL_MS } from './job.js';
import { checkRedis, parseRedisUrl } from './redis.js';

/** Attempts per cohort job before its trials are marked failed. */
const DEFAULT_ATTEMPTS = 3;

/** The `run` options of distributed mode. */
export function addRedisRunOptions<T>(y: Argv<T>) {
  return y
    .option('redis', {
      type: 'string',
      describe:
        'distributed mode: enqueue cohorts on this Redis for `focal-sweep worker` processes: redis://[user:password@]host:port[/db], rediss://… for TLS',
    })
    .option('queue', { type: 'string', describe: `with --redis: BullMQ queue name (workers must use the same) [default: ${DEFAULT_QUEUE}]` })
    .option('attempts', { type: 'string', describe: `with --redis: attempts per cohort before its trials are marked failed [default: ${DEFAULT_ATTEMPTS}]` })
    .option('key-file', { type: 'string', describe: KEY_FILE_HELP });
}

const KEY_FILE_HELP = `with --redis: sign jobs and check results with the shared key in this file (workers need the same key) [default: $${KEY_ENV}]`;

/**
 * With --redis: check the URL and that the server answers (before anything is written), and return
 * the run options that send cohorts through BullMQ. Without it: nothing (a local run).
 */
export async function redisRunOptions(argv: {
  redis?: string;
  queue?: string;
  attempts?: string | number;
  'key-file'?: string;
}): Promise<Pick<RunOptions, 'executor'>> {
  if (argv.redis === undefined) {
    if (argv.queue !== undefined) throw new UsageError('--queue needs --redis');
    if (argv.attempts !== undefined) throw new UsageError('--attempts needs --redis');
    if (argv['key-file'] !== undefined) throw new UsageError('--key-file needs --redis');
    return {};
  }
  const target = parseRedisUrl(argv.redis);
  const queue = checkQueueName(argv.queue ?? DEFAULT_QUEUE);
  const attempts = argv.attempts === undefined ? DEFAULT_ATTEMPTS : Number(argv.attempts);
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 100)
    throw new UsageError(`--attempts: must be a whole number from 1 to 100, got ${JSON.stringify(argv.attempts)}`);
  const key = loadKey(argv['key-file']);
  await checkRedis(target);
  if (!key) process.stderr.write(`${UNAUTHENTICATED_WARNING}\n`);
  // loaded only here: a local run never loads BullMQ
  const { bullmqExecutors } = await import('./bullmq-executor.js');
  return { executor: bullmqExecutors({ target, queue, attempts, key }) };
}

/** "60s", "2m", "500ms", or a bare number of seconds -> ms. */
function durationFlag(flag: string, v: unknown, minMs: number): number {
  const text = String(v).trim();
  const ms = parseDuration(/^\d+(\.\d+)?$/.test(text) ? Number(text) : text);
  if (typeof ms === 'string' || ms === 0)
    throw new UsageError(`--${flag}: must be a duration like "60s", "2m" or "500ms" (a bare number is seconds), got ${JSON.stringify(v)}`);
  if (ms < minMs) throw new UsageError(`--${flag}: at least ${minMs} ms, got ${ms} ms`);
  return ms;
}

export function workerBuilder<T>(y: Argv<T>) {
  return y
    .usage('$0 worker --redis URL [options]\n\nTrain cohorts from the queue on this machine (one job per thread) until Ctrl-C.')
    .option('redis', { type: 'string', demandOption: true, describe: 'Redis of the coordinator: redis://[user:password@]host:port[/db], rediss://… for TLS' })
    .option('queue', { type: 'string', default: DEFAULT_QUEUE, describe: 'BullMQ queue name (the same as the coordinator’s --queue)' })
    .option('threads', { type: 'string', default: 'auto', describe: 'training threads = jobs at once: a number, or auto (one per core)' })
    .option('lock-duration', {
      type: 'string',
      default: `${DEFAULT_LOCK_DURATION_MS / 1000}s`,
      describe:
        'job lock, renewed every sixth of it while a job runs (any job length is fine); a dead worker’s job is requeued this long (plus up to one stall check) after it died',
    })
    .option('stalled-interval', {
      type: 'string',
      default: `${DEFAULT_STALLED_INTERVAL_MS / 1000}s`,
      describe: 'how often workers look for stalled jobs (locks that expired): a dead worker’s job waits up to this long after its lock expired',
    })
    .option('max-stalled', {
      type: 'number',
      default: DEFAULT_MAX_STALLED,
      describe: 'times a job may stall (its worker died) and be requeued; one more and it fails',
    })
    .option('key-file', { type: 'string', describe: `run only jobs signed with the shared key in this file, and sign results with it [default: $${KEY_ENV}]` })
    .option('data-root', {
      type: 'string',
      describe: 'CSV paths of jobs resolve under this folder; nothing outside it is read [default: the working directory]',
    })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'print only errors' })
    .option('progress', {
      choices: ['plain', 'jsonl', 'none'],
      default: 'plain',
      describe:
        'plain: a line per job; jsonl: one JSON event per line (ready, job-start, job-done, job-failed, job-refused, job-stalled, stopping, handing-back, closed)',
    });
}

export async function workerHandler(argv: {
  redis?: string;
  queue?: string;
  threads?: string;
  'lock-duration'?: string;
  'stalled-interval'?: string;
  'max-stalled'?: number;
  quiet?: boolean;
  progress?: string;
  'key-file'?: string;
  'data-root'?: string;
}): Promise<number> {
  const threads = parseThreadCount('threads', argv.threads);
  const lockDurationMs = argv['lock-duration'] === undefined ? DEFAULT_LOCK_DURATION_MS : durationFlag('lock-duration', argv['lock-duration'], 500);
  const stalledIntervalMs =
    argv['stalled-interval'] === undefined ? DEFAULT_STALLED_INTERVAL_MS : durationFlag('stalled-interval', argv['stalled-interval'], 100);
  const maxStalled = argv['max-stalled'] ?? DEFAULT_MAX_STALLED;
  if (!Number.isInteger(maxStalled) || maxStalled < 0)
    throw new UsageError(`--max-stalled: must be a whole number ≥ 0, got ${JSON.stringify(argv['max-stalled'])}`);
  // Check the URL before loading the training code (tfjs) for a fast, clean error.
  parseRedisUrl(String(argv.redis ?? ''));
  checkQueueName(argv.queue ?? DEFAULT_QUEUE);
  const key = loadKey(argv['key-file']);
  const dataRoot = DataRoot.open(argv['data-root'] ?? process.cwd()).dir;

  const stop = new AbortController();
  const kill = new AbortController();
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals === 1) stop.abort();
    else if (signals === 2) {
      kill.abort();
      // Handing back is bounded; this is the backstop.
      setTimeout(() => process.exit(130), 5000).unref();
    } else process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const { runWorker } = await import('./worker.js');
  return runWorker({
    redis: String(argv.redis),
    queue: argv.queue ?? DEFAULT_QUEUE,
    threads,
    lockDurationMs,
    stalledIntervalMs,
    maxStalledCount: maxStalled,
    progress: argv.quiet ? 'none' : ((argv.progress ?? 'plain') as 'plain' | 'jsonl' | 'none'),
    stop: stop.signal,
    kill: kill.signal,
    key,
    dataRoot,
  });
}

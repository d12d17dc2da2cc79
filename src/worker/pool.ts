/**
 * The training threads of one process: a Piscina pool running worker/task.ts, one cohort per thread
 * at a time. Used by a local run (scheduler/local-executor.ts) and by `focal-sweep worker`
 * (distributed/worker.ts) alike.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { Cohort, TrialResult } from '../types.js';

export interface ThreadPoolOptions {
  /** Training threads, all started at once. */
  threads: number;
  /** Worker module. Default: the built dist/worker/task.js. Tests pass tiny fixture workers. */
  workerFile?: string;
}

/** The built worker entry; under vitest (running src/*.ts) the dist/ build of it. */
function defaultWorkerFile(): string {
  const built = fileURLToPath(new URL('./task.js', import.meta.url));
  if (existsSync(built)) return built;
  const dist = built.replace(/([\\/])src([\\/])worker([\\/])task\.js$/, '$1dist$2worker$3task.js');
  if (existsSync(dist)) return dist;
  throw new Error(`worker entry not found at ${built} or ${dist}: run npm run build`);
}

export class ThreadPool {
  readonly threads: number;
  private readonly pool: Piscina<Cohort, TrialResult[]>;

  constructor(opts: ThreadPoolOptions) {
    this.threads = opts.threads;
    // One compute thread per worker for the native backend too (read by libtensorflow at load).
    process.env.TF_NUM_INTRAOP_THREADS ??= '1';
    process.env.TF_NUM_INTEROP_THREADS ??= '1';
    process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
    this.pool = new Piscina<Cohort, TrialResult[]>({
      filename: opts.workerFile ?? defaultWorkerFile(),
      minThreads: opts.threads,
      maxThreads: opts.threads,
      concurrentTasksPerWorker: 1,
      idleTimeout: 60_000,
    });
  }

  /** Train one cohort on a free thread (queued until one is free). Aborting `signal` stops it and frees the thread. */
  run(cohort: Cohort, signal: AbortSignal): Promise<TrialResult[]> {
    return this.pool.run(cohort, { signal });
  }

  /** Stop every thread. */
  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

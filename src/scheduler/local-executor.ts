/**
 * Runs cohorts on this machine's training threads (worker/pool.ts), one cohort per thread at a time.
 */
import type { Cohort, TrialResult } from '../types.js';
import { ThreadPool, type ThreadPoolOptions } from '../worker/pool.js';
import type { Executor, ExecutorFactory } from './executor.js';

export class LocalExecutor implements Executor {
  readonly concurrency: number;
  private readonly pool: ThreadPool;

  constructor(opts: ThreadPoolOptions) {
    this.pool = new ThreadPool(opts);
    this.concurrency = this.pool.threads;
  }

  describe(): string {
    return `${this.concurrency} thread${this.concurrency === 1 ? '' : 's'}`;
  }

  run(cohort: Cohort, signal: AbortSignal): Promise<TrialResult[]> {
    return this.pool.run(cohort, signal);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** Local threads (by default the built worker; tests pass `create` with fixture workers). */
export function localExecutors(create: (threads: number) => Executor | Promise<Executor> = (threads) => new LocalExecutor({ threads })): ExecutorFactory {
  return { mode: 'local', trainsHere: true, keepsOutcomes: false, create };
}

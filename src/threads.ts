/** Thread counts as users write them: a whole number from 1 to 1024, or "auto" (one per core). */
import { availableParallelism } from 'node:os';
import { UsageError } from './errors.js';
import { quoted } from './text.js';

const MAX_THREADS = 1024;

/** `--workers` / `--threads` value -> a thread count; UsageError naming the flag otherwise. */
export function parseThreadCount(flag: string, v: unknown): number {
  if (v === undefined || v === 'auto') return availableParallelism();
  const n = typeof v === 'number' ? v : Number(String(v).trim() || NaN);
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS)
    throw new UsageError(`--${flag}: must be a whole number from 1 to ${MAX_THREADS}, or auto, got ${quoted(v)}`);
  return n;
}

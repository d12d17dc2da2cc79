/**
 * Every error a user can cause, in one place. A UserError prints as one line and exits 2; anything
 * else is an internal error (exit 1, stack with --verbose).
 */
import { formatDuration } from './duration.js';

export class UserError extends Error {
  /** Process exit code for this error. */
  readonly exitCode: number = 2;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Location of a problem inside a spec file. */
export interface SpecLocation {
  file: string;
  /** 1-based line, when known. */
  line?: number;
  /** 1-based column, when known. */
  col?: number;
  /** Key path such as `grid.loss[1].focal.gamma[2]`. */
  path?: string;
}

/** A problem with a sweep spec: YAML syntax, unknown key, wrong type, out-of-range value, grid size. */
export class SpecError extends UserError {
  readonly location: SpecLocation;
  readonly detail: string;
  constructor(location: SpecLocation, detail: string) {
    super(formatSpecMessage(location, detail));
    this.location = location;
    this.detail = detail;
  }
}

function formatSpecMessage(loc: SpecLocation, detail: string): string {
  let where = loc.file;
  if (loc.line !== undefined) where += `:${loc.line}`;
  if (loc.line !== undefined && loc.col !== undefined) where += `:${loc.col}`;
  return loc.path ? `${where}: ${loc.path}: ${detail}` : `${where}: ${detail}`;
}

/** A problem with a user's CSV data file (missing, unreadable, bad row). */
export class CsvError extends UserError {
  constructor(
    readonly file: string,
    detail: string,
    readonly row?: number,
  ) {
    super(row !== undefined ? `${file}:${row}: ${detail}` : `${file}: ${detail}`);
  }
}

/** A problem with a results database: not one of ours, newer schema, locked by another run. */
export class StoreError extends UserError {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** A `query` the database refused or could not run. */
export class QueryError extends UserError {}

/** Bad command-line usage: unknown sweep name, bad flag value. */
export class UsageError extends UserError {}

/** A grid so large it is probably a mistake; `--yes` overrides. */
export class GridTooLargeError extends UserError {}

/** A distributed-mode problem the user can fix: bad Redis URL, unreachable server. */
export class RedisError extends UserError {}

/** Thrown inside a worker for a job it must refuse (unknown format version, malformed payload). */
export class JobFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobFormatError';
  }
}

/**
 * The training thread's tfjs backend failed mid-cohort (its wasm heap is exhausted, a kernel trapped):
 * its state may be corrupt, so the thread must never train another cohort (worker/task.ts retires it).
 */
export class BackendFailure extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackendFailure';
  }
}

// ---- why a running cohort was stopped: the reason given to AbortController.abort(), checked with instanceof

/** A cohort ran past execution.trial_timeout: its trials fail with this message. */
export class TrialTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`cohort timed out after ${formatDuration(timeoutMs)} (execution.trial_timeout)`);
    this.name = 'TrialTimeout';
  }
}

/**
 * A cohort stopped before it finished for a reason that is not its own: a signal (Ctrl-C), a worker
 * handing its jobs back, the database becoming unwritable. Its trials are interrupted, not failed,
 * and run again next time.
 */
export class Interrupted extends Error {
  constructor(message = 'interrupted') {
    super(message);
    this.name = 'Interrupted';
  }
}

/** The exit code for any thrown value: 2 for user errors, 1 otherwise. */
export function exitCodeOf(err: unknown): number {
  return err instanceof UserError ? err.exitCode : 1;
}

/** The first line of an error's message (or of any thrown value): what one-line reports show. */
export function firstLine(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.split('\n')[0].trim() || (err instanceof Error ? err.name : 'error');
}

/**
 * Reaching the database file: what `--db` may name, and what the environment can refuse (an
 * unwritable folder, a read-only one), as one-line StoreErrors instead of internal errors.
 *
 * A WAL database is read through a -shm file that SQLite keeps next to it; in a read-only folder
 * where none exists, SQLite cannot open it even read-only. better-sqlite3 is built without URI file
 * names, so the `immutable=1` way around that is out of reach; instead the reader opens a private
 * copy (the file and its -wal) in a temporary folder, which is what SQLite would read in place.
 */
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, type Stats, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { StoreError } from '../errors.js';
import { fileKind, formatBytes, systemError } from '../text.js';

/** The largest database (with its -wal) copied to be read out of a read-only folder. */
export const MAX_READ_COPY_BYTES = 2 ** 30;

function statOrNull(p: string): Stats | null {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

/**
 * Check what `--db` names before SQLite opens it: a regular file, or (when creating) nothing yet, in
 * a folder that can be made. A device or a FIFO is refused: SQLite would write a journal beside
 * /dev/null, or block on a FIFO.
 */
export function checkDatabasePath(file: string, create: boolean): void {
  const st = statOrNull(file);
  if (!st) {
    if (!create) throw new StoreError(file, 'no such database (run a sweep first, or pass --db)');
    const dir = dirname(file);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new StoreError(file, `cannot create its folder ${dir}: ${whyNoFolder(dir, e)}`);
    }
    return;
  }
  if (st.isDirectory()) throw new StoreError(file, 'is a folder, not a database');
  if (!st.isFile()) throw new StoreError(file, `is ${fileKind(st)}, not a database file`);
}

/** Why a folder could not be made: the nearest existing part of its path is not a folder, or not writable. */
function whyNoFolder(dir: string, e: unknown): string {
  let at = dirname(dir);
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  const st = statOrNull(at);
  if (st && !st.isDirectory()) return `${at} is ${fileKind(st)}, not a folder`;
  try {
    accessSync(at, constants.W_OK);
  } catch (denied) {
    return `${at} is not writable (${systemError(denied)})`;
  }
  return systemError(e);
}

/** SQLite result codes that mean the file or its folder cannot be read or written here. */
function isAccessError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && /^SQLITE_(CANTOPEN|READONLY|PERM|AUTH|IOERR)/.test(code);
}

/** A SQLite error while opening, as a StoreError when the environment is to blame; anything else unchanged. */
export function openError(file: string, e: unknown, readonly: boolean): unknown {
  if (e instanceof StoreError) return e;
  const code = (e as { code?: unknown }).code;
  if (code === 'SQLITE_NOTADB') return new StoreError(file, 'not a SQLite database');
  if (!isAccessError(e)) return e;
  const why = `${(e as Error).message} (${String(code)})`;
  return readonly
    ? new StoreError(file, `cannot read it: ${why}`)
    : new StoreError(file, `cannot write to it: ${why}; a sweep writes the database, its -wal and -shm files, so its folder must be writable`);
}

/** Whether a failed read-only open is the read-only-folder case a private copy gets around. */
export function needsReadCopy(file: string, e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY_DIRECTORY' || code === 'SQLITE_READONLY') && !existsSync(`${file}-shm`);
}

/**
 * Copy the database and its -wal into a fresh temporary folder, removed when the process exits, and
 * return the copy's path. StoreError when it is too large to copy.
 */
export function readCopy(file: string): string {
  const wal = `${file}-wal`;
  const size = (statOrNull(file)?.size ?? 0) + (statOrNull(wal)?.size ?? 0);
  if (size > MAX_READ_COPY_BYTES) {
    throw new StoreError(
      file,
      `cannot be read where it is: its folder is read-only and has no ${basename(file)}-shm, which SQLite needs for a WAL database, and at ${formatBytes(size)} it is too large to read from a copy; copy it (with its -wal) to a writable folder`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'focal-sweep-read-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const copy = join(dir, basename(file));
  try {
    copyFileSync(file, copy);
    if (existsSync(wal)) copyFileSync(wal, `${copy}-wal`);
  } catch (e) {
    throw new StoreError(file, `cannot read it (${systemError(e)})`);
  }
  return copy;
}

/**
 * Small helpers for the read-side commands: which database to read when --db is left out, and how
 * to open the report in a browser (when there is one).
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { UsageError } from '../errors.js';

/**
 * The --db to use: the given one, or the only results/*.db under `cwd`. UsageError (exit 2) listing
 * the candidates when there are none or several.
 */
export function resolveDb(db: string | undefined, cwd = process.cwd()): string {
  if (db !== undefined && db !== '') return db;
  const dir = join(cwd, 'results');
  const found =
    existsSync(dir) && statSync(dir).isDirectory()
      ? readdirSync(dir)
          .filter((f) => f.endsWith('.db'))
          .sort()
      : [];
  if (found.length === 1) return join('results', found[0]);
  if (found.length === 0) throw new UsageError('no --db given and no results/*.db here: run a sweep first, or pass --db FILE');
  throw new UsageError(`no --db given and results/ holds ${found.length} databases (${found.join(', ')}): pick one with --db results/NAME.db`);
}

/** An executable named `name` on PATH, or null. */
export function which(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Open a file in the desktop's browser with xdg-open (Linux), open (macOS) or start (Windows), if
 * present. Never throws and never waits: returns the opener used, or null when there is none.
 */
export function openInBrowser(file: string): string | null {
  let cmd: string;
  let args: string[];
  if (process.platform === 'win32') {
    cmd = 'cmd';
    args = ['/c', 'start', '""', file];
  } else {
    const opener = process.platform === 'darwin' ? 'open' : 'xdg-open';
    if (!which(opener)) return null;
    cmd = opener;
    args = [file];
  }
  try {
    const child = spawn(cmd, args, { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
    return cmd;
  } catch {
    return null;
  }
}

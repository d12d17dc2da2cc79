/**
 * Where a worker may read data: CSV paths in jobs resolve under the worker's data root (--data-root,
 * by default its working directory). A path outside it, after every symbolic link and `..` is
 * resolved, or anything that is not a regular file (a FIFO would block, a device never end), is
 * refused before anything is read; the reasons never quote a file and never tell whether something
 * outside the root exists.
 */
import { realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { UsageError } from '../errors.js';

/** `path` relative to `folder` when it lies inside it (not the folder itself), else null. Purely lexical. */
export function insideFolder(folder: string, path: string): string | null {
  const rel = relative(folder, path);
  return rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel) ? null : rel;
}

/** A job's path as shown in messages: it comes from the queue, so it is cut to a sane length. */
export function shownPath(p: unknown): string {
  const s = String(p);
  return s.length > 200 ? `${s.slice(0, 200)}… (${s.length} characters)` : s;
}

export type Located = { file: string } | { refused: string } | { missing: string };

export class DataRoot {
  private constructor(
    /** The root folder with every symbolic link resolved. */
    readonly dir: string,
  ) {}

  /** The data root given on the command line; UsageError (exit 2) when it is not a folder. */
  static open(dir: string): DataRoot {
    let real: string;
    try {
      real = realpathSync(dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UsageError(`--data-root ${dir}: ${code === 'ENOENT' ? 'no such folder' : `cannot open it (${code ?? 'error'})`}`);
    }
    if (!statSync(real).isDirectory()) throw new UsageError(`--data-root ${dir}: not a folder`);
    return new DataRoot(real);
  }

  /**
   * Where the file a job names is on this machine: `file` (its real path) when it is a regular file
   * inside the root; `refused` for a path outside the root or not a regular file (the job must not
   * run); `missing` when nothing is there (another worker may have it).
   */
  locate(path: unknown): Located {
    const p = shownPath(path);
    if (typeof path !== 'string' || path === '' || path.includes('\0')) return { refused: `data file ${p}: not a file path` };
    const outside = { refused: `data file ${p}: outside this worker's data root ${this.dir} (--data-root)` };
    const candidate = resolve(this.dir, path);
    if (insideFolder(this.dir, candidate) === null) return outside;
    let real: string;
    try {
      real = realpathSync(candidate);
    } catch {
      // Nothing there. If the part of the path that exists already leads out of the root (a link),
      // say what is said for a file out there, so the answer does not tell whether one exists.
      const reached = existingPart(candidate);
      if (reached !== this.dir && insideFolder(this.dir, reached) === null) return outside;
      return { missing: `data file ${p} not found under this worker's data root ${this.dir} (--data-root)` };
    }
    if (insideFolder(this.dir, real) === null) return outside;
    if (!statSync(real).isFile()) return { refused: `data file ${p}: not a regular file` };
    return { file: real };
  }
}

/** The real path of the longest leading part of `path` that exists. */
function existingPart(path: string): string {
  for (let p = path; ; p = dirname(p)) {
    try {
      return realpathSync(p);
    } catch {
      if (dirname(p) === p) return p;
    }
  }
}

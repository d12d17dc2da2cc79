/**
 * Where a report may be written. The report replaces its file (a temporary file renamed over it), so
 * a wrong path destroyed what was there: the results database (`report --out x.db`), the spec, a
 * device (`--out /dev/null` as root). Paths are compared as the files they name (symlinks and `./`
 * resolved, hard links by inode), not as strings.
 */
import { closeSync, openSync, readSync, realpathSync, type Stats, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { slug } from '../labels.js';
import { fileKind } from '../text.js';

/** How a report is recognised: html.ts writes this into the head of every report, within its first KBs. */
const REPORT_MARKER = /<meta name="generator" content="focal-sweep[ "]/;
/** Bytes read from an existing file to look for the marker. */
const MARKER_WITHIN = 4096;

export interface ReportTargetContext {
  /** The flag that named the path, for messages: `--out` or `--report-out`. */
  flag: string;
  /** The results database the report is built from. */
  db: string;
  /** The sweep's spec file (`run`), never to be overwritten. */
  spec?: string;
  /** Replace an existing file that is not a focal-sweep report. */
  force?: boolean;
}

/** Default report path: next to the database, named after the sweep (results/<name>.html). */
export function defaultReportPath(dbPath: string, sweepName: string): string {
  return join(dirname(dbPath), `${slug(sweepName)}.html`);
}

/** The absolute path a (possibly missing) file would have with every symlink of its existing part resolved. */
function canonical(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(canonical(parent), basename(abs));
  }
}

function statOrNull(p: string): Stats | null {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

/** Whether the file starts like a focal-sweep report. */
function isOurReport(p: string): boolean {
  const fd = openSync(p, 'r');
  try {
    const head = Buffer.alloc(MARKER_WITHIN);
    const n = readSync(fd, head, 0, MARKER_WITHIN, 0);
    return REPORT_MARKER.test(head.subarray(0, n).toString('utf8'));
  } finally {
    closeSync(fd);
  }
}

/**
 * Refuse (UsageError, one line) a report path that is the database or its -wal/-shm/-journal
 * files, the spec, not a regular file, or an existing file that is not a focal-sweep report (the
 * last unless `force`). Checks only; writes nothing.
 */
export function checkReportTarget(out: string, ctx: ReportTargetContext): void {
  const where = `${ctx.flag} ${out}`;
  const target = canonical(out);
  const targetStat = statOrNull(out);
  const dbPath = canonical(ctx.db);
  const protectedFiles: [string, string][] = [
    [dbPath, 'the results database itself'],
    [`${dbPath}-wal`, "the results database's write-ahead log"],
    [`${dbPath}-shm`, "the results database's shared-memory file"],
    [`${dbPath}-journal`, "the results database's journal"],
  ];
  if (ctx.spec !== undefined) protectedFiles.push([canonical(ctx.spec), "the sweep's spec file"]);
  for (const [file, what] of protectedFiles) {
    const fileStat = targetStat ? statOrNull(file) : null;
    const sameInode = targetStat && fileStat && targetStat.dev === fileStat.dev && targetStat.ino === fileStat.ino;
    if (target === file || sameInode) throw new UsageError(`${where}: is ${what}; the report needs a file of its own, such as ${suggestion(ctx.db)}`);
  }
  if (!targetStat) {
    // a symlink to nowhere would be replaced by the report: fine; anything else missing is a new file
    return;
  }
  if (targetStat.isDirectory()) throw new UsageError(`${where}: is a folder; give a file name such as ${join(out, 'report.html')}`);
  if (!targetStat.isFile()) throw new UsageError(`${where}: is ${fileKind(targetStat)}, not a regular file; the report is written only to a file`);
  if (!ctx.force && !isOurReport(out)) {
    throw new UsageError(`${where}: exists and is not a focal-sweep report; pass --force to replace it, or choose another file`);
  }
}

/** An example report path next to the database. */
function suggestion(db: string): string {
  return join(dirname(db), `${basename(db).replace(/\.[^.]*$/, '')}.html`);
}

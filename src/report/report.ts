/**
 * `focal-sweep report`: read a results database (read-only, safe while a sweep writes to it) and
 * write the self-contained HTML report.
 */
import { mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from '../errors.js';
import { ownVersion } from '../machine.js';
import { openDatabase } from '../store/store.js';
import { buildReportModel, type ReportModel } from './data.js';
import { renderHtml } from './html.js';
import { checkReportTarget, defaultReportPath } from './output-path.js';

export { defaultReportPath };

export interface WriteReportOptions {
  /** Results database. */
  db: string;
  /** Sweep name; default: the only sweep in the database. */
  sweep?: string;
  /** Output file; default: <db folder>/<sweep name>.html. */
  out?: string;
  /** Metric that ranks settings; default: the sweep's objective. */
  objective?: string;
  /** Fixed "generated at" time (tests). */
  now?: Date;
  /**
   * The caller is the database's writer (the end of `run`): open it read-write so that closing it
   * removes the -wal/-shm files, as a read-only connection cannot. Default false.
   */
  writer?: boolean;
  /** Replace an existing file at `out` that is not a focal-sweep report. Default false. */
  force?: boolean;
  /** The sweep's spec file, never overwritten (`run`). */
  spec?: string;
  /** The flag that named `out`, for messages. Default `--out`. */
  flag?: string;
}

export interface WrittenReport {
  path: string;
  sweep: string;
  bytes: number;
  ms: number;
  model: ReportModel;
}

/** Build the report's HTML without writing it. */
export async function buildReport(opts: Omit<WriteReportOptions, 'out'>): Promise<{ html: string; model: ReportModel }> {
  const db = openDatabase(opts.db, { readonly: !opts.writer });
  let model: ReportModel;
  try {
    // one read transaction: a consistent snapshot even while a sweep keeps writing
    model = db.transaction(() => buildReportModel(db, { sweep: opts.sweep, objective: opts.objective, dbPath: opts.db, now: opts.now }))();
  } finally {
    db.close();
  }
  return { html: await renderHtml(model, ownVersion()), model };
}

export async function writeReport(opts: WriteReportOptions): Promise<WrittenReport> {
  const t0 = performance.now();
  const { html, model } = await buildReport(opts);
  const path = opts.out ?? defaultReportPath(opts.db, model.analysis.sweep.name);
  checkReportTarget(path, { flag: opts.flag ?? '--out', db: opts.db, spec: opts.spec, force: opts.force });
  try {
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, html);
    try {
      renameSync(tmp, path);
    } catch (e) {
      unlinkSync(tmp);
      throw e;
    }
  } catch (e) {
    throw new UsageError(`${opts.flag ?? '--out'} ${path}: cannot write: ${(e as Error).message}`);
  }
  return { path, sweep: model.analysis.sweep.name, bytes: Buffer.byteLength(html), ms: performance.now() - t0, model };
}

/**
 * The read-side commands for the CLI: `report`, `best`, `query`, and the report written at the end
 * of `run`. Builders declare the options (and their --help text); handlers do the work.
 */
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { stdoutChunks } from '../stdio.js';
import { openDatabase } from '../store/store.js';
import { quoted } from '../text.js';
import { METRIC_NAMES, METRICS } from '../types.js';
import { BEST_BY, BEST_COLUMNS, type BestBy, bestDisplay, bestRows } from './best.js';
import { FORMATS, writeRows } from './format.js';
import { openInBrowser, resolveDb } from './locate.js';
import { checkReportTarget, defaultReportPath } from './output-path.js';
import { prepareQuery } from './query.js';

const DB_HELP = 'results database [default: the only results/*.db in this folder]';
const FORCE_HELP =
  'let the report replace an existing file that is not a focal-sweep report (never the database, its -wal/-shm, the spec or a non-regular file)';

/** Flag values are checked here rather than with yargs `choices`, so a bad one is a one-line error. */
function oneOf<T extends string>(flag: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${flag}: expected one of ${allowed.join(', ')}; got ${quoted(value)}`);
}

type Out = { write(s: string): unknown };

function kb(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}

// ---------------------------------------------------------------- report

export function reportBuilder(y: Argv) {
  return y
    .option('db', { type: 'string', describe: DB_HELP })
    .option('sweep', { type: 'string', describe: 'sweep name, when the database holds several' })
    .option('out', { alias: 'o', type: 'string', describe: 'HTML file to write [default: next to the database, <sweep name>.html]' })
    .option('objective', { type: 'string', describe: `metric that ranks settings: ${METRIC_NAMES.join(', ')} [default: the sweep's objective]` })
    .option('open', { type: 'boolean', default: false, describe: 'open the report in the browser (xdg-open/open); prints the path when there is none' })
    .option('force', { type: 'boolean', default: false, describe: FORCE_HELP })
    .example('$0 report', 'report of the only results/*.db')
    .example('$0 report --db results/x.db --objective pr_auc --open', 'rank by PR-AUC and open it');
}

export async function reportHandler(
  argv: { db?: string; sweep?: string; out?: string; objective?: string; open?: boolean; force?: boolean },
  out: Out = process.stdout,
): Promise<void> {
  const db = resolveDb(argv.db);
  if (argv.objective !== undefined) oneOf('objective', argv.objective, METRIC_NAMES);
  // a given --out is checked before the report is built (the default one needs the sweep's name)
  if (argv.out !== undefined) checkReportTarget(argv.out, { flag: '--out', db, force: argv.force });
  // loaded on demand: vega and vega-lite are only needed for the report
  const { writeReport } = await import('./report.js');
  const r = await writeReport({ db, sweep: argv.sweep, out: argv.out, objective: argv.objective, force: argv.force });
  out.write(`Report: ${r.path} (${kb(r.bytes)}, ${(r.ms / 1000).toFixed(1)} s)\n`);
  if (argv.open) {
    const how = openInBrowser(r.path);
    out.write(how ? `Opening it with ${how}\n` : `No browser opener (xdg-open/open) found: open ${r.path} yourself\n`);
  }
}

/**
 * Options that `run` gets for its end-of-run report, and the hooks that check its path before the
 * sweep and write it after. Writing never fails the run: a problem is printed as a line of the summary.
 */
export function addRunReportOptions<T>(y: Argv<T>) {
  return y
    .option('report', { type: 'boolean', default: true, describe: 'write the HTML report when the run ends (--no-report to skip)' })
    .option('report-out', { type: 'string', describe: 'where to write it [default: next to the database, <sweep name>.html]' })
    .option('force', { type: 'boolean', default: false, describe: FORCE_HELP })
    .option('open', { type: 'boolean', default: false, describe: 'open the report in the browser when the run ends' });
}

type RunReportArgs = { report?: boolean; 'report-out'?: string; open?: boolean; force?: boolean; spec?: string };

/**
 * Check the report's path before the sweep runs (a bad one would otherwise be found only after
 * it): UsageError, nothing written. The same checks run again when the report is written.
 */
export function runReportCheck(argv: RunReportArgs): ((ctx: { db: string; sweep: string }) => void) | undefined {
  if (argv.report === false) return undefined;
  return ({ db, sweep }) => {
    const out = argv['report-out'] ?? defaultReportPath(db, sweep);
    checkReportTarget(out, { flag: '--report-out', db, spec: argv.spec, force: argv.force });
  };
}

export function runReportHook(argv: RunReportArgs): ((s: { db: string; sweep: string }) => Promise<string[]>) | undefined {
  if (argv.report === false) return undefined;
  // also when nothing new ran: the report is rebuilt so it always matches the database
  return async (s) => {
    try {
      const { writeReport } = await import('./report.js');
      const r = await writeReport({
        db: s.db,
        sweep: s.sweep,
        out: argv['report-out'],
        writer: true,
        force: argv.force,
        spec: argv.spec,
        flag: '--report-out',
      });
      const lines = [`Report: ${r.path}`];
      if (argv.open && !openInBrowser(r.path)) lines.push(`(no browser opener found: open ${r.path} yourself)`);
      return lines;
    } catch (e) {
      return [`Report: not written: ${(e as Error).message}`];
    }
  };
}

// ---------------------------------------------------------------- best

export function bestBuilder(y: Argv) {
  return y
    .option('db', { type: 'string', describe: DB_HELP })
    .option('sweep', { type: 'string', describe: 'sweep name, when the database holds several' })
    .option('metric', { alias: 'm', type: 'string', describe: `metric to rank by: ${METRIC_NAMES.join(', ')} [default: the sweep's objective]` })
    .option('by', {
      type: 'string',
      default: 'imbalance',
      describe:
        'imbalance: rank within each imbalance ratio; family: the best of each family (each loss, each resampling mode) per ratio; none: rank over all settings',
    })
    .option('top', { alias: 'k', type: 'number', describe: 'settings to show per imbalance ratio (--by imbalance) or in all (--by none) [default: 3 / 10]' })
    .option('format', { alias: 'f', type: 'string', default: 'table', describe: 'table for people; csv or json (full precision, more columns) for programs' })
    .example('$0 best', 'top 3 settings per imbalance ratio by the objective')
    .example('$0 best -m pr_auc --by none -k 5 -f csv', 'overall top 5 by PR-AUC, as CSV');
}

export async function bestHandler(argv: { db?: string; sweep?: string; metric?: string; by?: string; top?: number; format?: string }): Promise<void> {
  const format = oneOf('format', argv.format ?? 'table', FORMATS);
  const by = oneOf<BestBy>('by', argv.by ?? 'imbalance', BEST_BY);
  if (argv.metric !== undefined) oneOf('metric', argv.metric, METRIC_NAMES);
  const file = resolveDb(argv.db);
  if (argv.top !== undefined && (!Number.isInteger(argv.top) || argv.top < 1))
    throw new UsageError(`--top: must be a whole number ≥ 1, got ${String(argv.top)}`);
  const db = openDatabase(file, { readonly: true });
  let result: ReturnType<typeof bestRows>;
  try {
    result = db.transaction(() => bestRows(db, { sweep: argv.sweep, metric: argv.metric, by, top: argv.top }))();
  } finally {
    db.close();
  }
  const out = stdoutChunks();
  const write = (s: string) => out.write(s);
  const { analysis, rows, answers } = result;
  if (format === 'table') {
    if (!rows.length) {
      write(`No complete trials in sweep ${JSON.stringify(analysis.sweep.name)} yet.\n`);
    } else {
      const d = bestDisplay(rows, analysis.metric);
      const where =
        analysis.selection === 'validation' ? 'ranked by the validation mean, reported on test' : 'ranked and reported on test (no validation split)';
      write(`${analysis.sweep.name}: best by ${METRICS[analysis.metric].label} (${analysis.higherIsBetter ? 'higher' : 'lower'} is better), ${where}\n`);
      for (const a of answers) write(`${a}\n`);
      write('\n');
      await writeRows(write, 'table', d.columns, d.rows, { footer: false, maxWidth: 80, right: new Set(['#', 'seeds']) });
      write(
        "* chosen on validation: its verdict reads its 95% CI; other rows are one of many compared, so their verdicts use Holm's correction. " +
          'Δ = setting − best BCE at the same ratio, paired by seed. lenses: fixed threshold, tuned thresholds, ranking (PR-AUC); + better, − worse, ~ no clear difference, = baseline.\n',
      );
    }
  } else {
    await writeRows(
      write,
      format,
      BEST_COLUMNS as string[],
      rows.map((r) => BEST_COLUMNS.map((c) => r[c])),
    );
  }
  await out.end();
}

// ---------------------------------------------------------------- query

export function queryBuilder(y: Argv) {
  return y
    .positional('sql', { type: 'string', describe: 'one SQL statement that reads (SELECT, WITH, VALUES, EXPLAIN, read-only PRAGMA)' })
    .option('db', { type: 'string', describe: DB_HELP })
    .option('format', {
      alias: 'f',
      type: 'string',
      default: 'table',
      describe: 'table (aligned, long cells cut at 60 characters), csv (RFC 4180) or json (an array of row objects)',
    })
    .example('$0 query "select * from best_by_imbalance"', 'the best setting at each imbalance ratio')
    .example('$0 query "select * from results limit 10" -f csv', 'ten trials as CSV');
}

export async function queryHandler(argv: { sql?: string; db?: string; format?: string }): Promise<void> {
  const format = oneOf('format', argv.format ?? 'table', FORMATS);
  const file = resolveDb(argv.db);
  const q = prepareQuery(file, argv.sql ?? '');
  try {
    // rows stream from SQLite as fast as the reader takes them (a pipe to a slow reader waits)
    const out = stdoutChunks();
    await writeRows((s) => out.write(s), format, q.columns, q.rows);
    await out.end();
  } finally {
    q.close();
  }
}

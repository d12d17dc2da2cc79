/**
 * `focal-sweep query "<SQL>"`: one read-only statement against a results database. The database is
 * opened read-only (and with PRAGMA query_only), and only a single statement that reads and returns
 * rows is run, so nothing can change the file; WAL lets it run while a sweep is writing.
 */
import type Database from 'better-sqlite3';
import { QueryError } from '../errors.js';
import { openDatabase } from '../store/store.js';

export interface PreparedQuery {
  db: Database.Database;
  columns: string[];
  /** Rows as arrays, in column order (lazy). */
  rows: IterableIterator<unknown[]>;
  close(): void;
}

const TABLES_HINT = 'tables: sweeps, runs, trials, epochs, artifacts, datasets; views: results, settings, best_by_imbalance, failures';

/** First SQL keyword, skipping comments and whitespace (for error messages). */
export function firstKeyword(sql: string): string {
  const stripped = sql.replace(/^(\s+|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)+/, '');
  return (/^[A-Za-z]+/.exec(stripped)?.[0] ?? '').toUpperCase();
}

/**
 * Open `file` read-only and prepare `sql`. Throws QueryError (exit 2, one line) for empty SQL,
 * several statements, syntax errors, unknown tables and anything that is not a read.
 */
export function prepareQuery(file: string, sql: string): PreparedQuery {
  if (!sql.trim()) throw new QueryError('query: no SQL given (e.g. focal-sweep query "select * from results limit 5")');
  const db = openDatabase(file, { readonly: true });
  try {
    db.pragma('query_only = ON');
    let stmt: Database.Statement;
    try {
      stmt = db.prepare(sql);
    } catch (e) {
      const msg = (e as Error).message;
      if (/more than one statement/.test(msg)) {
        throw new QueryError('query: one statement at a time: this SQL holds more than one (run them as separate queries)');
      }
      if (/contains no statements/.test(msg)) throw new QueryError('query: the SQL holds only comments, no statement');
      if (/no such (table|column)/.test(msg)) throw new QueryError(`query: ${msg} (${TABLES_HINT})`);
      throw new QueryError(`query: ${msg}`);
    }
    const kw = firstKeyword(sql);
    if (!stmt.reader || (!stmt.readonly && !isJournalModeQuery(sql))) {
      const what = kw ? `${kw} ` : '';
      throw new QueryError(
        `query: refused ${what}statement: the database is opened read-only and query runs only a statement that reads rows ` +
          `(SELECT, WITH, VALUES, EXPLAIN or a read-only PRAGMA)`,
      );
    }
    stmt.raw(true);
    const columns = stmt.columns().map((c) => c.name);
    let rows: IterableIterator<unknown[]>;
    try {
      rows = stmt.iterate() as IterableIterator<unknown[]>;
    } catch (e) {
      throw new QueryError(`query: ${(e as Error).message}`);
    }
    return { db, columns, rows: wrapErrors(rows), close: () => db.open && db.close() };
  } catch (e) {
    if (db.open) db.close();
    throw e;
  }
}

/**
 * `pragma journal_mode` without a value only reports the mode, but SQLite flags the statement as one
 * that may write (the same pragma with a value switches modes); the read-only connection and
 * query_only would refuse a switch anyway.
 */
function isJournalModeQuery(sql: string): boolean {
  const stripped = sql.replace(/(\s+|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)+/g, ' ').trim();
  return /^pragma\s+(?:(?:\w+|"[^"]*")\s*\.\s*)?journal_mode\s*;?$/i.test(stripped);
}

/** SQLite errors raised while stepping (e.g. a bad function call) become QueryErrors. */
function* wrapErrors(it: IterableIterator<unknown[]>): IterableIterator<unknown[]> {
  try {
    for (;;) {
      let r: IteratorResult<unknown[]>;
      try {
        r = it.next();
      } catch (e) {
        throw new QueryError(`query: ${(e as Error).message}`);
      }
      if (r.done) return;
      yield r.value;
    }
  } finally {
    it.return?.();
  }
}

/** Run a query and collect every row (tests, small results). */
export function runQuery(file: string, sql: string): { columns: string[]; rows: unknown[][] } {
  const q = prepareQuery(file, sql);
  try {
    return { columns: q.columns, rows: [...q.rows] };
  } finally {
    q.close();
  }
}

/** Read-only SQL against a results database, for assertions. */
import Database from 'better-sqlite3';

export function queryDb(db: string, sql: string): Record<string, unknown>[] {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    d.close();
  }
}

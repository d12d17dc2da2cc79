/**
 * `focal-sweep query`: read-only (writes, ATTACH and PRAGMA assignments refused with one line, exit
 * 2, the file untouched), works while another connection is writing, CSV and JSON parse back to the
 * same rows, aligned tables, and the --db default.
 */

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueryError, UsageError } from '../src/errors.js';
import { csvField, formatTable, uniqueNames, writeRows } from '../src/report/format.js';
import { resolveDb } from '../src/report/locate.js';
import { firstKeyword, prepareQuery, runQuery } from '../src/report/query.js';
import { CLI } from './helpers/cli.js';
import { cli, type Fixture, makeFixtureDb } from './helpers/report-fixture.js';

/** RFC 4180 parser: quoted fields may hold commas, quotes ("") and newlines; an unquoted empty field is NULL. */
function parseCsv(text: string): (string | null)[][] {
  const rows: (string | null)[][] = [];
  let row: (string | null)[] = [];
  let i = 0;
  while (i < text.length) {
    let field: string | null;
    if (text[i] === '"') {
      let s = '';
      i++;
      for (;;) {
        if (text[i] === '"' && text[i + 1] === '"') {
          s += '"';
          i += 2;
        } else if (text[i] === '"') {
          i++;
          break;
        } else s += text[i++];
      }
      field = s;
    } else {
      let s = '';
      while (i < text.length && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') s += text[i++];
      field = s === '' ? null : s;
    }
    row.push(field);
    if (text[i] === ',') i++;
    else {
      if (text[i] === '\r') i++;
      if (text[i] === '\n') i++;
      rows.push(row);
      row = [];
    }
  }
  return rows;
}

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

const ROUND_TRIP_SQL = `select key, setting, seed, state, minority_f1, error, gamma, null as null_value, '' as empty,
  'a,b "c"' as tricky, 'line1' || char(10) || 'line2' as multiline, '  padded ' as padded from trials order by id`;

describe('query', () => {
  let fx: Fixture;

  beforeAll(() => {
    fx = makeFixtureDb();
  });
  afterAll(() => rmSync(fx.dir, { recursive: true, force: true }));

  it('runs reads: SELECT, WITH, VALUES, views, read-only PRAGMA', () => {
    expect(runQuery(fx.file, 'select count(*) as n from results').rows).toEqual([[24]]);
    expect(runQuery(fx.file, 'with x as (select 2 as a) select a from x;').rows).toEqual([[2]]);
    expect(runQuery(fx.file, 'values (1, 2)').columns).toHaveLength(2);
    expect(runQuery(fx.file, 'select count(*) from failures').rows).toEqual([[1]]);
    expect(runQuery(fx.file, 'pragma table_info(trials)').rows.length).toBeGreaterThan(40);
    expect(runQuery(fx.file, '-- a comment\nselect 1 -- trailing\n;').rows).toEqual([[1]]);
  });

  it('runs pragma journal_mode (SQLite flags it as a possible write; without a value it only reads)', () => {
    const before = sha(fx.file);
    const mode = runQuery(fx.file, 'select journal_mode from pragma_journal_mode').rows;
    for (const sql of ['pragma journal_mode', 'PRAGMA main.journal_mode;', 'pragma /* which */ journal_mode -- mode']) {
      expect(runQuery(fx.file, sql), sql).toEqual({ columns: ['journal_mode'], rows: mode });
    }
    for (const sql of [
      'pragma journal_mode = delete',
      'pragma journal_mode(memory)',
      'pragma journal_mode; pragma user_version = 1',
      'pragma wal_checkpoint',
    ]) {
      expect(() => runQuery(fx.file, sql), sql).toThrow(QueryError);
    }
    expect(sha(fx.file)).toBe(before);
  });

  it('refuses every kind of write and leaves the file untouched', () => {
    const before = sha(fx.file);
    const writes = [
      "insert into sweeps (name, spec_text, objective, created_at, updated_at) values ('x', '', 'minority_f1', '', '')",
      "update trials set state = 'failed'",
      'delete from trials',
      'drop table trials',
      'drop view results',
      'create table t (x)',
      'create temp table t (x)',
      `attach database '${join(fx.dir, 'other.db')}' as other`,
      'detach database main',
      'pragma user_version = 99',
      'pragma journal_mode = delete',
      'pragma query_only = off',
      `vacuum into '${join(fx.dir, 'copy.db')}'`,
      'reindex',
      'analyze',
      'begin immediate',
      "insert into sweeps (name) values ('x') returning id",
    ];
    for (const sql of writes) {
      expect(() => runQuery(fx.file, sql), sql).toThrow(QueryError);
      expect(() => runQuery(fx.file, sql), sql).toThrow(/^query: refused [A-Z]* ?statement: the database is opened read-only/);
    }
    expect(sha(fx.file)).toBe(before);
    expect(runQuery(fx.file, 'select count(*) from trials').rows).toEqual([[24]]);
  });

  it('refuses several statements, empty SQL and bad SQL with one clear line', () => {
    expect(() => runQuery(fx.file, 'select 1; select 2')).toThrow(/one statement at a time/);
    expect(() => runQuery(fx.file, 'select 1; delete from trials')).toThrow(/one statement at a time/);
    expect(() => runQuery(fx.file, '  ')).toThrow(/no SQL given/);
    expect(() => runQuery(fx.file, '-- only a comment')).toThrow(/only comments/);
    expect(() => runQuery(fx.file, 'selec 1')).toThrow(/syntax error/);
    expect(() => runQuery(fx.file, 'select * from nope')).toThrow(/no such table: nope \(tables: sweeps/);
    expect(firstKeyword('/* x */ -- y\n  insert into t')).toBe('INSERT');
  });

  it('CLI: a refused write exits 2 with one line on stderr', async () => {
    const overflow = await cli(['query', 'select abs(-9223372036854775808)', '--db', fx.file]);
    expect([overflow.code, overflow.stderr]).toEqual([2, 'error: query: integer overflow\n']);
    for (const sql of [`attach '${join(fx.dir, 'a.db')}' as a`, 'select 1; select 2']) {
      const r = await cli(['query', sql, '--db', fx.file]);
      expect(r.code, sql).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n'), sql).toHaveLength(1);
      expect(r.stderr).toMatch(/^error: query: /);
    }
  });

  it('CLI: CSV and JSON parse back to the same rows', async () => {
    const db = new Database(fx.file, { readonly: true });
    const stmt = db.prepare(ROUND_TRIP_SQL).raw(true);
    const columns = stmt.columns().map((c) => c.name);
    const expected = stmt.all() as unknown[][];
    db.close();
    expect(expected).toHaveLength(24);

    const csv = await cli(['query', ROUND_TRIP_SQL, '--db', fx.file, '--format', 'csv']);
    expect(csv.code).toBe(0);
    const parsed = parseCsv(csv.stdout);
    expect(parsed[0]).toEqual(columns);
    expect(parsed.slice(1)).toEqual(expected.map((r) => r.map((v) => (v === null ? null : String(v)))));

    const json = await cli(['query', ROUND_TRIP_SQL, '--db', fx.file, '-f', 'json']);
    expect(json.code).toBe(0);
    const objs = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(objs).toEqual(expected.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]]))));
  });

  it('JSON: no rows is [], repeated column names stay apart', async () => {
    const json = async (sql: string) => {
      const q = prepareQuery(fx.file, sql);
      let out = '';
      try {
        await writeRows((s) => (out += s), 'json', q.columns, q.rows);
      } finally {
        q.close();
      }
      return JSON.parse(out) as unknown;
    };
    expect(await json('select 1 as a where 0')).toEqual([]);
    expect(await json('select 1 as a, 2 as a')).toEqual([{ a: 1, a_2: 2 }]);
    expect(await json("select x'010203' as b, 9007199254740993 as big")).toEqual([{ b: 'AQID', big: 9007199254740992 }]);
  });

  it('quotes CSV fields exactly when needed', () => {
    expect(uniqueNames(['x', 'x', 'x_2', 'y', 'x'])).toEqual(['x', 'x_3', 'x_2', 'y', 'x_4']);
    expect(csvField(null)).toBe('');
    expect(csvField('')).toBe('""');
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('x\ny')).toBe('"x\ny"');
    expect(csvField(' lead')).toBe('" lead"');
    expect(csvField(0.1)).toBe('0.1');
    expect(csvField(Infinity)).toBe('Infinity');
    expect(csvField(-Infinity)).toBe('-Infinity');
    expect(csvField(Buffer.from([1, 2, 3]))).toBe('AQID');
  });

  it('CLI: table output is aligned, NULLs shown, numbers right-aligned', async () => {
    const r = await cli(['query', 'select setting, seed, round(minority_f1, 3) as f1, error from results order by seed, setting limit 5', '--db', fx.file]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('(5 rows)');
    const [head, rule, ...body] = lines.slice(0, -1);
    // column spans from the rule line: every header starts where its dashes start
    const spans = [...rule.matchAll(/-+/g)].map((m) => ({ start: m.index, end: m.index + m[0].length }));
    expect(spans).toHaveLength(4);
    for (const [i, name] of ['setting', 'seed', 'f1', 'error'].entries()) expect(head.slice(spans[i].start, spans[i].end).trim()).toBe(name);
    expect(body).toHaveLength(5);
    for (const l of body) {
      expect(l.slice(spans[3].start)).toBe('NULL');
      // numbers are right-aligned: the last character of the seed and f1 columns is a digit
      expect(l[spans[1].end - 1]).toMatch(/\d/);
      expect(l[spans[2].end - 1]).toMatch(/\d/);
    }
    expect(
      formatTable(
        ['a', 'b'],
        [
          ['x', 1],
          ['long value', 22],
        ],
        { footer: false },
      ),
    ).toBe('a            b\n----------  --\nx            1\nlong value  22\n');
  });

  it('works while another connection holds an open write transaction (WAL)', async () => {
    const writer = new Database(fx.file);
    writer.pragma('journal_mode = WAL');
    writer.exec('BEGIN IMMEDIATE');
    writer.prepare(`UPDATE trials SET state = 'running' WHERE seed = 1`).run();
    try {
      // in-process, and the real CLI (query and report) in child processes, while the lock is held
      expect(runQuery(fx.file, "select count(*) from trials where state = 'running'").rows).toEqual([[0]]);
      const [q, rep] = await Promise.all([
        cli(['query', "select count(*) as n from trials where state = 'complete'", '--db', fx.file, '-f', 'json']),
        cli(['report', '--db', fx.file, '--out', join(fx.dir, 'during-write.html')]),
      ]);
      expect(q.stderr).toBe('');
      expect(JSON.parse(q.stdout)).toEqual([{ n: 23 }]);
      expect(rep.code, rep.stderr).toBe(0);
      expect(rep.stdout).toMatch(/^Report: .*during-write\.html/);
    } finally {
      writer.exec('COMMIT');
    }
    try {
      // committed WAL writes are visible to the next query
      expect(runQuery(fx.file, "select count(*) from trials where state = 'running'").rows).toEqual([[8]]);
    } finally {
      // the fixture is shared by this file's other tests: undo, even after a failure
      writer.prepare(`UPDATE trials SET state = 'complete' WHERE seed = 1`).run();
      writer.prepare(`UPDATE trials SET state = 'failed' WHERE error IS NOT NULL`).run();
      writer.close();
    }
  });
});

describe('a blob too large for one string', () => {
  it('-f json and -f csv stream its base64 whole (a 400 MiB blob was an internal error)', async () => {
    // base64 of 400 MiB is 559,240,536 characters, more than V8's longest string (536,870,888)
    const bytes = 400 * 2 ** 20;
    const base64Length = 4 * Math.ceil(bytes / 3); // ends in '==': 400 MiB = 3k + 1 bytes
    const { file } = makeFixtureDb();
    for (const [format, head, tail] of [
      ['json', '[\n{"b":"', '","n":1}\n]\n'],
      ['csv', 'b,n\r\n', ',1\r\n'],
    ]) {
      const child = spawn(process.execPath, [CLI, 'query', `select zeroblob(${bytes}) as b, 1 as n`, '--db', file, '-f', format], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let length = 0;
      let first = '';
      let last = '';
      // base64 pieces joined at the wrong place would put '=' padding inside the string
      let equalsSigns = 0;
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        if (first.length < 64) first += d.subarray(0, 64).toString('latin1');
        last = (last + d.subarray(-64).toString('latin1')).slice(-64);
        length += d.length;
        for (let at = d.indexOf(0x3d); at >= 0; at = d.indexOf(0x3d, at + 1)) equalsSigns++;
      });
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise((resolve) => child.on('close', resolve));
      expect(stderr, format).toBe('');
      expect(code, format).toBe(0);
      expect(length, format).toBe(head.length + base64Length + tail.length);
      expect(first.startsWith(`${head}AAAA`), format).toBe(true);
      expect(last.endsWith(`AAAA==${tail}`), format).toBe(true);
      expect(equalsSigns, format).toBe(2);
    }
  });
});

describe('--db default', () => {
  it('uses the only results/*.db, else lists them', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'fs-dbdefault-'));
    try {
      expect(() => resolveDb(undefined, cwd)).toThrow(UsageError);
      expect(() => resolveDb(undefined, cwd)).toThrow(/no --db given and no results\/\*\.db here/);
      expect(resolveDb('x.db', cwd)).toBe('x.db');
      mkdirSync(join(cwd, 'results'));
      const fx = makeFixtureDb({ file: join(cwd, 'results', 'one.db') });
      expect(resolveDb(undefined, cwd)).toBe(join('results', 'one.db'));
      const ok = await cli(['query', 'select count(*) as n from results', '-f', 'csv'], { cwd });
      expect(ok.stdout).toBe('n\r\n24\r\n');
      writeFileSync(join(cwd, 'results', 'two.db'), '');
      expect(() => resolveDb(undefined, cwd)).toThrow(/results\/ holds 2 databases \(one\.db, two\.db\): pick one with --db/);
      const r = await cli(['best'], { cwd });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^error: no --db given and results\/ holds 2 databases/);
      rmSync(fx.dir, { recursive: true, force: true });
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

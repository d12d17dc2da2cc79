/**
 * A report on a database whose stored artifacts are corrupt or hostile (edited by SQL here) never
 * crashes and never allocates without bound: the bad grid or points are skipped, and the page says so.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { buildReport } from '../src/report/report.js';
import { MAX_DATASET_POINTS, MAX_GRID_RESOLUTION } from '../src/result-check.js';
import { runCli } from './helpers/cli.js';
import { makeFixtureDb } from './helpers/report-fixture.js';

/** A fresh fixture database with `sql` run against it (or `sql` called with it). */
function corrupted(sql: string | ((db: Database.Database) => void)): string {
  const { file } = makeFixtureDb();
  const db = new Database(file);
  if (typeof sql === 'string') db.exec(sql);
  else sql(db);
  db.close();
  return file;
}

/** Every dataset's first label set to 7. */
function badLabels(db: Database.Database): void {
  for (const { key, label } of db.prepare(`SELECT key, label FROM datasets`).all() as { key: string; label: Buffer }[]) {
    label[0] = 7;
    db.prepare(`UPDATE datasets SET label = ? WHERE key = ?`).run(label, key);
  }
}

/** The notes of the decision-regions section. */
async function decisionNotes(file: string): Promise<string[]> {
  const { html, model } = await buildReport({ db: file, now: new Date('2026-01-01T00:00:00Z') });
  expect(html).toContain('<h2>10. Decision regions</h2>');
  return model.decision.flatMap((row) => row.notes ?? []);
}

describe('corrupt decision grids', () => {
  const cases: [string, string, string][] = [
    ['meta that is not JSON', `UPDATE artifacts SET meta = '{"resolution": 8, oops'`, 'its meta is not JSON'],
    ['meta that is JSON null', `UPDATE artifacts SET meta = 'null'`, 'its meta is not a JSON object'],
    [
      'resolution 1e8 (the report looped over 1e16 cells)',
      `UPDATE artifacts SET meta = json_set(meta, '$.resolution', 1e8)`,
      `its resolution 100000000 is not a whole number from 2 to ${MAX_GRID_RESOLUTION}`,
    ],
    [
      'resolution as text',
      `UPDATE artifacts SET meta = json_set(meta, '$.resolution', 'eight')`,
      `its resolution "eight" is not a whole number from 2 to ${MAX_GRID_RESOLUTION}`,
    ],
    ['a data blob of the wrong size', `UPDATE artifacts SET data = zeroblob(63)`, 'its data holds 63 bytes, not resolution² = 64'],
    ['data that is text', `UPDATE artifacts SET data = 'abc'`, 'its data is not a blob'],
    ['an infinite extent', `UPDATE artifacts SET meta = json_set(meta, '$.x1', 9e999)`, 'its x1 Infinity is not a finite number'],
    ['an empty extent', `UPDATE artifacts SET meta = json_set(meta, '$.x1', -5)`, 'its extent x -1..-5, y -1..1 is empty'],
  ];
  it.each(cases)('%s: the panel is left out with a note', async (_name, sql, reason) => {
    const notes = await decisionNotes(corrupted(sql));
    expect(notes.length).toBeGreaterThan(0);
    for (const note of notes)
      expect(note).toMatch(/^The .+ panel \(.+, seed \d+\) is left out: the decision grid stored for trial \S+ is unreadable \((.+)\)\.$/);
    expect(notes[0]).toContain(`(${reason}).`);
  });
});

describe('corrupt dataset points', () => {
  const cases: [string, string | ((db: Database.Database) => void), string][] = [
    ['an x blob of the wrong size', `UPDATE datasets SET x = zeroblob(7)`, 'its x holds 7 bytes, not 160 for 40 points'],
    ['a label blob of the wrong size', `UPDATE datasets SET label = zeroblob(3)`, 'its label holds 3 bytes, not 40 for 40 points'],
    ['a label that is not 0 or 1', badLabels, 'its label 7 of point 1 is not 0 or 1'],
    ['a huge point count', `UPDATE datasets SET n = 1e9`, `it holds 1000000000 points, more than the ${MAX_DATASET_POINTS} the report reads`],
    ['a point count that is text', `UPDATE datasets SET n = 'many'`, 'its point count "many" is not a whole number'],
  ];
  it.each(cases)('%s: the panel is drawn without them, with a note', async (_name, sql, reason) => {
    const file = corrupted(sql);
    const notes = await decisionNotes(file);
    expect(notes.length).toBeGreaterThan(0);
    expect(notes[0]).toMatch(/^The .+ panel \(.+, seed \d+\) is drawn without its test points: they are unreadable \(.+\)\.$/);
    expect(notes[0]).toContain(`(${reason}).`);
    const { model } = await buildReport({ db: file });
    expect(model.decision.some((row) => row.panels.length > 0)).toBe(true);
  });
});

describe('through the CLI', () => {
  it('report on a database with a hostile grid and params writes the page (exit 0) with the note', async () => {
    const file = corrupted(`UPDATE artifacts SET meta = json_set(meta, '$.resolution', 1e8); UPDATE trials SET params = 'null'`);
    const r = await runCli(['report', '--db', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Report: /);
  });
});

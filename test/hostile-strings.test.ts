/**
 * Huge or hostile strings: a value echoed in a message is cut with its length (a 20 MB CSV cell was
 * echoed whole), and table output shows control and bidi characters as visible escapes, so data
 * printed by `query` cannot drive the terminal.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { formatTable } from '../src/report/format.js';
import { clip, escapeControls, quoted } from '../src/text.js';
import { runCli } from './helpers/cli.js';
import { makeFixtureDb } from './helpers/report-fixture.js';

const ESC = '\u001b';

describe('values in messages', () => {
  it('quoted() and clip() cut to 80 characters with the length, and escape control characters', () => {
    expect(quoted('abc')).toBe('"abc"');
    expect(quoted(42)).toBe('42');
    expect(quoted('x'.repeat(200_000_000 / 1000))).toBe(`"${'x'.repeat(80)}…" (200000 characters)`);
    expect(quoted(`a${ESC}[2Jb\u0007`)).toBe('"a\\u001b[2Jb\\u0007"');
    expect(quoted('\u202eevil')).toBe('"\\u202eevil"');
    expect(clip('y'.repeat(81))).toBe(`${'y'.repeat(80)}… (81 characters)`);
    expect(clip(`ok${ESC}`)).toBe('ok\\x1b');
  });

  it('a huge CSV cell is not echoed whole by run (one short line, exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-hostile-'));
    const cell = 'z'.repeat(20_000_000);
    writeFileSync(join(dir, 'd.csv'), `a,label\n1,0\n${cell},1\n2,1\n3,0\n`);
    writeFileSync(join(dir, 's.yaml'), 'name: hostile\ndata: { generator: csv, path: d.csv, label: label, positive: "1" }\ngrid:\n  loss: [bce]\n');
    const r = await runCli(['run', join(dir, 's.yaml'), '--db', join(dir, 'x.db')]);
    expect(r.stderr).toBe(`error: ${join(dir, 'd.csv')}:3: column "a": "${'z'.repeat(80)}…" (20000000 characters) is not a number\n`);
    expect(r.code).toBe(2);
  });

  it('control characters in a CSV header reach the message escaped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-hostile-'));
    writeFileSync(join(dir, 'd.csv'), `a${ESC}]0;pwned\u0007,label\n1,0\n2,1\n`);
    writeFileSync(join(dir, 's.yaml'), 'name: hostile\ndata: { generator: csv, path: d.csv, label: target, positive: "1" }\ngrid:\n  loss: [bce]\n');
    const r = await runCli(['run', join(dir, 's.yaml'), '--db', join(dir, 'x.db')]);
    expect(r.stderr).toBe(`error: ${join(dir, 'd.csv')}:1: label column "target" not found; columns are: a\\x1b]0;pwned\\x07, label\n`);
  });
});

describe('table output', () => {
  it('escapes ESC, BEL, CR, C1 controls and bidi overrides in cells and column names', () => {
    const t = formatTable([`col${ESC}[31m`], [[`red${ESC}[31m!\u0007 back\rover \u009b2J \u202eabc\u2066 tab\tnl\n`]]);
    expect(t).toBe(['col\\x1b[31m', '-'.repeat(60), 'red\\x1b[31m!\\x07 back\\x0dover \\x9b2J \\u202eabc\\u2066 tab nl↵', '(1 row)', ''].join('\n'));
    expect(escapeControls('plain text, ünïcode, 日本')).toBe('plain text, ünïcode, 日本');
  });

  it('query "select key, error from failures" cannot drive the terminal', async () => {
    const fx = makeFixtureDb();
    const db = new Database(fx.file);
    db.prepare(`UPDATE trials SET error = ? WHERE state = 'failed'`).run(`boom${ESC}[2J${ESC}]0;owned\u0007\r\u202egnp.exe`);
    db.close();
    const r = await runCli(['query', 'select key, error from failures', '--db', fx.file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('boom\\x1b[2J\\x1b]0;owned\\x07\\x0d\\u202egnp.exe');
    // nothing a terminal acts on: no control character but the line ends
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
    expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    // csv and json carry the data exactly, for programs
    const csv = await runCli(['query', 'select error from failures', '--db', fx.file, '-f', 'json']);
    expect(JSON.parse(csv.stdout)).toEqual([{ error: `boom${ESC}[2J${ESC}]0;owned\u0007\r\u202egnp.exe` }]);
  });
});

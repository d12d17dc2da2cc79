/**
 * The CLI's output through pipes: everything written reaches a slow reader before the process
 * exits (stdout and stderr), and a reader that closes the pipe (`| head`) ends the command quietly.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI } from './helpers/cli.js';
import { queryDb } from './helpers/db.js';
import { makeFixtureDb } from './helpers/report-fixture.js';

const ROWS = 150_000;
const MANY_ROWS = `with recursive c(x) as (select 1 union all select x + 1 from c limit ${ROWS}) select x, 'row ' || x as label, x * 0.5 as half from c`;

/**
 * Run the CLI with its stdout and stderr piped to a slow reader: nothing is read until the process
 * has exited or, as it cannot exit with unread output (the fix), a second has passed. Before the
 * fix the process exited at once and whatever the pipe's 64 KB buffer could not hold was lost.
 */
function runWithSlowReader(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pause();
    child.stderr.pause();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let reading = false;
    const startReading = () => {
      if (reading) return;
      reading = true;
      child.stdout.on('data', (d: Buffer) => out.push(d)).resume();
      child.stderr.on('data', (d: Buffer) => err.push(d)).resume();
    };
    const timer = setTimeout(startReading, 1000);
    child.on('error', reject);
    child.on('exit', () => {
      clearTimeout(timer);
      startReading();
    });
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
}

let db: string;
beforeAll(() => {
  db = makeFixtureDb().file;
});

describe('output to a slow reader', () => {
  it(`query -f csv: all ${ROWS.toLocaleString('en')} rows and the header`, async () => {
    const r = await runWithSlowReader(['query', MANY_ROWS, '--db', db, '-f', 'csv']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\r\n');
    expect(lines).toHaveLength(ROWS + 2); // header, rows, and the empty string after the last CRLF
    expect(lines[ROWS]).toBe(`${ROWS},row ${ROWS},${ROWS / 2}`);
  });

  it('query -f json: the whole array', async () => {
    const r = await runWithSlowReader(['query', MANY_ROWS, '--db', db, '-f', 'json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { x: number }[];
    expect(rows).toHaveLength(ROWS);
    expect(rows[ROWS - 1]).toEqual({ x: ROWS, label: `row ${ROWS}`, half: ROWS / 2 });
  });

  it('query table output: every row and the footer', async () => {
    const r = await runWithSlowReader(['query', MANY_ROWS, '--db', db]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(ROWS + 3);
    expect(lines.at(-1)).toBe(`(${ROWS.toLocaleString('en').replace(/,/g, '')} rows)`);
  });

  it('a long error message on stderr is not cut short', async () => {
    // four unknown flags of 100,000 characters (one argument may hold at most 128 KB): a 400 KB
    // message, more than a pipe or a socket pair buffers
    const flags = ['a', 'b', 'c', 'd'].map((c) => c.repeat(100_000));
    const r = await runWithSlowReader(['query', 'select 1', '--db', db, ...flags.map((f) => `--${f}`)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: Unknown arguments: ${flags.join(', ')} (see focal-sweep --help)\n`);
  });
});

/** Spawn the CLI, read stdout until `enough` says so, then close the pipe as `| head` does. */
function closeAfter(args: string[], enough: (text: string) => boolean): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      if (enough(text)) child.stdout.destroy();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe('a reader that closes the pipe (| head)', () => {
  for (const format of ['table', 'csv', 'json']) {
    it(`query -f ${format} ends quietly with exit code 0`, async () => {
      const r = await closeAfter(['query', MANY_ROWS, '--db', db, '-f', format], (t) => t.includes('\n'));
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    });
  }

  it('run carries on to the end of the sweep, silently, and exits with its own code', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-pipe-'));
    writeFileSync(
      join(dir, 's.yaml'),
      'name: pipe\ndata: { samples: 200 }\nmodel: { hidden: [4] }\ntrain: { epochs: 1 }\nexecution: { cohort_size: 2 }\ngrid:\n  seed: [1, 2, 3, 4]\n  loss: [bce]\n',
    );
    const dbFile = join(dir, 'pipe.db');
    const r = await closeAfter(['run', join(dir, 's.yaml'), '--db', dbFile, '--workers', '1', '--progress', 'jsonl', '--no-report'], (t) => t.includes('\n'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(queryDb(dbFile, `select state, count(*) as n from trials group by state`)).toEqual([{ state: 'complete', n: 4 }]);
  });
});

/**
 * A CSV data file must be a regular file of at most the data-file limit: a FIFO, a device or a file
 * over the limit is refused with one line (at spec load and in the worker's reader), never read
 * forever or into memory whole. The reader streams the file in chunks and parses records across
 * chunk boundaries exactly as in one piece.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CsvError } from '../src/errors.js';
import { readCsv } from '../src/worker/data.js';
import { CLI } from './helpers/cli.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'fs-datafile-'));

/**
 * Run node with these arguments. A FIFO blocked the old code in readFileSync, deaf to SIGINT and
 * SIGTERM: a SIGKILL after 20 s turns such a hang into a failed test instead of a stuck suite.
 */
function runNode(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

function csvSpec(dir: string, dataPath: string): string {
  const spec = join(dir, 'csv.yaml');
  writeFileSync(
    spec,
    `name: csvdata\ndata: { generator: csv, path: ${JSON.stringify(dataPath)}, label: label, positive: "1" }\nmodel: { hidden: [4] }\ntrain: { epochs: 1 }\ngrid:\n  seed: [1]\n  loss: [bce]\n`,
  );
  return spec;
}

/** A small valid CSV of 20 rows (7 positive) and 149 bytes. */
function goodCsv(file: string): string {
  const rows = Array.from({ length: 20 }, (_, i) => `${i},${(i % 7) - 3},${i % 3 === 0 ? 1 : 0}`);
  const text = `a,b,label\n${rows.join('\n')}\n`;
  expect(Buffer.byteLength(text)).toBe(149);
  writeFileSync(file, text);
  return file;
}

describe('data.path that is not a regular file', () => {
  it('a FIFO is refused at spec load at once: one line, exit 2, no database', async () => {
    const dir = tmp();
    const fifo = join(dir, 'data.csv');
    execFileSync('mkfifo', [fifo]);
    const r = await runNode([CLI, 'run', csvSpec(dir, fifo), '--db', join(dir, 'x.db')]);
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe(`error: ${fifo}: is a named pipe (FIFO), not a regular file; data is read only from regular files\n`);
    expect(r.code).toBe(2);
    expect(existsSync(join(dir, 'x.db'))).toBe(false);
  });

  it('/dev/zero is refused at spec load (it grew to 16 GB before)', async () => {
    const dir = tmp();
    const r = await runNode([CLI, 'run', csvSpec(dir, '/dev/zero'), '--db', join(dir, 'x.db')]);
    expect(r.stderr).toBe('error: /dev/zero: is a character device, not a regular file; data is read only from regular files\n');
    expect(r.code).toBe(2);
  });

  it("the worker's reader refuses a FIFO put where the planned file was", async () => {
    const dir = tmp();
    const fifo = join(dir, 'data.csv');
    execFileSync('mkfifo', [fifo]);
    const dataJs = fileURLToPath(new URL('../dist/worker/data.js', import.meta.url));
    const script = `
      import { makeDataset } from ${JSON.stringify(dataJs)};
      const data = { generator: 'csv', path: ${JSON.stringify(fifo)}, sha256: 'planned', label: 'label', positive: '1', features: null,
        imbalance: 'native', test_fraction: 0.25, validation_fraction: 0, standardize: true, seed: null };
      try { makeDataset(data, 1); console.log('read it'); } catch (e) { console.log(e.name + ': ' + e.message); }`;
    const r = await runNode(['--input-type=module', '-e', script]);
    expect(r.signal).toBeNull();
    expect(r.stdout).toBe(`CsvError: ${fifo}: is a named pipe (FIFO), not a regular file; data is read only from regular files\n`);
  });
});

describe('the data-file size limit', () => {
  it('a file over the limit is refused with its size, before anything is written', async () => {
    const dir = tmp();
    const file = goodCsv(join(dir, 'data.csv'));
    const r = await runNode([CLI, 'run', csvSpec(dir, file), '--db', join(dir, 'x.db')], { FOCAL_SWEEP_MAX_DATA_BYTES: '100' });
    expect(r.stderr).toBe(`error: ${file}: is 149 bytes, more than the 100 bytes a data file may hold (FOCAL_SWEEP_MAX_DATA_BYTES sets another limit)\n`);
    expect(r.code).toBe(2);
    expect(existsSync(join(dir, 'x.db'))).toBe(false);
  });

  it('the same file within the limit trains', async () => {
    const dir = tmp();
    const file = goodCsv(join(dir, 'data.csv'));
    const r = await runNode([CLI, 'run', csvSpec(dir, file), '--db', join(dir, 'x.db'), '--workers', '1', '-q', '--no-report'], {
      FOCAL_SWEEP_MAX_DATA_BYTES: '149',
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('readCsv refuses it in-process too (a CsvError naming the file)', () => {
    const file = goodCsv(join(tmp(), 'data.csv'));
    const before = process.env.FOCAL_SWEEP_MAX_DATA_BYTES;
    process.env.FOCAL_SWEEP_MAX_DATA_BYTES = '148';
    try {
      expect(() => readCsv(file, { label: 'label', positive: '1', features: null })).toThrow(
        new CsvError(file, 'is 149 bytes, more than the 148 bytes a data file may hold (FOCAL_SWEEP_MAX_DATA_BYTES sets another limit)'),
      );
    } finally {
      if (before === undefined) delete process.env.FOCAL_SWEEP_MAX_DATA_BYTES;
      else process.env.FOCAL_SWEEP_MAX_DATA_BYTES = before;
    }
  });
});

describe('streaming parse', () => {
  it('gives the same table whatever the chunk size: quotes, line breaks in fields, CRLF, CR, BOM, multi-byte characters', () => {
    const file = join(tmp(), 'tricky.csv');
    const text =
      '\ufeff"x, one","say ""hi""",label\r\n' +
      '1.5,"2",pos é\r\n' +
      '"-3","4e-1","neg\nwith a break"\r' +
      '0 , 1,neg 😀\n' +
      '\n' +
      ' 2 , "3" ,pos é\r\n' +
      '7,8,"pos é"';
    writeFileSync(file, text);
    const opts = { label: 'label', positive: 'pos é', features: null };
    const whole = readCsv(file, opts);
    expect(whole.featureNames).toEqual(['x, one', 'say "hi"']);
    expect(whole.nRows).toBe(5);
    expect(Array.from(whole.x)).toEqual([1.5, 2, -3, 0.4, 0, 1, 2, 3, 7, 8]);
    expect(Array.from(whole.y)).toEqual([1, 0, 0, 1, 1]);
    for (let chunk = 1; chunk <= 24; chunk++) expect(readCsv(file, opts, chunk), `chunk ${chunk}`).toEqual(whole);
    // errors name the same line whatever the chunk size
    writeFileSync(file, `a,label\n1,x\n2,"y\n"\n3,x,extra\n`);
    for (const chunk of [1, 3, 7, 1000]) {
      expect(() => readCsv(file, { label: 'label', positive: 'x', features: null }, chunk)).toThrow(`${file}:5: expected 2 fields, found 3`);
    }
  });
});

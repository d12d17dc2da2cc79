/**
 * The report never overwrites what it must not: the database (or its -wal/-shm), the spec, a
 * device, a FIFO, a folder, or a file that is not a focal-sweep report (unless --force). Paths are
 * compared as files (symlinks, hard links, ./ prefixes). Each refusal is one line, exit 2, nothing
 * written; `run --report-out` is checked before the sweep runs.
 */

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { type Fixture, makeFixtureDb } from './helpers/report-fixture.js';

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

let fx: Fixture;
let dbHash: string;
beforeAll(() => {
  fx = makeFixtureDb();
  dbHash = sha(fx.file);
});

/** `report --out <out>` must refuse with exactly `message`, exit 2, and leave the database as it was. */
async function refused(out: string, message: string, extra: string[] = [], cwd?: string) {
  const r = await runCli(['report', '--db', fx.file, '--out', out, ...extra], { cwd });
  expect(r.stderr).toBe(`error: ${message}\n`);
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(sha(fx.file)).toBe(dbHash);
}

const suggestion = () => join(fx.dir, 'fixture.html');

describe('report --out', () => {
  it('refuses the database, by any name: itself, ./ prefixed, a symlink, a hard link', async () => {
    await refused(fx.file, `--out ${fx.file}: is the results database itself; the report needs a file of its own, such as ${suggestion()}`);
    await refused(
      './fixture.db',
      `--out ./fixture.db: is the results database itself; the report needs a file of its own, such as ${suggestion()}`,
      [],
      fx.dir,
    );
    const link = join(fx.dir, 'link.html');
    symlinkSync(fx.file, link);
    await refused(link, `--out ${link}: is the results database itself; the report needs a file of its own, such as ${suggestion()}`);
    const hard = join(fx.dir, 'hard.html');
    linkSync(fx.file, hard);
    await refused(hard, `--out ${hard}: is the results database itself; the report needs a file of its own, such as ${suggestion()}`);
    // a symlinked folder on the way
    const alias = join(fx.dir, 'alias');
    symlinkSync(fx.dir, alias);
    await refused(
      join(alias, 'fixture.db'),
      `--out ${join(alias, 'fixture.db')}: is the results database itself; the report needs a file of its own, such as ${suggestion()}`,
    );
  });

  it('refuses its -wal and -shm files, whether they exist now or not', async () => {
    await refused(
      `${fx.file}-wal`,
      `--out ${fx.file}-wal: is the results database's write-ahead log; the report needs a file of its own, such as ${suggestion()}`,
    );
    await refused(
      `${fx.file}-shm`,
      `--out ${fx.file}-shm: is the results database's shared-memory file; the report needs a file of its own, such as ${suggestion()}`,
    );
    expect(existsSync(`${fx.file}-wal`)).toBe(false);
  });

  it('refuses a device, a FIFO and a folder', async () => {
    await refused('/dev/null', '--out /dev/null: is a character device, not a regular file; the report is written only to a file');
    const fifo = join(fx.dir, 'pipe.html');
    execFileSync('mkfifo', [fifo]);
    await refused(fifo, `--out ${fifo}: is a named pipe (FIFO), not a regular file; the report is written only to a file`);
    const folder = join(fx.dir, 'folder.html');
    mkdirSync(folder);
    await refused(folder, `--out ${folder}: is a folder; give a file name such as ${join(folder, 'report.html')}`);
  });

  it('refuses a file that is not a focal-sweep report unless --force; replaces its own report', async () => {
    const notes = join(fx.dir, 'notes.html');
    writeFileSync(notes, '<html><body>my notes</body></html>');
    await refused(notes, `--out ${notes}: exists and is not a focal-sweep report; pass --force to replace it, or choose another file`);
    expect(readFileSync(notes, 'utf8')).toBe('<html><body>my notes</body></html>');

    const forced = await runCli(['report', '--db', fx.file, '--out', notes, '--force']);
    expect(forced.code).toBe(0);
    expect(readFileSync(notes, 'utf8')).toMatch(/^<!doctype html>[\s\S]*<meta name="generator" content="focal-sweep /);

    // now it is a report: replaced again without --force
    const again = await runCli(['report', '--db', fx.file, '--out', notes]);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
  });

  it('--force never lets it replace the database or a device', async () => {
    await refused(fx.file, `--out ${fx.file}: is the results database itself; the report needs a file of its own, such as ${suggestion()}`, ['--force']);
    await refused('/dev/null', '--out /dev/null: is a character device, not a regular file; the report is written only to a file', ['--force']);
  });
});

describe('run --report-out', () => {
  const SPEC = 'name: target\ndata: { samples: 200 }\nmodel: { hidden: [4] }\ntrain: { epochs: 1 }\ngrid:\n  seed: [1, 2]\n  loss: [bce]\n';

  function sweepDir() {
    const dir = mkdtempSync(join(tmpdir(), 'fs-target-'));
    writeFileSync(join(dir, 'target.yaml'), SPEC);
    return dir;
  }

  it('refuses the database and the spec before the sweep runs: no database is created', async () => {
    const dir = sweepDir();
    const db = join(dir, 'b.db');
    const r1 = await runCli(['run', 'target.yaml', '--db', 'b.db', '--report-out', 'b.db', '-q'], { cwd: dir });
    expect(r1.stderr).toBe('error: --report-out b.db: is the results database itself; the report needs a file of its own, such as b.html\n');
    expect(r1.code).toBe(2);
    const r2 = await runCli(['run', 'target.yaml', '--db', 'b.db', '--report-out', './target.yaml', '-q'], { cwd: dir });
    expect(r2.stderr).toBe("error: --report-out ./target.yaml: is the sweep's spec file; the report needs a file of its own, such as b.html\n");
    expect(r2.code).toBe(2);
    expect(existsSync(db)).toBe(false);
    expect(readFileSync(join(dir, 'target.yaml'), 'utf8')).toBe(SPEC);
  });

  it('refuses a default report path that holds something else, before the sweep; --force replaces it', async () => {
    const dir = sweepDir();
    mkdirSync(join(dir, 'results'));
    writeFileSync(join(dir, 'results', 'target.html'), 'not a report');
    const r = await runCli(['run', 'target.yaml', '-q'], { cwd: dir });
    expect(r.stderr).toBe(
      `error: --report-out ${join('results', 'target.html')}: exists and is not a focal-sweep report; pass --force to replace it, or choose another file\n`,
    );
    expect(r.code).toBe(2);
    expect(existsSync(join(dir, 'results', 'target.db'))).toBe(false);
    const forced = await runCli(['run', 'target.yaml', '-q', '--force', '--workers', '1'], { cwd: dir });
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(`Report: ${join('results', 'target.html')}`);
    expect(readFileSync(join(dir, 'results', 'target.html'), 'utf8')).toContain('<meta name="generator" content="focal-sweep ');
  });
});

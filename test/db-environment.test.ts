/**
 * What the environment can do to the database path, as one line and exit code 2 (never an internal
 * error): a WAL database in a read-only folder is still read by query, best and report; `--db` in a
 * folder that cannot be made or written, or naming a device, is refused.
 *
 * Tests run as root here, and root ignores file permissions: a read-only folder is then a read-only
 * bind mount in a private mount namespace (unshare -m), which disappears with the process. As any
 * other user, the folder's write permission is removed instead.
 */
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { CLI, type CliResult, runCli } from './helpers/cli.js';
import { makeFixtureDb } from './helpers/report-fixture.js';

const isRoot = process.getuid?.() === 0;

/** Run the CLI while `dir` is read-only (see the header). */
async function inReadOnlyFolder(dir: string, args: string[]): Promise<CliResult> {
  if (!isRoot) {
    chmodSync(dir, 0o555);
    try {
      return await runCli(args);
    } finally {
      chmodSync(dir, 0o755);
    }
  }
  const script = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"';
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['-m', 'sh', '-c', script, dir, process.execPath, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const SPEC = 'name: env\ndata: { samples: 200 }\nmodel: { hidden: [4] }\ntrain: { epochs: 1 }\ngrid:\n  seed: [1, 2]\n  loss: [bce]\n';

function specIn(dir: string): string {
  writeFileSync(join(dir, 'env.yaml'), SPEC);
  return join(dir, 'env.yaml');
}

describe('a database in a read-only folder', () => {
  it('query, best and report read it (exit 0), and nothing appears in the folder', async () => {
    const fx = makeFixtureDb();
    const dir = join(fx.dir, 'ro');
    mkdirSync(dir);
    copyFileSync(fx.file, join(dir, 'r.db'));
    const db = join(dir, 'r.db');
    const q = await inReadOnlyFolder(dir, ['query', 'select count(*) as n from trials', '--db', db, '-f', 'csv']);
    expect(q.stderr).toBe('');
    expect(q.stdout).toBe(`n\r\n${fx.trials.length}\r\n`);
    expect(q.code).toBe(0);
    const b = await inReadOnlyFolder(dir, ['best', '--db', db, '-f', 'json']);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    expect((JSON.parse(b.stdout) as unknown[]).length).toBeGreaterThan(0);
    const out = join(fx.dir, 'r.html');
    const r = await inReadOnlyFolder(dir, ['report', '--db', db, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(existsSync(out)).toBe(true);
    expect(existsSync(`${db}-shm`)).toBe(false);
  });

  it('with a write-ahead log a crashed run left (no -shm): its rows are read too', async () => {
    const fx = makeFixtureDb();
    const live = new Database(fx.file);
    live.pragma('wal_autocheckpoint = 0');
    live.prepare(`UPDATE trials SET error = 'only in the WAL' WHERE id = 1`).run();
    // what a kill -9 leaves: the database and its -wal, copied while the writer is still open
    const dir = join(fx.dir, 'crashed');
    mkdirSync(dir);
    copyFileSync(fx.file, join(dir, 'r.db'));
    copyFileSync(`${fx.file}-wal`, join(dir, 'r.db-wal'));
    live.close();
    const q = await inReadOnlyFolder(dir, ['query', 'select error from trials where id = 1', '--db', join(dir, 'r.db'), '-f', 'csv']);
    expect(q.stderr).toBe('');
    expect(q.stdout).toBe('error\r\nonly in the WAL\r\n');
    expect(q.code).toBe(0);
  });

  it('run refuses to write there, in one line', async () => {
    const fx = makeFixtureDb();
    const dir = join(fx.dir, 'ro');
    mkdirSync(dir);
    copyFileSync(fx.file, join(dir, 'r.db'));
    const r = await inReadOnlyFolder(dir, ['run', specIn(fx.dir), '--db', join(dir, 'r.db'), '-q']);
    expect(r.stderr).toMatch(
      new RegExp(
        `^error: ${join(dir, 'r.db')}: cannot write to it: .+ \\(SQLITE_[A-Z_]+\\); a sweep writes the database, its -wal and -shm files, so its folder must be writable\\n$`,
      ),
    );
    expect(r.code).toBe(2);
  });

  it('run refuses a --db whose folder cannot be made there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-env-'));
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    const r = await inReadOnlyFolder(ro, ['run', specIn(dir), '--db', join(ro, 'sub', 'r.db'), '-q']);
    expect(r.stderr).toMatch(
      new RegExp(`^error: ${join(ro, 'sub', 'r.db')}: cannot create its folder ${join(ro, 'sub')}: ${ro} is not writable \\((EROFS|EACCES): [a-z -]+\\)\\n$`),
    );
    expect(r.code).toBe(2);
    expect(existsSync(join(ro, 'sub'))).toBe(false);
  });
});

describe('--db that is not a place for a database', () => {
  it('a path under a regular file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-env-'));
    const db = join(dir, 'env.yaml', 'sub', 'r.db');
    const r = await runCli(['run', specIn(dir), '--db', db, '-q']);
    expect(r.stderr).toBe(`error: ${db}: cannot create its folder ${join(dir, 'env.yaml', 'sub')}: ${join(dir, 'env.yaml')} is a regular file, not a folder\n`);
    expect(r.code).toBe(2);
  });

  it('/dev/null: refused, and no /dev/null-journal is made', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-env-'));
    const journalBefore = existsSync('/dev/null-journal');
    const r = await runCli(['run', specIn(dir), '--db', '/dev/null', '-q']);
    expect(r.stderr).toBe('error: /dev/null: is a character device, not a database file\n');
    expect(r.code).toBe(2);
    if (!journalBefore) expect(existsSync('/dev/null-journal')).toBe(false);
    const q = await runCli(['query', 'select 1', '--db', '/dev/null']);
    expect(q.stderr).toBe('error: /dev/null: is a character device, not a database file\n');
    expect(q.code).toBe(2);
  });
});

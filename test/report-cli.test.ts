/**
 * The report from the command line: written at the end of `run` (path printed, next to the
 * database), `focal-sweep report` with its flags, and --open with and without a browser opener.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, type Fixture, makeFixtureDb } from './helpers/report-fixture.js';

const TINY = `name: tiny
objective: minority_f1
data: { generator: classification, samples: 200, features: 2 }
model: { hidden: [4] }
train: { epochs: 2, batch_size: 64 }
grid:
  imbalance: ["90:10"]
  seed: [1, 2]
  loss:
    - bce
    - focal: { gamma: [2], alpha: [none] }
`;

describe('report from the CLI', () => {
  let fx: Fixture;
  let cwd: string;

  beforeAll(() => {
    fx = makeFixtureDb();
    cwd = mkdtempSync(join(tmpdir(), 'fs-report-cli-'));
  });
  afterAll(() => {
    rmSync(fx.dir, { recursive: true, force: true });
    rmSync(cwd, { recursive: true, force: true });
  });

  it('run writes the report next to the database and prints its path; --no-report skips it', async () => {
    writeFileSync(join(cwd, 'tiny.yaml'), TINY);
    const r = await cli(['run', 'tiny.yaml', '--workers', '1', '--progress', 'none'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toBe(`Report: ${join('results', 'tiny.html')}`);
    const html = readFileSync(join(cwd, 'results', 'tiny.html'), 'utf8');
    expect(html).toContain('<section id="answer"');
    expect(html).toContain('4 of 4 trials complete');
    // the run was the writer: no -wal/-shm left behind by the report
    expect(existsSync(join(cwd, 'results', 'tiny.db-wal'))).toBe(false);

    rmSync(join(cwd, 'results', 'tiny.html'));
    const again = await cli(['run', 'tiny.yaml', '--progress', 'none', '--no-report'], { cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toContain('Report:');
    expect(existsSync(join(cwd, 'results', 'tiny.html'))).toBe(false);

    // report and best find the only results/*.db by themselves, and agree
    const rep = await cli(['report'], { cwd });
    expect(rep.code, rep.stderr).toBe(0);
    expect(rep.stdout).toMatch(/^Report: results\/tiny\.html \(\d+ kB, [\d.]+ s\)\n$/);
    const best = await cli(['best', '--format', 'json', '--top', '1'], { cwd });
    const [top] = JSON.parse(best.stdout) as { setting: string }[];
    expect(readFileSync(join(cwd, 'results', 'tiny.html'), 'utf8')).toContain(
      `<div class="winner">${top.setting === 'bce' ? 'BCE' : top.setting.replace(/&/g, '&amp;')}</div>`,
    );
  });

  it('report --out, --sweep, --objective; bad values exit 2 with one line', async () => {
    const out = join(fx.dir, 'sub', 'r.html');
    const r = await cli(['report', '--db', fx.file, '--out', out, '--sweep', 'fixture', '--objective', 'pr_auc']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.startsWith(`Report: ${out} (`)).toBe(true);
    expect(readFileSync(out, 'utf8')).toContain('this report ranks by PR-AUC');
    for (const [args, message] of [
      [['--sweep', 'nope'], new RegExp(`^error: ${fx.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no sweep named "nope" \\(have: fixture\\)\n$`)],
      [['--objective', 'nope'], /^error: --objective: expected one of minority_f1, [a-z0-9_, ]+; got "nope"\n$/],
      [['--db', join(fx.dir, 'missing.db')], /^error: .*missing\.db: no such database/],
    ] as [string[], RegExp][]) {
      const bad = await cli(['report', '--db', fx.file, ...args]);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr.trimEnd().split('\n').length).toBeLessThanOrEqual(2);
      expect(bad.stderr).toMatch(message);
    }
  });

  it('a database with two sweeps, a folder as --db, an --out under a file: one line each, exit 2, nothing written', async () => {
    const two = makeFixtureDb();
    makeFixtureDb({ name: 'second', file: two.file });
    const cases: [string[], string][] = [
      [['best', '--db', two.file], `${two.file}: holds 2 sweeps (second, fixture); pick one with --sweep`],
      [['report', '--db', two.file], `${two.file}: holds 2 sweeps (second, fixture); pick one with --sweep`],
      [['best', '--db', two.dir], `${two.dir}: is a folder, not a database`],
      [
        ['report', '--db', two.file, '--sweep', 'fixture', '--out', join(two.file, 'r.html')],
        `--out ${join(two.file, 'r.html')}: cannot write: EEXIST: file already exists, mkdir '${two.file}'`,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect([r.code, r.stderr], args.join(' ')).toEqual([2, `error: ${message}\n`]);
    }
    expect(existsSync(join(two.dir, 'fixture.html')) || existsSync(join(two.dir, 'second.html'))).toBe(false);
  });

  it('--open without a browser opener just prints the path', async () => {
    const empty = join(fx.dir, 'empty-path');
    mkdirSync(empty);
    const r = await cli(['report', '--db', fx.file, '--open'], { env: { PATH: empty } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/No browser opener \(xdg-open\/open\) found: open .*fixture\.html yourself/);
  });

  it.runIf(process.platform === 'linux')('--open uses xdg-open when there is one', async () => {
    const bin = join(fx.dir, 'bin');
    mkdirSync(bin);
    const log = join(fx.dir, 'opened.txt');
    writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > "${log}.tmp" && mv "${log}.tmp" "${log}"\n`);
    chmodSync(join(bin, 'xdg-open'), 0o755);
    const opened = new Promise<void>((resolve) => {
      const w = watch(fx.dir, () => {
        if (existsSync(log)) {
          w.close();
          resolve();
        }
      });
    });
    const r = await cli(['report', '--db', fx.file, '--open'], { env: { PATH: `${bin}:/usr/bin:/bin` } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Opening it with xdg-open');
    await opened;
    expect(readFileSync(log, 'utf8')).toBe(join(fx.dir, 'fixture.html'));
  });
});

/**
 * Too few positives to tell: the plan warns with the expected counts per split, the answer marks
 * the ratio instead of giving a verdict, and a ratio that leaves no positive for a split is a spec
 * error quoting the ratio as written, at its line and column.
 */
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { expandGrid, smallSplits } from '../src/scheduler/grid.js';
import { parseSpec } from '../src/scheduler/spec.js';
import { expectedPositives } from '../src/worker/data.js';
import { runCli } from './helpers/cli.js';

const GOOD = fileURLToPath(new URL('./fixtures/csv/good.csv', import.meta.url));

/** good.csv: 40 rows, 12 positive ("yes"). */
const CSV_SPEC = `name: small
data: { generator: csv, path: good.csv, label: label, positive: "yes", test_fraction: 0.3, validation_fraction: 0.25 }
model: { hidden: [4] }
train: { epochs: 2, batch_size: 8 }
grid:
  imbalance: [native, "90:10"]
  seed: [1, 2]
  loss: [bce, {focal: {gamma: [2]}}]
`;

function csvDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fs-small-'));
  copyFileSync(GOOD, join(dir, 'good.csv'));
  writeFileSync(join(dir, 'spec.yaml'), CSV_SPEC);
  return dir;
}

describe('expected positives per split', () => {
  it('from the config alone: stratified like the worker splits, exact for a CSV', () => {
    const dir = csvDir();
    const spec = parseSpec(CSV_SPEC, join(dir, 'spec.yaml'));
    const [native, harsh] = [spec.data, { ...spec.data, imbalance: 0.1 }];
    // native: 12 of 40; test 12 rows (3.6 → 4 positives), validation 7 of the other 28 (2.1 → 2)
    expect(expectedPositives(native, spec.csv ?? undefined)).toEqual({ total: 12, rows: 40, train: 6, val: 2, test: 4 });
    // 90:10 keeps all 28 negatives and 3 positives
    expect(expectedPositives(harsh, spec.csv ?? undefined)).toMatchObject({ total: 3, rows: 31 });
    const small = smallSplits(expandGrid(spec).trials, spec.csv, 10);
    expect(small.map((s) => s.ratio)).toEqual(['native (30.0%)', '90:10']);
    expect(small[0]).toMatchObject({ val: 2, test: 4, approximate: false });
  });
});

describe('through the CLI', () => {
  it('the plan warns, the answer and best say "too few positives to tell" instead of a verdict', async () => {
    const dir = csvDir();
    const run = await runCli(['run', 'spec.yaml', '--db', 'r.db', '--workers', '1', '--backend', 'cpu', '--progress', 'plain'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(
      'warning: at native (30.0%) the splits hold 2 validation and 4 test positives, fewer than 10: the answer there will say "too few positives to tell" (use more samples, a milder ratio or a larger validation or test fraction)',
    );
    expect(run.stdout).toMatch(/warning: at 90:10 the splits hold 1 validation and 1 test positives/);
    expect(run.stdout).toContain('Too few positives to tell at every ratio.');
    const best = await runCli(['best', '--db', 'r.db', '-f', 'json'], { cwd: dir });
    const rows = JSON.parse(best.stdout) as { verdict: string; chosen: boolean; imbalance: string }[];
    expect(rows.filter((r) => r.verdict !== 'baseline').every((r) => r.verdict === 'too_few')).toBe(true);
    // the CSV's own ratio carries its measured share everywhere, and is ordered by it (30% is milder than 10%)
    expect([...new Set(rows.map((r) => r.imbalance))]).toEqual(['native (30.0%)', '90:10']);
    const view = await runCli(
      ['query', 'select imbalance, minority_fraction from best_by_imbalance order by minority_fraction desc', '--db', 'r.db', '-f', 'json'],
      { cwd: dir },
    );
    expect(JSON.parse(view.stdout)).toEqual([
      { imbalance: 'native (30.0%)', minority_fraction: 0.3 },
      { imbalance: '90:10', minority_fraction: expect.closeTo(0.1, 10) },
    ]);
  });

  it('a ratio that leaves too few positives for the splits is a spec error quoting it as written, at its place', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-small-'));
    writeFileSync(join(dir, 'spec.yaml'), 'name: x\ndata: {samples: 1000}\ngrid:\n  imbalance: ["90:10", "999:1"]\n  loss: [bce]\n');
    const r = await runCli(['run', 'spec.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'error: spec.yaml:4:24: grid.imbalance[1]: 999:1 of 1000 samples leaves 1 sample of the minority class; need at least 3 (one per split): use more samples or a milder ratio\n',
    );
    const csv = csvDir();
    writeFileSync(join(csv, 'spec.yaml'), CSV_SPEC.replace('[native, "90:10"]', '[native, "99.9:0.1"]'));
    const c = await runCli(['run', 'spec.yaml'], { cwd: csv });
    expect(c.code).toBe(2);
    expect(c.stderr).toBe(
      `error: spec.yaml:6:23: grid.imbalance[1]: 99.9:0.1 of the 28 rows kept from ${join(csv, 'good.csv')} leaves 0 samples of the minority class; need at least 3 (one per split): use more samples or a milder ratio\n`,
    );
  });
});

/**
 * `focal-sweep best`: the same ranking as the report, in table, CSV and JSON; --by none, --top,
 * --metric; bad flags exit 2 with one line.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BEST_COLUMNS, bestRows } from '../src/report/best.js';
import { buildReportModel } from '../src/report/data.js';
import { openDatabase } from '../src/store/store.js';
import { cli, type Fixture, makeFixtureDb } from './helpers/report-fixture.js';

describe('best', () => {
  let fx: Fixture;

  beforeAll(() => {
    fx = makeFixtureDb();
  });
  afterAll(() => rmSync(fx.dir, { recursive: true, force: true }));

  it('table: top 3 per imbalance ratio, mean ± CI, paired Δ vs BCE', async () => {
    const r = await cli(['best', '--db', fx.file]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('fixture: best by minority F1 (higher is better), mean over seeds; Δ = setting − best BCE at the same ratio, paired by seed');
    expect(lines[1]).toMatch(/^imbalance\s+#\s+setting\s+seeds\s+minority F1 \(mean ± 95% CI\)\s+BCE\s+Δ vs BCE \[95% CI\]\s+better\s+verdict$/);
    const body = lines.slice(3);
    expect(body).toHaveLength(6);
    expect(body[0]).toMatch(/^90:10\s+1\s+focal\(γ=2, α=inverse\)\s+3\s+0\.720 ± 0\.066\s+0\.620\s+\+0\.100 \[\+0\.025, \+0\.175\]\s+3\/3\s+better$/);
    expect(body[3]).toMatch(/^97:3\s+1\s+focal\(γ=2, α=inverse\)\s+3\s+0\.457 ± 0\.\d{3}\s+0\.450\s+\+0\.007 \[−0\.087, \+0\.101\]\s+1\/3\s+no clear diff\.$/);
    expect(body[4]).toMatch(/^97:3\s+2\s+bce\s+3\s+0\.450 ± 0\.124\s+0\.450\s+\(baseline\)\s+baseline$/);
  });

  it('json and csv carry full precision and agree with the report', async () => {
    const json = await cli(['best', '--db', fx.file, '--format', 'json']);
    expect(json.code, json.stderr).toBe(0);
    const rows = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(Object.keys(rows[0])).toEqual(BEST_COLUMNS);
    const db = openDatabase(fx.file, { readonly: true });
    try {
      expect(rows).toEqual(JSON.parse(JSON.stringify(bestRows(db).rows)));
      const model = buildReportModel(db);
      expect(rows.filter((r) => r.rank === 1).map((r) => r.setting_key)).toEqual(model.groups.map((g) => g.group.best?.setting_key));
    } finally {
      db.close();
    }
    expect(rows[0]).toMatchObject({
      imbalance: '90:10',
      rank: 1,
      loss: 'focal',
      gamma: 2,
      alpha: 'inverse',
      seeds: 3,
      verdict: 'better',
      seeds_better: 3,
      seeds_paired: 3,
    });
    expect(rows[0].mean as number).toBeCloseTo(0.72, 12);
    expect(rows[0].delta_ci95_low as number).toBeCloseTo(0.1 - 0.0745241314, 8);

    const csv = await cli(['best', '--db', fx.file, '-f', 'csv', '--by', 'none', '--top', '2']);
    expect(csv.code).toBe(0);
    const lines = csv.stdout.split('\r\n').filter(Boolean);
    expect(lines[0]).toBe(BEST_COLUMNS.join(','));
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^90:10,1,"focal\(γ=2, α=inverse\)",focal,2,inverse,minority_f1,3,0\.72\d*,/);
  });

  it('--metric re-ranks (lower is better for log loss); --by none ranks across ratios', async () => {
    const r = await cli(['best', '--db', fx.file, '--metric', 'log_loss', '--by', 'none', '--top', '3', '-f', 'json']);
    const rows = JSON.parse(r.stdout) as { mean: number; metric: string; rank: number }[];
    expect(rows.map((x) => x.rank)).toEqual([1, 2, 3]);
    expect(rows.every((x) => x.metric === 'log_loss')).toBe(true);
    expect(rows[0].mean).toBeLessThanOrEqual(rows[1].mean);
    expect(rows[1].mean).toBeLessThanOrEqual(rows[2].mean);
  });

  it('bad flags: one line, exit 2', async () => {
    for (const [args, message] of [
      [['--top', '0'], '--top: must be a whole number ≥ 1, got 0'],
      [
        ['--metric', 'nope'],
        '--metric: expected one of minority_f1, pr_auc, roc_auc, minority_recall, minority_precision, balanced_accuracy, mcc, accuracy, brier, log_loss, ece, minority_f1_tuned, minority_recall_tuned, minority_precision_tuned, balanced_accuracy_tuned, mcc_tuned, accuracy_tuned; got "nope"',
      ],
      [['--by', 'seed'], '--by: expected one of imbalance, none; got "seed"'],
      [['--sweep', 'other'], `${fx.file}: no sweep named "other" (have: fixture)`],
      [['--format', 'xml'], '--format: expected one of table, csv, json; got "xml"'],
    ] as [string[], string][]) {
      const r = await cli(['best', '--db', fx.file, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toBe(`error: ${message}\n`);
    }
    const missing = await cli(['best', '--db', `${fx.file}.missing`]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no such database/);
  });
});

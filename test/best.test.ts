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

  it('table: the answer, then the top 3 per imbalance ratio, mean ± CI, paired Δ vs BCE, verdicts (Holm for the rows not chosen)', async () => {
    const r = await cli(['best', '--db', fx.file]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('fixture: best by minority F1 (higher is better), ranked by the validation mean, reported on test');
    // the same words as the report's answer
    expect(lines[1]).toBe(
      'Focal loss beats BCE even with tuned thresholds or in ranking at 90:10: it separates the classes better there. At 97:3, no setting is clearly better than BCE.',
    );
    expect(lines[2]).toMatch(
      /^90:10: focal loss separates the classes better than BCE\. At the 0\.5 threshold, focal\(γ=2, α=inverse\) vs BCE: \+0\.100 minority F1 \(95% CI \+0\.025 to \+0\.175: better\)/,
    );
    expect(lines[5]).toMatch(/^imbalance\s+#\s+setting\s+seeds\s+minority F1 \(test, mean ± 95% CI\)\s+BCE\s+Δ vs BCE \[95% CI\]\s+better\s+verdict\s+lenses$/);
    const body = lines.slice(7, 13);
    expect(body[0]).toMatch(
      /^90:10\s+1\*\s+focal\(γ=2, α=inverse\)\s+3\s+0\.720 ± 0\.066\s+0\.620\s+\+0\.100 \[\+0\.025, \+0\.175\]\s+3\/3\s+better\s+\+ · \+$/,
    );
    expect(body[1]).toMatch(
      /^90:10\s+2\s+focal\(γ=2, α=none\)\s+3\s+0\.637 ± 0\.080\s+0\.620\s+\+0\.017 \[−0\.071, \+0\.104\]\s+2\/3\s+no clear diff\. \(Holm\)\s+~ · ~$/,
    );
    expect(body[3]).toMatch(
      /^97:3\s+1\*\s+focal\(γ=2, α=inverse\)\s+3\s+0\.457 ± 0\.\d{3}\s+0\.450\s+\+0\.007 \[−0\.087, \+0\.101\]\s+1\/3\s+no clear diff\.\s+~ · ~$/,
    );
    expect(body[4]).toMatch(/^97:3\s+2\s+BCE\s+3\s+0\.450 ± 0\.124\s+0\.450\s+\(baseline\)\s+baseline\s+= · =$/);
    expect(lines[13]).toMatch(
      /^\* chosen on validation: its verdict reads its 95% CI; other rows are one of many compared, so their verdicts use Holm's correction\./,
    );
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
      expect(rows.filter((r) => r.rank === 1).map((r) => r.setting_key)).toEqual(model.groups.map((g) => g.group.chosen()?.key));
      expect(rows.filter((r) => r.chosen).map((r) => r.rank)).toEqual([1, 1]);
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
      chosen: true,
      selection: 'validation',
      verdict: 'better',
      verdict_fixed: 'better',
      verdict_tuned: 'none',
      verdict_ranking: 'better',
      seeds_better: 3,
      seeds_paired: 3,
    });
    // the chosen row is not corrected; the others are (Holm over the 2 settings compared besides it)
    expect(rows[0].p_holm).toBe(rows[0].p_value);
    expect(rows[1].p_holm as number).toBeCloseTo(Math.min(1, 2 * (rows[1].p_value as number)), 12);
    expect(rows[0].mean as number).toBeCloseTo(0.72, 12);
    expect(rows[0].delta_ci95_low as number).toBeCloseTo(0.1 - 0.0745241314, 8);

    const csv = await cli(['best', '--db', fx.file, '-f', 'csv', '--by', 'none', '--top', '2']);
    expect(csv.code).toBe(0);
    const lines = csv.stdout.split('\r\n').filter(Boolean);
    expect(lines[0]).toBe(BEST_COLUMNS.join(','));
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^90:10,1,true,"focal\(γ=2, α=inverse\)",focal,focal,2,inverse,,,,none,minority_f1,validation,0\.72\d*,3,0\.72\d*,/);
  });

  it('--metric re-ranks (lower is better for log loss); --by none ranks across ratios', async () => {
    const r = await cli(['best', '--db', fx.file, '--metric', 'log_loss', '--by', 'none', '--top', '3', '-f', 'json']);
    const rows = JSON.parse(r.stdout) as { mean: number; metric: string; rank: number }[];
    expect(rows.map((x) => x.rank)).toEqual([1, 2, 3]);
    expect(rows.every((x) => x.metric === 'log_loss')).toBe(true);
    expect(rows[0].mean).toBeLessThanOrEqual(rows[1].mean);
    expect(rows[1].mean).toBeLessThanOrEqual(rows[2].mean);
  });

  it('--by family: the best setting of each family per ratio, families ranked', async () => {
    const r = await cli(['best', '--db', fx.file, '--by', 'family', '-f', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as { imbalance: string; rank: number; family: string; setting: string }[];
    expect(rows.map((x) => `${x.imbalance} ${x.rank} ${x.family} ${x.setting}`)).toEqual([
      '90:10 1 focal focal(γ=2, α=inverse)',
      '90:10 2 weighted_bce weighted_bce(α=inverse)',
      '90:10 3 bce bce',
      '97:3 1 focal focal(γ=2, α=inverse)',
      '97:3 2 bce bce',
      '97:3 3 weighted_bce weighted_bce(α=inverse)',
    ]);
  });

  it('bad flags: one line, exit 2', async () => {
    for (const [args, message] of [
      [['--top', '0'], '--top: must be a whole number ≥ 1, got 0'],
      [
        ['--metric', 'nope'],
        '--metric: expected one of minority_f1, pr_auc, roc_auc, minority_recall, minority_precision, balanced_accuracy, mcc, accuracy, brier, log_loss, ece, minority_f1_tuned, minority_recall_tuned, minority_precision_tuned, balanced_accuracy_tuned, mcc_tuned, accuracy_tuned; got "nope"',
      ],
      [['--by', 'seed'], '--by: expected one of imbalance, family, none; got "seed"'],
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

/**
 * Report data: aggregation over seeds, Student-t CIs and paired differences against hand-computed
 * values, on a fixture database written with the real SweepStore.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupByRatio, rank } from '../src/analysis/ratio-group.js';
import { groupSettings } from '../src/analysis/setting.js';
import { meanCI, pairedDiff, studentTCdf, t975, verdictOf } from '../src/analysis/stats.js';
import { bestRows } from '../src/report/best.js';
import { buildReportModel, MAX_PLOT_POINTS, type ReportModel, samplePoints } from '../src/report/data.js';
import { bceAt, focalLossAt, modulatingFactor } from '../src/report/lossfn.js';
import { expandGrid } from '../src/scheduler/grid.js';
import { parseSpec } from '../src/scheduler/spec.js';
import type { TrialRow } from '../src/store/read.js';
import { openDatabase, SweepStore } from '../src/store/store.js';
import { FAILED, type Fixture, fixtureSpec, makeFixtureDb } from './helpers/report-fixture.js';

describe('Student-t quantiles and CIs', () => {
  it('matches the t table', () => {
    const table: [number, number][] = [
      [1, 12.7062047],
      [2, 4.3026527],
      [3, 3.1824463],
      [4, 2.7764451],
      [5, 2.5705818],
      [9, 2.2621572],
      [29, 2.0452296],
      [100, 1.9839715],
      [1000, 1.9623391],
    ];
    for (const [df, q] of table) expect(t975(df)).toBeCloseTo(q, 6);
    expect(studentTCdf(0, 7)).toBeCloseTo(0.5, 12);
    expect(studentTCdf(-2.7764451, 4)).toBeCloseTo(0.025, 7);
  });

  it('mean ± t·sd/√n; n = 1 has no CI; nulls are ignored', () => {
    const c = meanCI([0.6, 0.62, 0.64, null]);
    expect(c.n).toBe(3);
    expect(c.mean).toBeCloseTo(0.62, 12);
    expect(c.sd).toBeCloseTo(0.02, 12);
    expect(c.half).toBeCloseTo(0.0496827542, 8);
    expect(c.lo).toBeCloseTo(0.62 - 0.0496827542, 8);
    expect(meanCI([0.5])).toEqual({ n: 1, mean: 0.5, sd: null, half: null, lo: null, hi: null });
    expect(meanCI([]).mean).toBeNull();
  });

  it('pairs by seed and reads the verdict from the CI', () => {
    const a = new Map([
      [1, 0.7],
      [2, 0.75],
      [3, 0.71],
      [4, 0.9], // no partner: ignored
    ]);
    const b = new Map<number, number | null>([
      [1, 0.6],
      [2, 0.62],
      [3, 0.64],
    ]);
    const d = pairedDiff(a, b, true);
    expect(d.seeds).toEqual([1, 2, 3]);
    expect(d.mean).toBeCloseTo(0.1, 12);
    expect(d.half).toBeCloseTo(0.0745241314, 8);
    expect([d.better, d.worse, d.ties]).toEqual([3, 0, 0]);
    expect(verdictOf(d, true)).toBe('better');
    // lower is better (log loss): the same numbers read as worse
    expect(verdictOf(pairedDiff(a, b, false), false)).toBe('worse');
    expect(verdictOf(pairedDiff(new Map([[1, 0.5]]), new Map([[1, 0.4]]), true), true)).toBe('n1');
    expect(verdictOf(pairedDiff(b, b, true), true)).toBe('same');
  });
});

describe('loss functions over p_t (pure float64)', () => {
  it('focal loss reduces to BCE at γ = 0 and matches the formula', () => {
    expect(bceAt(0.5)).toBeCloseTo(Math.LN2, 14);
    expect(focalLossAt(0.9, 2)).toBeCloseTo(-(0.1 ** 2) * Math.log(0.9), 14);
    expect(focalLossAt(0.25, 0.5, 0.25)).toBeCloseTo(-0.25 * Math.sqrt(0.75) * Math.log(0.25), 14);
    expect(focalLossAt(1, 2)).toBe(0);
    expect(modulatingFactor(0.9, 5)).toBeCloseTo(1e-5, 18);
    expect(() => focalLossAt(0, 2)).toThrow(RangeError);
  });

  it('stays accurate and finite at both ends', () => {
    const q = 2 ** -40; // p_t = 1 − q exactly; −log(1 − q) = q + q²/2 + …
    expect(focalLossAt(1 - q, 0) / q).toBeCloseTo(1, 12);
    expect(focalLossAt(1 - q, 2) / q ** 3).toBeCloseTo(1, 12);
    expect(focalLossAt(1e-300, 2)).toBeCloseTo(300 * Math.LN10, 10);
  });
});

describe('report model on the fixture database', () => {
  let fx: Fixture;
  let model: ReportModel;

  beforeAll(() => {
    fx = makeFixtureDb();
    const db = openDatabase(fx.file, { readonly: true });
    try {
      model = buildReportModel(db, { now: new Date('2026-01-02T03:04:05Z') });
    } finally {
      db.close();
    }
  });
  afterAll(() => rmSync(fx.dir, { recursive: true, force: true }));

  it('counts trials and orders imbalance ratios from mild to extreme', () => {
    expect(model.counts).toMatchObject({ total: 24, complete: 23, failed: 1, interrupted: 0 });
    expect(model.groups.map((g) => g.title)).toEqual(['90:10', '97:3']);
    expect(model.seeds).toEqual([1, 2, 3]);
    expect(model.wallMs).toBe(1234);
    expect(model.backends).toEqual([['cpu', 24]]); // the failed trial reported its backend too
  });

  it('90:10: focal(γ=2, α=inverse) is chosen, clearly better than BCE', () => {
    const g = model.groups[0];
    expect(g.group.chosen()?.label).toBe('focal(γ=2, α=inverse)');
    expect(g.group.ranked().map((s) => s.lossLabel)).toEqual(['focal(γ=2, α=inverse)', 'focal(γ=2, α=none)', 'weighted_bce(α=inverse)', 'bce']);
    const win = g.contenders.find((c) => c.role === 'chosen');
    const f1 = win?.stats.minority_f1;
    expect(f1?.n).toBe(3);
    expect(f1?.mean).toBeCloseTo(0.72, 12);
    expect(f1?.half).toBeCloseTo(0.0657241061, 8);
    const d = win?.vsBce?.minority_f1;
    expect(d?.mean).toBeCloseTo(0.1, 12);
    expect(d?.lo).toBeCloseTo(0.1 - 0.0745241314, 8);
    expect(d?.hi).toBeCloseTo(0.1 + 0.0745241314, 8);
    expect(d?.better).toBe(3);
    expect(g.group.comparisons().get(win?.setting.key as string)?.verdict).toBe('better');
    expect(g.answer.finding).toBe('separates');
    // key metrics are carried for every contender: recall = F1 + 0.05 in the fixture
    expect(win?.stats.minority_recall?.mean).toBeCloseTo(0.77, 12);
    expect(g.contenders.map((c) => c.role)).toEqual(['chosen', 'best weighted BCE', 'BCE']);
    const bce = g.contenders.find((c) => c.role === 'BCE');
    expect(bce?.stats.minority_f1?.half).toBeCloseTo(0.0496827542, 8);
    expect(bce?.vsBce).toBeNull();
  });

  it('97:3: the chosen setting is within noise; the failed trial leaves n = 2 with a t(1) CI', () => {
    const g = model.groups[1];
    expect(g.group.chosen()?.label).toBe('focal(γ=2, α=inverse)');
    const d = g.contenders[0].vsBce?.minority_f1;
    expect(d?.mean).toBeCloseTo(0.0066666667, 8);
    expect(d?.half).toBeCloseTo(0.0940479359, 8);
    expect([d?.better, d?.worse]).toEqual([1, 2]);
    expect(g.group.comparisons().get(g.group.chosen()?.key as string)?.verdict).toBe('unclear');
    expect(g.answer.finding).toBe('no-difference');
    const f2none = g.group.settings.find((s) => s.lossLabel === 'focal(γ=2, α=none)');
    const st = f2none?.stats('minority_f1');
    expect(st?.n).toBe(2);
    expect(st?.mean).toBeCloseTo(0.325, 12);
    expect(st?.half).toBeCloseTo(0.3176551184, 8);
    expect(g.seedsPlanned).toBe(3);
  });

  it('heatmap cells: γ = 0 holds BCE and weighted BCE; one chosen cell per ratio', () => {
    expect(model.heatmaps.map((h) => h.family)).toEqual(['focal']);
    const cells = model.heatmaps[0].cells.filter((c) => c.imbalance === '90:10');
    expect(cells.map((c) => `${c.y}/${c.x}`).sort()).toEqual(['0/inverse', '0/none', '2/inverse', '2/none']);
    expect(cells.filter((c) => c.best).map((c) => `${c.y}/${c.x}`)).toEqual(['2/inverse']);
    expect(cells.find((c) => c.y === '0' && c.x === 'none')?.mean).toBeCloseTo(0.62, 12);
  });

  it('metric series, curves and decision panels for BCE vs best focal', () => {
    const p = model.metricPoints.filter((x) => x.imbalance === '90:10' && x.metric === 'minority_f1');
    expect(p.map((x) => x.series).sort()).toEqual(['BCE', 'best focal', 'best weighted BCE']);
    // curves: BCE and best focal, 3 seeds × 5 epochs × 3 measures at each ratio
    expect(model.curves.filter((c) => c.imbalance === '90:10').length).toBe(2 * 3 * 5 * 3);
    const row = model.decision[0];
    expect(row.panels.map((x) => x.role)).toEqual(['BCE', 'best focal']);
    expect(row.panels.every((x) => x.seed === 1 && x.resolution === 8 && x.probs.length === 64 && x.points.length === 40)).toBe(true);
    expect(row.panels[1].value).toBeCloseTo(0.7, 12);
    expect(row.panels[1].accuracy).toBeCloseTo(0.9 + 0.7 / 20, 12);
    expect(row.panels[1].minorityF1).toBeCloseTo(0.7, 12);
  });

  it('failures carry their message; the table has every trial', () => {
    expect(model.failures).toHaveLength(1);
    expect(model.failures[0]).toMatchObject({ state: 'failed', seed: FAILED.seed, imbalance: '97:3' });
    expect(model.table.rows).toHaveLength(24);
    expect(model.table.errors).toHaveLength(1);
  });

  it('`best` and the best_by_imbalance view agree with the report', () => {
    const db = openDatabase(fx.file, { readonly: true });
    try {
      const { rows } = bestRows(db, {});
      const top = rows.filter((r) => r.rank === 1);
      expect(top.map((r) => r.setting_key)).toEqual(model.groups.map((g) => g.group.chosen()?.key));
      expect(top[0].delta_vs_bce).toBeCloseTo(0.1, 12);
      expect(top[0].verdict).toBe('better');
      expect(rows.filter((r) => r.imbalance === '90:10')).toHaveLength(3);
      const view = db.prepare(`SELECT setting_key, selection, objective_mean FROM best_by_imbalance ORDER BY minority_fraction DESC`).all() as {
        setting_key: string;
        selection: string;
        objective_mean: number;
      }[];
      expect(view.map((v) => v.setting_key)).toEqual(top.map((r) => r.setting_key));
      expect(view.map((v) => v.selection)).toEqual(['validation', 'validation']);
      expect(view[0].objective_mean).toBeCloseTo(0.72, 12);
      // another metric, lower is better
      const byLoss = bestRows(db, { metric: 'log_loss', by: 'none', top: 2 }).rows;
      expect(byLoss[0].mean).toBeLessThanOrEqual(byLoss[1].mean);
    } finally {
      db.close();
    }
  });

  it('ties rank by more seeds, then by setting label', () => {
    const row = (setting: string, seed: number, f1: number) =>
      ({
        id: seed,
        key: `${setting}/${seed}`,
        setting_key: setting,
        setting: `${setting} · 90:10`,
        loss: 'focal',
        gamma: 1,
        alpha: 'none',
        imbalance: '90:10',
        minority_fraction: 0.1,
        seed,
        state: 'complete',
        minority_f1: f1,
      }) as unknown as TrialRow;
    const settings = groupSettings([
      row('b', 1, 0.5),
      row('b', 2, 0.5),
      row('a', 1, 0.5),
      row('c', 1, 0.5),
      row('c', 2, 0.5),
      row('c', 3, 0.5),
      row('z', 1, 0.9),
    ]);
    expect(rank(settings, 'minority_f1', 'test').map((s) => s.key)).toEqual(['z', 'c', 'b', 'a']);
    expect(rank(settings, 'log_loss', 'test')).toEqual([]);
  });

  it('with a swept data parameter, each dataset is its own group: the BCE baseline is paired on the same data', () => {
    let id = 0;
    const rows: TrialRow[] = [];
    const add = (loss: string, sep: number, f1s: number[]) => {
      for (const [i, f1] of f1s.entries()) {
        rows.push({
          id: ++id,
          key: `k${id}`,
          setting_key: `${loss}/${sep}`,
          setting: `${loss} · 95:5 · data.class_sep=${sep}`,
          loss,
          gamma: loss === 'focal' ? 2 : null,
          alpha: loss === 'focal' ? 'none' : null,
          imbalance: '95:5',
          minority_fraction: 0.05,
          seed: i + 1,
          state: 'complete',
          minority_f1: f1,
          params: JSON.stringify({ 'data.imbalance': 0.05, 'data.class_sep': sep, seed: i + 1, loss }),
          dataset: `data.class_sep=${sep}`,
        } as unknown as TrialRow);
      }
    };
    // BCE is the best BCE overall at class_sep 0.5; focal wins at class_sep 2, where BCE is lower
    add('bce', 0.5, [0.8, 0.7, 0.6]);
    add('bce', 2, [0.79, 0.69, 0.59]);
    add('focal', 0.5, [0.7, 0.6, 0.5]);
    add('focal', 2, [0.82, 0.72, 0.62]);
    const groups = groupByRatio(groupSettings(rows), 'minority_f1');
    expect(groups.map((g) => g.title)).toEqual(['95:5 · data.class_sep=0.5', '95:5 · data.class_sep=2']);
    const sep2 = groups[1];
    expect(sep2.chosen()?.key).toBe('focal/2');
    expect(sep2.baseline()?.key).toBe('bce/2');
    expect(sep2.comparisons().get('focal/2')?.diff.mean).toBeCloseTo(0.03, 12);
  });

  it('trials dropped from the spec (in_spec = 0) are left out', () => {
    const store = new SweepStore(join(fx.dir, 'subset.db'), { create: true });
    try {
      const spec = parseSpec(fixtureSpec(), join(fx.dir, 'fixture.yaml'));
      store.upsertSweep(spec.name, 'x', spec.text, spec.objective);
      store.beginRun({ mode: 'local', workers: 1, backend: 'cpu', machine: {}, versions: {} });
      const all = expandGrid(spec).trials;
      store.plan(all, false);
      store.plan(
        all.filter((t) => t.config.data.imbalance === 0.1),
        false,
      );
      const m = buildReportModel(store.db, {});
      expect(m.counts.total).toBe(12);
      expect(m.groups.map((g) => g.title)).toEqual(['90:10']);
      expect(m.groups[0].group.chosen()).toBeNull();
    } finally {
      store.close();
    }
  });

  it('keeps every minority test point and samples the majority to the cap', () => {
    const n = 5000;
    const x = Buffer.from(new Float32Array(n).map((_, i) => i).buffer);
    const label = Buffer.from(Uint8Array.from({ length: n }, (_, i) => (i % 50 === 0 ? 1 : 0)));
    const { points, total } = samplePoints({ n, x, y: x, label }) as NonNullable<ReturnType<typeof samplePoints>>;
    expect(total).toBe(n);
    expect(points).toHaveLength(MAX_PLOT_POINTS);
    expect(points.filter((p) => p.label === 1)).toHaveLength(100);
  });
});

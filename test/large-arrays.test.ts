/**
 * Data-sized arrays are never spread into a function call (Math.max(...cells) overflowed the call
 * stack at about 130,000 elements): `query` tables and the report's heatmap at 200,000.
 */
import { describe, expect, it } from 'vitest';
import { heatmapSpec } from '../src/report/charts.js';
import type { HeatCell } from '../src/report/data.js';
import { formatTable } from '../src/report/format.js';
import { runCli } from './helpers/cli.js';
import { makeFixtureDb } from './helpers/report-fixture.js';

const N = 200_000;

describe('200,000 rows or cells', () => {
  it('formatTable aligns them', () => {
    const rows = Array.from({ length: N }, (_, i) => [i, `setting ${i}`]);
    const lines = formatTable(['n', 'setting'], rows).split('\n');
    expect(lines).toHaveLength(N + 4); // header, rule, rows, footer, and the empty string after the last newline
    expect(lines[0]).toBe('     n  setting');
    expect(lines[N + 1]).toBe(`199999  setting 199999`);
    expect(lines[N + 2]).toBe(`(${N} rows)`);
  });

  it('query prints them as a table (exit 0)', async () => {
    const { file } = makeFixtureDb();
    const sql = `with recursive c(x) as (select 1 union all select x + 1 from c limit ${N}) select x from c`;
    const r = await runCli(['query', sql, '--db', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(N + 3);
  });

  it('the heatmap spec scales its colours over them', () => {
    const cells: HeatCell[] = Array.from({ length: N }, (_, i) => ({
      imbalance: '90:10',
      y: String(i % 500),
      x: String((i % 400) / 400),
      kind: '',
      mean: i / N,
      n: 3,
      half: null,
      setting: `s${i}`,
      settings: 1,
      best: i === N - 1,
    }));
    const spec = heatmapSpec(cells, 'α', 'minority F1', true) as { data: { values: unknown[] } };
    expect(spec.data.values).toHaveLength(N);
  });
});

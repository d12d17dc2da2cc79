/**
 * The report page as text: every section and chart present, user strings escaped (a sweep named
 * <script>alert(1)</script>, an error message full of HTML), no external references, a CSP that
 * forbids the network, and the edge cases (no complete trial yet, a run still going, --objective).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsVsImbalanceSpec } from '../src/report/charts.js';
import { TABLE_SCRIPT } from '../src/report/client.js';
import type { MetricPoint } from '../src/report/data.js';
import { esc, jsonForScript, SECTIONS } from '../src/report/html.js';
import { renderSvg } from '../src/report/render.js';
import { buildReport, defaultReportPath, writeReport } from '../src/report/report.js';
import { expandGrid } from '../src/scheduler/grid.js';
import { parseSpec } from '../src/scheduler/spec.js';
import { SweepStore } from '../src/store/store.js';
import { METRICS, type MetricName } from '../src/types.js';
import { type Fixture, fixtureSpec, makeFixtureDb, XSS_ERROR, XSS_NAME } from './helpers/report-fixture.js';

/** The text of every `<script>` element, in order. */
function scripts(html: string): string[] {
  return [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
}

/** The body of a section by id. */
function section(html: string, id: string): string {
  const start = html.indexOf(`<section id="${id}"`);
  expect(start, `section #${id}`).toBeGreaterThanOrEqual(0);
  return html.slice(start, html.indexOf('</section>', start));
}

describe('report HTML', () => {
  let fx: Fixture;
  let html: string;

  beforeAll(async () => {
    fx = makeFixtureDb({ name: XSS_NAME });
    html = (await buildReport({ db: fx.file, now: new Date('2026-01-02T03:04:05Z') })).html;
  });
  afterAll(() => rmSync(fx.dir, { recursive: true, force: true }));

  it('has every section, with its charts', () => {
    for (const [id] of SECTIONS) section(html, id);
    const svgs = (id: string) => (section(html, id).match(/<svg\b/g) ?? []).length;
    expect(svgs('heatmaps')).toBe(2); // one per imbalance ratio
    expect(svgs('vs-imbalance')).toBe(1);
    expect(svgs('loss-functions')).toBe(1);
    expect(svgs('training')).toBe(1);
    expect(svgs('decision')).toBe(4); // BCE and best focal at each of 2 ratios
    expect(section(html, 'answer')).toContain('focal(γ=2, α=inverse)');
    expect(section(html, 'answer')).toContain('better than BCE');
    expect(section(html, 'answer')).toContain('no clear difference');
    expect(section(html, 'best')).toContain('0.720 ± 0.066');
    expect(section(html, 'best')).toContain('+0.100 [+0.025, +0.175]');
  });

  it('renders a sweep named <script>alert(1)</script> as text', () => {
    expect(html).not.toContain(XSS_NAME);
    expect(html).toContain(`<title>${esc(XSS_NAME)} — focal-sweep report</title>`);
    expect(html).toContain(`<h1>${esc(XSS_NAME)} `);
    expect(html).not.toMatch(/alert\(1\)<\/script>/);
  });

  it('renders an error message with HTML as text, in the failures section and the table data', () => {
    expect(html).not.toContain('<img');
    expect(html).not.toContain('onerror="');
    expect(section(html, 'failures')).toContain(esc(XSS_ERROR));
    // the only scripts are the trial data (JSON) and the table script
    const s = scripts(html);
    expect(s).toHaveLength(2);
    expect(s[0]).not.toMatch(/[<>&]/);
    const data = JSON.parse(s[0]) as { errors: string[]; rows: unknown[][] };
    expect(data.errors).toEqual([XSS_ERROR]);
    expect(data.rows).toHaveLength(24);
    expect(s[1]).toBe(TABLE_SCRIPT);
    expect(TABLE_SCRIPT).not.toContain('innerHTML');
  });

  it('references nothing outside the file and forbids the network by CSP', () => {
    const tags = html.match(/<[a-zA-Z][^>]*>/g) ?? [];
    const refs = tags.flatMap((t) =>
      [...t.matchAll(/\s(?:src|href|xlink:href|action|srcset|poster|data|formaction)\s*=\s*["']?([^"'\s>]*)/gi)].map((m) => m[1]),
    );
    expect(refs.filter((r) => !r.startsWith('#'))).toEqual([]);
    expect(html).not.toMatch(/url\((?!#)/);
    expect(html).not.toMatch(/@import|@font-face/);
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<)]+/g)].map((m) => m[0]);
    expect([...new Set(urls)].sort()).toEqual(['http://www.w3.org/1999/xlink', 'http://www.w3.org/2000/svg']);
    const csp = (/<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? '').replace(/&#39;/g, "'");
    expect(csp).toContain("default-src 'none'");
    const hash = createHash('sha256').update(TABLE_SCRIPT).digest('base64');
    expect(csp).toContain(`script-src 'sha256-${hash}'`);
  });

  it('escapes JSON for a <script> block', () => {
    const j = jsonForScript({ a: '</script><!-- & \u2028' });
    expect(j).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(j)).toEqual({ a: '</script><!-- & \u2028' });
  });

  it('writes next to the database by default; --objective re-ranks', async () => {
    const r = await writeReport({ db: fx.file, objective: 'log_loss' });
    expect(r.path).toBe(defaultReportPath(fx.file, XSS_NAME));
    expect(r.path).toBe(join(fx.dir, 'script_alert_1_script_.html'));
    const page = readFileSync(r.path, 'utf8');
    expect(page).toContain('this report ranks by log loss');
    expect(page).toContain('lower is better');
    mkdirSync(join(fx.dir, 'folder.html'));
    await expect(writeReport({ db: fx.file, out: join(fx.dir, 'folder.html') })).rejects.toThrow(/is a folder/);
  });
});

describe('report edge cases', () => {
  it('a sweep with nothing complete yet, still running', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-report-empty-'));
    const file = join(dir, 'empty.db');
    const store = new SweepStore(file, { create: true });
    const spec = parseSpec(fixtureSpec('empty'), join(dir, 'x.yaml'));
    store.upsertSweep(spec.name, 'x.yaml', spec.text, spec.objective);
    store.beginRun({ mode: 'local', workers: 1, backend: 'cpu', machine: {}, versions: {} });
    store.plan(expandGrid(spec).trials, false);
    try {
      const { html } = await buildReport({ db: file });
      expect(html).toContain('No trial has completed yet');
      expect(html).toContain('This sweep is still running');
      for (const [id] of SECTIONS) expect(html).toContain(`<section id="${id}"`);
      expect(html).toContain('None: every trial that ran completed. 24 trials have not run yet.');
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('metrics against imbalance ratio: one panel per metric, nothing else', () => {
  const RATIOS = ['80:20', '90:10', '95:5', '97:3', '99:1', '99.5:0.5'];
  const KEY: MetricName[] = ['minority_f1', 'minority_recall', 'minority_precision', 'pr_auc', 'balanced_accuracy'];

  /** Panels (framed plot areas) and axis lines in the rendered chart. */
  async function render(ratios: number, metrics: MetricName[]) {
    const imbalances = RATIOS.slice(0, ratios);
    const points: MetricPoint[] = imbalances.flatMap((imbalance, order) =>
      (['BCE', 'best focal'] as const).flatMap((series) =>
        metrics.map((metric) => ({ imbalance, order, series, metric, label: METRICS[metric].label, mean: 0.5, lo: 0.4, hi: 0.6, n: 3, setting: series })),
      ),
    );
    const svg = await renderSvg(
      metricsVsImbalanceSpec(
        points,
        imbalances,
        metrics.map((m) => METRICS[m].label),
      ),
    );
    return {
      panels: (svg.match(/<path class="background"[^>]*d="M0\.5,0\.5h[\d.]+v[\d.]+h-[\d.]+Z" stroke=/g) ?? []).length,
      axes: (svg.match(/class="mark-rule role-axis-domain"/g) ?? []).length,
    };
  }

  // 5 metrics and more than 3 ratios wrap into rows of 3: the short last row drew an x axis under
  // an empty sixth cell
  it.each<[number, MetricName[]]>([
    [2, KEY],
    [4, KEY],
    [6, KEY],
    [4, ['roc_auc', ...KEY]],
    [1, ['log_loss', ...KEY]],
  ])('%i ratios, %j', async (ratios, metrics) => {
    const { panels, axes } = await render(ratios, metrics);
    expect(panels).toBe(metrics.length);
    // an x and a y axis for each panel, none for a cell without one
    expect(axes).toBe(2 * metrics.length);
  });
});

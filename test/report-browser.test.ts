/**
 * The report in a real browser: Debian's Chromium (/usr/bin/chromium, installed by
 * scripts/install-test-deps.sh; never downloaded) opens it from file:// with the network off. No
 * console errors, no requests but the page itself, no script from the data runs (no dialog), every
 * section with its charts, a working trials table. Screenshot: test-output/report.png.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECTIONS } from '../src/report/html.js';
import { writeReport } from '../src/report/report.js';
import { type Fixture, makeFixtureDb, XSS_ERROR, XSS_NAME } from './helpers/report-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const OUT = join(process.cwd(), 'test-output');

describe('report in Chromium', () => {
  let fx: Fixture;
  let browser: Browser;
  let page: Page;
  let url: string;
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  const dialogs: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium is not installed at ${CHROMIUM}: run \`apt-get install -y chromium\` (scripts/install-test-deps.sh does this). The browser test never downloads a browser.`,
      );
    }
    fx = makeFixtureDb({ name: XSS_NAME });
    const r = await writeReport({ db: fx.file, out: join(fx.dir, 'report.html') });
    url = pathToFileURL(r.path).href;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    page.on('request', (req) => requests.push(req.url()));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(url, { waitUntil: 'load' });
  });

  afterAll(async () => {
    await browser?.close();
    if (fx) rmSync(fx.dir, { recursive: true, force: true });
  });

  it('loads offline: no console errors, no requests but the page, no injected script ran', async () => {
    await page.locator('#trials-table tbody tr').first().waitFor();
    expect(consoleErrors).toEqual([]);
    expect(requests).toEqual([url]);
    expect(dialogs).toEqual([]);
    expect(await page.title()).toBe(`${XSS_NAME} — focal-sweep report`);
    expect(await page.locator('h1').textContent()).toContain(XSS_NAME);
    expect(await page.locator('#failures td.errmsg').first().textContent()).toBe(XSS_ERROR);
  });

  it('shows every section with its charts', async () => {
    for (const [id] of SECTIONS) expect(await page.locator(`section#${id}`).isVisible(), id).toBe(true);
    const svgs = async (id: string) => page.locator(`section#${id} svg`).count();
    expect(await svgs('heatmaps')).toBe(2);
    expect(await svgs('vs-imbalance')).toBe(1);
    expect(await svgs('loss-functions')).toBe(1);
    expect(await svgs('training')).toBe(1);
    expect(await svgs('decision')).toBe(4);
    // charts actually have drawn marks and a size
    const box = await page.locator('section#heatmaps svg').first().boundingBox();
    expect(box?.width).toBeGreaterThan(100);
    // test points: one merged <path> of arcs per style, 40 points per panel in the fixture
    const arcs = await page
      .locator('section#decision svg .mark-symbol path')
      .evaluateAll((els) => els.reduce((n, e) => n + (e.getAttribute('d')?.match(/M/g)?.length ?? 0), 0));
    expect(arcs).toBe(4 * 40);
    expect(await page.locator('#answer .card').count()).toBe(2);
    expect(await page.locator('#answer .card.verdict-better .winner').textContent()).toBe('focal(γ=2, α=inverse)');
  });

  it('the trials table sorts, filters and pages', async () => {
    const rows = page.locator('#trials-table tbody tr');
    expect(await rows.count()).toBe(24);
    const status = page.locator('#trials-table .pager-status');
    expect(await status.textContent()).toBe('1–24 of 24 trials');
    // default: objective descending, so the first row is the best trial (0.75)
    expect(await rows.first().locator('td').nth(7).textContent()).toBe('0.75');
    await page.locator('#trials-table th button', { hasText: /^seed$/ }).click();
    expect(await rows.first().locator('td').nth(5).textContent()).toBe('3');
    // the filter's example names a ratio of this sweep
    expect(await page.locator('#trials-table input[type=search]').getAttribute('placeholder')).toBe(
      'Filter: words that must all appear (e.g. focal γ=2 97:3 failed)',
    );
    await page.locator('#trials-table input[type=search]').fill('failed');
    expect(await rows.count()).toBe(1);
    expect(await status.textContent()).toBe('1–1 of 1 matching (24 trials)');
    await page.locator('#trials-table input[type=search]').fill('focal 97:3 inverse');
    expect(await rows.count()).toBe(3);
    await page.locator('#trials-table input[type=search]').fill('');
    await page.locator('#trials-table select[aria-label="rows per page"]').selectOption('50');
    await page.locator('#trials-table select[aria-label=imbalance]').selectOption('90:10');
    expect(await rows.count()).toBe(12);
    expect(consoleErrors).toEqual([]);
  });

  it('saves a screenshot', async () => {
    await page.locator('#trials-table select[aria-label=imbalance]').selectOption('');
    mkdirSync(OUT, { recursive: true });
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: join(OUT, 'report.png'), fullPage: true });
    expect(existsSync(join(OUT, 'report.png'))).toBe(true);
    expect(requests).toEqual([url]);
  });
});

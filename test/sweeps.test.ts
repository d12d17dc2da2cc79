/** The ready sweeps in sweeps/ stay valid and keep their documented sizes. */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { expandGrid } from '../src/scheduler/grid.js';
import { loadSpec } from '../src/scheduler/spec.js';

const dir = fileURLToPath(new URL('../sweeps/', import.meta.url));

it.each(readdirSync(dir).filter((f) => f.endsWith('.yaml')))('%s is a valid sweep', (file) => {
  const spec = loadSpec(`${dir}${file}`);
  const { trials, merged } = expandGrid(spec);
  expect(trials.length).toBeGreaterThan(0);
  expect(merged).toBe(0);
});

it('focal-vs-bce is the article-sized experiment', () => {
  const { trials } = expandGrid(loadSpec(`${dir}focal-vs-bce.yaml`));
  // 405 written (3 ratios × 5 seeds × 27 losses) and 45 γ = 0 controls (weighted BCE at α 0.25, 0.5, 0.75)
  expect(trials).toHaveLength(450);
  expect(new Set(trials.map((t) => t.config.data.imbalance))).toEqual(new Set([0.1, 0.05, 0.01]));
  expect(new Set(trials.map((t) => t.config.model.hidden.length))).toEqual(new Set([2]));
});

/**
 * Cohort planning: same-shape trials train together, capped by cohort_size, split to keep every
 * worker busy, largest work first.
 */
import { describe, expect, it } from 'vitest';
import { cohortKey, planCohorts, shapeSignature } from '../src/scheduler/cohort.js';
import { expandGrid } from '../src/scheduler/grid.js';
import { parseSpec } from '../src/scheduler/spec.js';

const trials = (grid: string, extra = '') => expandGrid(parseSpec(`name: c\n${extra}grid:\n  controls: false\n${grid}`, 'c.yaml')).trials;

describe('planCohorts', () => {
  it('groups only trials whose tensors have the same shapes', () => {
    // imbalance, seed, loss and learning rate change no shapes; hidden sizes and epochs do
    const ts = trials(
      '  imbalance: ["90:10", "95:5"]\n  seed: [1, 2]\n  loss: [bce, {focal: {gamma: [1, 2]}}]\n  train.learning_rate: [0.01, 0.001]\n  model.hidden: [[8], [16, 16]]\n  train.epochs: [5, 10]\n',
    );
    expect(ts).toHaveLength(2 * 2 * 3 * 2 * 2 * 2);
    const cohorts = planCohorts(ts, { cohortSize: 1000, workers: 1, backend: 'auto' });
    expect(cohorts).toHaveLength(4);
    for (const c of cohorts) {
      expect(c.trials).toHaveLength(24);
      expect(new Set(c.trials.map((t) => shapeSignature(t.config))).size).toBe(1);
      expect(c.shape).toBe(shapeSignature(c.trials[0].config));
    }
    // every trial exactly once
    expect(cohorts.flatMap((c) => c.trials.map((t) => t.key)).sort()).toEqual(ts.map((t) => t.key).sort());
  });

  it('caps cohorts at cohort_size with balanced sizes', () => {
    const ts = trials('  seed: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n  loss: [bce, {focal: {gamma: [1, 2, 3, 4]}}]\n');
    const sizes = planCohorts(ts, { cohortSize: 16, workers: 1, backend: 'auto' }).map((c) => c.trials.length);
    expect(sizes.reduce((a, b) => a + b)).toBe(50);
    expect(sizes).toHaveLength(4); // ceil(50 / 16)
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  it('splits so the number of cohorts is a multiple of the workers (no idle thread in the last round)', () => {
    const ts = trials(
      '  imbalance: ["90:10", "97:3"]\n  seed: [1, 2, 3]\n  loss: [bce, {weighted_bce: {alpha: inverse}}, {focal: {gamma: [0.5, 2, 5], alpha: [none, 0.25, inverse]}}]\n',
    );
    expect(ts).toHaveLength(66);
    const cohorts = planCohorts(ts, { cohortSize: 32, workers: 2, backend: 'auto' });
    expect(cohorts.map((c) => c.trials.length)).toEqual([17, 17, 16, 16]);
    // a tiny sweep still uses every worker
    const few = trials('  seed: [1, 2, 3]\n  loss: [bce]\n');
    expect(planCohorts(few, { cohortSize: 32, workers: 4, backend: 'auto' }).map((c) => c.trials.length)).toEqual([1, 1, 1]);
  });

  it('orders the costliest cohorts first', () => {
    const ts = trials('  seed: [1, 2]\n  loss: [bce]\n  train.epochs: [1, 50, 10]\n');
    const order = planCohorts(ts, { cohortSize: 32, workers: 1, backend: 'auto' }).map((c) => c.trials[0].config.train.epochs);
    expect(order).toEqual([50, 10, 1]);
  });

  it('keys cohorts by their members, whatever their order', () => {
    const ts = trials('  seed: [1, 2, 3]\n  loss: [bce]\n');
    expect(cohortKey(ts)).toBe(cohortKey([...ts].reverse()));
    expect(cohortKey(ts)).not.toBe(cohortKey(ts.slice(1)));
    const [c] = planCohorts(ts, { cohortSize: 32, workers: 1, backend: 'wasm' });
    expect(c).toMatchObject({ format: 1, backend: 'wasm', key: cohortKey(ts) });
  });
});

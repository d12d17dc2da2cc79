/**
 * Grid expansion: counts, canonical configs, dedupe of equivalent configurations, and trial keys that
 * do not depend on how the YAML is written.
 */
import { describe, expect, it } from 'vitest';
import { shortHash } from '../src/canonical.js';
import { GridTooLargeError, SpecError } from '../src/errors.js';
import { countCombinations, expandGrid, settingKey } from '../src/scheduler/grid.js';
import { parseSpec } from '../src/scheduler/spec.js';

const expand = (yaml: string, opts = {}) => expandGrid(parseSpec(yaml, 't.yaml'), opts);
const keys = (yaml: string) => expand(yaml).trials.map((t) => t.key);

describe('grid counts', () => {
  it('is the cartesian product, with conditional loss parameters', () => {
    const g = expand(`
name: n
grid:
  imbalance: ["90:10", "95:5", "99:1"]
  seed: [1, 2, 3, 4, 5]
  loss:
    - bce
    - focal: { gamma: [0.5, 1, 2, 3, 5], alpha: [none, 0.25, 0.5, 0.75, inverse] }
  train.learning_rate: [0.01, 0.003]
`);
    // bce has no γ/α: 1 + 25 loss variants; × 3 ratios × 5 seeds × 2 learning rates
    expect(g.combinations).toBe(26 * 3 * 5 * 2);
    // and the γ = 0 controls: weighted BCE at α 0.25, 0.5, 0.75 and inverse (α none's twin is bce)
    expect(g.controls).toBe(4 * 3 * 5 * 2);
    expect(g.trials).toHaveLength(780 + 120);
    expect(g.merged).toBe(0);
    expect(new Set(g.trials.map((t) => t.key)).size).toBe(900);
  });

  it('adds the γ = 0 twin of every focal α unless grid.controls is false', () => {
    const spec = 'name: n\ngrid:\n  loss: [bce, weighted_bce, {focal: {gamma: [1, 2], alpha: [none, 0.5, inverse]}}]\n';
    const on = expand(spec);
    // weighted_bce(inverse) and bce were written; weighted_bce(0.5) is the only twin that adds a trial
    expect(on.trials.map((t) => t.setting).slice(-1)).toEqual(['weighted_bce(α=0.5) · 90:10']);
    expect([on.trials.length, on.controls, on.merged, on.combinations]).toEqual([9, 1, 0, 8]);
    const off = expand(spec.replace('grid:\n', 'grid:\n  controls: false\n'));
    expect([off.trials.length, off.controls]).toEqual([8, 0]);
    expect(off.trials.map((t) => t.key)).toEqual(on.trials.slice(0, 8).map((t) => t.key));
    // a twin the user also wrote is the user's, not a control
    const written = expand(spec.replace('weighted_bce, ', 'weighted_bce: {alpha: [0.5, inverse]}, '));
    expect([written.trials.length, written.controls]).toEqual([9, 0]);
    expect(() => expand('name: n\ngrid: {controls: maybe, loss: [bce]}\n')).toThrow(
      't.yaml:2:18: grid.controls: must be true or false (add the γ = 0 twin of every focal setting), got "maybe"',
    );
  });

  it('weighted_bce defaults to α = inverse and focal to γ = 2, α = none', () => {
    const g = expand('name: n\ngrid: {loss: [weighted_bce, focal]}\n');
    expect(g.trials.map((t) => t.config.loss)).toEqual([
      { kind: 'weighted_bce', alpha: 'inverse' },
      { kind: 'focal', gamma: 2, alpha: 'none' },
      // the γ = 0 control of focal's α = none
      { kind: 'bce' },
    ]);
  });

  it('records the swept values and a setting label per trial', () => {
    const [t] = expand(
      'name: n\ngrid:\n  imbalance: ["95:5"]\n  seed: [7]\n  loss: [{focal: {gamma: 2, alpha: inverse}}]\n  train.learning_rate: [0.003]\n',
    ).trials;
    expect(t.params).toEqual({ 'data.imbalance': 0.05, seed: 7, loss: 'focal', 'train.learning_rate': 0.003 });
    expect(t.setting).toBe('focal(γ=2, α=inverse) · 95:5 · train.learning_rate=0.003');
  });

  it('refuses an absurd grid with its size unless told yes', () => {
    const yaml = `name: big\ngrid:\n  seed: [${Array.from({ length: 400 }, (_, i) => i).join(', ')}]\n  train.batch_size: [${Array.from({ length: 300 }, (_, i) => i + 1).join(', ')}]\n  loss: [bce]\n`;
    const spec = parseSpec(yaml, 'big.yaml');
    expect(countCombinations(spec)).toBe(120_000);
    expect(() => expandGrid(spec)).toThrow(GridTooLargeError);
    expect(() => expandGrid(spec)).toThrow('big.yaml: grid: 120,000 trials is more than 100,000, probably a mistake; pass --yes to run it anyway');
  });
});

describe('equivalent configurations run once', () => {
  it('focal with γ=0 is BCE (α none) or weighted BCE (α set)', () => {
    const g = expand('name: n\ngrid:\n  loss:\n    - bce\n    - weighted_bce: {alpha: [0.75]}\n    - focal: {gamma: [0, 2], alpha: [none, 0.75]}\n');
    // focal(0, none) = bce, focal(0, 0.75) = weighted_bce(0.75): 6 combinations, 4 distinct trials
    expect(g.combinations).toBe(6);
    expect(g.trials).toHaveLength(4);
    expect(g.merged).toBe(2);
    expect(g.trials.map((t) => t.config.loss.kind)).toEqual(['bce', 'weighted_bce', 'focal', 'focal']);
  });

  it('the same ratio written three ways is one value', () => {
    const g = expand('name: n\ngrid:\n  imbalance: ["90:10", "9:1", 0.1]\n  loss: [bce]\n');
    expect(g.trials).toHaveLength(1);
    expect(g.merged).toBe(2);
  });

  it('batch sizes above the training set size are the same full-batch training', () => {
    // 100 rows: 20 test, 16 validation (0.2 of the other 80), 64 training
    const g = expand('name: n\ndata: {samples: 100, test_fraction: 0.2}\ngrid:\n  train.batch_size: [64, 100, 500]\n  loss: [bce]\n');
    expect(g.trials.map((t) => t.config.train.batch_size)).toEqual([64]);
  });

  it('momentum does not split adam trials (it only applies to sgd)', () => {
    const g = expand('name: n\ngrid:\n  train.momentum: [0.5, 0.9]\n  train.optimizer: [adam, sgd]\n  loss: [bce]\n');
    expect(g.trials).toHaveLength(3);
    expect(g.trials.filter((t) => t.config.train.optimizer === 'adam')[0].config.train).not.toHaveProperty('momentum');
  });
});

describe('trial keys', () => {
  const canonical = `
name: k
data: { generator: classification, samples: 1000, features: 2, class_sep: 1.0 }
model: { hidden: [8, 8], activation: relu }
train: { epochs: 5, batch_size: 32, learning_rate: 0.01 }
grid:
  controls: false
  imbalance: ["90:10"]
  seed: [1, 2]
  loss:
    - focal: { gamma: [2], alpha: [none, inverse] }
`;

  it('do not depend on key order, spelling, defaults written out, or where a value is set', () => {
    const rewritten = `
grid:
  controls: false
  loss:
    - focal: { alpha: [null, inverse], gamma: 2.0 }
  seed: [2, 1]
  train.learning_rate: [0.01]
  imbalance: [0.1]
train: { learning_rate: 0.5, batch_size: 32, epochs: 5, optimizer: adam, eval_every: 1, threshold: 0.5 }
model: { activation: relu, init: he, hidden: [8, 8] }
data: { class_sep: 1, features: 2, samples: 1000, flip_y: 0.01, generator: classification, informative: 2, test_fraction: 0.25, seed: null }
name: another-name
description: same trials, written differently
`;
    expect(new Set(keys(rewritten))).toEqual(new Set(keys(canonical)));
  });

  it('change when anything that affects the result changes', () => {
    const base = new Set(keys(canonical));
    for (const [from, to] of [
      ['samples: 1000', 'samples: 1001'],
      ['class_sep: 1.0', 'class_sep: 1.5'],
      ['hidden: [8, 8]', 'hidden: [8, 4]'],
      ['epochs: 5', 'epochs: 6'],
      ['learning_rate: 0.01', 'learning_rate: 0.02'],
      ['gamma: [2]', 'gamma: [2.5]'],
      ['"90:10"', '"95:5"'],
    ]) {
      const changed = keys(canonical.replace(from, to));
      for (const k of changed) expect(base.has(k), `${from} -> ${to}`).toBe(false);
    }
  });

  it('are stable across versions (a changed key would orphan every stored result)', () => {
    // config v2 (validation split by default, tuned thresholds, data.resample): every v1 key changed on purpose
    expect(keys(canonical)).toEqual(['ac861a6b8b3cb368', '245486cc5a2b90bd', '3a8ba71949467085', 'c0ccdd663ab1069f']);
  });

  it('setting keys group trials that differ only by seed', () => {
    const g = expand(canonical);
    const bySetting = new Map<string, number>();
    for (const t of g.trials) bySetting.set(t.settingKey, (bySetting.get(t.settingKey) ?? 0) + 1);
    expect([...bySetting.values()]).toEqual([2, 2]);
    expect(g.trials[0].settingKey).toBe(settingKey(g.trials[0].config, true));
  });

  it('a fixed data seed keeps every trial seed in one setting, even the seed equal to it', () => {
    const g = expand('name: n\ndata: {seed: 3}\ngrid:\n  seed: [1, 2, 3]\n  loss: [bce]\n');
    expect(g.trials.map((t) => t.config.data.seed)).toEqual([3, 3, 3]);
    expect(new Set(g.trials.map((t) => t.settingKey)).size).toBe(1);
    // a data seed that follows the trial seed: one setting too, with a different key (other data)
    const follows = expand('name: n\ngrid:\n  seed: [1, 2, 3]\n  loss: [bce]\n');
    expect(new Set(follows.trials.map((t) => t.settingKey)).size).toBe(1);
    expect(follows.trials[0].settingKey).not.toBe(g.trials[0].settingKey);
  });
});

describe('trials of a setting are keyed from its template', () => {
  // expandGrid serialises each setting once and fills in the seeds; the keys must be those of
  // hashing every trial's own config, whatever the grid (seed axis anywhere, fixed, following or
  // swept data seeds, merged values).
  const GRIDS = [
    'name: n\ngrid:\n  imbalance: ["90:10", 0.05]\n  seed: [3, 1, 2]\n  loss: [bce, {focal: {gamma: [0, 2], alpha: [none, 0.25]}}]\n  model.hidden: [[8], [4, 4]]\n',
    'name: n\nseed: 7\ngrid:\n  train.batch_size: [80, 100, 5000]\n  loss: [bce, weighted_bce]\n',
    'name: n\ndata: {seed: 2}\ngrid:\n  seed: [1, 2, 3]\n  loss: [bce]\n  train.learning_rate: [0.1, 0.01]\n',
    'name: n\ngrid:\n  data.seed: [null, 2, 5]\n  seed: [1, 2]\n  loss: [bce, focal]\n',
    'name: n\ndata: {generator: moons, samples: 300}\ngrid:\n  loss: [focal]\n  seed: [4, 5]\n  data.noise: [0.1, 0.3]\n  train.optimizer: [adam, sgd]\n  train.momentum: [0.5, 0.9]\n',
  ];

  it.each(GRIDS)('%#: keys, setting keys, labels and params are those of each trial', (yaml) => {
    const g = expand(yaml);
    const follows = !/data: \{seed|data.seed/.test(yaml);
    for (const t of g.trials) {
      expect(t.key).toBe(shortHash(t.config));
      if (follows) expect(t.settingKey).toBe(settingKey(t.config, true));
      expect(t.config.data.seed === t.config.seed || !follows).toBe(true);
      if ('seed' in t.params) expect(t.params.seed).toBe(t.config.seed);
    }
    expect(new Set(g.trials.map((t) => t.key)).size).toBe(g.trials.length);
    expect(g.merged).toBe(g.combinations - (g.trials.length - g.controls));
  });

  it('a swept data seed that follows the trial seed merges with the fixed one it equals', () => {
    const g = expand(GRIDS[3]);
    // (data.seed null, seed 2) is (data.seed 2, seed 2): 3 × 2 × 2 = 12 combinations, 10 trials
    expect([g.combinations, g.trials.length]).toEqual([12, 10]);
    expect(g.trials.filter((t) => t.config.seed === 2 && t.config.data.seed === 2)).toHaveLength(2);
    expect(g.trials.map((t) => t.setting)).toContain('bce · 90:10 · data.seed=1');
  });

  it('a setting equal to an earlier one adds no trials, wherever the seed axis is', () => {
    const g = expand('name: n\ngrid:\n  seed: [1, 2]\n  loss: [bce, {focal: {gamma: 0}}, weighted_bce]\n');
    expect(g.trials.map((t) => [t.config.seed, t.config.loss.kind])).toEqual([
      [1, 'bce'],
      [1, 'weighted_bce'],
      [2, 'bce'],
      [2, 'weighted_bce'],
    ]);
  });
});

describe('cross-key checks point at the swept value that breaks them', () => {
  it('too few minority samples at one swept ratio', () => {
    expect(() => expand('name: n\ndata: {samples: 120}\ngrid:\n  imbalance: ["90:10", "99:1"]\n  loss: [bce]\n')).toThrow(
      new SpecError(
        { file: 't.yaml', line: 4, col: 24, path: 'grid.imbalance[1]' },
        '99:1 of 120 samples leaves 1 sample of the minority class; need at least 3 (one per split): use more samples or a milder ratio',
      ),
    );
  });
});

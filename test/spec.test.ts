/**
 * Spec validation: every bad spec gets one line naming the file, line, column and key path, exit 2,
 * and nothing is written (no results folder, no database).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../src/scheduler/spec.js';
import { runCli } from './helpers/cli.js';

interface BadSpec {
  name: string;
  yaml: string;
  /** Exact stderr; DIR stands for the spec's folder. */
  error: string;
}

const BAD_SPECS: BadSpec[] = [
  {
    name: 'loss-kind-twice',
    yaml: 'name: x\ngrid:\n  loss: [bce, {focal: {gamma: 1}}, {focal: {gamma: 2}}]\n',
    error: 'error: spec.yaml:3:36: grid.loss[2]: focal is listed twice (also at [1]); list its parameter values in one entry',
  },
  {
    name: 'loss-unknown-param',
    yaml: 'name: x\ngrid:\n  loss:\n    - focal: {gamma: 1, beta: 2}\n',
    error: 'error: spec.yaml:4:25: grid.loss[0].focal.beta: unknown parameter for focal (expected gamma, alpha)',
  },
  {
    name: 'imbalance-given-twice',
    yaml: 'name: x\ngrid:\n  loss: [bce]\n  imbalance: ["90:10"]\n  data.imbalance: ["95:5"]\n',
    error: 'error: spec.yaml:5:3: grid["data.imbalance"]: given twice (also as imbalance)',
  },
  {
    name: 'grid-key-typo',
    yaml: 'name: x\ngrid:\n  sed: [1]\n  loss: [bce]\n',
    error: 'error: spec.yaml:3:3: grid.sed: unknown grid key (did you mean seed?): use loss, seed, imbalance, or a dotted path like train.learning_rate',
  },
  {
    name: 'gamma-too-large',
    yaml: 'name: x\ngrid:\n  loss:\n    - focal: {gamma: 101}\n',
    error: 'error: spec.yaml:4:22: grid.loss[0].focal.gamma: must be \u2264 100, got 101',
  },
  {
    name: 'gamma-not-number',
    yaml: 'name: x\ngrid:\n  loss:\n    - focal: {gamma: high}\n',
    error: 'error: spec.yaml:4:22: grid.loss[0].focal.gamma: must be a number \u2265 0, got "high"',
  },
  {
    name: 'loss-not-name',
    yaml: 'name: x\ngrid:\n  loss: [3]\n',
    error:
      'error: spec.yaml:3:10: grid.loss[0]: must be a loss (bce, weighted_bce, focal, class_balanced, logit_adjusted, poly1) or a mapping like {focal: {gamma: [1, 2]}}, got 3',
  },
  {
    name: 'loss-params-list',
    yaml: 'name: x\ngrid:\n  loss:\n    - focal: [1, 2]\n',
    error: 'error: spec.yaml:4:14: grid.loss[0].focal: must be a mapping of parameters, got a list',
  },
  {
    name: 'loss-unknown-no-guess',
    yaml: 'name: x\ngrid:\n  loss: [hinge]\n',
    error: 'error: spec.yaml:3:10: grid.loss[0]: unknown loss "hinge" (expected one of: bce, weighted_bce, focal, class_balanced, logit_adjusted, poly1)',
  },
  {
    name: 'yaml-syntax',
    yaml: 'name: x\ngrid: {loss: [bce\n',
    error: `error: spec.yaml:3:1: YAML: Flow sequence in block collection must be sufficiently indented and end with a ]`,
  },
  {
    name: 'unknown-top',
    yaml: 'name: x\nobjectiv: pr_auc\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:2:1: objectiv: unknown key (did you mean objective?)`,
  },
  {
    // a misspelt required key is unknown before the real one is missing
    name: 'grid-misspelt',
    yaml: 'name: x\ngird: {loss: [bce]}\n',
    error: `error: spec.yaml:2:1: gird: unknown key (did you mean grid?)`,
  },
  {
    name: 'name-misspelt',
    yaml: 'nme: x\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:1:1: nme: unknown key (did you mean name?)`,
  },
  {
    name: 'csv-label-misspelt',
    yaml: 'name: x\ndata: {generator: csv, path: x.csv, lable: y, positive: 1}\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:2:37: data.lable: unknown key (did you mean label?)`,
  },
  {
    name: 'grid-loss-misspelt',
    yaml: 'name: x\ngrid:\n  seed: [1]\n  los: [bce]\n',
    error: `error: spec.yaml:4:3: grid.los: unknown grid key (did you mean loss?): use loss, seed, imbalance, or a dotted path like train.learning_rate`,
  },
  {
    name: 'missing-name',
    yaml: 'grid: {loss: [bce]}\n',
    error: `error: spec.yaml: name: required (names the sweep and its database)`,
  },
  {
    name: 'bad-threshold-metric',
    yaml: 'name: x\ntrain: {threshold_metric: f1}\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:2:27: train.threshold_metric: must be one of minority_f1, balanced_accuracy, mcc, got "f1"`,
  },
  {
    name: 'early-stopping-without-validation',
    yaml: 'name: x\ndata: {validation_fraction: 0}\ntrain: {early_stopping: {patience: 2}}\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:3:25: train.early_stopping: needs a validation split: set data.validation_fraction above 0`,
  },
  {
    name: 'bad-objective',
    yaml: 'name: x\nobjective: f1\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:2:12: objective: unknown metric "f1" (expected one of: minority_f1, pr_auc, roc_auc, minority_recall, minority_precision, balanced_accuracy, mcc, accuracy, brier, log_loss, ece, minority_f1_tuned, minority_recall_tuned, minority_precision_tuned, balanced_accuracy_tuned, mcc_tuned, accuracy_tuned)`,
  },
  {
    name: 'gamma-negative',
    yaml: 'name: x\ngrid:\n  loss:\n    - focal: {gamma: [1, -2]}\n',
    error: `error: spec.yaml:4:26: grid.loss[0].focal.gamma[1]: must be ≥ 0, got -2`,
  },
  {
    name: 'alpha-range',
    yaml: 'name: x\ngrid:\n  loss:\n    - focal: {gamma: 2, alpha: [0.25, 1.5]}\n',
    error: `error: spec.yaml:4:39: grid.loss[0].focal.alpha[1]: must be a number in [0, 1], none or inverse, got 1.5`,
  },
  {
    name: 'imbalance-inverted',
    yaml: 'name: x\ngrid:\n  imbalance: ["10:90"]\n  loss: [bce]\n',
    error: `error: spec.yaml:3:15: grid.imbalance[0]: ratio must be majority:minority with majority ≥ minority > 0, got "10:90"`,
  },
  {
    name: 'imbalance-fraction',
    yaml: 'name: x\ngrid:\n  imbalance: [0.7]\n  loss: [bce]\n',
    error: `error: spec.yaml:3:15: grid.imbalance[0]: must be a minority fraction in (0, 0.5] or a ratio like "90:10", got 0.7`,
  },
  {
    name: 'empty-grid',
    yaml: 'name: x\ngrid: {}\n',
    error: `error: spec.yaml:2:7: grid: empty grid: add at least loss (e.g. loss: [bce, {focal: {gamma: [1, 2]}}])`,
  },
  {
    name: 'empty-seeds',
    yaml: 'name: x\ngrid:\n  seed: []\n  loss: [bce]\n',
    error: `error: spec.yaml:3:9: grid.seed: empty list: gives 0 trials`,
  },
  {
    name: 'unknown-loss',
    yaml: 'name: x\ngrid:\n  loss: [bce, focall]\n',
    error: `error: spec.yaml:3:15: grid.loss[1]: unknown loss "focall" (did you mean focal?)`,
  },
  {
    name: 'bce-params',
    yaml: 'name: x\ngrid:\n  loss:\n    - bce: {alpha: 0.5}\n',
    error: `error: spec.yaml:4:13: grid.loss[0].bce.alpha: bce takes no parameters (for class weights use weighted_bce: {alpha: ...})`,
  },
  {
    name: 'duplicate-key',
    yaml: 'name: x\ndata: {samples: 100}\ndata: {samples: 200}\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:3:1: YAML: duplicate key data (each key may appear once in a mapping)`,
  },
  {
    name: 'duplicate-value',
    yaml: 'name: x\ngrid:\n  loss:\n    - focal: {gamma: [1, 2, 2]}\n',
    error: `error: spec.yaml:4:29: grid.loss[0].focal.gamma[2]: 2 is listed twice (also at [1])`,
  },
  {
    name: 'unknown-data-key',
    yaml: 'name: x\ndata: {generator: classification, noise: 0.1}\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:2:35: data.noise: unknown key for generator classification (noise applies to generator moons)`,
  },
  {
    name: 'wrong-type',
    yaml: 'name: x\ntrain: {epochs: ten}\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:2:17: train.epochs: must be a number, got "ten"`,
  },
  {
    name: 'unknown-grid-path',
    yaml: 'name: x\ngrid:\n  train.learning_rat: [0.1]\n  loss: [bce]\n',
    error: `error: spec.yaml:3:3: grid["train.learning_rat"]: unknown key learning_rat in train (did you mean train.learning_rate?)`,
  },
  {
    name: 'too-few-minority',
    yaml: 'name: x\ndata: {samples: 100}\ngrid:\n  imbalance: ["99:1"]\n  loss: [bce]\n',
    error: `error: spec.yaml:4:15: grid.imbalance[0]: 99:1 of 100 samples leaves 1 sample of the minority class; need at least 3 (one per split): use more samples or a milder ratio`,
  },
  {
    name: 'grid-too-large',
    yaml: 'name: x\ngrid:\n  seed: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50]\n  train.learning_rate: [0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0,1.1,1.2,1.3,1.4,1.5,1.6,1.7,1.8,1.9,2.0]\n  train.batch_size: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99,100,101,102,103,104,105,106,107,108,109,110]\n  loss: [bce]\n',
    error: `error: spec.yaml: grid: 110,000 trials is more than 100,000, probably a mistake; pass --yes to run it anyway`,
  },
  {
    name: 'missing-csv',
    yaml: 'name: x\ndata: {generator: csv, path: nope.csv, label: y, positive: 1}\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:2:30: data.path: no such file: DIR/nope.csv`,
  },
  {
    name: 'informative',
    yaml: 'name: x\ndata: {features: 2, informative: 3}\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:2:34: data.informative: 3 informative features is more than data.features (2)`,
  },
  {
    name: 'swept-lr-negative',
    yaml: 'name: x\ngrid:\n  train.learning_rate: [0.01, -0.1]\n  loss: [bce]\n',
    error: `error: spec.yaml:3:31: grid["train.learning_rate"][1]: must be > 0, got -0.1`,
  },
  {
    name: 'activation',
    yaml: 'name: x\nmodel: {activation: sigmoid}\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:2:21: model.activation: must be one of relu, tanh, got "sigmoid"`,
  },
  {
    name: 'hidden-type',
    yaml: 'name: x\nmodel: {hidden: 16}\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:2:17: model.hidden: must be a list, got 16`,
  },
  {
    name: 'not-mapping',
    yaml: '- a\n- b\n',
    error: `error: spec.yaml:1:1: must be a mapping with name, grid, ...`,
  },
  {
    name: 'empty-file',
    yaml: '\n',
    error: `error: spec.yaml: empty spec (expected a mapping with name, grid, ...)`,
  },
  {
    name: 'missing-loss',
    yaml: 'name: x\ngrid:\n  seed: [1, 2]\n',
    error: `error: spec.yaml:3:3: grid: missing loss: list the losses to compare, e.g. loss: [bce, {focal: {gamma: [1, 2], alpha: [inverse]}}]`,
  },
  {
    name: 'timeout',
    yaml: 'name: x\nexecution: {trial_timeout: soon}\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:2:28: execution.trial_timeout: must be a duration like "90s", "10m", "1h30m", seconds as a number, or none, got "soon"`,
  },
  {
    name: 'native-synthetic',
    yaml: 'name: x\ngrid:\n  imbalance: [native]\n  loss: [bce]\n',
    error: `error: spec.yaml:3:15: grid.imbalance[0]: 'native' only applies to csv data (keep the file's own ratio)`,
  },
  {
    name: 'generator',
    yaml: 'name: x\ndata: {generator: blobs}\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:2:19: data.generator: must be one of classification, moons, csv, got "blobs"`,
  },
  {
    name: 'not-sweepable',
    yaml: 'name: x\ngrid:\n  data.generator: [moons]\n  loss: [bce]\n',
    error: `error: spec.yaml:3:3: grid["data.generator"]: cannot be swept: write one sweep per generator`,
  },
  {
    name: 'loss-two-keys',
    yaml: 'name: x\ngrid:\n  loss:\n    - {focal: {gamma: 1}, bce: {}}\n',
    error: `error: spec.yaml:4:7: grid.loss[0]: must be one loss, e.g. {focal: {gamma: [1, 2]}}, got 2 keys`,
  },
  {
    name: 'weighted-none',
    yaml: 'name: x\ngrid:\n  loss:\n    - weighted_bce: {alpha: none}\n',
    error: `error: spec.yaml:4:29: grid.loss[0].weighted_bce.alpha: 'none' is not allowed here (use bce for no weighting)`,
  },
  {
    name: 'cohort-size',
    yaml: 'name: x\nexecution: {cohort_size: 0}\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:2:26: execution.cohort_size: must be ≥ 1, got 0`,
  },
  {
    name: 'epochs-float',
    yaml: 'name: x\ntrain: {epochs: 2.5}\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:2:17: train.epochs: must be an integer, got 2.5`,
  },
  {
    name: 'moons-key-for-classification',
    yaml: 'name: x\ndata: {generator: moons, class_sep: 2}\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:2:26: data.class_sep: unknown key for generator moons (class_sep applies to generator classification)`,
  },
  {
    name: 'proto-objective',
    yaml: 'name: x\nobjective: constructor\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:2:12: objective: unknown metric "constructor" (expected one of: minority_f1, pr_auc, roc_auc, minority_recall, minority_precision, balanced_accuracy, mcc, accuracy, brier, log_loss, ece, minority_f1_tuned, minority_recall_tuned, minority_precision_tuned, balanced_accuracy_tuned, mcc_tuned, accuracy_tuned)`,
  },
  {
    name: 'proto-generator',
    yaml: 'name: x\ndata: {generator: constructor}\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:2:19: data.generator: must be one of classification, moons, csv, got "constructor"`,
  },
  {
    name: 'proto-grid-path',
    yaml: 'name: x\ngrid:\n  train.constructor: [1]\n  loss: [bce]\n',
    error: `error: spec.yaml:3:3: grid["train.constructor"]: unknown key constructor in train`,
  },
  {
    name: 'proto-data-key',
    yaml: 'name: x\ndata: {constructor: 1}\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:2:8: data.constructor: unknown key (expected one of: generator, imbalance, samples, features, informative, redundant, clusters_per_class, class_sep, flip_y, test_fraction, validation_fraction, standardize, seed, resample, resample_ratio)`,
  },
  {
    name: 'timeout-too-long',
    yaml: 'name: x\nexecution: {trial_timeout: 600h}\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:2:28: execution.trial_timeout: must be at most 596h (or none), got "600h"`,
  },
  {
    name: 'timeout-too-short',
    yaml: 'name: x\nexecution: {trial_timeout: 0.0001}\ngrid: {loss: [bce]}\n',
    error: `error: spec.yaml:2:28: execution.trial_timeout: must be at least 1ms (or none), got 0.0001`,
  },
];

describe('bad specs are refused with one clear line, exit 2, nothing written', () => {
  it('has at least 20 cases', () => expect(BAD_SPECS.length).toBeGreaterThanOrEqual(20));

  it.concurrent.each(BAD_SPECS)('$name', async ({ yaml, error }) => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-spec-'));
    writeFileSync(join(dir, 'spec.yaml'), yaml);
    const r = await runCli(['run', 'spec.yaml'], { cwd: dir });
    expect(r.stderr).toBe(`${error.replace('DIR', dir)}\n`);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    // no database, no results folder, nothing else
    expect(readdirSync(dir)).toEqual(['spec.yaml']);
  });

  it('a missing spec file names it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-spec-'));
    const r = await runCli(['run', 'nope.yaml'], { cwd: dir });
    expect(r.stderr).toBe('error: nope.yaml: no such file\n');
    expect(r.code).toBe(2);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a folder given as the spec names it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-spec-'));
    mkdirSync(join(dir, 'dir.yaml'));
    const r = await runCli(['run', 'dir.yaml'], { cwd: dir });
    expect(r.stderr).toBe('error: dir.yaml: is a folder, not a spec file\n');
    expect(r.code).toBe(2);
    expect(readdirSync(dir)).toEqual(['dir.yaml']);
  });

  it('an explicit --db is not created for a bad spec', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-spec-'));
    writeFileSync(join(dir, 'spec.yaml'), 'name: x\ngrid: {loss: [bce], seed: []}\n');
    const r = await runCli(['run', 'spec.yaml', '--db', 'out/x.db'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('bad flags are one line and exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-spec-'));
    writeFileSync(join(dir, 'spec.yaml'), 'name: x\ngrid: {loss: [bce]}\n');
    const workers = await runCli(['run', 'spec.yaml', '--workers', 'many'], { cwd: dir });
    expect(workers.stderr).toBe('error: --workers: must be a whole number from 1 to 1024, or auto, got "many"\n');
    for (const n of ['0', '1025']) {
      const r = await runCli(['run', 'spec.yaml', '--workers', n], { cwd: dir });
      expect(r.stderr).toBe(`error: --workers: must be a whole number from 1 to 1024, or auto, got "${n}"\n`);
      expect(r.code).toBe(2);
    }
    expect(workers.code).toBe(2);
    const backend = await runCli(['run', 'spec.yaml', '--backend', 'gpu'], { cwd: dir });
    expect(backend.code).toBe(2);
    expect(backend.stderr).toBe(
      'error: Invalid values: Argument: backend, Given: "gpu", Choices: "auto", "tensorflow", "wasm", "cpu" (see focal-sweep --help)\n',
    );
    expect(readdirSync(dir)).toEqual(['spec.yaml']);
  });
});

describe('parseSpec fills defaults', () => {
  it('gives every section its defaults and keeps the grid axes in order', () => {
    const spec = parseSpec(
      'name: demo\ngrid:\n  imbalance: ["90:10", 0.05]\n  seed: [1, 2]\n  loss: [bce, {focal: {gamma: [1, 2], alpha: [0.25, inverse]}}]\n',
      'demo.yaml',
    );
    expect(spec.name).toBe('demo');
    expect(spec.objective).toBe('minority_f1');
    expect(spec.data).toMatchObject({ generator: 'classification', samples: 4000, features: 2, flip_y: 0.01, test_fraction: 0.25, imbalance: 0.1 });
    expect(spec.model).toEqual({ hidden: [16, 16], activation: 'relu', init: 'auto' });
    expect(spec.train).toMatchObject({ epochs: 30, batch_size: 64, learning_rate: 0.01, optimizer: 'adam' });
    expect(spec.execution.trial_timeout_ms).toBe(30 * 60_000);
    expect(spec.axes.map((a) => a.path)).toEqual(['data.imbalance', 'seed', 'loss']);
    expect(spec.axes[0].values).toEqual([0.1, 0.05]);
    expect(spec.axes[2].values).toEqual([
      { kind: 'bce' },
      { kind: 'focal', gamma: 1, alpha: 0.25 },
      { kind: 'focal', gamma: 1, alpha: 'inverse' },
      { kind: 'focal', gamma: 2, alpha: 0.25 },
      { kind: 'focal', gamma: 2, alpha: 'inverse' },
      // the γ = 0 controls (grid.controls), marked as such
      { kind: 'focal', gamma: 0, alpha: 0.25 },
      { kind: 'focal', gamma: 0, alpha: 'inverse' },
    ]);
    expect(spec.axes[2].controls).toEqual([false, false, false, false, false, true, true]);
  });

  it('parses durations and ratios', () => {
    const spec = parseSpec('name: d\nexecution: {trial_timeout: 1h30m}\ndata: {imbalance: "9:1"}\ngrid: {loss: [bce]}\n', 'd.yaml');
    expect(spec.execution.trial_timeout_ms).toBe(90 * 60_000);
    expect(spec.data.imbalance).toBeCloseTo(0.1, 15);
  });
});

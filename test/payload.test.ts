/**
 * A distributed worker checks every trial config of a job by the spec's own rules before training
 * (src/worker/payload.ts checkTrialConfigs, with src/config-schema.ts): what the spec loader would
 * refuse is refused with the same words, naming the trial and the key.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planCohorts } from '../src/scheduler/cohort.js';
import { expandGrid } from '../src/scheduler/grid.js';
import { parseSpec } from '../src/scheduler/spec.js';
import type { Cohort, Trial } from '../src/types.js';
import { checkCohort, checkTrialConfigs } from '../src/worker/payload.js';

const dir = mkdtempSync(join(tmpdir(), 'fs-payload-'));
writeFileSync(join(dir, 'd.csv'), `a,b,y\n${Array.from({ length: 40 }, (_, i) => `${i},${i % 3},${i % 4 === 0 ? 'yes' : 'no'}`).join('\n')}\n`);

/** Real cohorts, as the coordinator sends them, for every generator, optimizer and loss. */
function cohortsOf(yaml: string): Cohort[] {
  return planCohorts(expandGrid(parseSpec(yaml, join(dir, 'spec.yaml'))).trials, { cohortSize: 64, workers: 1, backend: 'cpu' });
}
const LOSSES = `loss: [bce, { weighted_bce: { alpha: [inverse, 0.3] } }, { focal: { gamma: [0.5, 2], alpha: [none, 0.25, inverse] } }]`;
const real = [
  ...cohortsOf(`name: c\ndata: { generator: classification, samples: 200, features: 4, informative: 2, redundant: 1 }\ngrid: { seed: [1, 2], ${LOSSES} }`),
  ...cohortsOf(
    `name: m\ndata: { generator: moons, samples: 200, validation_fraction: 0.2 }\ntrain: { optimizer: sgd }\nmodel: { activation: tanh, hidden: [] }\ngrid: { ${LOSSES} }`,
  ),
  ...cohortsOf(
    `name: v\ndata: { generator: csv, path: d.csv, label: y, positive: "yes", features: [a, b] }\ngrid: { imbalance: [native, "80:20"], ${LOSSES} }`,
  ),
];
const t = real[0].trials[0];

/** The refusal of a cohort holding one trial whose config has `value` at the dotted `path`, or '' when accepted. */
function refusal(path: string, value: unknown, trial: Trial = t): string {
  const config = structuredClone(trial.config) as unknown as Record<string, unknown>;
  const parts = path.split('.');
  const last = parts.pop() as string;
  let o = config;
  for (const p of parts) o = o[p] as Record<string, unknown>;
  o[last] = value;
  const cohort = { ...real[0], trials: [{ ...trial, config }] } as unknown as Cohort;
  try {
    checkCohort(cohort);
    checkTrialConfigs(cohort);
    return '';
  } catch (e) {
    expect((e as Error).name).toBe('JobFormatError');
    return (e as Error).message;
  }
}

describe("the worker's check of trial configs", () => {
  it('accepts every config the coordinator makes', () => {
    expect(real.length).toBeGreaterThan(3);
    for (const c of real) expect(() => checkTrialConfigs(c)).not.toThrow();
  });

  it('refuses what the spec refuses, with its words', () => {
    const cases: [string, string, unknown, string][] = [
      ['generator evil', 'data.generator', 'evil', 'data.generator: must be one of classification, moons, csv, got "evil"'],
      ['batch_size 0', 'train.batch_size', 0, 'train.batch_size: must be ≥ 1, got 0'],
      ['batch_size 1.5', 'train.batch_size', 1.5, 'train.batch_size: must be an integer, got 1.5'],
      ['learning rate', 'train.learning_rate', 1e9, 'train.learning_rate: must be ≤ 10, got 1000000000'],
      ['learning rate as text', 'train.learning_rate', '0.1', 'train.learning_rate: must be a number, got "0.1"'],
      ['epochs', 'train.epochs', 1e6, 'train.epochs: must be ≤ 100000, got 1000000'],
      ['optimizer', 'train.optimizer', 'lbfgs', 'train.optimizer: must be one of adam, sgd, got "lbfgs"'],
      ['samples', 'data.samples', 1e9, 'data.samples: must be ≤ 10000000, got 1000000000'],
      ['features', 'data.features', 0, 'data.features: must be ≥ 1, got 0'],
      ['imbalance', 'data.imbalance', 0.9, 'data.imbalance: must be a minority fraction in (0, 0.5] or a ratio like "90:10", got 0.9'],
      ['imbalance as a ratio', 'data.imbalance', '90:10', 'data.imbalance: must be in resolved form, got "90:10"'],
      ['a key of another generator', 'data.noise', 0.1, 'data.noise: unknown key'],
      ['a missing value', 'data.flip_y', undefined, 'data.flip_y: required'],
      ['hidden layer', 'model.hidden', [4, 0], 'model.hidden[1]: must be ≥ 1, got 0'],
      ['too many layers', 'model.hidden', Array(9).fill(4), 'model.hidden: must have at most 8 items'],
      ['activation', 'model.activation', 'gelu', 'model.activation: must be one of relu, tanh, got "gelu"'],
      ['init not resolved', 'model.init', 'auto', 'model.init: must be one of he, glorot, got "auto"'],
      ['γ', 'loss', { kind: 'focal', gamma: -1, alpha: 'none' }, 'loss.gamma: must be ≥ 0, got -1'],
      ['γ too large', 'loss', { kind: 'focal', gamma: 1000, alpha: 'none' }, 'loss.gamma: must be ≤ 100, got 1000'],
      ['α', 'loss', { kind: 'weighted_bce', alpha: 1.5 }, 'loss.alpha: must be a number in [0, 1] or inverse, got 1.5'],
      ['α none for weighted BCE', 'loss', { kind: 'weighted_bce', alpha: 'none' }, "loss.alpha: 'none' is not allowed here (use bce for no weighting)"],
      ['a loss parameter too many', 'loss', { kind: 'bce', gamma: 2 }, 'loss.gamma: unknown key'],
      ['seed', 'seed', -1, 'seed: must be ≥ 0, got -1'],
      ['an unknown section', 'extra', {}, 'extra: unknown key'],
    ];
    for (const [what, path, value, message] of cases) expect(refusal(path, value), what).toBe(`trial ${t.key}: ${message}`);
    // CSV data: the content hash must be there
    const csv = real.find((c) => c.trials[0].config.data.generator === 'csv')!.trials[0];
    expect(refusal('data.sha256', 'abc', csv)).toBe(`trial ${csv.key}: data.sha256: must be a SHA-256 in hex`);
    expect(refusal('data.positive', 1, csv)).toBe(`trial ${csv.key}: data.positive: must be in resolved form, got 1`);
  });

  it('refuses a cohort larger than execution.cohort_size allows', () => {
    const big = { ...real[0], trials: Array(4097).fill(t) } as Cohort;
    expect(() => checkTrialConfigs(big)).toThrow('cohort has 4097 trials; at most 4096');
  });
});

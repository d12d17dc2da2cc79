/**
 * A training thread's memory: the estimate of a cohort's tensor memory bounds what it really uses,
 * cohorts are split to fit the per-thread budget, a trial that cannot fit is refused before
 * anything runs, and a thread whose wasm heap ran out is replaced, not reused.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { cohortKey, planCohorts } from '../src/scheduler/cohort.js';
import { expandGrid } from '../src/scheduler/grid.js';
import { LocalExecutor } from '../src/scheduler/local-executor.js';
import { parseSpec } from '../src/scheduler/spec.js';
import { COHORT_FORMAT, type Cohort, type Trial, type TrialResult } from '../src/types.js';
import { initBackend } from '../src/worker/backend.js';
import { datasetShape } from '../src/worker/data.js';
import { cohortPeakBytes, membersWithin, THREAD_MEMORY_BUDGET } from '../src/worker/memory.js';
import { BatchedMlp } from '../src/worker/model.js';
import { trainCohort } from '../src/worker/task.js';
import { runCli } from './helpers/cli.js';

/** `members` trials of one shape (seeds 0..members-1). */
function trialsOf(
  members: number,
  opts: { samples?: number; features?: number; hidden?: string; batch?: number; activation?: string; optimizer?: string; validation?: number } = {},
): Trial[] {
  const seeds = Array.from({ length: members }, (_, i) => i).join(', ');
  const yaml = `name: m
data: { samples: ${opts.samples ?? 200}, features: ${opts.features ?? 2}, validation_fraction: ${opts.validation ?? 0} }
model: { hidden: [${opts.hidden ?? '8'}], activation: ${opts.activation ?? 'relu'} }
train: { epochs: 1, batch_size: ${opts.batch ?? 64}, optimizer: ${opts.optimizer ?? 'adam'} }
execution: { cohort_size: 4096 }
grid:
  seed: [${seeds}]
  loss: [bce]
`;
  return expandGrid(parseSpec(yaml, 'm.yaml')).trials;
}

function cohortOf(trials: Trial[], backend: Cohort['backend']): Cohort {
  return { format: COHORT_FORMAT, key: cohortKey(trials), shape: 'test', backend, trials };
}

function estimate(trials: Trial[]): number {
  const c = trials[0].config;
  const s = datasetShape(c.data);
  return cohortPeakBytes({
    members: trials.length,
    features: s.nFeatures,
    hidden: c.model.hidden,
    activation: c.model.activation,
    batch: c.train.batch_size,
    nTrain: s.nTrain,
    nVal: s.nVal,
    nTest: s.nTest,
  });
}

/** Results without what differs between runs of the same cohort (timings, which thread). */
const comparable = (rs: TrialResult[]) => rs.map(({ timings, worker, ...r }) => r);

describe('cohort memory estimate', () => {
  const shapes: [string, Trial[]][] = [
    ['2-8-1, K 32, 2-D grid', trialsOf(32)],
    ['10-64-64-1 tanh sgd, K 16, batch 128', trialsOf(16, { features: 10, hidden: '64, 64', batch: 128, activation: 'tanh', optimizer: 'sgd' })],
    ['2-256-1, K 4, batch 256', trialsOf(4, { hidden: '256', batch: 256, samples: 600 })],
    ['40-128-1, K 8, validation split', trialsOf(8, { features: 40, hidden: '128', samples: 2000, validation: 0.2 })],
    ['5 features, logistic regression, K 1', trialsOf(1, { features: 5, hidden: '' })],
  ];
  for (const backend of ['cpu', 'wasm'] as const) {
    it.each(shapes)(`bounds the peak tensor bytes tf.profile measures on ${backend}: %s`, async (_name, trials) => {
      await initBackend(backend);
      const profile = await tf.profile(async () => {
        await trainCohort(cohortOf(trials, backend));
      });
      expect(profile.peakBytes).toBeGreaterThan(0);
      expect(estimate(trials)).toBeGreaterThanOrEqual(profile.peakBytes);
      // and is not wildly pessimistic (it sizes cohorts)
      expect(estimate(trials)).toBeLessThan(2.5 * profile.peakBytes);
    });
  }

  it('predicts in chunks that do not change a single logit', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      await initBackend(backend);
      // 64 members of 2-1024-1: a prediction chunk holds ~50 samples, so 200 samples take 4 chunks
      const trials = trialsOf(64, { hidden: '1024' });
      const members = trials.map((t) => ({
        seed: t.config.seed,
        xTrain: new Float32Array(0),
        yTrain: new Float32Array(0),
        gamma: 0,
        positiveWeight: 1,
        negativeWeight: 1,
        learningRate: 0.01,
        momentum: 0,
        init: 'he' as const,
      }));
      const model = new BatchedMlp(members, 2, { hidden: [1024], activation: 'relu' }, { optimizer: 'adam', epochs: 1, batch_size: 64 });
      const n = 200;
      const parts = members.map((_, k) => Float32Array.from({ length: n * 2 }, (_, i) => Math.sin(k * 7 + i)));
      const all = model.predictLayout(model.layoutInput(parts, n), n);
      for (const s of [0, 51, 137, 199]) {
        const one = model.predictLayout(
          model.layoutInput(
            parts.map((p) => p.subarray(2 * s, 2 * s + 2)),
            1,
          ),
          1,
        );
        for (let k = 0; k < members.length; k++) expect(one[k], `${backend} member ${k} sample ${s}`).toBe(all[k * n + s]);
      }
      model.dispose();
    }
  });
});

describe('cohorts sized to the memory budget', () => {
  it('splits a group whose cohort would not fit, into balanced cohorts that each fit', () => {
    const ts = trialsOf(100);
    const budget = estimate(ts.slice(0, 30));
    expect(membersWithin({ features: 2, hidden: [8], activation: 'relu', batch: 64, nTrain: 150, nVal: 0, nTest: 50 }, budget)).toBe(30);
    const cohorts = planCohorts(ts, { cohortSize: 4096, workers: 1, backend: 'auto', memoryBudget: budget });
    expect(cohorts.map((c) => c.trials.length)).toEqual([25, 25, 25, 25]);
    for (const c of cohorts) expect(estimate(c.trials)).toBeLessThanOrEqual(budget);
    // the default budget leaves a sweep of this size in one cohort
    expect(planCohorts(ts, { cohortSize: 4096, workers: 1, backend: 'auto' })).toHaveLength(1);
  });

  it('refuses a trial that cannot fit even alone, with one line naming the way out', () => {
    const ts = trialsOf(2, { hidden: '512, 512' });
    expect(() => planCohorts(ts, { cohortSize: 32, workers: 1, backend: 'auto', memoryBudget: 16 * 2 ** 20 })).toThrow(
      'a trial of this sweep (a 2-512-512-1 MLP, batch 64) needs about 69 MiB of tensor memory, more than the 16 MiB a training thread may use: make model.hidden smaller or train.batch_size smaller',
    );
  });

  it('run refuses such a sweep before anything is written (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-mem-'));
    writeFileSync(join(dir, 'huge.yaml'), 'name: huge\nmodel: { hidden: [4096, 4096, 4096] }\ngrid:\n  loss: [bce]\n');
    const r = await runCli(['run', join(dir, 'huge.yaml'), '--db', join(dir, 'huge.db')]);
    expect(r.stderr).toBe(
      `error: ${join(dir, 'huge.yaml')}: a trial of this sweep (a 2-4096-4096-4096-1 MLP, batch 64) needs about 3.5 GiB of tensor memory, more than the 1.0 GiB a training thread may use: make model.hidden smaller or train.batch_size smaller\n`,
    );
    expect(r.code).toBe(2);
    expect(existsSync(join(dir, 'huge.db'))).toBe(false);
    expect(THREAD_MEMORY_BUDGET).toBe(2 ** 30);
  });
});

describe('a thread whose wasm heap ran out', () => {
  it('is replaced: the next cohort gets exactly the results of a clean thread', async () => {
    // 64 members × batch 2048 × 4096 hidden units: a 2 GiB activation, then no room for its transpose
    const huge = cohortOf(trialsOf(64, { hidden: '4096', samples: 2800, batch: 2048 }), 'wasm');
    const normal = cohortOf(trialsOf(16, { hidden: '4' }), 'wasm');
    const pool = new LocalExecutor({ threads: 1 });
    try {
      const clean = await pool.run(normal, new AbortController().signal);
      await expect(pool.run(huge, new AbortController().signal)).rejects.toThrow(
        /^wasm heap exhausted: no room for a tensor of 2\.0 GiB \(heap [\d.]+ GiB, at most 4 GiB per thread; the thread is replaced\)$/,
      );
      const after = await pool.run(normal, new AbortController().signal);
      expect(comparable(after)).toEqual(comparable(clean));
      expect(after.every((r) => r.state === 'complete')).toBe(true);
      // a fresh thread (its id is the last part of the worker name), not the one that failed
      expect(after[0].worker).not.toBe(clean[0].worker);
    } finally {
      await pool.close();
    }
  });
});

import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CsvError } from '../src/errors.js';
import type { ClassificationData, CsvData, DataConfig, MoonsData } from '../src/types.js';
import { type CsvOptions, type Dataset, datasetShape, decisionGridPoints, makeDataset, readCsv, standardizeRows, summarizeCsv } from '../src/worker/data.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/csv/${name}`, import.meta.url));

const common = { imbalance: 0.1, test_fraction: 0.25, validation_fraction: 0, standardize: true, seed: null, resample: 'none' as const };

function classification(over: Partial<ClassificationData> = {}): ClassificationData {
  return {
    ...common,
    generator: 'classification',
    samples: 1000,
    features: 2,
    informative: null,
    redundant: 0,
    clusters_per_class: 1,
    class_sep: 1,
    flip_y: 0,
    ...over,
  };
}

function moons(over: Partial<MoonsData> = {}): MoonsData {
  return { ...common, generator: 'moons', samples: 1000, noise: 0.1, ...over };
}

/** good.csv: 40 rows, 12 "yes" and 28 "no"; x1 = 0, 0.5, …, 19.5; x2 in [−6, 6]; bias = 1. */
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function csv(over: Partial<CsvData> = {}): CsvData {
  const path = over.path ?? fixture('good.csv');
  return {
    ...common,
    imbalance: 'native',
    generator: 'csv',
    path,
    sha256: sha256(path),
    label: 'label',
    positive: 'yes',
    features: null,
    ...over,
  };
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}
const positives = (d: Dataset) => sum(d.yTrain) + sum(d.yVal) + sum(d.yTest);

/** Column j of a row-major matrix. */
function column(x: ArrayLike<number>, nFeatures: number, j: number): number[] {
  const out: number[] = [];
  for (let i = j; i < x.length; i += nFeatures) out.push(x[i]);
  return out;
}
const meanOf = (v: number[]) => sum(v) / v.length;
const stdOf = (v: number[]) => Math.sqrt(meanOf(v.map((x) => (x - meanOf(v)) ** 2)));

describe('class balance', () => {
  it.each([
    [0.1, 400],
    [0.05, 200],
    [0.01, 40],
  ])('classification, 4000 samples at %f: exactly %i positives', (imbalance, want) => {
    const d = makeDataset(classification({ samples: 4000, imbalance }), 1);
    expect(positives(d)).toBe(want);
    expect(d.nTrain + d.nVal + d.nTest).toBe(4000);
  });

  it('moons: exact minority count', () => {
    const d = makeDataset(moons({ samples: 1000, imbalance: 0.07 }), 3);
    expect(positives(d)).toBe(70);
  });

  it('flip_y reassigns that fraction of labels at random (half keep theirs)', () => {
    // expected positives ≈ 400·(1 − 0.1) + 3600·0.1 = 720 (sd ≈ 13)
    const d = makeDataset(classification({ samples: 4000, imbalance: 0.1, flip_y: 0.2 }), 1);
    expect(positives(d)).toBeGreaterThan(640);
    expect(positives(d)).toBeLessThan(800);
  });

  it('csv: native keeps the file ratio; a numeric imbalance subsamples the needed class', () => {
    const count = (imbalance: number | 'native') => {
      const d = makeDataset(csv({ imbalance }), 1);
      return [positives(d), d.nTrain + d.nVal + d.nTest - positives(d)];
    };
    expect(count('native')).toEqual([12, 28]);
    expect(count(0.1)).toEqual([3, 28]); // file is 30% positive: keep negatives, round(28·0.1/0.9) = 3
    expect(count(0.4)).toEqual([12, 18]); // file is below 40%: keep positives, round(12·0.6/0.4) = 18
    expect(count(0.5)).toEqual([12, 12]);
  });
});

describe('reproducibility', () => {
  const arrays = (d: Dataset) => [d.xTrain, d.yTrain, d.xVal, d.yVal, d.xTest, d.yTest, d.testRaw];

  it.each([
    ['classification', classification({ flip_y: 0.05, validation_fraction: 0.2 })],
    ['moons', moons()],
    ['csv subsampled', csv({ imbalance: 0.2 })],
  ] as [string, DataConfig][])('%s: same seed, same bytes; another seed, other data', (_name, config) => {
    const a = makeDataset(config, 7);
    const b = makeDataset(config, 7);
    for (const [i, arr] of arrays(a).entries()) expect(arr).toEqual(arrays(b)[i]);
    const c = makeDataset(config, 8);
    expect(c.xTrain).not.toEqual(a.xTrain);
  });

  it('data.seed overrides the trial seed', () => {
    const a = makeDataset(classification({ seed: 42 }), 1);
    const b = makeDataset(classification({ seed: 42 }), 2);
    const c = makeDataset(classification({ seed: null }), 42);
    expect(a.xTrain).toEqual(b.xTrain);
    expect(a.xTest).toEqual(c.xTest);
    expect(a.yTest).toEqual(c.yTest);
  });
});

describe('splits', () => {
  const configs: [string, DataConfig][] = [
    ['classification', classification()],
    ['classification odd n, val, flip_y', classification({ samples: 997, test_fraction: 0.3, validation_fraction: 0.2, flip_y: 0.3 })],
    [
      'classification 5 features, 2 clusters',
      classification({ samples: 1501, features: 5, informative: 3, redundant: 1, clusters_per_class: 2, imbalance: 0.03, flip_y: 0.01 }),
    ],
    ['moons with val', moons({ samples: 333, test_fraction: 0.2, validation_fraction: 0.15 })],
    ['csv native', csv()],
    ['csv native, val, two features', csv({ validation_fraction: 0.25, features: ['x2', 'x1'] })],
    ['csv subsample positives', csv({ imbalance: 0.1 })],
    ['csv subsample negatives, val', csv({ imbalance: 0.45, validation_fraction: 0.2 })],
  ];

  it.each(configs)('%s: datasetShape equals what makeDataset builds', (_name, config) => {
    const d = makeDataset(config, 5);
    const shape = datasetShape(config);
    expect(shape).toEqual({
      nFeatures: d.nFeatures,
      nTrain: d.nTrain,
      nVal: d.nVal,
      nTest: d.nTest,
      nTotal: d.nTrain + d.nVal + d.nTest,
    });
    expect(d.xTrain.length).toBe(d.nTrain * d.nFeatures);
    expect(d.xVal.length).toBe(d.nVal * d.nFeatures);
    expect(d.xTest.length).toBe(d.nTest * d.nFeatures);
    expect(d.yTrain.length).toBe(d.nTrain);
    expect(d.testRaw.length).toBe(d.xTest.length);
    if (config.generator === 'csv') expect(datasetShape(config, summarizeCsv(config.path, config))).toEqual(shape);
  });

  it.each(configs)('%s: every split is stratified to within one sample', (_name, config) => {
    const d = makeDataset(config, 5);
    const total = d.nTrain + d.nVal + d.nTest;
    const fraction = positives(d) / total;
    for (const y of [d.yTrain, d.yVal, d.yTest]) {
      expect(Math.abs(sum(y) - y.length * fraction)).toBeLessThanOrEqual(1);
    }
    expect(d.trainPositiveFraction).toBe(sum(d.yTrain) / d.nTrain);
  });

  it('split sizes: test = round(n·test_fraction), validation = round(rest·validation_fraction)', () => {
    expect(datasetShape(classification({ samples: 997, test_fraction: 0.3, validation_fraction: 0.2 }))).toEqual({
      nFeatures: 2,
      nTest: 299, // 299.1
      nVal: 140, // 698 · 0.2 = 139.6
      nTrain: 558,
      nTotal: 997,
    });
  });

  it('gives every split a sample of each class when the class has enough', () => {
    // 2 positives, no validation: proportional would be 1.5 train / 0.5 test
    const a = makeDataset(classification({ samples: 20, imbalance: 0.1 }), 1);
    expect([sum(a.yTrain), sum(a.yTest)]).toEqual([1, 1]);
    // 3 positives over train 18 / val 6 / test 6: proportional would be 1.8 / 0.6 / 0.6
    const b = makeDataset(classification({ samples: 30, imbalance: 0.1, test_fraction: 0.2, validation_fraction: 0.25 }), 1);
    expect([b.nTrain, b.nVal, b.nTest]).toEqual([18, 6, 6]);
    expect([sum(b.yTrain), sum(b.yVal), sum(b.yTest)]).toEqual([1, 1, 1]);
  });
});

describe('scaling', () => {
  const config = classification({ features: 3, informative: 2, validation_fraction: 0.2, class_sep: 2 });

  it('is fitted on the training split only and applied to every split', () => {
    const d = makeDataset(config, 9);
    const raw = makeDataset({ ...config, standardize: false }, 9); // same rows, original units
    const f = d.nFeatures;
    for (let j = 0; j < f; j++) {
      const trainRaw = column(raw.xTrain, f, j);
      expect(d.mean[j]).toBeCloseTo(meanOf(trainRaw), 5);
      expect(d.std[j]).toBeCloseTo(stdOf(trainRaw), 5);
      // fitting on all rows would give a visibly different mean
      const allRaw = [...trainRaw, ...column(raw.xVal, f, j), ...column(raw.xTest, f, j)];
      expect(Math.abs(meanOf(allRaw) - d.mean[j])).toBeGreaterThan(1e-4);

      const train = column(d.xTrain, f, j);
      expect(meanOf(train)).toBeCloseTo(0, 5);
      expect(stdOf(train)).toBeCloseTo(1, 5);
    }
    // the test split is the raw test rows transformed with the train mean/std
    d.xTest.forEach((v, i) => {
      const j = i % f;
      expect(v).toBeCloseTo((d.testRaw[i] - d.mean[j]) / d.std[j], 5);
    });
    expect(d.testRaw).toEqual(raw.xTest);
    for (const [i, v] of d.xVal.entries()) expect(v).toBeCloseTo((raw.xVal[i] - d.mean[i % f]) / d.std[i % f], 5);
  });

  it('is the identity when standardize is false, and std 0 becomes 1', () => {
    const raw = makeDataset({ ...config, standardize: false }, 9);
    expect(Array.from(raw.mean)).toEqual([0, 0, 0]);
    expect(Array.from(raw.std)).toEqual([1, 1, 1]);
    const d = makeDataset(csv(), 1); // bias column is constant 1
    expect(d.featureNames).toEqual(['x1', 'x2', 'bias']);
    expect(d.mean[2]).toBe(1);
    expect(d.std[2]).toBe(1);
    expect(column(d.xTrain, 3, 2).every((v) => v === 0)).toBe(true);
  });

  it('standardizeRows applies (x − mean)/std per column', () => {
    expect(Array.from(standardizeRows(new Float32Array([1, 2, 3, 4]), 2, [1, 2], [2, 4]))).toEqual([0, 0, 1, 0.5]);
  });
});

describe('generators', () => {
  it('classification: redundant features are linear combinations of the informative ones', () => {
    const d = makeDataset(classification({ features: 4, informative: 2, redundant: 1, standardize: false }), 4);
    // least squares x2 ≈ b0·x0 + b1·x1 over the test rows, then every residual must be ~0
    const [x0, x1, x2] = [0, 1, 2].map((j) => column(d.testRaw, 4, j));
    const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
    const [a, b, c] = [dot(x0, x0), dot(x0, x1), dot(x1, x1)];
    const [r0, r1] = [dot(x0, x2), dot(x1, x2)];
    const det = a * c - b * b;
    const b0 = (r0 * c - b * r1) / det;
    const b1 = (a * r1 - b * r0) / det;
    for (const [i, v] of x2.entries()) expect(Math.abs(v - b0 * x0[i] - b1 * x1[i])).toBeLessThan(1e-4 * (1 + Math.abs(v)));
    // the noise feature is not
    const x3 = column(d.testRaw, 4, 3);
    expect(Math.abs(dot(x3, x0) / Math.sqrt(dot(x3, x3) * a))).toBeLessThan(0.3);
  });

  it('classification: refuses more clusters than hypercube vertices', () => {
    expect(() => makeDataset(classification({ informative: 1, clusters_per_class: 2 }), 1)).toThrow(
      'classification: 4 clusters (2 × clusters_per_class) need distinct vertices, but a hypercube of 1 informative features has only 2',
    );
  });

  it('moons: majority on the outer arc, minority on the inner arc', () => {
    const d = makeDataset(moons({ noise: 0, standardize: false }), 2);
    for (let i = 0; i < d.nTest; i++) {
      const [x, y] = [d.testRaw[2 * i], d.testRaw[2 * i + 1]];
      if (d.yTest[i] === 0) {
        expect(Math.hypot(x, y)).toBeCloseTo(1, 5);
        expect(y).toBeGreaterThanOrEqual(-1e-7);
      } else {
        expect(Math.hypot(x - 1, y - 0.5)).toBeCloseTo(1, 5);
        expect(y).toBeLessThanOrEqual(0.5 + 1e-7);
      }
    }
  });

  it('bounds span all rows in original units, padded 5%', () => {
    const d = makeDataset(csv(), 1);
    expect(d.bounds.min[0]).toBeCloseTo(-0.975, 12); // x1 in [0, 19.5]
    expect(d.bounds.max[0]).toBeCloseTo(20.475, 12);
    expect(d.bounds.min[1]).toBeCloseTo(-6.6, 12); // x2 in [−6, 6]
    expect(d.bounds.max[1]).toBeCloseTo(6.6, 12);
    expect(d.bounds.min[2]).toBeCloseTo(0.95, 12); // constant: padded by 5% of 1
  });

  it('decisionGridPoints: row-major from (min0, min1), ends included', () => {
    const grid = decisionGridPoints({ min: [0, 10], max: [2, 14] }, 3);
    expect(Array.from(grid)).toEqual([0, 10, 1, 10, 2, 10, 0, 12, 1, 12, 2, 12, 0, 14, 1, 14, 2, 14]);
  });
});

describe('csv', () => {
  const opts: CsvOptions = { label: 'label', positive: 'yes', features: null };

  it('reads a header, features in order, and one-vs-rest labels', () => {
    const t = readCsv(fixture('good.csv'), { ...opts, features: ['x2', 'x1'] });
    expect(t.featureNames).toEqual(['x2', 'x1']);
    expect(t.nRows).toBe(40);
    expect(Array.from(t.x.slice(0, 4))).toEqual([-6, 0, 1, 0.5]);
    expect(Array.from(t.y.slice(0, 4))).toEqual([1, 0, 0, 1]);
    expect(summarizeCsv(fixture('good.csv'), opts)).toEqual({
      nRows: 40,
      nFeatures: 3,
      positives: 12,
      negatives: 28,
      featureNames: ['x1', 'x2', 'bias'],
    });
  });

  it('parses quoted fields, doubled quotes, CRLF, padding and a blank trailing line', () => {
    expect(readFileSync(fixture('quoted.csv'), 'utf8')).toContain('\r\n');
    const t = readCsv(fixture('quoted.csv'), { label: 'label', positive: 'pos', features: null });
    expect(t.featureNames).toEqual(['feature, one', 'say "hi"']);
    expect(t.nRows).toBe(4);
    expect(Array.from(t.x)).toEqual([1.5, 2, -3, 0.4, 0, 1, 2, 3]);
    expect(Array.from(t.y)).toEqual([1, 0, 0, 1]);
  });

  it('counts lines inside quoted fields and allows text in unused columns', () => {
    // line 2-3 hold a quoted line break, so the bad row is line 5
    expect(() => readCsv(fixture('multiline.csv'), { label: 'label', positive: 'a', features: ['x'] })).toThrow(
      `${fixture('multiline.csv')}:5: expected 3 fields, found 4`,
    );
  });

  const cases: [string, string, Partial<CsvOptions>, string, number | undefined][] = [
    ['missing file', 'nope.csv', {}, 'file not found', undefined],
    ['empty file', 'empty.csv', {}, 'the file is empty; expected a header row', 1],
    ['header only', 'header_only.csv', {}, 'no data rows below the header', 1],
    ['label column missing', 'good.csv', { label: 'target' }, 'label column "target" not found; columns are: x1, x2, bias, label', 1],
    ['feature column missing', 'good.csv', { features: ['x1', 'x9'] }, 'feature column "x9" not found; columns are: x1, x2, bias, label', 1],
    ['feature is the label', 'good.csv', { features: ['label'] }, 'feature column "label" is the label column', 1],
    [
      'positive value absent',
      'good.csv',
      { positive: 'maybe' },
      'positive value "maybe" not found in label column "label"; values seen: "yes", "no"',
      undefined,
    ],
    [
      'positive value absent, many values',
      'good.csv',
      { label: 'x1', positive: 'z', features: ['x2'] },
      'positive value "z" not found in label column "x1"; values seen: "0", "0.5", "1", "1.5", "2", ...',
      undefined,
    ],
    ['wrong field count', 'bad_fields.csv', {}, 'expected 3 fields, found 2', 4],
    ['missing value', 'missing_value.csv', {}, 'column "x2": missing value', 3],
    ['non-numeric value', 'non_numeric.csv', {}, 'column "x1": "abc" is not a number', 5],
    ['one positive row', 'one_positive.csv', {}, 'only 1 positive ("yes") row; need at least 2 of each class', undefined],
    ['unterminated quote', 'unterminated.csv', {}, 'unterminated quoted field', 3],
    ['repeated column name', 'duplicate_header.csv', {}, 'column name "a" appears more than once in the header', 1],
    ['no feature columns', 'label_only.csv', {}, 'no feature columns besides the label', 1],
    ['missing label', 'missing_label.csv', {}, 'column "label": missing label', 3],
    ['text after a closing quote', 'junk_after_quote.csv', {}, 'unexpected "z" after a closing quote', 2],
    ['a folder, not a file', '', {}, 'is a folder, not a regular file; data is read only from regular files', undefined],
  ];

  it.each(cases)('%s', (_name, file, over, detail, line) => {
    const path = fixture(file);
    let error: unknown;
    try {
      readCsv(path, { ...opts, ...over });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CsvError);
    expect((error as CsvError).message).toBe(line === undefined ? `${path}: ${detail}` : `${path}:${line}: ${detail}`);
    expect((error as CsvError).row).toBe(line);
  });

  it('refuses an imbalance that leaves fewer than 2 rows of a class', () => {
    // round(28 · 0.03 / 0.97) = 1 positive
    const config = csv({ imbalance: 0.03 });
    const message = `${config.path}: imbalance 0.03 leaves 1 positive and 28 negative rows; need at least 2 of each`;
    expect(() => datasetShape(config)).toThrow(message);
    expect(() => makeDataset(config, 1)).toThrow(message);
  });
});

describe('csv content check', () => {
  it('refuses a file whose content changed since the sweep was planned', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-csv-'));
    const file = join(dir, 'data.csv');
    copyFileSync(fixture('good.csv'), file);
    const config = csv({ path: file });
    expect(makeDataset(config, 1).nTrain).toBeGreaterThan(0);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/\n([^\n]*)\n$/, '\n'));
    expect(() => makeDataset(config, 1)).toThrow(
      `${file}: changed since the sweep was planned (its SHA-256 differs); run the sweep again to plan it with the new content`,
    );
  });
});

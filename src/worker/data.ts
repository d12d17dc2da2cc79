/**
 * Seeded datasets for a trial: a make_classification-like generator, imbalanced moons, or a CSV
 * file; a stratified train/validation/test split; standardisation fitted on the training split.
 *
 * Split sizes depend only on the row count, never on random class counts, so datasetShape() can
 * give the scheduler the exact tensor shapes at plan time without generating anything.
 */
import { statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { dataFileChunks } from '../data-file.js';
import { CsvError } from '../errors.js';
import { fileSha256 } from '../file-hash.js';
import { getOrCreate } from '../maps.js';
import { clip, quoted } from '../text.js';
import type { ClassificationData, CsvData, DataConfig, MoonsData } from '../types.js';
import { Rng } from './rng.js';

export interface Dataset {
  nFeatures: number;
  featureNames: string[];
  /** Row-major nTrain × nFeatures, standardised when config.standardize. */
  xTrain: Float32Array;
  /** 0/1 labels, 1 = positive = minority. */
  yTrain: Float32Array;
  xVal: Float32Array;
  yVal: Float32Array;
  xTest: Float32Array;
  yTest: Float32Array;
  nTrain: number;
  nVal: number;
  nTest: number;
  /** The transform applied to every split, fitted on the training split (0 and 1 when not standardising). */
  mean: Float64Array;
  std: Float64Array;
  /** Per-feature range over all rows in original units, padded 5% each side (decision-grid extent). */
  bounds: { min: number[]; max: number[] };
  trainPositiveFraction: number;
  /** Class counts of the training data (after resampling): what class weights and priors are computed from. */
  trainCounts: { negatives: number; positives: number };
  /** Rows of the training split before resampling. */
  nTrainOriginal: number;
  /** Positives per split (training before resampling). */
  splitPositives: { train: number; val: number; test: number };
  /** The test split in original units, for plotting. */
  testRaw: Float32Array;
}

export interface DatasetShape {
  nFeatures: number;
  nTrain: number;
  nVal: number;
  nTest: number;
  nTotal: number;
}

export interface CsvOptions {
  label: string;
  /** Label value of the positive class; every other value is negative (one-vs-rest). */
  positive: string;
  /** Feature columns, null = every column but the label. */
  features: string[] | null;
}

export interface CsvTable {
  featureNames: string[];
  /** Row-major nRows × featureNames.length. */
  x: Float64Array;
  y: Uint8Array;
  nRows: number;
}

export interface CsvSummary {
  nRows: number;
  nFeatures: number;
  positives: number;
  negatives: number;
  featureNames: string[];
}

/** Rows before splitting, in original units. */
interface RawData {
  x: Float64Array;
  y: Uint8Array;
  n: number;
  nFeatures: number;
  featureNames: string[];
}

const TRAIN = 0;
const VAL = 1;
const TEST = 2;

// ---------------------------------------------------------------- shapes

/** The shapes makeDataset will produce, computed without generating data (CSV: from its summary). */
export function datasetShape(data: DataConfig, csv?: CsvSummary): DatasetShape {
  let nFeatures: number;
  let nTotal: number;
  let kept: { positives: number; negatives: number } | null = null;
  if (data.generator === 'csv') {
    const summary = csv ?? summarizeCsv(data.path, data);
    kept = csvKeptCounts(summary.positives, summary.negatives, data.imbalance, data.path);
    nFeatures = summary.nFeatures;
    nTotal = kept.positives + kept.negatives;
  } else {
    nFeatures = data.generator === 'moons' ? 2 : data.features;
    nTotal = data.samples;
  }
  const sizes = splitSizes(nTotal, data);
  const [, nVal, nTest] = sizes;
  let nTrain = sizes[TRAIN];
  if (data.resample !== 'none') {
    // The resampled size follows from the training split's class counts alone (not the draws).
    const positives = kept ? kept.positives : totalPositives(data as ClassificationData | MoonsData);
    const trainPositives = allocatePositives(positives, nTotal - positives, sizes)[TRAIN];
    nTrain = resampledCounts(nTrain - trainPositives, trainPositives, data).total;
  }
  return { nFeatures, nTrain, nVal, nTest, nTotal };
}

// Positive counts of generated datasets with label noise, by data config (they need a generation).
const positivesCache = new Map<string, number>();

/**
 * Positives in a generated dataset: exact from the ratio, unless flip_y relabels rows at random;
 * then the dataset is generated once (with its data seed) and counted. Without a data seed (the
 * grid checks a setting before its seeds are filled in) the count before label noise stands in:
 * the cohort planner and the worker always have the seed, so trial shapes are exact.
 */
function totalPositives(data: ClassificationData | MoonsData): number {
  const nominal = classSizes(data).nPos;
  if (data.generator !== 'classification' || data.flip_y === 0 || typeof data.seed !== 'number') return nominal;
  const key = JSON.stringify({ ...data, resample: undefined, resample_ratio: undefined });
  return getOrCreate(positivesCache, key, () => {
    const raw = generate(data, data.seed as number);
    let n = 0;
    for (let i = 0; i < raw.n; i++) n += raw.y[i];
    if (positivesCache.size > 10_000) positivesCache.clear();
    return n;
  });
}

/**
 * Class counts after resampling a training split of `negatives` and `positives` rows. The minority
 * is the smaller class; `resample_ratio` is the minority:majority ratio aimed for. Oversampling adds
 * minority rows (drawn with replacement) up to round(ratio × majority); undersampling keeps
 * round(minority / ratio) majority rows. A split already at or past the ratio is left as it is.
 */
export function resampledCounts(
  negatives: number,
  positives: number,
  data: Pick<DataConfig, 'resample' | 'resample_ratio'>,
): { negatives: number; positives: number; total: number } {
  const ratio = data.resample_ratio ?? 1;
  const minorityIsPositive = positives <= negatives;
  const minority = minorityIsPositive ? positives : negatives;
  const majority = minorityIsPositive ? negatives : positives;
  let m = minority;
  let M = majority;
  if (data.resample === 'oversample') m = Math.max(minority, Math.round(ratio * majority));
  else if (data.resample === 'undersample') M = Math.min(majority, Math.max(minority, Math.round(minority / ratio)));
  const out = minorityIsPositive ? { negatives: M, positives: m } : { negatives: m, positives: M };
  return { ...out, total: m + M };
}

/** [train, val, test] sizes: test first, validation out of the rest, train gets what is left. */
function splitSizes(n: number, data: DataConfig): [number, number, number] {
  const nTest = Math.round(n * data.test_fraction);
  const nVal = Math.round((n - nTest) * data.validation_fraction);
  return [n - nTest - nVal, nVal, nTest];
}

/**
 * Positives per split, stratified: largest-remainder apportionment of nPos over the split sizes
 * (so each split's positive count is within one of proportional and totals are exact), then each
 * non-empty split of at least 2 rows gets one row of each class whenever that class has a row for
 * every non-empty split.
 */
function allocatePositives(nPos: number, nNeg: number, sizes: number[]): number[] {
  const n = nPos + nNeg;
  const quota = sizes.map((s) => (nPos * s) / n);
  const alloc = quota.map(Math.floor);
  const byRemainder = [0, 1, 2].sort((a, b) => quota[b] - alloc[b] - (quota[a] - alloc[a]) || a - b);
  for (let k = 0, left = nPos - alloc[0] - alloc[1] - alloc[2]; k < left; k++) alloc[byRemainder[k]]++;

  const splits = [0, 1, 2].filter((s) => sizes[s] > 0);
  const argmax = (value: (s: number) => number) => splits.reduce((a, b) => (value(b) > value(a) ? b : a));
  for (const s of splits) {
    if (sizes[s] < 2) continue;
    if (alloc[s] === 0 && nPos >= splits.length) {
      // swap a positive in from the split with the most (it has ≥ 2 by pigeonhole)
      alloc[argmax((t) => alloc[t])]--;
      alloc[s]++;
    } else if (alloc[s] === sizes[s] && nNeg >= splits.length) {
      alloc[argmax((t) => sizes[t] - alloc[t])]++;
      alloc[s]--;
    }
  }
  return alloc;
}

// ---------------------------------------------------------------- dataset

/** The trial's dataset; `data.seed`, when set, replaces the trial seed so trials can share data. */
export function makeDataset(data: DataConfig, seed: number): Dataset {
  const dataSeed = data.seed ?? seed;
  const raw = generate(data, dataSeed);
  const { n, nFeatures: f, x, y } = raw;
  const sizes = splitSizes(n, data);

  // Stratified assignment: shuffle each class's rows, deal them out test, validation, train.
  let nPos = 0;
  for (let i = 0; i < n; i++) nPos += y[i];
  const posAlloc = allocatePositives(nPos, n - nPos, sizes);
  const splitOf = new Uint8Array(n);
  const splitRng = new Rng(dataSeed, 'data/split');
  for (const cls of [1, 0]) {
    const rows: number[] = [];
    for (let i = 0; i < n; i++) if (y[i] === cls) rows.push(i);
    splitRng.shuffle(rows);
    const inTest = cls ? posAlloc[TEST] : sizes[TEST] - posAlloc[TEST];
    const inVal = cls ? posAlloc[VAL] : sizes[VAL] - posAlloc[VAL];
    rows.forEach((row, k) => {
      splitOf[row] = k < inTest ? TEST : k < inTest + inVal ? VAL : TRAIN;
    });
  }
  // Rows keep their (already shuffled) order within each split.
  const parts = sizes.map((size) => ({ x: new Float64Array(size * f), y: new Float32Array(size), n: 0 }));
  for (let i = 0; i < n; i++) {
    const part = parts[splitOf[i]];
    part.x.set(x.subarray(i * f, (i + 1) * f), part.n * f);
    part.y[part.n++] = y[i];
  }
  const train = parts[TRAIN];

  const mean = new Float64Array(f);
  const std = new Float64Array(f).fill(1);
  if (data.standardize) {
    for (let j = 0; j < f; j++) {
      let sum = 0;
      for (let i = 0; i < sizes[TRAIN]; i++) sum += train.x[i * f + j];
      const m = sum / sizes[TRAIN];
      let ss = 0;
      for (let i = 0; i < sizes[TRAIN]; i++) ss += (train.x[i * f + j] - m) ** 2;
      const s = Math.sqrt(ss / sizes[TRAIN]); // population std, as StandardScaler
      mean[j] = m;
      // constant column: leave it unscaled (the relative bound absorbs the mean's rounding error)
      std[j] = s > 1e-12 * Math.abs(m) ? s : 1;
    }
  }

  let xTrain: Float32Array = standardizeRows(train.x, f, mean, std);
  let yTrain: Float32Array = train.y;
  // Resampled after the scaler is fitted: the scaler sees each training row once.
  if (data.resample !== 'none') ({ x: xTrain, y: yTrain } = resample(xTrain, yTrain, f, data, new Rng(seed, 'data/resample')));
  let trainPositives = 0;
  for (let i = 0; i < yTrain.length; i++) trainPositives += yTrain[i];

  return {
    nFeatures: f,
    featureNames: raw.featureNames,
    xTrain,
    yTrain,
    xVal: standardizeRows(parts[VAL].x, f, mean, std),
    yVal: parts[VAL].y,
    xTest: standardizeRows(parts[TEST].x, f, mean, std),
    yTest: parts[TEST].y,
    nTrain: yTrain.length,
    nTrainOriginal: sizes[TRAIN],
    nVal: sizes[VAL],
    nTest: sizes[TEST],
    mean,
    std,
    bounds: paddedBounds(x, n, f),
    trainPositiveFraction: trainPositives / yTrain.length,
    trainCounts: { negatives: yTrain.length - trainPositives, positives: trainPositives },
    splitPositives: { train: countOnes(train.y), val: countOnes(parts[VAL].y), test: countOnes(parts[TEST].y) },
    testRaw: Float32Array.from(parts[TEST].x),
  };
}

/**
 * The training rows resampled to `resampledCounts`: oversampling appends minority rows drawn with
 * replacement; undersampling keeps a random subset of the majority. Rows otherwise keep their order.
 */
function resample(x: Float32Array, y: Float32Array, f: number, data: DataConfig, rng: Rng): { x: Float32Array; y: Float32Array } {
  const n = y.length;
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i];
  const want = resampledCounts(n - positives, positives, data);
  const minorityLabel = positives <= n - positives ? 1 : 0;
  const rowsOf = (label: number) => {
    const rows: number[] = [];
    for (let i = 0; i < n; i++) if (y[i] === label) rows.push(i);
    return rows;
  };
  let keep: number[];
  if (data.resample === 'oversample') {
    const minority = rowsOf(minorityLabel);
    const extra = (minorityLabel === 1 ? want.positives : want.negatives) - minority.length;
    keep = Array.from({ length: n }, (_, i) => i);
    for (let k = 0; k < extra; k++) keep.push(minority[rng.int(minority.length)]);
  } else {
    const majority = rowsOf(1 - minorityLabel);
    const keepMajority = minorityLabel === 1 ? want.negatives : want.positives;
    rng.shuffle(majority);
    const dropped = new Set(majority.slice(keepMajority));
    keep = [];
    for (let i = 0; i < n; i++) if (!dropped.has(i)) keep.push(i);
  }
  const out = { x: new Float32Array(keep.length * f), y: new Float32Array(keep.length) };
  for (const [k, i] of keep.entries()) {
    out.x.set(x.subarray(i * f, (i + 1) * f), k * f);
    out.y[k] = y[i];
  }
  return out;
}

function countOnes(y: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < y.length; i++) n += y[i];
  return n;
}

/** (x − mean) / std per column, as float32 model input. */
export function standardizeRows(x: ArrayLike<number>, nFeatures: number, mean: ArrayLike<number>, std: ArrayLike<number>): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const j = i % nFeatures;
    out[i] = (x[i] - mean[j]) / std[j];
  }
  return out;
}

function paddedBounds(x: Float64Array, n: number, f: number): { min: number[]; max: number[] } {
  const min: number[] = [];
  const max: number[] = [];
  for (let j = 0; j < f; j++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = x[i * f + j];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const pad = 0.05 * (hi - lo || 1); // a constant feature still gets a non-empty extent
    min.push(lo - pad);
    max.push(hi + pad);
  }
  return { min, max };
}

/**
 * resolution² points (x, y) over the first two features' bounds, row-major from (min0, min1):
 * point r·resolution + c is at column c along feature 0 and row r along feature 1, ends included.
 */
export function decisionGridPoints(bounds: { min: number[]; max: number[] }, resolution: number): Float32Array {
  const out = new Float32Array(resolution * resolution * 2);
  const step = (d: number) => (resolution > 1 ? (bounds.max[d] - bounds.min[d]) / (resolution - 1) : 0);
  const dx = step(0);
  const dy = step(1);
  for (let r = 0, k = 0; r < resolution; r++) {
    for (let c = 0; c < resolution; c++) {
      out[k++] = bounds.min[0] + c * dx;
      out[k++] = bounds.min[1] + r * dy;
    }
  }
  return out;
}

// ---------------------------------------------------------------- generators

function generate(data: DataConfig, seed: number): RawData {
  if (data.generator === 'csv') return csvRows(data, seed);
  const rng = new Rng(seed, 'data/generate');
  return data.generator === 'moons' ? moons(data, rng) : classification(data, rng);
}

/** Exact class sizes from the minority fraction: positives = round(samples · imbalance). */
function classSizes(data: ClassificationData | MoonsData): { nPos: number; nNeg: number } {
  if (data.imbalance === 'native') throw new Error(`imbalance 'native' applies to csv data only`);
  const nPos = Math.round(data.samples * data.imbalance);
  return { nPos, nNeg: data.samples - nPos };
}

function names(nFeatures: number): string[] {
  return Array.from({ length: nFeatures }, (_, j) => `x${j}`);
}

/**
 * Like scikit-learn's make_classification: 2·clusters_per_class Gaussian clusters on distinct
 * vertices of an informative-dimensional hypercube with side 2·class_sep, each transformed by its
 * own random A = 2·U − 1; cluster k belongs to class k mod 2. Then redundant features (random
 * linear combinations of the informative ones), pure noise features, flip_y label noise, and a row
 * shuffle. Unlike sklearn the columns are not shuffled, so x0.. are the informative features.
 */
function classification(data: ClassificationData, rng: Rng): RawData {
  const f = data.features;
  const inf = data.informative ?? f;
  const red = data.redundant;
  if (inf + red > f) {
    throw new Error(`classification: informative (${inf}) + redundant (${red}) exceeds features (${f})`);
  }
  const nClusters = 2 * data.clusters_per_class;
  if (2 ** inf < nClusters) {
    throw new Error(
      `classification: ${nClusters} clusters (2 × clusters_per_class) need distinct vertices, ` +
        `but a hypercube of ${inf} informative features has only ${2 ** inf}`,
    );
  }
  const { nPos, nNeg } = classSizes(data);
  const n = data.samples;
  const x = new Float64Array(n * f);
  const y = new Uint8Array(n);

  // Distinct random vertices (rejection: nClusters ≤ 2^inf and both are small).
  const seen = new Set<string>();
  const centroids: number[][] = [];
  while (centroids.length < nClusters) {
    const bits = Array.from({ length: inf }, () => rng.int(2));
    const key = bits.join('');
    if (seen.has(key)) continue;
    seen.add(key);
    centroids.push(bits.map((b) => (b ? data.class_sep : -data.class_sep)));
  }

  const z = new Float64Array(inf);
  let row = 0;
  for (let k = 0; k < nClusters; k++) {
    const cls = k % 2;
    const classCount = cls ? nPos : nNeg;
    const within = Math.floor(k / 2); // the cluster's index within its class
    const cpc = data.clusters_per_class;
    const size = Math.floor(classCount / cpc) + (within < classCount % cpc ? 1 : 0);
    const A = Array.from({ length: inf * inf }, () => 2 * rng.next() - 1);
    for (let r = 0; r < size; r++, row++) {
      for (let i = 0; i < inf; i++) z[i] = rng.normal();
      for (let j = 0; j < inf; j++) {
        let v = centroids[k][j];
        for (let i = 0; i < inf; i++) v += z[i] * A[i * inf + j];
        x[row * f + j] = v;
      }
      y[row] = cls;
    }
  }

  if (red > 0) {
    const B = Array.from({ length: inf * red }, () => 2 * rng.next() - 1);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < red; j++) {
        let v = 0;
        for (let i = 0; i < inf; i++) v += x[r * f + i] * B[i * red + j];
        x[r * f + inf + j] = v;
      }
    }
  }
  for (let r = 0; r < n; r++) for (let j = inf + red; j < f; j++) x[r * f + j] = rng.normal();

  if (data.flip_y > 0) {
    // As sklearn: choose the rows first, then give each a uniformly random label (half keep theirs).
    const flip: number[] = [];
    for (let r = 0; r < n; r++) if (rng.next() < data.flip_y) flip.push(r);
    for (const r of flip) y[r] = rng.int(2);
  }
  return shuffleRows({ x, y, n, nFeatures: f, featureNames: names(f) }, rng);
}

/**
 * Imbalanced two moons (sklearn make_moons): the majority (label 0) is the outer moon with its
 * points on linspace(0, π), the minority (label 1) the inner moon; Gaussian noise on both axes.
 */
function moons(data: MoonsData, rng: Rng): RawData {
  const { nPos, nNeg } = classSizes(data);
  const n = data.samples;
  const x = new Float64Array(n * 2);
  const y = new Uint8Array(n);
  const angle = (i: number, count: number) => (count > 1 ? (Math.PI * i) / (count - 1) : 0);
  for (let i = 0; i < nNeg; i++) {
    const t = angle(i, nNeg);
    x[2 * i] = Math.cos(t);
    x[2 * i + 1] = Math.sin(t);
  }
  for (let i = 0; i < nPos; i++) {
    const t = angle(i, nPos);
    const r = nNeg + i;
    x[2 * r] = 1 - Math.cos(t);
    x[2 * r + 1] = 0.5 - Math.sin(t);
    y[r] = 1;
  }
  for (let i = 0; i < 2 * n; i++) x[i] += data.noise * rng.normal();
  return shuffleRows({ x, y, n, nFeatures: 2, featureNames: names(2) }, rng);
}

function shuffleRows(raw: RawData, rng: Rng): RawData {
  const { n, nFeatures: f } = raw;
  const perm = rng.permutation(n);
  const x = new Float64Array(n * f);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x.set(raw.x.subarray(perm[i] * f, (perm[i] + 1) * f), i * f);
    y[i] = raw.y[perm[i]];
  }
  return { ...raw, x, y };
}

// ---------------------------------------------------------------- csv

/** The class counts csvKeptCounts keeps, without its check. */
function csvSubsampledCounts(positives: number, negatives: number, imbalance: number | 'native'): { positives: number; negatives: number } {
  if (imbalance === 'native') return { positives, negatives };
  const r = imbalance;
  return positives / (positives + negatives) > r
    ? { positives: Math.min(positives, Math.round((negatives * r) / (1 - r))), negatives }
    : { positives, negatives: Math.min(negatives, Math.round((positives * (1 - r)) / r)) };
}

/**
 * Positives of a dataset and of each of its splits (the training split before resampling), from the
 * config alone: exact for CSV data and generated data without label noise; with flip_y, from the
 * count before label noise (the planner warns with it; trials record their exact counts).
 */
export function expectedPositives(data: DataConfig, csv?: CsvSummary): { total: number; rows: number; train: number; val: number; test: number } {
  let positives: number;
  let rows: number;
  if (data.generator === 'csv') {
    const summary = csv ?? summarizeCsv(data.path, data);
    const kept = csvSubsampledCounts(summary.positives, summary.negatives, data.imbalance);
    positives = kept.positives;
    rows = kept.positives + kept.negatives;
  } else {
    positives = classSizes(data).nPos;
    rows = data.samples;
  }
  const sizes = splitSizes(rows, data);
  const [train, val, test] = allocatePositives(positives, rows - positives, sizes);
  return { total: positives, rows, train, val, test };
}

/**
 * Class counts kept from a CSV. 'native' keeps every row (a positive class over half the rows is
 * allowed here; the scheduler decides whether to accept it). A minority fraction r subsamples one
 * class, deterministically from the file's counts so datasetShape can reproduce it.
 */
function csvKeptCounts(positives: number, negatives: number, imbalance: number | 'native', file: string): { positives: number; negatives: number } {
  const kept = csvSubsampledCounts(positives, negatives, imbalance);
  if (kept.positives < 2 || kept.negatives < 2) {
    const r = imbalance;
    throw new CsvError(file, `imbalance ${r} leaves ${kept.positives} positive and ${kept.negatives} negative rows; need at least 2 of each`);
  }
  return kept;
}

// Parsed tables by file identity and options: a cohort's trials share one parse of the file.
const csvCache = new Map<string, CsvTable>();
const CSV_CACHE_ENTRIES = 4;

/**
 * readCsv with a per-thread cache, checking that the file still has the content the sweep was
 * planned with (trial keys follow the SHA-256; training on other bytes would mislabel results).
 */
function cachedCsv(data: CsvData): CsvTable {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(data.path);
  } catch {
    throw new CsvError(data.path, 'file not found');
  }
  const id = JSON.stringify([data.path, st.size, st.mtimeMs, data.sha256, data.label, data.positive, data.features]);
  const hit = csvCache.get(id);
  if (hit) return hit;
  if (data.sha256) {
    if (fileSha256(data.path) !== data.sha256)
      throw new CsvError(data.path, 'changed since the sweep was planned (its SHA-256 differs); run the sweep again to plan it with the new content');
  }
  const table = readCsv(data.path, data);
  if (csvCache.size >= CSV_CACHE_ENTRIES) csvCache.delete(csvCache.keys().next().value as string);
  csvCache.set(id, table);
  return table;
}

/** The CSV's rows after subsampling to the requested imbalance (kept rows stay in file order). */
function csvRows(data: CsvData, seed: number): RawData {
  const table = cachedCsv(data);
  const { nRows: n, x, y } = table;
  const f = table.featureNames.length;
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i];
  const kept = csvKeptCounts(positives, n - positives, data.imbalance, data.path);

  // At most one class is reduced: keep a random subset of it.
  const keep = new Uint8Array(n).fill(1);
  const cls = kept.positives < positives ? 1 : 0;
  const target = cls ? kept.positives : kept.negatives;
  const rows: number[] = [];
  for (let i = 0; i < n; i++) if (y[i] === cls) rows.push(i);
  if (rows.length > target) {
    new Rng(seed, 'data/subsample').shuffle(rows);
    for (const row of rows.slice(target)) keep[row] = 0;
  }
  const nKept = kept.positives + kept.negatives;
  const out: RawData = { x: new Float64Array(nKept * f), y: new Uint8Array(nKept), n: nKept, nFeatures: f, featureNames: table.featureNames };
  for (let i = 0, k = 0; i < n; i++) {
    if (!keep[i]) continue;
    out.x.set(x.subarray(i * f, (i + 1) * f), k * f);
    out.y[k++] = y[i];
  }
  return out;
}

export function summarizeCsv(path: string, opts: CsvOptions): CsvSummary {
  const table = readCsv(path, opts);
  let positives = 0;
  for (let i = 0; i < table.nRows; i++) positives += table.y[i];
  return {
    nRows: table.nRows,
    nFeatures: table.featureNames.length,
    positives,
    negatives: table.nRows - positives,
    featureNames: table.featureNames,
  };
}

/**
 * Reads a CSV with a header row, streaming: the file is decoded and parsed a chunk at a time, rows
 * go straight into the feature and label arrays (data-file.ts: regular files only, size-limited).
 * Every problem is a CsvError naming the file and, where there is one, the line.
 */
export function readCsv(path: string, opts: CsvOptions, chunkBytes = CSV_CHUNK_BYTES): CsvTable {
  const records = csvRecords(path, chunkBytes);
  const first = records.next();
  if (first.done) throw new CsvError(path, 'the file is empty; expected a header row', 1);

  const { fields: columns, line: headerLine } = first.value;
  // Columns are found by name: a repeated name would silently read the first column twice.
  const repeated = columns.find((name, k) => columns.indexOf(name) !== k);
  if (repeated !== undefined) throw new CsvError(path, `column name ${quoted(repeated)} appears more than once in the header`, headerLine);
  const listed = `columns are: ${listColumns(columns)}`;
  const labelIndex = columns.indexOf(opts.label);
  if (labelIndex < 0) throw new CsvError(path, `label column ${quoted(opts.label)} not found; ${listed}`, headerLine);
  const featureNames = opts.features ?? columns.filter((_, k) => k !== labelIndex);
  if (featureNames.length === 0) throw new CsvError(path, 'no feature columns besides the label', headerLine);
  const featureIndex = featureNames.map((name) => {
    const k = columns.indexOf(name);
    if (k < 0) throw new CsvError(path, `feature column ${quoted(name)} not found; ${listed}`, headerLine);
    if (k === labelIndex) throw new CsvError(path, `feature column ${quoted(name)} is the label column`, headerLine);
    return k;
  });

  const f = featureNames.length;
  let x = new Float64Array(1024 * f);
  let y = new Uint8Array(1024);
  let nRows = 0;
  const labelsSeen = new Set<string>(); // the first few distinct labels, for the error message
  let positives = 0;
  for (const { fields, line } of records) {
    if (fields.length !== columns.length) {
      throw new CsvError(path, `expected ${columns.length} fields, found ${fields.length}`, line);
    }
    if (nRows === y.length) {
      // grow by doubling: the row count is known only at the end
      const x2 = new Float64Array(x.length * 2);
      x2.set(x);
      x = x2;
      const y2 = new Uint8Array(y.length * 2);
      y2.set(y);
      y = y2;
    }
    const r = nRows++;
    const label = fields[labelIndex];
    if (label === '') throw new CsvError(path, `column ${quoted(opts.label)}: missing label`, line);
    if (labelsSeen.size <= 5) labelsSeen.add(label);
    if (label === opts.positive) {
      y[r] = 1;
      positives++;
    }
    for (let j = 0; j < f; j++) x[r * f + j] = parseNumber(fields[featureIndex[j]], featureNames[j], path, line);
  }
  if (nRows === 0) throw new CsvError(path, 'no data rows below the header', headerLine);

  if (positives === 0) {
    const seen = [...labelsSeen].slice(0, 5).map((v) => quoted(v));
    if (labelsSeen.size > 5) seen.push('...');
    throw new CsvError(path, `positive value ${quoted(opts.positive)} not found in label column ${quoted(opts.label)}; values seen: ${seen.join(', ')}`);
  }
  const negatives = nRows - positives;
  if (positives < 2 || negatives < 2) {
    const [count, which] = positives < 2 ? [positives, `positive (${quoted(opts.positive)})`] : [negatives, 'negative'];
    throw new CsvError(path, `only ${count} ${which} row${count === 1 ? '' : 's'}; need at least 2 of each class`);
  }
  return { featureNames, x: x.slice(0, nRows * f), y: y.slice(0, nRows), nRows };
}

/** Column names for a message: the first 20, each cut, and how many there are. */
function listColumns(columns: readonly string[]): string {
  const shown = columns.slice(0, 20).map((c) => clip(c, 40));
  return columns.length > 20 ? `${shown.join(', ')}, … (${columns.length} columns)` : shown.join(', ');
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function parseNumber(text: string, column: string, path: string, line: number): number {
  if (text === '') throw new CsvError(path, `column ${quoted(column)}: missing value`, line);
  const value = NUMBER.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(value)) throw new CsvError(path, `column ${quoted(column)}: ${quoted(text)} is not a number`, line);
  return value;
}

interface CsvRecord {
  fields: string[];
  /** 1-based line the record starts on. */
  line: number;
}

/** Text decoded per read: a record longer than this makes the next read as long as what is pending. */
const CSV_CHUNK_BYTES = 8 * 2 ** 20;

/**
 * The records of a CSV file, decoded and parsed chunk by chunk (a leading byte-order mark dropped).
 * The text after the last complete record waits for the next chunk.
 */
function* csvRecords(path: string, chunkBytes: number): Generator<CsvRecord> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let line = 1;
  let first = true;
  // a long record makes the next read as long as what is pending: linear, however long it is
  const chunks = dataFileChunks(path, () => Math.max(chunkBytes, pending.length));
  for (;;) {
    const next = chunks.next();
    let text: string;
    try {
      text = pending + (next.done ? decoder.end() : decoder.write(next.value));
    } catch (e) {
      if (e instanceof RangeError) throw new CsvError(path, `a record longer than JavaScript's longest string (${pending.length} characters)`, line);
      throw e;
    }
    if (first && text.length > 0) {
      // the first character decoded (a chunk may end inside it)
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    const parsed = parseCsvRecords(text, line, !!next.done, path);
    yield* parsed.records;
    pending = text.slice(parsed.end);
    line = parsed.line;
    if (next.done) return;
  }
}

/**
 * RFC 4180 records of `text`, with the 1-based line each starts on (the text starts on line
 * `line`): quoted fields may hold commas, doubled quotes and line breaks; CRLF, LF or CR line ends;
 * blank lines skipped; whitespace around unquoted fields (and around the quotes of quoted ones)
 * ignored. Unless `final`, a record is taken only once its line end is in `text`: the rest (from
 * `end`, starting on line `line`) waits for more text.
 */
function parseCsvRecords(text: string, line: number, final: boolean, path: string): { records: CsvRecord[]; end: number; line: number } {
  const records: CsvRecord[] = [];
  const n = text.length;
  let i = 0;
  const isBlank = (c: string) => c === ' ' || c === '\t';
  scan: while (i < n) {
    const recordStart = i;
    const start = line;
    const fields: string[] = [];
    let quotedAny = false;
    for (;;) {
      let k = i;
      while (k < n && isBlank(text[k])) k++;
      if (text[k] === '"') {
        quotedAny = true;
        const quoteLine = line;
        let value = '';
        i = k + 1;
        for (;;) {
          if (i >= n) {
            if (!final) {
              i = recordStart;
              line = start;
              break scan;
            }
            throw new CsvError(path, 'unterminated quoted field', quoteLine);
          }
          const c = text[i];
          if (c === '"') {
            if (text[i + 1] !== '"') break;
            value += '"';
            i += 2;
            continue;
          }
          if (c === '\n') line++;
          value += c;
          i++;
        }
        i++; // the closing quote
        while (i < n && isBlank(text[i])) i++;
        if (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          throw new CsvError(path, `unexpected ${quoted(text[i])} after a closing quote`, line);
        }
        fields.push(value);
      } else {
        let end = i;
        while (end < n && text[end] !== ',' && text[end] !== '\n' && text[end] !== '\r') end++;
        fields.push(text.slice(i, end).trim());
        i = end;
      }
      if (text[i] !== ',') break;
      i++;
    }
    // the line end must be here whole (a CR may be the first half of a CRLF), or the text final
    if (!final && (i >= n || (text[i] === '\r' && i + 1 >= n))) {
      i = recordStart;
      line = start;
      break;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n') i++;
    line++;
    if (fields.length > 1 || fields[0] !== '' || quotedAny) records.push({ fields, line: start });
  }
  return { records, end: i, line };
}

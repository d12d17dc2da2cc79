/**
 * YAML -> SweepSpec. Validates everything a user can write, so that every mistake is one line naming
 * the file, line, column and key path, before anything is written anywhere.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type Document, isMap, isSeq, type LineCounter, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import {
  custom,
  dataSchemas,
  describeIssue,
  fmt,
  formatPath,
  type Issue,
  int,
  isInvalid,
  MAX_COHORT_SIZE,
  modelSchema,
  numberIn,
  type PathPart,
  parseAlpha,
  parseGamma,
  trainSchema,
} from '../config-schema.js';
import { parseDuration } from '../duration.js';
import { SpecError, type SpecLocation } from '../errors.js';
import { fileSha256 } from '../file-hash.js';
import {
  type Alpha,
  type CsvData,
  type DataConfig,
  type Generator,
  LOSS_KINDS,
  type LossConfig,
  METRICS,
  type MetricName,
  type ModelConfig,
  type TrainConfig,
} from '../types.js';
import { type CsvSummary, summarizeCsv } from '../worker/data.js';
import { parseSpecYaml, readSpecFile } from './spec-yaml.js';

/**
 * Default trials per cohort, from the cohort-speedup benchmark (`npm run bench`, section 2 of
 * bench/RESULTS.md): on wasm, throughput per trial-sample rises steeply up to K ≈ 32; beyond it K = 64
 * gave ~20% more for 2-16-16-1 but less for 20-64-64-1, and the quickstart's wall time was the same
 * either way (33-39 s, noise). Of about equally fast sizes the smaller is the better default: a
 * cohort is the unit of progress, of work lost on Ctrl-C or a crash, and of execution.trial_timeout,
 * and it holds K models in memory.
 */
export const DEFAULT_COHORT_SIZE = 32;
/** Default cohort timeout. */
const DEFAULT_TRIAL_TIMEOUT_MS = 30 * 60_000;
/** A grid larger than this is refused unless the user passes --yes. */
export const MAX_TRIALS_WITHOUT_CONFIRM = 100_000;

export interface ExecutionSettings {
  /** Most trials trained together in one batched model. Default {@link DEFAULT_COHORT_SIZE}. */
  cohort_size: number;
  /** Wall-time limit for one cohort in ms (0 = none). Default 30 minutes. */
  trial_timeout_ms: number;
}

/** One axis of the grid: a dotted config path and its values, each with where it was written. */
export interface GridAxis {
  /** 'seed', 'loss', or a dotted path such as 'data.imbalance', 'train.learning_rate'. */
  path: string;
  values: unknown[];
  where: SpecLocation[];
  /** Loss axis: which values are γ = 0 controls the grid added (grid.controls), not written by the user. */
  controls?: boolean[];
  /** The values as written in the YAML (messages quote them so; e.g. a ratio "999:1"). */
  raw?: unknown[];
}

export interface SweepSpec {
  /** The spec file as given on the command line. */
  file: string;
  /** The YAML text (stored with the sweep). */
  text: string;
  name: string;
  description: string | null;
  objective: MetricName;
  seed: number;
  data: DataConfig;
  /** init may still be 'auto' here: it is resolved per trial, because activation can be swept. */
  model: Omit<ModelConfig, 'init'> & { init: ModelConfig['init'] | 'auto' };
  train: TrainConfig;
  execution: ExecutionSettings;
  axes: GridAxis[];
  /** Summary of the CSV file, when data.generator is csv. */
  csv: CsvSummary | null;
  /** data.imbalance as written in the data section (undefined when left to its default). */
  rawImbalance: unknown;
  /** Where a key path was written (for errors found after parsing, e.g. by the grid). */
  locate(path: string): SpecLocation;
}

// ------------------------------------------------------------------ schemas
// (the value parsers, the data/model/train schemas and issue formatting are in src/config-schema.ts,
// shared with the distributed worker's payload check)

const executionSchema = z.strictObject({
  cohort_size: int(1, MAX_COHORT_SIZE).default(DEFAULT_COHORT_SIZE),
  // zod applies a default after the transform, so it is given in ms
  trial_timeout: custom((v) => {
    const ms = parseDuration(v);
    return typeof ms === 'string' ? { error: ms } : ms;
  }).default(DEFAULT_TRIAL_TIMEOUT_MS),
});

const topSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  description: z.string().nullable().default(null),
  objective: z.string().default('minority_f1'),
  seed: int(0).default(0),
  data: z.record(z.string(), z.unknown()).default({}),
  model: z.record(z.string(), z.unknown()).default({}),
  train: z.record(z.string(), z.unknown()).default({}),
  execution: z.record(z.string(), z.unknown()).default({}),
  grid: z.record(z.string(), z.unknown()),
});

const SECTIONS = ['data', 'model', 'train'] as const;
type Section = (typeof SECTIONS)[number];

/** Closest candidate by edit distance, for "did you mean" hints. */
function closest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== null && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}

// ------------------------------------------------------------------ the loader

class SpecSource {
  readonly lines: LineCounter;
  readonly doc: Document.Parsed;
  /** The document as plain JS values. */
  readonly value: unknown;
  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    ({ doc: this.doc, lines: this.lines, value: this.value } = parseSpecYaml(text, file));
  }

  /** Location of a node by path; walks up to the nearest existing parent. With `key`, the key's position. */
  at(path: readonly PathPart[], key = false): SpecLocation {
    const p = [...path];
    while (p.length > 0) {
      const loc = this.node(p, key && p.length === path.length);
      if (loc) return { file: this.file, ...loc, path: formatPath(path) };
      p.pop();
    }
    return { file: this.file, path: path.length ? formatPath(path) : undefined };
  }

  private node(path: PathPart[], wantKey: boolean): { line: number; col: number } | null {
    let cur: unknown = this.doc.contents;
    let keyNode: YamlNode | null = null;
    for (const part of path) {
      if (isMap(cur)) {
        const pair = cur.items.find((it) => (it.key as { value?: unknown } | null)?.value === part);
        if (!pair) return null;
        keyNode = pair.key as YamlNode;
        cur = pair.value;
      } else if (isSeq(cur) && typeof part === 'number') {
        keyNode = null;
        cur = cur.items[part];
      } else {
        return null;
      }
    }
    const target = (wantKey && keyNode ? keyNode : cur) as YamlNode | null;
    const range = target?.range ?? (keyNode?.range as YamlNode['range']);
    if (!range) return null;
    const { line, col } = this.lines.linePos(range[0]);
    return { line, col };
  }

  fail(path: readonly PathPart[], detail: string, key = false): never {
    throw new SpecError(this.at(path, key), detail);
  }
}

/** Parse a zod schema, turning the first issue into a SpecError located at `base` + the issue path. */
function parseWith<T extends z.ZodType>(src: SpecSource, schema: T, value: unknown, base: PathPart[], hint?: (key: string) => string | null): z.output<T> {
  const r = schema.safeParse(value, { reportInput: true });
  if (r.success) return r.data;
  const issue = firstIssue(r.error.issues);
  const path = [...base, ...(issue.path as PathPart[])];
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    const known = knownKeys(schema, issue.path as PathPart[]);
    const extra = hint?.(key);
    const guess = closest(key, known);
    const detail = extra ?? (guess ? `unknown key (did you mean ${guess}?)` : `unknown key (expected one of: ${known.join(', ')})`);
    src.fail([...path, key], detail, true);
  }
  src.fail(path, describeIssue(issue));
}

/**
 * The issue to report. zod lists a missing key before an unknown one, but a misspelt key is both
 * (`gird:` leaves grid missing): naming the unknown key points at the typo.
 */
function firstIssue(issues: readonly Issue[]): Issue {
  const missing = issues[0].code === 'invalid_type' && issues[0].input === undefined;
  return (missing && issues.find((i) => i.code === 'unrecognized_keys')) || issues[0];
}

/** The keys of the object schema at `path` inside `schema` (through defaults and nullables). */
function knownKeys(schema: z.ZodType, path: readonly PathPart[] = []): string[] {
  let s: unknown = schema;
  const unwrap = () => {
    for (let def = (s as { def?: { innerType?: unknown } }).def; def?.innerType; def = (s as { def?: { innerType?: unknown } }).def) s = def.innerType;
  };
  for (const part of path) {
    unwrap();
    s = (s as { shape?: Record<string, unknown> }).shape?.[String(part)];
  }
  unwrap();
  const shape = (s as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

/** Read, parse and validate a sweep spec. Throws SpecError / CsvError; never writes anything. */
export function loadSpec(file: string): SweepSpec {
  return parseSpec(readSpecFile(file), file);
}

/** Validate spec text; `file` names it in errors and anchors relative CSV paths. */
export function parseSpec(text: string, file: string): SweepSpec {
  const src = new SpecSource(file, text);
  const raw = src.value;
  if (raw === null || raw === undefined) throw new SpecError({ file }, 'empty spec (expected a mapping with name, grid, ...)');
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new SpecError({ file, line: 1, col: 1 }, 'must be a mapping with name, grid, ...');

  const top = parseWith(src, topSchema, raw, []);
  if (!Object.hasOwn(METRICS, top.objective)) {
    src.fail(['objective'], `unknown metric ${fmt(top.objective)} (expected one of: ${Object.keys(METRICS).join(', ')})`);
  }

  // data: the generator decides which keys exist.
  const rawData = { generator: 'classification', ...top.data } as Record<string, unknown>;
  const generator = rawData.generator as Generator;
  if (!Object.hasOwn(dataSchemas, generator)) {
    src.fail(['data', 'generator'], `must be one of ${Object.keys(dataSchemas).join(', ')}, got ${fmt(generator)}`);
  }
  const dataHint = (key: string): string | null => {
    for (const [g, s] of Object.entries(dataSchemas)) {
      if (g !== generator && Object.hasOwn(s.shape, key)) return `unknown key for generator ${generator} (${key} applies to generator ${g})`;
    }
    return null;
  };
  const data = parseWith(src, dataSchemas[generator], rawData, ['data'], dataHint) as DataConfig;
  let csv: CsvSummary | null = null;
  if (data.generator === 'csv') {
    const abs = isAbsolute(data.path) ? data.path : resolve(dirname(file), data.path);
    if (!existsSync(abs) || statSync(abs).isDirectory()) src.fail(['data', 'path'], `no such file: ${abs}`);
    csv = summarizeCsv(abs, { label: data.label, positive: data.positive, features: data.features });
    (data as CsvData).path = abs;
    (data as CsvData).sha256 = fileSha256(abs);
  }

  const model = parseWith(src, modelSchema, top.model, ['model']);
  const train = parseWith(src, trainSchema, top.train, ['train']) as TrainConfig;
  const execRaw = parseWith(src, executionSchema, top.execution, ['execution']);
  const execution: ExecutionSettings = { cohort_size: execRaw.cohort_size, trial_timeout_ms: execRaw.trial_timeout as number };

  const axes = parseGrid(src, top.grid, generator);

  return {
    file,
    text,
    name: top.name,
    description: top.description,
    objective: top.objective as MetricName,
    seed: top.seed,
    data,
    model,
    train,
    execution,
    axes,
    csv,
    rawImbalance: rawData.imbalance,
    locate: (path: string) => src.at(splitPath(path)),
  };
}

function splitPath(path: string): PathPart[] {
  const out: PathPart[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]|\["([^"]*)"\]/g)) {
    if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(m[3] ?? m[1]);
  }
  return out;
}

// ------------------------------------------------------------------ grid

/** Keys that cannot be swept: they change what the data or the run is, not a setting of it. */
const NOT_SWEEPABLE = new Set(['data.generator', 'data.path', 'data.label', 'data.positive', 'data.features']);

function parseGrid(src: SpecSource, grid: Record<string, unknown>, generator: Generator): GridAxis[] {
  const keys = Object.keys(grid);
  if (keys.length === 0) src.fail(['grid'], 'empty grid: add at least loss (e.g. loss: [bce, {focal: {gamma: [1, 2]}}])');
  // unknown keys first: a misspelt loss would otherwise be reported as missing
  const schemas = new Map(keys.filter((k) => k !== 'loss' && k !== 'controls').map((k) => [k, axisSchema(src, k, generator)]));
  if (!('loss' in grid)) src.fail(['grid'], 'missing loss: list the losses to compare, e.g. loss: [bce, {focal: {gamma: [1, 2], alpha: [inverse]}}]');
  if ('imbalance' in grid && 'data.imbalance' in grid) src.fail(['grid', 'data.imbalance'], 'given twice (also as imbalance)', true);

  const axes: GridAxis[] = [];
  const controls = grid.controls === undefined ? true : grid.controls;
  if (typeof controls !== 'boolean') src.fail(['grid', 'controls'], `must be true or false (add the γ = 0 twin of every focal setting), got ${fmt(controls)}`);
  for (const key of keys) {
    const value = grid[key];
    const base: PathPart[] = ['grid', key];
    if (key === 'controls') continue;
    if (key === 'loss') {
      axes.push(parseLossAxis(src, value, controls));
      continue;
    }
    const path = key === 'imbalance' ? 'data.imbalance' : key;
    const values = Array.isArray(value) ? value : [value];
    if (values.length === 0) src.fail(base, 'empty list: gives 0 trials');
    const where = values.map((_, i) => src.at(Array.isArray(value) ? [...base, i] : base));
    const schema = schemas.get(key) as z.ZodType;
    const parsed: unknown[] = [];
    values.forEach((v, i) => {
      const at: PathPart[] = Array.isArray(value) ? [...base, i] : base;
      if (v === undefined || v === null) {
        // null is a value of these keys: all informative, the trial seed, no early stopping
        if (!(path === 'data.informative' || path === 'data.seed' || path === 'train.early_stopping')) src.fail(at, 'must not be empty');
      }
      parsed.push(parseWith(src, schema, v, at));
    });
    rejectLiteralDuplicates(src, base, values);
    axes.push({ path, values: parsed, where, raw: values });
  }
  return axes;
}

/** The schema of one value of a grid axis other than loss; refuses keys that are not an axis. */
function axisSchema(src: SpecSource, key: string, generator: Generator): z.ZodType {
  const base: PathPart[] = ['grid', key];
  const path = key === 'imbalance' ? 'data.imbalance' : key;
  if (path === 'seed') return int(0);
  const [section, field, ...rest] = path.split('.');
  if (!SECTIONS.includes(section as Section) || !field || rest.length > 0) {
    const guess = closest(key, ['loss', 'seed', 'imbalance']);
    src.fail(base, `unknown grid key${guess ? ` (did you mean ${guess}?)` : ''}: use loss, seed, imbalance, or a dotted path like train.learning_rate`, true);
  }
  if (NOT_SWEEPABLE.has(path)) src.fail(base, `cannot be swept: write one sweep per ${field}`, true);
  const sectionSchema = section === 'data' ? dataSchemas[generator] : section === 'model' ? modelSchema : trainSchema;
  const shape = sectionSchema.shape as Record<string, z.ZodType>;
  const fieldSchema = Object.hasOwn(shape, field) ? shape[field] : undefined;
  if (!fieldSchema) {
    const guess = closest(field, Object.keys(sectionSchema.shape));
    src.fail(
      base,
      `unknown key ${field} in ${section}${section === 'data' ? ` for generator ${generator}` : ''}${guess ? ` (did you mean ${section}.${guess}?)` : ''}`,
      true,
    );
  }
  return fieldSchema;
}

/** The same value written twice in one list is almost always a typo for another value. */
function rejectLiteralDuplicates(src: SpecSource, base: PathPart[], values: unknown[]): void {
  const seen = new Map<string, number>();
  values.forEach((v, i) => {
    const k = JSON.stringify(v);
    if (seen.has(k)) src.fail([...base, i], `${fmt(v)} is listed twice (also at [${seen.get(k)}])`);
    seen.set(k, i);
  });
}

/**
 * The loss axis. With `controls`, every α of a focal entry also gets its γ = 0 twin (weighted BCE
 * at that α, BCE for α none), appended and marked, so that the heatmaps' γ = 0 row is full and the
 * gain of the best focal setting can be split between γ and α (equal configurations run once).
 */
function parseLossAxis(src: SpecSource, value: unknown, controls: boolean): GridAxis {
  const base: PathPart[] = ['grid', 'loss'];
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) src.fail(base, 'empty list: gives 0 trials');
  const values: LossConfig[] = [];
  const where: SpecLocation[] = [];
  const twins: { loss: LossConfig; where: SpecLocation }[] = [];
  const seenVariants = new Map<string, number>();
  items.forEach((item, i) => {
    const at: PathPart[] = Array.isArray(value) ? [...base, i] : base;
    let kind: string;
    let params: Record<string, unknown>;
    if (typeof item === 'string') {
      kind = item;
      params = {};
    } else if (item && typeof item === 'object' && !Array.isArray(item)) {
      const entries = Object.entries(item);
      if (entries.length !== 1) src.fail(at, `must be one loss, e.g. {focal: {gamma: [1, 2]}}, got ${entries.length} keys`);
      kind = entries[0][0];
      const p = entries[0][1];
      if (p !== null && (typeof p !== 'object' || Array.isArray(p))) src.fail([...at, kind], `must be a mapping of parameters, got ${fmt(p)}`);
      params = (p ?? {}) as Record<string, unknown>;
    } else {
      src.fail(at, `must be a loss (${LOSS_KINDS.join(', ')}) or a mapping like {focal: {gamma: [1, 2]}}, got ${fmt(item)}`);
    }
    if (!LOSS_KINDS.includes(kind as (typeof LOSS_KINDS)[number])) {
      const guess = closest(kind, LOSS_KINDS);
      src.fail(
        typeof item === 'string' ? at : [...at, kind],
        `unknown loss ${fmt(kind)}${guess ? ` (did you mean ${guess}?)` : ` (expected one of: ${LOSS_KINDS.join(', ')})`}`,
        typeof item !== 'string',
      );
    }
    if (seenVariants.has(kind)) src.fail(at, `${kind} is listed twice (also at [${seenVariants.get(kind)}]); list its parameter values in one entry`);
    seenVariants.set(kind, i);
    const pAt: PathPart[] = typeof item === 'string' ? at : [...at, kind];
    const allowed: Record<string, string[]> = {
      bce: [],
      weighted_bce: ['alpha'],
      focal: ['gamma', 'alpha'],
      class_balanced: ['beta', 'gamma'],
      logit_adjusted: ['tau'],
      poly1: ['epsilon'],
    };
    for (const k of Object.keys(params)) {
      if (!allowed[kind].includes(k)) {
        src.fail(
          [...pAt, k],
          kind === 'bce'
            ? `bce takes no parameters (for class weights use weighted_bce: {alpha: ...})`
            : `unknown parameter for ${kind} (expected ${allowed[kind].join(', ')})`,
          true,
        );
      }
    }
    const list = (name: string, dflt: unknown[]): { v: unknown; at: PathPart[] }[] => {
      if (!(name in params)) return dflt.map((v) => ({ v, at: pAt }));
      const raw = params[name];
      const vs = Array.isArray(raw) ? raw : [raw];
      if (vs.length === 0) src.fail([...pAt, name], 'empty list: gives 0 trials');
      rejectLiteralDuplicates(src, [...pAt, name], vs);
      return vs.map((v, j) => ({ v, at: Array.isArray(raw) ? [...pAt, name, j] : [...pAt, name] }));
    };
    if (kind === 'bce') {
      values.push({ kind: 'bce' });
      where.push(src.at(at));
      return;
    }
    /** A list of numbers in [min, max] (or [min, max) with `below`), each checked where it is written. */
    const numbers = (name: string, dflt: number, min: number, max: number, below = false): number[] =>
      list(name, [dflt]).map(({ v, at: a }) => {
        const r = numberIn(min, max, below)(v);
        if (isInvalid(r)) src.fail(a, r.error);
        return r as number;
      });
    if (kind === 'class_balanced') {
      // β: Cui et al.'s typical values are 0.9, 0.99, 0.999, 0.9999
      for (const beta of numbers('beta', 0.999, 0, 1, true)) {
        for (const gamma of numbers('gamma', 0, 0, 100)) {
          values.push({ kind: 'class_balanced', beta, gamma });
          where.push(src.at(pAt));
        }
      }
      return;
    }
    if (kind === 'logit_adjusted') {
      for (const tau of numbers('tau', 1, 0, Infinity)) {
        values.push({ kind: 'logit_adjusted', tau });
        where.push(src.at(pAt));
      }
      return;
    }
    if (kind === 'poly1') {
      for (const epsilon of numbers('epsilon', 1, -1, Infinity)) {
        values.push({ kind: 'poly1', epsilon });
        where.push(src.at(pAt));
      }
      return;
    }
    const alphas = list('alpha', kind === 'focal' ? ['none'] : ['inverse']).map(({ v, at: a }) => {
      const r = parseAlpha(v, kind === 'focal');
      if (isInvalid(r)) src.fail(a, r.error);
      return r as Alpha;
    });
    if (kind === 'weighted_bce') {
      for (const alpha of alphas) {
        values.push({ kind: 'weighted_bce', alpha: alpha as number | 'inverse' });
        where.push(src.at(pAt));
      }
      return;
    }
    const gammas = list('gamma', [2]).map(({ v, at: a }) => {
      const r = parseGamma(v);
      if (isInvalid(r)) src.fail(a, r.error);
      return r as number;
    });
    for (const gamma of gammas) {
      for (const alpha of alphas) {
        values.push({ kind: 'focal', gamma, alpha });
        where.push(src.at(pAt));
      }
    }
    if (controls) for (const alpha of alphas) twins.push({ loss: { kind: 'focal', gamma: 0, alpha }, where: src.at(pAt) });
  });
  const isControl = values.map(() => false);
  for (const t of twins) {
    values.push(t.loss);
    where.push(t.where);
    isControl.push(true);
  }
  return { path: 'loss', values, where, controls: isControl };
}

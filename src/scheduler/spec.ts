/**
 * YAML -> SweepSpec. Validates everything a user can write, so that every mistake is one line naming
 * the file, line, column and key path, before anything is written anywhere.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type Document, isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../duration.js';
import { SpecError, type SpecLocation } from '../errors.js';
import { fileSha256 } from '../file-hash.js';
import { quoted } from '../text.js';
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
  /** Where a key path was written (for errors found after parsing, e.g. by the grid). */
  locate(path: string): SpecLocation;
}

// ------------------------------------------------------------------ value parsers

/** A value parser's answer when the value is wrong: what is wrong with it. */
type Invalid = { error: string };

/** "90:10" / "9:1" / 0.1 -> minority fraction; what is wrong with it otherwise. */
function parseImbalance(v: unknown, allowNative: boolean): number | 'native' | Invalid {
  if (v === 'native') return allowNative ? 'native' : { error: `'native' only applies to csv data (keep the file's own ratio)` };
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v <= 0 || v > 0.5) {
      return { error: `must be a minority fraction in (0, 0.5] or a ratio like "90:10", got ${fmt(v)}` };
    }
    return v;
  }
  if (typeof v === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$/.exec(v);
    if (!m) return { error: `must be a ratio like "90:10" (majority:minority) or a fraction in (0, 0.5], got ${fmt(v)}` };
    const a = Number(m[1]);
    const b = Number(m[2]);
    if (!(b > 0) || !(a >= b)) return { error: `ratio must be majority:minority with majority ≥ minority > 0, got "${v}"` };
    return b / (a + b);
  }
  return { error: `must be a ratio like "90:10" or a fraction in (0, 0.5], got ${fmt(v)}` };
}

function parseAlpha(v: unknown, allowNone: boolean): Alpha | Invalid {
  if (v === null || v === 'none') return allowNone ? 'none' : { error: `'none' is not allowed here (use bce for no weighting)` };
  if (v === 'inverse') return 'inverse';
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1) return v;
  return { error: `must be a number in [0, 1]${allowNone ? ', none' : ''} or inverse, got ${fmt(v)}` };
}

function fmt(v: unknown): string {
  if (typeof v === 'string') return quoted(v);
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `a list`;
  if (typeof v === 'object') return `a mapping`;
  return String(v);
}

// ------------------------------------------------------------------ schemas

const custom = <T>(parse: (v: unknown) => T | Invalid) =>
  z.unknown().transform((v, ctx) => {
    const r = parse(v);
    if (isInvalid(r)) {
      ctx.addIssue({ code: 'custom', message: r.error });
      return z.NEVER;
    }
    return r;
  });

function isInvalid(r: unknown): r is Invalid {
  return typeof r === 'object' && r !== null && 'error' in r;
}

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.int().min(min).max(max);
const frac = (min: number, max: number, minInclusive = true, maxInclusive = true) => {
  let s = z.number();
  s = minInclusive ? s.min(min) : s.gt(min);
  s = maxInclusive ? s.max(max) : s.lt(max);
  return s;
};

const commonData = {
  test_fraction: frac(0, 1, false, false).default(0.25),
  validation_fraction: frac(0, 1, true, false).default(0),
  standardize: z.boolean().default(true),
  seed: int(0).nullable().default(null),
};

const dataSchemas = {
  classification: z.strictObject({
    generator: z.literal('classification'),
    imbalance: custom((v) => parseImbalance(v, false)).default(0.1),
    samples: int(10, 10_000_000).default(4000),
    features: int(1, 10_000).default(2),
    informative: int(1, 10_000).nullable().default(null),
    redundant: int(0, 10_000).default(0),
    clusters_per_class: int(1, 64).default(1),
    class_sep: frac(0, 1e6, false).default(1.0),
    flip_y: frac(0, 1).default(0.01),
    ...commonData,
  }),
  moons: z.strictObject({
    generator: z.literal('moons'),
    imbalance: custom((v) => parseImbalance(v, false)).default(0.1),
    samples: int(10, 10_000_000).default(2000),
    noise: frac(0, 1e6).default(0.2),
    ...commonData,
  }),
  csv: z.strictObject({
    generator: z.literal('csv'),
    imbalance: custom<number | 'native'>((v) => parseImbalance(v, true)).default('native'),
    path: z.string().min(1),
    label: z.string().min(1),
    positive: z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v)),
    features: z.array(z.string().min(1)).min(1).nullable().default(null),
    ...commonData,
  }),
} as const;

const modelSchema = z.strictObject({
  hidden: z.array(int(1, 4096)).max(8).default([16, 16]),
  activation: z.enum(['relu', 'tanh']).default('relu'),
  init: z.enum(['auto', 'he', 'glorot']).default('auto'),
});

const trainSchema = z.strictObject({
  epochs: int(0, 100_000).default(30),
  batch_size: int(1, 1_000_000).default(64),
  learning_rate: frac(0, 10, false).default(0.01),
  optimizer: z.enum(['adam', 'sgd']).default('adam'),
  momentum: frac(0, 1, true, false).default(0.9),
  eval_every: int(1).default(1),
  threshold: frac(0, 1, false, false).default(0.5),
});

const executionSchema = z.strictObject({
  cohort_size: int(1, 4096).default(DEFAULT_COHORT_SIZE),
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

// ------------------------------------------------------------------ issue formatting

type Issue = z.core.$ZodIssue;

function describeIssue(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type': {
      const got = fmt(issue.input);
      if (issue.input === undefined) return issue.path.length === 1 && issue.path[0] === 'name' ? 'required (names the sweep and its database)' : 'required';
      const expected =
        issue.expected === 'int' ? 'an integer' : issue.expected === 'record' ? 'a mapping' : issue.expected === 'array' ? 'a list' : `a ${issue.expected}`;
      return `must be ${expected}, got ${got}`;
    }
    case 'too_small': {
      if (issue.origin === 'array') return `must have at least ${issue.minimum} item${Number(issue.minimum) === 1 ? '' : 's'}`;
      if (issue.origin === 'string') return `must not be empty`;
      return `must be ${issue.inclusive ? '≥' : '>'} ${issue.minimum}, got ${fmt(issue.input)}`;
    }
    case 'too_big': {
      if (issue.origin === 'array') return `must have at most ${issue.maximum} items`;
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      return `must be ${issue.inclusive ? '≤' : '<'} ${issue.maximum}, got ${fmt(issue.input)}`;
    }
    case 'invalid_value':
      return `must be one of ${issue.values.map((x) => String(x)).join(', ')}, got ${fmt(issue.input)}`;
    case 'invalid_union':
      return `must be a string or a number, got ${fmt(issue.input)}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    default:
      return issue.message;
  }
}

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

type PathPart = string | number;

/** Formats ['grid', 'loss', 1, 'focal', 'gamma', 2] as grid.loss[1].focal.gamma[2]. */
function formatPath(path: readonly PathPart[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}

class SpecSource {
  readonly lines = new LineCounter();
  readonly doc: Document.Parsed;
  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: true });
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
  const issue = r.error.issues[0];
  const path = [...base, ...(issue.path as PathPart[])];
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    const known = knownKeys(schema);
    const extra = hint?.(key);
    const guess = closest(key, known);
    const detail = extra ?? (guess ? `unknown key (did you mean ${guess}?)` : `unknown key (expected one of: ${known.join(', ')})`);
    src.fail([...path, key], detail, true);
  }
  src.fail(path, describeIssue(issue));
}

function knownKeys(schema: z.ZodType): string[] {
  const shape = (schema as unknown as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : [];
}

/** Read, parse and validate a sweep spec. Throws SpecError / CsvError; never writes anything. */
export function loadSpec(file: string): SweepSpec {
  if (!existsSync(file)) throw new SpecError({ file }, 'no such file');
  if (statSync(file).isDirectory()) throw new SpecError({ file }, 'is a folder, not a spec file');
  const text = readFileSync(file, 'utf8');
  return parseSpec(text, file);
}

/** Validate spec text; `file` names it in errors and anchors relative CSV paths. */
export function parseSpec(text: string, file: string): SweepSpec {
  const src = new SpecSource(file, text);
  const yamlErr = src.doc.errors[0];
  if (yamlErr) {
    const pos = yamlErr.linePos?.[0];
    let msg = yamlErr.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    if (yamlErr.code === 'DUPLICATE_KEY') {
      const key = /^[^\s:]+/.exec(text.slice(yamlErr.pos[0]))?.[0];
      msg = `duplicate key${key ? ` ${key}` : ''} (each key may appear once in a mapping)`;
    }
    throw new SpecError({ file, line: pos?.line, col: pos?.col }, `YAML: ${msg}`);
  }
  const raw = src.doc.toJS({ maxAliasCount: 100 }) as unknown;
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
  if (!('loss' in grid)) src.fail(['grid'], 'missing loss: list the losses to compare, e.g. loss: [bce, {focal: {gamma: [1, 2], alpha: [inverse]}}]');
  if ('imbalance' in grid && 'data.imbalance' in grid) src.fail(['grid', 'data.imbalance'], 'given twice (also as imbalance)', true);

  const axes: GridAxis[] = [];
  for (const key of keys) {
    const value = grid[key];
    const base: PathPart[] = ['grid', key];
    if (key === 'loss') {
      axes.push(parseLossAxis(src, value));
      continue;
    }
    const path = key === 'imbalance' ? 'data.imbalance' : key;
    const values = Array.isArray(value) ? value : [value];
    if (values.length === 0) src.fail(base, 'empty list: gives 0 trials');
    const where = values.map((_, i) => src.at(Array.isArray(value) ? [...base, i] : base));

    let schema: z.ZodType;
    if (path === 'seed') {
      schema = int(0);
    } else {
      const [section, field, ...rest] = path.split('.');
      if (!SECTIONS.includes(section as Section) || !field || rest.length > 0) {
        const guess = closest(key, ['loss', 'seed', 'imbalance']);
        src.fail(
          base,
          `unknown grid key${guess ? ` (did you mean ${guess}?)` : ''}: use loss, seed, imbalance, or a dotted path like train.learning_rate`,
          true,
        );
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
      schema = fieldSchema;
    }
    const parsed: unknown[] = [];
    values.forEach((v, i) => {
      const at: PathPart[] = Array.isArray(value) ? [...base, i] : base;
      if (v === undefined || v === null) {
        if (!(path === 'data.informative' || path === 'data.seed')) src.fail(at, 'must not be empty');
      }
      parsed.push(parseWith(src, schema, v, at));
    });
    rejectLiteralDuplicates(src, base, values);
    axes.push({ path, values: parsed, where });
  }
  return axes;
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

function parseLossAxis(src: SpecSource, value: unknown): GridAxis {
  const base: PathPart[] = ['grid', 'loss'];
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) src.fail(base, 'empty list: gives 0 trials');
  const values: LossConfig[] = [];
  const where: SpecLocation[] = [];
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
      src.fail(at, `must be bce, weighted_bce, focal or a mapping like {focal: {gamma: [1, 2]}}, got ${fmt(item)}`);
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
    const allowed: Record<string, string[]> = { bce: [], weighted_bce: ['alpha'], focal: ['gamma', 'alpha'] };
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
      if (typeof v !== 'number' || !Number.isFinite(v)) src.fail(a, `must be a number ≥ 0, got ${fmt(v)}`);
      if (v < 0) src.fail(a, `must be ≥ 0, got ${v}`);
      if (v > 100) src.fail(a, `must be ≤ 100, got ${v}`);
      return v;
    });
    for (const gamma of gammas) {
      for (const alpha of alphas) {
        values.push({ kind: 'focal', gamma, alpha });
        where.push(src.at(pAt));
      }
    }
  });
  return { path: 'loss', values, where };
}

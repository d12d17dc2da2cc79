/**
 * The rules for the values of a trial config, shared by the spec loader (src/scheduler/spec.ts) and
 * the distributed worker's payload check (src/worker/payload.ts), so that a worker refuses exactly
 * what the spec loader refuses, with the same words. A leaf module: zod and src/types.ts only.
 */
import { z } from 'zod';
import { quoted } from './text.js';
import { type Alpha, CONFIG_VERSION, isMetricName, LOSS_KINDS, METRIC_NAMES, RESAMPLE_MODES, THRESHOLD_METRICS } from './types.js';

/** Most trials in one cohort (execution.cohort_size), and so in one job. */
export const MAX_COHORT_SIZE = 4096;

// ------------------------------------------------------------------ value parsers

/** A value parser's answer when the value is wrong: what is wrong with it. */
export type Invalid = { error: string };

/** "90:10" / "9:1" / 0.1 -> minority fraction; what is wrong with it otherwise. */
export function parseImbalance(v: unknown, allowNative: boolean): number | 'native' | Invalid {
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

export function parseAlpha(v: unknown, allowNone: boolean): Alpha | Invalid {
  if (v === null || v === 'none') return allowNone ? 'none' : { error: `'none' is not allowed here (use bce for no weighting)` };
  if (v === 'inverse') return 'inverse';
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1) return v;
  return { error: `must be a number in [0, 1]${allowNone ? ', none' : ''} or inverse, got ${fmt(v)}` };
}

export function fmt(v: unknown): string {
  if (typeof v === 'string') return quoted(v);
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `a list`;
  if (typeof v === 'object') return `a mapping`;
  return String(v);
}

/** γ of a focal loss: a number from 0 to 100. */
export function parseGamma(v: unknown): number | Invalid {
  if (typeof v !== 'number' || !Number.isFinite(v)) return { error: `must be a number ≥ 0, got ${fmt(v)}` };
  if (v < 0) return { error: `must be ≥ 0, got ${v}` };
  if (v > 100) return { error: `must be ≤ 100, got ${v}` };
  return v;
}

// ------------------------------------------------------------------ schemas

export const custom = <T>(parse: (v: unknown) => T | Invalid) =>
  z.unknown().transform((v, ctx) => {
    const r = parse(v);
    if (isInvalid(r)) {
      ctx.addIssue({ code: 'custom', message: r.error });
      return z.NEVER;
    }
    return r;
  });

export function isInvalid(r: unknown): r is Invalid {
  return typeof r === 'object' && r !== null && 'error' in r;
}

export const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.int().min(min).max(max);
export const frac = (min: number, max: number, minInclusive = true, maxInclusive = true) => {
  let s = z.number();
  s = minInclusive ? s.min(min) : s.gt(min);
  s = maxInclusive ? s.max(max) : s.lt(max);
  return s;
};

export const commonData = {
  test_fraction: frac(0, 1, false, false).default(0.25),
  validation_fraction: frac(0, 1, true, false).default(0.2),
  standardize: z.boolean().default(true),
  seed: int(0).nullable().default(null),
  resample: z.enum(RESAMPLE_MODES).default('none'),
  resample_ratio: frac(0, 1, false, true).default(1),
};

export const dataSchemas = {
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

export const modelSchema = z.strictObject({
  hidden: z.array(int(1, 4096)).max(8).default([16, 16]),
  activation: z.enum(['relu', 'tanh']).default('relu'),
  init: z.enum(['auto', 'he', 'glorot']).default('auto'),
});

export const trainSchema = z.strictObject({
  epochs: int(0, 100_000).default(30),
  batch_size: int(1, 1_000_000).default(64),
  learning_rate: frac(0, 10, false).default(0.01),
  optimizer: z.enum(['adam', 'sgd']).default('adam'),
  momentum: frac(0, 1, true, false).default(0.9),
  eval_every: int(1).default(1),
  threshold: frac(0, 1, false, false).default(0.5),
  threshold_metric: z.enum(THRESHOLD_METRICS).default('minority_f1'),
  early_stopping: z
    .strictObject({
      monitor: custom((v) => parseMonitor(v)).default('pr_auc'),
      patience: int(1, 100_000).default(5),
      min_delta: frac(0, 1e6).default(0),
    })
    .nullable()
    .default(null),
});

/** A parser of a finite number in [min, max] (or [min, max) with `below`; max may be Infinity). */
export function numberIn(min: number, max: number, below = false): (v: unknown) => number | Invalid {
  const range = below ? `in [${min}, ${max})` : max === Infinity ? `≥ ${min}` : `in [${min}, ${max}]`;
  return (v) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return { error: `must be a number ${range}, got ${fmt(v)}` };
    return v < min || (below ? v >= max : v > max) ? { error: `must be ${range}, got ${v}` } : v;
  };
}

/** What early stopping may watch: the trial's own loss or any metric, on the validation split. */
export function parseMonitor(v: unknown): string | Invalid {
  if (v === 'loss' || isMetricName(v)) return v;
  return { error: `must be loss or a metric (${METRIC_NAMES.join(', ')}), got ${fmt(v)}` };
}

// ------------------------------------------------------------------ issue formatting

export type Issue = z.core.$ZodIssue;

export function describeIssue(issue: Issue): string {
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

export type PathPart = string | number;

/** Formats ['grid', 'loss', 1, 'focal', 'gamma', 2] as grid.loss[1].focal.gamma[2]. */
export function formatPath(path: readonly PathPart[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}

// ------------------------------------------------------------------ resolved configs (what workers receive)

/** The same schema with every default removed: a resolved config states every value. */
function required(schema: z.ZodObject): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const [k, s] of Object.entries(schema.shape as Record<string, z.ZodType>)) shape[k] = s instanceof z.ZodDefault ? (s.unwrap() as z.ZodType) : s;
  return z.strictObject(shape);
}

// resample_ratio is sent only when resampling
const resampleRatio = { resample_ratio: commonData.resample_ratio.unwrap().optional() };
const resolvedData: Record<string, z.ZodObject> = {
  classification: required(dataSchemas.classification).extend(resampleRatio),
  moons: required(dataSchemas.moons).extend(resampleRatio),
  // the content hash the coordinator planned with (the trial key follows it)
  csv: required(dataSchemas.csv).extend({ sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 in hex'), ...resampleRatio }),
};
// init is resolved from the activation ('auto' never reaches a worker); momentum is sent for sgd only
const resolvedModel = required(modelSchema).extend({ init: z.enum(['he', 'glorot']) });
// threshold_metric is sent only with a validation split, early_stopping only when set
const resolvedTrain = required(trainSchema).extend({
  momentum: trainSchema.shape.momentum.unwrap().optional(),
  threshold_metric: trainSchema.shape.threshold_metric.unwrap().optional(),
  early_stopping: trainSchema.shape.early_stopping.unwrap().unwrap().optional(),
});
/** A finite number in a range, as the loss axis of the spec checks it. */
const within = (min: number, max: number, below = false) => custom(numberIn(min, max, below));
const resolvedLoss: Record<(typeof LOSS_KINDS)[number], z.ZodObject> = {
  bce: z.strictObject({ kind: z.literal('bce') }),
  weighted_bce: z.strictObject({ kind: z.literal('weighted_bce'), alpha: custom((v) => parseAlpha(v, false)) }),
  focal: z.strictObject({ kind: z.literal('focal'), gamma: custom(parseGamma), alpha: custom((v) => parseAlpha(v, true)) }),
  class_balanced: z.strictObject({ kind: z.literal('class_balanced'), beta: within(0, 1, true), gamma: custom(parseGamma) }),
  logit_adjusted: z.strictObject({ kind: z.literal('logit_adjusted'), tau: within(0, Infinity) }),
  poly1: z.strictObject({ kind: z.literal('poly1'), epsilon: within(-1, Infinity) }),
};
const resolvedTop = z.strictObject({
  v: z.literal(CONFIG_VERSION),
  seed: int(0),
  data: z.record(z.string(), z.unknown()),
  model: z.record(z.string(), z.unknown()),
  train: z.record(z.string(), z.unknown()),
  loss: z.record(z.string(), z.unknown()),
});

/**
 * What is wrong with a resolved trial config (as the grid makes it and a job carries it), by the
 * spec's own rules, as "<key path>: <problem>"; null when nothing is. Values must also be in their
 * resolved form: a ratio "90:10" where the fraction belongs, a number as `positive`, is refused.
 * Cross-key rules (informative + redundant ≤ features, ...) are the data generator's to check.
 */
export function resolvedConfigProblem(config: unknown): string | null {
  const top = problem(resolvedTop, config, []);
  if (top) return top;
  const c = config as Record<'data' | 'model' | 'train' | 'loss', Record<string, unknown>>;
  const generator = c.data.generator;
  if (typeof generator !== 'string' || !Object.hasOwn(resolvedData, generator))
    return `data.generator: must be one of ${Object.keys(resolvedData).join(', ')}, got ${fmt(generator)}`;
  const kind = c.loss.kind;
  if (typeof kind !== 'string' || !Object.hasOwn(resolvedLoss, kind)) return `loss.kind: must be one of ${LOSS_KINDS.join(', ')}, got ${fmt(kind)}`;
  return (
    problem(resolvedData[generator], c.data, ['data']) ??
    problem(resolvedModel, c.model, ['model']) ??
    problem(resolvedTrain, c.train, ['train']) ??
    problem(resolvedLoss[kind as (typeof LOSS_KINDS)[number]], c.loss, ['loss'])
  );
}

function problem(schema: z.ZodType, value: unknown, base: PathPart[]): string | null {
  const r = schema.safeParse(value, { reportInput: true });
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = [...base, ...(issue.path as PathPart[])];
    if (issue.code === 'unrecognized_keys') return `${formatPath([...path, issue.keys[0]])}: unknown key`;
    return `${formatPath(path) || 'config'}: ${describeIssue(issue)}`;
  }
  const diff = firstDifference(value, r.data, base);
  return diff ? `${formatPath(diff.path)}: must be in resolved form, got ${fmt(diff.value)}` : null;
}

/** The first place where a parsed value differs from its input (a parser that converted something). */
function firstDifference(input: unknown, parsed: unknown, path: PathPart[]): { path: PathPart[]; value: unknown } | null {
  if (Array.isArray(input) && Array.isArray(parsed)) {
    if (input.length !== parsed.length) return { path, value: input };
    for (let i = 0; i < input.length; i++) {
      const d = firstDifference(input[i], parsed[i], [...path, i]);
      if (d) return d;
    }
    return null;
  }
  if (input && parsed && typeof input === 'object' && typeof parsed === 'object' && !Array.isArray(input) && !Array.isArray(parsed)) {
    for (const k of Object.keys(parsed)) {
      const d = firstDifference((input as Record<string, unknown>)[k], (parsed as Record<string, unknown>)[k], [...path, k]);
      if (d) return d;
    }
    return null;
  }
  return Object.is(input, parsed) ? null : { path, value: input };
}

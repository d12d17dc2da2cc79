/**
 * SweepSpec -> Trial[]: the cartesian product of the grid axes, each combination made canonical
 * (defaults filled, keys sorted, parameters that do not apply removed), checked, keyed and deduped.
 */

import { canonicalJsonParts, shortHash, shortHashOfText } from '../canonical.js';
import { GridTooLargeError, SpecError, type SpecLocation } from '../errors.js';
import { datasetLabel, imbalanceLabel, settingLabel } from '../labels.js';
import { getOrCreate } from '../maps.js';
import { CONFIG_VERSION, type DataConfig, type LossConfig, type Trial, type TrialConfig } from '../types.js';
import { type CsvSummary, datasetShape, expectedPositives } from '../worker/data.js';
import { MAX_TRIALS_WITHOUT_CONFIRM, type SweepSpec } from './spec.js';

export interface GridExpansion {
  trials: Trial[];
  /** Trials that only the γ = 0 controls (grid.controls) brought in. */
  controls: number;
  /** Combinations that were effectively equal to an earlier one and merged into it. */
  merged: number;
  /** The user's combinations before merging (the controls left out). */
  combinations: number;
}

export interface ExpandOptions {
  /** Allow grids larger than MAX_TRIALS_WITHOUT_CONFIRM. */
  yes?: boolean;
}

/** The config a trial key hashes: the CSV path is left out, so the key follows the file's content. */
function hashedConfig(config: TrialConfig): unknown {
  return config.data.generator === 'csv' ? { ...config, data: { ...config.data, path: undefined } } : config;
}

/** The stable key of a canonical config. */
function trialKey(config: TrialConfig): string {
  return shortHash(hashedConfig(config));
}

/**
 * Hash of a config without its seeds: trials that differ only by seed share it. The data seed is
 * left out when it follows the trial seed (the spec's data.seed is null) and kept when it is fixed,
 * so a fixed data seed that happens to equal one trial seed does not split that trial off.
 */
export function settingKey(config: TrialConfig, dataSeedFollows: boolean): string {
  return trialKey({ ...config, seed: -1, data: { ...config.data, seed: dataSeedFollows ? null : config.data.seed } });
}

/** Number of grid combinations before merging duplicates. */
export function countCombinations(spec: SweepSpec): number {
  return spec.axes.reduce((n, a) => n * a.values.length, 1);
}

/** Stands for the trial seed in a setting's config until a trial fills it in. */
const SEED: { readonly seed: true } = Object.freeze({ seed: true });

/**
 * One combination of the axes other than seed: what its trials share. Built, checked and
 * serialised once; each seed then costs a shallow copy, a string join and a hash.
 */
interface Setting {
  /** The config with {@link SEED} for the trial seed (and for data.seed when it follows it). */
  config: TrialConfig;
  /** The canonical JSON of the hashed config, cut at the seeds. */
  keyParts: string[];
  /** The canonical JSON of the data section with its seed hole: settings with equal data share their trials' data objects. */
  dataKey: string;
  params: Record<string, unknown>;
  /** The params that are the trial seed: seed, and data.seed when it is swept and follows the seed. */
  seedParams: string[];
  settingKey: string;
  /** The setting label, or null when it shows a seed (a swept data.seed that follows the seed). */
  label: string | null;
}

function makeSetting(spec: SweepSpec, picked: Picked, seed: number | typeof SEED): Setting {
  const { config, dataSeedFollows } = buildConfig(spec, picked, seed);
  const params = paramsOf(config, spec);
  const seedParams = Object.keys(params).filter((k) => params[k] === SEED);
  return {
    config,
    keyParts: canonicalJsonParts(hashedConfig(config), SEED),
    dataKey: canonicalJsonParts(config.data, SEED).join('\0'),
    params,
    seedParams,
    settingKey: settingKey(config, dataSeedFollows),
    label: seedParams.some((k) => k !== 'seed') ? null : settingLabel(config.loss, config.data.imbalance, params, nativeShareOf(spec.csv)),
  };
}

const isSeedHole = (v: unknown): boolean => v === SEED;

/**
 * A trial of a setting: its seed in the holes (same key as hashing its whole config). `data` is
 * the setting's data section with this seed (shared by the trials that have both equal).
 */
function trialOf(s: Setting, seed: number, seedJson: string, data: TrialConfig['data'], nativeShare: number | null): Trial {
  const key = shortHashOfText(s.keyParts.join(seedJson));
  const c = s.config;
  const config: TrialConfig = isSeedHole(c.seed) ? { v: c.v, seed, data, model: c.model, train: c.train, loss: c.loss } : c;
  let params = s.params;
  if (s.seedParams.length > 0) {
    params = { ...params };
    for (const k of s.seedParams) params[k] = seed;
  }
  return { key, config, params, settingKey: s.settingKey, setting: s.label ?? settingLabel(config.loss, config.data.imbalance, params, nativeShare) };
}

export function expandGrid(spec: SweepSpec, opts: ExpandOptions = {}): GridExpansion {
  const combinations = countCombinations(spec);
  if (combinations > MAX_TRIALS_WITHOUT_CONFIRM && !opts.yes) {
    throw new GridTooLargeError(
      `${spec.file}: grid: ${combinations.toLocaleString('en-US')} trials is more than ${MAX_TRIALS_WITHOUT_CONFIRM.toLocaleString('en-US')}, ` +
        `probably a mistake; pass --yes to run it anyway`,
    );
  }
  const axes = spec.axes;
  const nativeShare = nativeShareOf(spec.csv);
  const seedAxis = axes.findIndex((a) => a.path === 'seed');
  const seeds = seedAxis < 0 ? [spec.seed] : (axes[seedAxis].values as number[]);
  // seeds are whole numbers, whose JSON is their decimal string
  const seedJson = seeds.map(String);
  // Equal configs run once, as the first combination that gives them (in grid order). Two settings
  // give equal trials exactly when their configs are equal, except when data.seed is swept: a data
  // seed that follows the trial seed equals a fixed one for one seed only. Then trials are compared.
  const perTrial = axes.some((a) => a.path === 'data.seed') ? new Set<string>() : null;
  // the first setting with each template, and whether only controls have given it so far
  const templates = new Map<string, { control: boolean }>();
  const lossAxis = axes.findIndex((a) => a.path === 'loss');
  const isControl = (i: number[]) => lossAxis >= 0 && !!axes[lossAxis].controls?.[i[lossAxis]];
  const controlOf = new Map<Setting, { control: boolean }>();
  const trials: Trial[] = [];
  // the control mark of each trial's setting, parallel to trials
  const marks: { control: boolean }[] = [];
  const idx = new Array<number>(axes.length).fill(0);
  // Settings are numbered by the indices of the axes other than seed (mixed radix); null: a duplicate.
  const settings = new Map<number, Setting | null>();
  // data sections by their dataKey, then by seed
  const dataBySeed = new Map<string, Map<number, TrialConfig['data']>>();
  let setting: Setting | null = null;
  let settingNo = -1;
  let settingData: Map<number, TrialConfig['data']> | undefined;
  for (let c = 0; c < combinations; c++) {
    let n = 0;
    for (let a = 0; a < axes.length; a++) if (a !== seedAxis) n = n * axes[a].values.length + idx[a];
    if (n !== settingNo) {
      settingNo = n;
      let found = settings.get(n);
      if (found === undefined) {
        const picked: Picked = new Map();
        for (const [a, axis] of axes.entries())
          if (a !== seedAxis) picked.set(axis.path, { value: axis.values[idx[a]], where: axis.where[idx[a]], raw: axis.raw?.[idx[a]] });
        found = makeSetting(spec, picked, seedAxis < 0 ? spec.seed : SEED);
        const template = found.keyParts.join('\0');
        const control = isControl(idx);
        const first = templates.get(template);
        if (first && !control) first.control = false;
        if (!perTrial && first) found = null;
        else {
          const mark = first ?? { control };
          templates.set(template, mark);
          controlOf.set(found, mark);
        }
        settings.set(n, found);
      }
      setting = found;
      settingData = setting && isSeedHole(setting.config.data.seed) ? getOrCreate(dataBySeed, setting.dataKey, () => new Map()) : undefined;
    }
    if (setting) {
      const si = seedAxis < 0 ? 0 : idx[seedAxis];
      const seed = seeds[si];
      let data = setting.config.data;
      if (settingData) {
        const shared = settingData.get(seed);
        if (shared) data = shared;
        else {
          data = { ...data, seed };
          settingData.set(seed, data);
        }
      }
      const trial = trialOf(setting, seed, seedJson[si], data, nativeShare);
      const mark = controlOf.get(setting) as { control: boolean };
      if (!perTrial) {
        trials.push(trial);
        marks.push(mark);
      } else if (!perTrial.has(trial.key)) {
        perTrial.add(trial.key);
        trials.push(trial);
        marks.push(mark);
      }
    }
    // odometer: last axis fastest, so trials come out in the order the grid reads
    for (let a = axes.length - 1; a >= 0; a--) {
      if (++idx[a] < axes[a].values.length) break;
      idx[a] = 0;
    }
  }
  let controls = 0;
  for (const m of marks) if (m.control) controls++;
  // merged: the user's own combinations that ran as an earlier one (the controls' are not counted)
  const controlValues = lossAxis >= 0 ? (axes[lossAxis].controls?.filter(Boolean).length ?? 0) : 0;
  const ownCombinations = lossAxis >= 0 ? (combinations / axes[lossAxis].values.length) * (axes[lossAxis].values.length - controlValues) : combinations;
  return { trials, merged: ownCombinations - (trials.length - controls), combinations: ownCombinations, controls };
}

type Picked = Map<string, { value: unknown; where: SpecLocation; raw?: unknown }>;

/** The canonical config of the picked axis values (seed: the trial seed, or {@link SEED} for now). */
function buildConfig(spec: SweepSpec, picked: Picked, seed: number | typeof SEED): { config: TrialConfig; dataSeedFollows: boolean } {
  const data = { ...spec.data } as Record<string, unknown>;
  const model = { ...spec.model } as Record<string, unknown>;
  const train = { ...spec.train } as Record<string, unknown>;
  let loss: LossConfig = { kind: 'bce' };
  for (const [path, { value }] of picked) {
    if (path === 'loss') loss = value as LossConfig;
    else {
      const [section, field] = path.split('.');
      (({ data, model, train }) as Record<string, Record<string, unknown>>)[section][field] = value;
    }
  }
  const fail = (paths: string[], detail: string): never => {
    for (const p of paths) {
      const hit = picked.get(p);
      if (hit) throw new SpecError(hit.where, detail);
    }
    throw new SpecError(spec.locate(paths[0]), detail);
  };

  // data: resolve defaults that depend on other keys, then check cross-key constraints
  if (data.resample === 'none') delete data.resample_ratio;
  const dataSeedFollows = data.seed === null || data.seed === undefined;
  data.seed = data.seed ?? seed;
  if (data.generator === 'classification') {
    const features = data.features as number;
    data.informative = data.informative ?? features;
    const informative = data.informative as number;
    if (informative > features) fail(['data.informative', 'data.features'], `${informative} informative features is more than data.features (${features})`);
    if (informative + (data.redundant as number) > features) {
      fail(
        ['data.redundant', 'data.informative', 'data.features'],
        `data.informative + data.redundant (${informative} + ${data.redundant}) is more than data.features (${features})`,
      );
    }
    if (2 ** informative < 2 * (data.clusters_per_class as number)) {
      fail(
        ['data.clusters_per_class', 'data.informative'],
        `2 classes × ${data.clusters_per_class} clusters need 2^informative ≥ ${2 * (data.clusters_per_class as number)} hypercube vertices, but informative is ${informative}`,
      );
    }
  }
  const shape = checkedShape(
    data as unknown as DataConfig,
    spec.csv,
    fail,
    picked.has('data.imbalance') ? picked.get('data.imbalance')?.raw : spec.rawImbalance,
  );

  // model: init follows the activation unless set
  if (model.init === 'auto') model.init = model.activation === 'relu' ? 'he' : 'glorot';

  // train: parameters that do not apply are removed, values that cannot differ are clamped
  if (train.optimizer !== 'sgd') delete train.momentum;
  if (train.early_stopping === null) delete train.early_stopping;
  if ((data.validation_fraction as number) === 0) {
    // no validation split: nothing to tune a threshold or stop on
    delete train.threshold_metric;
    if (train.early_stopping) fail(['train.early_stopping', 'data.validation_fraction'], 'needs a validation split: set data.validation_fraction above 0');
  }
  train.batch_size = Math.min(train.batch_size as number, shape.nTrain);
  train.eval_every = Math.min(train.eval_every as number, Math.max(1, train.epochs as number));

  const config: TrialConfig = {
    v: CONFIG_VERSION,
    seed: seed as number,
    data: data as unknown as DataConfig,
    model: model as unknown as TrialConfig['model'],
    train: train as unknown as TrialConfig['train'],
    loss: canonicalLoss(loss),
  };
  return { config, dataSeedFollows };
}

/**
 * Losses that are mathematically the same loss get the same config: focal with γ = 0 is (weighted)
 * BCE; class-balanced with β = 0 is BCE (γ = 0) or focal without α; τ = 0 and ε = 0 are BCE.
 */
function canonicalLoss(loss: LossConfig): LossConfig {
  switch (loss.kind) {
    case 'focal':
      if (loss.gamma === 0) return loss.alpha === 'none' ? { kind: 'bce' } : { kind: 'weighted_bce', alpha: loss.alpha };
      return loss;
    case 'class_balanced':
      if (loss.beta === 0) return canonicalLoss({ kind: 'focal', gamma: loss.gamma, alpha: 'none' });
      return loss;
    case 'logit_adjusted':
      return loss.tau === 0 ? { kind: 'bce' } : loss;
    case 'poly1':
      return loss.epsilon === 0 ? { kind: 'bce' } : loss;
    default:
      return loss;
  }
}

/** A ratio as the user wrote it ("999:1", 0.001), else its label. */
function ratioAsWritten(raw: unknown, f: number | 'native'): string {
  return typeof raw === 'string' || typeof raw === 'number' ? String(raw) : imbalanceLabel(f);
}

function checkedShape(data: DataConfig, csv: CsvSummary | null, fail: (paths: string[], detail: string) => never, rawRatio: unknown) {
  const counts = expectedPositives(data, csv ?? undefined);
  const need = data.validation_fraction > 0 ? 3 : 2;
  const few = Math.min(counts.total, counts.rows - counts.total);
  if (few < need) {
    const rows = data.generator === 'csv' ? `the ${counts.rows} rows kept from ${data.path}` : `${counts.rows} samples`;
    fail(
      ['data.imbalance', 'data.samples'],
      `${ratioAsWritten(rawRatio, data.imbalance)} of ${rows} leaves ${few} sample${few === 1 ? '' : 's'} of the minority class; ` +
        `need at least ${need} (one per split): use more samples or a milder ratio`,
    );
  }
  const shape = datasetShape(data, csv ?? undefined);
  if (shape.nTrain < 1) fail(['data.test_fraction', 'data.validation_fraction'], `leaves no training samples`);
  return shape;
}

/** The swept values of a trial by grid path, from its canonical config (for display and SQL columns). */
function paramsOf(config: TrialConfig, spec: SweepSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const axis of spec.axes) {
    if (axis.path === 'seed') out.seed = config.seed;
    else if (axis.path === 'loss') out.loss = config.loss.kind;
    else {
      const [section, field] = axis.path.split('.');
      out[axis.path] = (config as unknown as Record<string, Record<string, unknown>>)[section][field];
    }
  }
  return out;
}

/** A ratio (and dataset) whose validation or test split is expected to hold too few positives for a verdict. */
export interface SmallSplit {
  /** "99:1", or "99:1 · data.class_sep=2" when data parameters are swept. */
  ratio: string;
  val: number;
  test: number;
  /** The counts are before label noise (flip_y), so about. */
  approximate: boolean;
}

/**
 * The ratios whose validation or test split holds fewer than `min` positives (from the configs: see
 * expectedPositives). Trials of equal data share one data object, so each is counted once.
 */
export function smallSplits(trials: readonly Trial[], csv: CsvSummary | null, min: number): SmallSplit[] {
  const seen = new Set<object>();
  const byRatio = new Map<string, SmallSplit>();
  for (const t of trials) {
    const data = t.config.data;
    if (seen.has(data)) continue;
    seen.add(data);
    const c = expectedPositives(data, csv ?? undefined);
    const small = (data.validation_fraction > 0 && c.val < min) || c.test < min;
    if (!small) continue;
    const ratio = [imbalanceLabel(data.imbalance, nativeShareOf(csv)), datasetLabel(t.params)].filter((part) => part !== '').join(' · ');
    const prev = byRatio.get(ratio);
    const approximate = data.generator === 'classification' && data.flip_y > 0;
    if (!prev || c.val + c.test < prev.val + prev.test) byRatio.set(ratio, { ratio, val: c.val, test: c.test, approximate });
  }
  return [...byRatio.values()];
}

/** The measured minority share of a CSV's own ratio ('native'): its positives over its rows. */
export function nativeShareOf(csv: CsvSummary | null): number | null {
  return csv ? csv.positives / csv.nRows : null;
}

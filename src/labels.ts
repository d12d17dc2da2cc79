/** Human labels for config values, shared by the scheduler, the store and the report. */
import type { LossConfig } from './types.js';

/**
 * Minority fraction -> "90:10" style label. A CSV's own ratio is "native", with its measured minority
 * share when known: "native (4.4%)".
 */
export function imbalanceLabel(f: number | 'native', nativeShare?: number | null): string {
  if (f === 'native') return nativeShare === undefined || nativeShare === null ? 'native' : `native (${percent(nativeShare)})`;
  const minority = Math.round(f * 1e6) / 1e4;
  const majority = Math.round((1 - f) * 1e6) / 1e4;
  return `${majority}:${minority}`;
}

/** 0.0437 -> "4.4%", 0.00042 -> "0.042%". */
function percent(share: number): string {
  const p = share * 100;
  return `${p >= 0.1 ? p.toFixed(1) : Number(p.toPrecision(2))}%`;
}

/** "bce", "weighted_bce(α=0.9)", "focal(γ=2, α=inverse)", "class_balanced(β=0.99, γ=0)", "logit_adjusted(τ=1)", "poly1(ε=1)". */
export function lossLabel(loss: LossConfig): string {
  switch (loss.kind) {
    case 'bce':
      return 'bce';
    case 'weighted_bce':
      return `weighted_bce(α=${loss.alpha})`;
    case 'focal':
      return `focal(γ=${loss.gamma}, α=${loss.alpha})`;
    case 'class_balanced':
      return `class_balanced(β=${loss.beta}, γ=${loss.gamma})`;
    case 'logit_adjusted':
      return `logit_adjusted(τ=${loss.tau})`;
    case 'poly1':
      return `poly1(ε=${loss.epsilon})`;
  }
}

/** File-name-safe form of a sweep name, for the default database and report paths. */
export function slug(name: string): string {
  return (
    name
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .replace(/^[._]+/, '')
      .slice(0, 100) || 'sweep'
  );
}

/** One swept value as shown in labels: "train.learning_rate=0.01", "model.hidden=[16,16]". */
export function paramLabel(path: string, value: unknown): string {
  return `${path}=${Array.isArray(value) ? `[${value.join(',')}]` : String(value)}`;
}

/** Where a trial sits: its ratio, its dataset and its seed (every other grid path is part of the setting). */
const WHERE_KEYS = new Set(['data.imbalance', 'data.seed', 'seed']);

/**
 * data.* paths that change how the training split is used, not the data: settings that differ only
 * in these are trained and tested on the same dataset, and compared with each other there.
 */
export const TRAINING_DATA_KEYS: ReadonlySet<string> = new Set(['data.resample', 'data.resample_ratio']);

/** Is this grid path a dataset parameter (a swept data.* value besides ratio, seed and resampling)? */
export function isDatasetParam(path: string): boolean {
  return path.startsWith('data.') && !WHERE_KEYS.has(path) && !TRAINING_DATA_KEYS.has(path);
}

/**
 * A trial's dataset label: its swept dataset parameters, e.g. "data.class_sep=2 · data.flip_y=0.05"
 * ('' when there are none). Settings are compared per ratio and dataset, so a setting is only paired
 * with settings trained on the same data. Stored with each trial (trials.dataset) for the views.
 */
export function datasetLabel(params: Record<string, unknown>): string {
  return Object.entries(params)
    .filter(([path]) => isDatasetParam(path))
    .map(([path, value]) => paramLabel(path, value))
    .join(' · ');
}

/**
 * A setting's label, "focal(γ=2, α=inverse) · 90:10 · train.learning_rate=0.01": the loss, the ratio,
 * then the other swept values (seed, loss and ratio themselves left out) in grid order.
 */
export function settingLabel(loss: LossConfig, imbalance: number | 'native', params: Record<string, unknown>, nativeShare?: number | null): string {
  const parts = [lossLabel(loss), imbalanceLabel(imbalance, nativeShare)];
  for (const [path, value] of Object.entries(params)) {
    if (path !== 'seed' && path !== 'loss' && path !== 'data.imbalance') parts.push(paramLabel(path, value));
  }
  return parts.join(' · ');
}

/** Human labels for config values, shared by the scheduler, the store and the report. */
import type { LossConfig } from './types.js';

/** Minority fraction -> "90:10" style label ("native" for a CSV's own ratio). */
export function imbalanceLabel(f: number | 'native'): string {
  if (f === 'native') return 'native';
  const minority = Math.round(f * 1e6) / 1e4;
  const majority = Math.round((1 - f) * 1e6) / 1e4;
  return `${majority}:${minority}`;
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

/**
 * A setting's label, "focal(γ=2, α=inverse) · 90:10 · train.learning_rate=0.01": the loss, the ratio,
 * then the other swept values (seed, loss and ratio themselves left out) in grid order.
 */
export function settingLabel(loss: LossConfig, imbalance: number | 'native', params: Record<string, unknown>): string {
  const parts = [lossLabel(loss), imbalanceLabel(imbalance)];
  for (const [path, value] of Object.entries(params)) {
    if (path !== 'seed' && path !== 'loss' && path !== 'data.imbalance') parts.push(paramLabel(path, value));
  }
  return parts.join(' · ');
}

/** Canonical JSON and short hashes: the basis of trial, setting, cohort and dataset keys. */
import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level and undefined fields dropped. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

/** First `length` hex digits of the SHA-256 of the canonical JSON of `value`. */
export function shortHash(value: unknown, length = 16): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, length);
}

/** Canonical JSON and short hashes: the basis of trial, setting, cohort and dataset keys. */
import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level and undefined fields dropped. For plain data it is the
 * same for a value and for that value after a JSON round trip (what BullMQ does to jobs and results),
 * which is what lets a signature made before sending be checked after receiving.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    // No prototype: a key "__proto__" (JSON.parse makes it an own key) stays a key instead of being dropped.
    const out: Record<string, unknown> = Object.create(null);
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

/** Canonical JSON and short hashes: the basis of trial, setting, cohort and dataset keys. */
import { hash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level and undefined fields dropped: exactly
 * JSON.stringify of a key-sorted copy, written directly (no copy; a grid of 100,000 trials makes
 * one per trial). `hole` is written as a NUL character, which JSON text never contains. For plain
 * data it is the same for a value and for that value after a JSON round trip (what BullMQ does to
 * jobs and results), which is what lets a signature made before sending be checked after receiving;
 * a key "__proto__" (JSON.parse makes it an own key) is kept like any other.
 */
export function canonicalJson(v: unknown, hole?: object): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (v !== null && typeof v === 'object') {
    if (v === hole) return '\0';
    if (Array.isArray(v)) {
      let out = '[';
      for (let i = 0; i < v.length; i++) {
        if (i > 0) out += ',';
        out += skipped(v[i]) ? 'null' : canonicalJson(v[i], hole);
      }
      return `${out}]`;
    }
    const obj = v as Record<string, unknown>;
    let out = '{';
    for (const k of sortedKeys(obj)) {
      const x = obj[k];
      if (skipped(x)) continue;
      if (out.length > 1) out += ',';
      out += `${quotedKey(k)}:${canonicalJson(x, hole)}`;
    }
    return `${out}}`;
  }
  return JSON.stringify(v);
}

/**
 * An object's keys, sorted. Configs are a few shapes (the same keys in the same order) over and
 * over, so the sorted order of the last few shapes is kept (key strings compare by identity).
 */
const shapes: [keys: string[], sorted: string[]][] = [];
function sortedKeys(obj: object): string[] {
  const keys = Object.keys(obj);
  next: for (const [known, sorted] of shapes) {
    if (known.length !== keys.length) continue;
    for (let i = 0; i < keys.length; i++) if (known[i] !== keys[i]) continue next;
    return sorted;
  }
  const sorted = [...keys].sort();
  if (shapes.length < 16) shapes.push([keys, sorted]);
  return sorted;
}

/** JSON strings of object keys: configs use the same few keys over and over. */
const quotedKeys = new Map<string, string>();
function quotedKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (quotedKeys.size < 10_000) quotedKeys.set(k, q);
  }
  return q;
}

/** Values JSON leaves out of objects (and writes as null in arrays). */
const skipped = (x: unknown) => x === undefined || typeof x === 'function' || typeof x === 'symbol';

/** First `length` hex digits of the SHA-256 of a string. */
export function shortHashOfText(text: string, length = 16): string {
  return hash('sha256', text, 'hex').slice(0, length);
}

/** First `length` hex digits of the SHA-256 of the canonical JSON of `value`. */
export function shortHash(value: unknown, length = 16): string {
  return shortHashOfText(canonicalJson(value), length);
}

/**
 * The canonical JSON of `value` cut at every place where `hole` (compared by identity) stands:
 * joining the parts with the JSON of a value gives the canonical JSON of `value` with that value
 * in the holes. Lets many values that differ in one field be keyed without serialising each whole.
 */
export function canonicalJsonParts(value: unknown, hole: object): string[] {
  return canonicalJson(value, hole).split('\0');
}

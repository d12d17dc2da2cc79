/**
 * Canonical JSON, the basis of every stored key: it must stay byte for byte what it was (JSON of a
 * key-sorted copy), or stored results would be orphaned.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJsonParts, shortHash } from '../src/canonical.js';

/** The reference: JSON.stringify of a copy with keys sorted at every level and undefined fields dropped. */
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
const reference = (v: unknown) => JSON.stringify(sortKeys(v));
const sha16 = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

const VALUES: unknown[] = [
  { b: 1, a: [3, { d: null, c: 'x' }], e: undefined, f: true },
  { 'data.seed': 2, seed: 1, Z: -0, z: 1e21, y: 0.1 + 0.2, x: Number.NaN, w: Number.POSITIVE_INFINITY },
  ['a', undefined, null, [], {}, [[1, 2], { q: [undefined] }]],
  { s: 'quote " backslash \\ newline \n nul \u0000 tab \t', u: 'γ α · ✓ \u{1F600}', lone: '\uD800' },
  {
    v: 1,
    seed: 3,
    data: { generator: 'csv', path: undefined, sha256: 'ab', features: ['x1', 'x2'], seed: 3 },
    loss: { kind: 'focal', gamma: 2, alpha: 'inverse' },
  },
  'plain string',
  42,
  null,
];

describe('canonical JSON', () => {
  it.each(VALUES.map((v, i) => [i, v]))('%i: shortHash is the hash of the reference serialisation', (_i, v) => {
    expect(shortHash(v)).toBe(sha16(reference(v)));
    expect(shortHash(v, 8)).toBe(sha16(reference(v)).slice(0, 8));
  });

  it('parts cut at a hole join back into the canonical JSON of the value with anything in the hole', () => {
    const hole = { hole: true };
    const value = { v: 1, seed: hole, data: { samples: 10, seed: hole, label: 'a\u0000b' }, list: [hole, 2] };
    const parts = canonicalJsonParts(value, hole);
    expect(parts).toHaveLength(4);
    for (const seed of [0, 7, 123456]) {
      const filled = { v: 1, seed, data: { samples: 10, seed, label: 'a\u0000b' }, list: [seed, 2] };
      expect(parts.join(String(seed))).toBe(reference(filled));
    }
  });
});

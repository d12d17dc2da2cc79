/**
 * Decision grids and dataset points as read back from a results database, checked before the report
 * uses them: a database is a file anyone may have edited (or a forged result may have filled), and a
 * grid whose meta says resolution 1e8 made the report loop over 1e16 cells until it aborted at 4.9 GB,
 * a meta that is not JSON crashed it. What does not check out is skipped with the reason, which the
 * report shows as a note.
 */

import { MAX_DATASET_POINTS, MAX_GRID_RESOLUTION } from '../result-check.js';

// The limits the store accepts are the limits the report reads (the worker records 64 × 64 grids and
// at most 2,000 points per dataset).
export { MAX_DATASET_POINTS, MAX_GRID_RESOLUTION };

export interface StoredGrid {
  dataset_key: string;
  resolution: number;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  /** resolution² bytes, p·255, row-major from (x0, y0). */
  probs: Uint8Array;
}

/** A value as it may appear in a note: short, whatever was stored. */
function shown(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/** A stored decision grid (its `meta` and `data` columns), or why it cannot be drawn. */
export function readDecisionGrid(row: { meta: unknown; data: unknown }): StoredGrid | string {
  if (typeof row.meta !== 'string') return 'its meta is not text';
  let meta: unknown;
  try {
    meta = JSON.parse(row.meta);
  } catch {
    return 'its meta is not JSON';
  }
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return 'its meta is not a JSON object';
  const m = meta as Record<string, unknown>;
  const R = m.resolution;
  if (typeof R !== 'number' || !Number.isInteger(R) || R < 2 || R > MAX_GRID_RESOLUTION) {
    return `its resolution ${shown(R)} is not a whole number from 2 to ${MAX_GRID_RESOLUTION}`;
  }
  const extent: number[] = [];
  for (const k of ['x0', 'x1', 'y0', 'y1']) {
    const v = m[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) return `its ${k} ${shown(v)} is not a finite number`;
    extent.push(v);
  }
  const [x0, x1, y0, y1] = extent;
  if (!(x1 > x0 && y1 > y0)) return `its extent x ${x0}..${x1}, y ${y0}..${y1} is empty`;
  if (typeof m.dataset_key !== 'string') return 'its dataset_key is not text';
  if (!(row.data instanceof Uint8Array)) return 'its data is not a blob';
  if (row.data.byteLength !== R * R) return `its data holds ${row.data.byteLength} bytes, not resolution² = ${R * R}`;
  return {
    dataset_key: m.dataset_key,
    resolution: R,
    x0,
    x1,
    y0,
    y1,
    probs: new Uint8Array(row.data.buffer, row.data.byteOffset, row.data.byteLength),
  };
}

export interface StoredPoints {
  n: number;
  x: Buffer;
  y: Buffer;
  label: Buffer;
}

/** A stored dataset's test points (`n`, float32 `x` and `y`, uint8 `label`), or why they cannot be drawn. */
export function readDatasetPoints(row: { n: unknown; x: unknown; y: unknown; label: unknown }): StoredPoints | string {
  const { n, x, y, label } = row;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) return `its point count ${shown(n)} is not a whole number`;
  if (n > MAX_DATASET_POINTS) return `it holds ${n} points, more than the ${MAX_DATASET_POINTS} the report reads`;
  for (const [name, blob, bytes] of [
    ['x', x, 4 * n],
    ['y', y, 4 * n],
    ['label', label, n],
  ] as const) {
    if (!Buffer.isBuffer(blob)) return `its ${name} is not a blob`;
    if (blob.byteLength !== bytes) return `its ${name} holds ${blob.byteLength} bytes, not ${bytes} for ${n} points`;
  }
  const labels = label as Buffer;
  for (let i = 0; i < n; i++) if (labels[i] > 1) return `its label ${labels[i]} of point ${i + 1} is not 0 or 1`;
  return { n, x: x as Buffer, y: y as Buffer, label: labels };
}

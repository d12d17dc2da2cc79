/**
 * Rows out: aligned text tables for people, CSV (RFC 4180) and JSON for programs. Shared by `best`
 * and `query`.
 */

import { escapeControls } from '../text.js';

export type OutputFormat = 'table' | 'csv' | 'json';
export const FORMATS: OutputFormat[] = ['table', 'csv', 'json'];

export interface TableOptions {
  /** Longest cell shown; longer ones end in "…". Default 60. */
  maxWidth?: number;
  /** Text for NULL. Default "NULL". */
  nullText?: string;
  /** Columns to right-align regardless of content. */
  right?: ReadonlySet<string>;
  /** Append "(N rows)". Default true. */
  footer?: boolean;
}

function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    // combining marks take no column; CJK and emoji take two (close enough for a terminal)
    if ((cp >= 0x300 && cp <= 0x36f) || cp === 0x200b) continue;
    w +=
      (cp >= 0x1100 && cp <= 0x115f) ||
      (cp >= 0x2e80 && cp <= 0xa4cf) ||
      (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xfe30 && cp <= 0xfe4f) ||
      (cp >= 0xff00 && cp <= 0xff60) ||
      (cp >= 0x1f300 && cp <= 0x1faff)
        ? 2
        : 1;
  }
  return w;
}

function truncate(s: string, max: number): string {
  if (displayWidth(s) <= max) return s;
  let out = '';
  let w = 0;
  for (const ch of s) {
    const cw = displayWidth(ch);
    if (w + cw > max - 1) break;
    out += ch;
    w += cw;
  }
  return `${out}…`;
}

/**
 * A cell as text for a table: numbers to 6 significant digits, blobs by size, newlines as ↵, and every
 * other control or bidi character as a visible escape (`\x1b`, `\u202e`): data printed on a terminal
 * must not drive it (`query "select error from failures"` shows whatever a trial's message held).
 */
function tableCell(v: unknown, nullText = 'NULL'): string {
  if (v === null || v === undefined) return nullText;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `<blob ${v.byteLength} bytes>`;
  return escapeControls(String(v).replace(/\r?\n/g, '↵').replace(/\t/g, ' '));
}

export function formatTable(columns: string[], rows: readonly (readonly unknown[])[], opts: TableOptions = {}): string {
  return [...tableLines(columns, rows, opts)].join('');
}

/** The lines of a table (each ending in a newline): header, rule, one per row, then the footer. */
function* tableLines(columns: string[], rows: readonly (readonly unknown[])[], opts: TableOptions = {}): Generator<string> {
  const max = opts.maxWidth ?? 60;
  const header = columns.map((c) => truncate(tableCell(c), max));
  const cells = rows.map((r) => r.map((v) => truncate(tableCell(v, opts.nullText), max)));
  const numeric = columns.map(
    (c, i) =>
      opts.right?.has(c) ||
      (rows.some((r) => typeof r[i] === 'number' || typeof r[i] === 'bigint') &&
        rows.every((r) => r[i] === null || r[i] === undefined || typeof r[i] === 'number' || typeof r[i] === 'bigint')),
  );
  // a loop, not Math.max(...cells): a spread over 130,000 rows overflows the call stack
  const widths = header.map((h, i) => {
    let w = displayWidth(h);
    for (const r of cells) w = Math.max(w, displayWidth(r[i]));
    return w;
  });
  const pad = (s: string, i: number) => {
    const fill = ' '.repeat(Math.max(0, widths[i] - displayWidth(s)));
    return numeric[i] ? fill + s : s + fill;
  };
  const line = (r: string[]) => `${r.map(pad).join('  ').trimEnd()}\n`;
  yield line(header);
  yield `${widths.map((w) => '-'.repeat(w)).join('  ')}\n`;
  for (const r of cells) yield line(r);
  if (opts.footer ?? true) yield `(${rows.length} row${rows.length === 1 ? '' : 's'})\n`;
}

/** A CSV field: NULL is an empty field, the empty string is "", blobs are base64. */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s: string;
  // ±Infinity and NaN as text (an empty quoted field would read back as the empty string)
  if (typeof v === 'number') s = String(v);
  else if (Buffer.isBuffer(v) || v instanceof Uint8Array) s = Buffer.from(v).toString('base64');
  else s = String(v);
  return s === '' || /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

/**
 * Blobs larger than this are written as base64 piece by piece: the base64 of a blob over ~384 MB is a
 * longer string than V8 can make (a 450 MB blob was an internal error). A multiple of 3, so that the
 * pieces' base64 joins up exactly.
 */
const BLOB_PIECE_BYTES = 3 * 2 ** 20;

const isBlob = (v: unknown): v is Uint8Array => Buffer.isBuffer(v) || v instanceof Uint8Array;
const hasLargeBlob = (values: readonly unknown[]) => values.some((v) => isBlob(v) && v.byteLength > BLOB_PIECE_BYTES);

function* base64Pieces(b: Uint8Array): Generator<string> {
  for (let at = 0; at < b.byteLength; at += BLOB_PIECE_BYTES) {
    yield Buffer.from(b.buffer, b.byteOffset + at, Math.min(BLOB_PIECE_BYTES, b.byteLength - at)).toString('base64');
  }
}

/** A csv line in pieces, large blobs in base64 pieces (base64 never needs quoting). */
function* csvLinePieces(values: readonly unknown[]): Generator<string> {
  for (const [i, v] of values.entries()) {
    if (i > 0) yield ',';
    if (isBlob(v) && v.byteLength > BLOB_PIECE_BYTES) yield* base64Pieces(v);
    else yield csvField(v);
  }
  yield '\r\n';
}

/** Column names made unique for JSON objects: a second "x" becomes "x_2" (or x_3, … if that is taken). */
export function uniqueNames(columns: readonly string[]): string[] {
  const used = new Set(columns);
  const seen = new Set<string>();
  return columns.map((c) => {
    if (!seen.has(c)) {
      seen.add(c);
      return c;
    }
    let n = 2;
    while (used.has(`${c}_${n}`)) n++;
    const name = `${c}_${n}`;
    used.add(name);
    return name;
  });
}

/** A JSON value for a cell: blobs become base64 strings, bigints numbers (or strings when unsafe). */
function jsonValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  return v;
}

function jsonRow(names: readonly string[], values: readonly unknown[]): string {
  const o: Record<string, unknown> = {};
  for (const [i, n] of names.entries()) o[n] = jsonValue(values[i]);
  return JSON.stringify(o);
}

/** A JSON row object in pieces, large blobs as base64 strings in pieces; the same text as jsonRow. */
function* jsonRowPieces(names: readonly string[], values: readonly unknown[]): Generator<string> {
  yield '{';
  for (const [i, n] of names.entries()) {
    const v = values[i];
    yield `${i > 0 ? ',' : ''}${JSON.stringify(n)}:`;
    if (isBlob(v) && v.byteLength > BLOB_PIECE_BYTES) {
      yield '"';
      yield* base64Pieces(v);
      yield '"';
    } else yield JSON.stringify(jsonValue(v));
  }
  yield '}';
}

/**
 * Write rows in a format, streaming for csv and json (one JSON object per line inside the array).
 * `write` may return a promise (a reader that must catch up first): it is awaited before the next
 * row, so rows are read from the database only as fast as they are consumed.
 */
export async function writeRows(
  write: (s: string) => unknown,
  format: OutputFormat,
  columns: string[],
  rows: Iterable<readonly unknown[]>,
  tableOpts: TableOptions = {},
): Promise<number> {
  // awaited only when the writer asks to wait: a promise per row would cost more than the row
  const out = (s: string) => {
    const pending = write(s);
    return pending instanceof Promise ? pending : undefined;
  };
  let n = 0;
  if (format === 'table') {
    // aligned columns need every row first
    const all = [...rows];
    for (const line of tableLines(columns, all, tableOpts)) {
      const pending = out(line);
      if (pending) await pending;
    }
    return all.length;
  }
  if (format === 'csv') {
    await out(csvLine(columns));
    for (const r of rows) {
      if (hasLargeBlob(r)) {
        for (const piece of csvLinePieces(r)) await out(piece);
      } else {
        const pending = out(csvLine(r));
        if (pending) await pending;
      }
      n++;
    }
    return n;
  }
  const names = uniqueNames(columns);
  await out('[');
  for (const r of rows) {
    const sep = n === 0 ? '\n' : ',\n';
    if (hasLargeBlob(r)) {
      await out(sep);
      for (const piece of jsonRowPieces(names, r)) await out(piece);
    } else {
      const pending = out(`${sep}${jsonRow(names, r)}`);
      if (pending) await pending;
    }
    n++;
  }
  await out(n ? '\n]\n' : ']\n');
  return n;
}

/**
 * Values as they appear in messages: sizes in bytes, kinds of file, and user data quoted and cut to a
 * readable length.
 */
import type { Stats } from 'node:fs';

/** "1,500 bytes", "69 MiB", "2.0 GiB". */
export function formatBytes(n: number): string {
  if (n < 2 ** 20) return `${Math.round(n).toLocaleString('en-US')} bytes`;
  if (n < 2 ** 30) return `${Math.round(n / 2 ** 20)} MiB`;
  return `${(n / 2 ** 30).toFixed(1)} GiB`;
}

/** What a file is, for "is … , not a regular file" messages: "a named pipe (FIFO)", "a character device". */
export function fileKind(s: Stats): string {
  if (s.isFile()) return 'a regular file';
  if (s.isDirectory()) return 'a folder';
  if (s.isFIFO()) return 'a named pipe (FIFO)';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** A system error as a short phrase: "EACCES: permission denied" (no path: the message names it already). */
export function systemError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err?.code && typeof err.message === 'string' && err.message.startsWith(`${err.code}:`)) return err.message.split(',')[0];
  return err?.code ?? (e instanceof Error ? e.message : String(e));
}

/** Characters a terminal acts on or reorders: C0 controls, DEL, C1 controls, and the bidi embeddings, overrides and isolates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE_FOR_TERMINAL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `\x1b` for a control character, `\u202e` for a bidi control: visible, and inert on a terminal. */
function visibleEscape(ch: string): string {
  const cp = ch.charCodeAt(0);
  return cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
}

/**
 * Text made safe to print on a terminal: control characters (ESC, BEL, CR, …, C1) and bidi controls
 * as visible escapes (`\x1b`, `\u202e`), so data cannot move the cursor, recolour, retitle or reorder
 * what a terminal shows.
 */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE_FOR_TERMINAL, visibleEscape);
}

/** Longest piece of a user's value that a message echoes. */
export const MESSAGE_VALUE_CHARS = 80;

/**
 * Text cut for a message, with its length when cut: `abc… (200000000 characters)`, and control
 * characters escaped (escapeControls). The one way messages echo user data.
 */
export function clip(text: string, max = MESSAGE_VALUE_CHARS): string {
  if (text.length <= max) return escapeControls(text);
  return `${escapeControls(text.slice(0, max))}… (${text.length} characters)`;
}

/** A user's value in a message: a string JSON-quoted and cut (clip), anything else as text. */
export function quoted(value: unknown, max = MESSAGE_VALUE_CHARS): string {
  if (typeof value !== 'string') return clip(String(value), max);
  if (value.length <= max) return escapeControls(JSON.stringify(value));
  return `${escapeControls(JSON.stringify(value.slice(0, max)).slice(0, -1))}…" (${value.length} characters)`;
}

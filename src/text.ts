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

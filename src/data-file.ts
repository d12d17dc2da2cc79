/**
 * Reading a user's data file (the CSV of `data.path`): regular files only, and at most a bounded
 * number of bytes. A FIFO as data blocked readFileSync forever (deaf to SIGINT and SIGTERM), and
 * /dev/zero grew to 16 GB before the process aborted.
 *
 * The file is opened non-blocking (opening a FIFO does not wait for a writer), checked with fstat
 * on the open descriptor (no window between checking one file and reading another), and read in
 * chunks, never more than the limit.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { CsvError } from './errors.js';
import { fileKind, formatBytes } from './text.js';

/** The most a data file may hold (2 GiB); FOCAL_SWEEP_MAX_DATA_BYTES sets another limit. */
export const MAX_DATA_FILE_BYTES = 2 * 2 ** 30;

/** The limit in force: FOCAL_SWEEP_MAX_DATA_BYTES (a whole number of bytes) or MAX_DATA_FILE_BYTES. */
export function maxDataFileBytes(): number {
  const env = process.env.FOCAL_SWEEP_MAX_DATA_BYTES;
  const n = env === undefined ? Number.NaN : Number(env);
  return Number.isSafeInteger(n) && n > 0 ? n : MAX_DATA_FILE_BYTES;
}

/** A size with its exact byte count when the rounded one could hide the difference. */
function exactBytes(n: number): string {
  return n < 2 ** 20 ? formatBytes(n) : `${formatBytes(n)} (${n.toLocaleString('en-US')} bytes)`;
}

/**
 * The file's bytes in chunks (each call of `nextSize` sizes the next read). CsvError for a missing
 * or unreadable file, anything but a regular file, and a file over the limit (checked before
 * reading, and again while reading, in case it grows).
 */
export function* dataFileChunks(path: string, nextSize: () => number = () => 16 * 2 ** 20): Generator<Buffer> {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CsvError(path, code === 'ENOENT' ? 'file not found' : `cannot read the file (${code ?? String(e)})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new CsvError(path, `is ${fileKind(st)}, not a regular file; data is read only from regular files`);
    const limit = maxDataFileBytes();
    if (st.size > limit) {
      throw new CsvError(
        path,
        `is ${exactBytes(st.size)}, more than the ${exactBytes(limit)} a data file may hold (FOCAL_SWEEP_MAX_DATA_BYTES sets another limit)`,
      );
    }
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.max(1, Math.min(nextSize(), limit + 1 - total)));
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        throw new CsvError(path, `cannot read the file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
      if (n === 0) return;
      total += n;
      if (total > limit) throw new CsvError(path, `grew past the ${exactBytes(limit)} a data file may hold while it was read`);
      yield n === buf.length ? buf : buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * stdout and stderr for the CLI: everything written reaches the reader before the process exits,
 * output streamed to a slow reader waits for it instead of piling up in memory, and a reader that
 * goes away (`| head`) ends the output quietly.
 *
 * Why: on Linux a pipe is written asynchronously once its 64 KB buffer is full, and
 * process.exit() drops whatever is still queued (a `query -f csv | gzip` lost half its rows, a long
 * error message to a piped stderr was cut at 64 KB). A closed pipe raises EPIPE as an 'error' event,
 * which uncaught printed a stack trace.
 */

/** Thrown by a stdout writer once the reader has closed the pipe: the command stops writing, and the CLI exits 0. */
export class OutputClosed extends Error {
  constructor() {
    super('stdout was closed by its reader');
    this.name = 'OutputClosed';
  }
}

const closed = new WeakSet<NodeJS.WriteStream>();

/**
 * Make a reader that closes stdout or stderr harmless: later writes to it are dropped (a sweep
 * carries on, a stdout writer throws OutputClosed). Other stream errors stay errors. Call once.
 */
export function guardStdio(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      closed.add(stream);
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') return;
      throw e;
    });
  }
}

/** Resolve once everything written to the stream so far has been handed to the OS (or the reader is gone). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (closed.has(stream) || stream.destroyed || !stream.writable) return Promise.resolve();
  // writes are delivered in order: the callback of an empty write runs after every earlier one
  return new Promise((resolve) => stream.write('', () => resolve()));
}

/** Wait until stdout and stderr are flushed; then process.exit() loses nothing. */
export async function flushStdio(): Promise<void> {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
}

/** Resolves when the stream wants more (drain) or cannot take any (closed, errored). */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}

/** Text out in chunks: write() collects, and returns a promise only when the reader must catch up first. */
export interface ChunkedWriter {
  write(s: string): undefined | Promise<void>;
  /** Write what is collected and wait until the stream has taken it. */
  end(): Promise<void>;
}

/** Bytes collected before a write to the stream: one write per chunk, not per row. */
const CHUNK = 64 * 1024;

/**
 * A writer to stdout that respects backpressure: rows are collected into 64 KB chunks, and when the
 * pipe's buffer is full the returned promise waits for the reader. Throws OutputClosed once the
 * reader has gone.
 */
export function stdoutChunks(stream: NodeJS.WriteStream = process.stdout): ChunkedWriter {
  let buffer = '';
  const push = (): undefined | Promise<void> => {
    if (closed.has(stream) || stream.destroyed) throw new OutputClosed();
    const text = buffer;
    buffer = '';
    if (stream.write(text)) return undefined;
    return drained(stream).then(() => {
      if (closed.has(stream) || stream.destroyed) throw new OutputClosed();
    });
  };
  return {
    write(s) {
      buffer += s;
      return buffer.length >= CHUNK ? push() : undefined;
    },
    async end() {
      if (buffer) await push();
      await flushed(stream);
      if (closed.has(stream)) throw new OutputClosed();
    },
  };
}

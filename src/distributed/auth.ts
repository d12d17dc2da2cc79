/**
 * Authenticated messages on the queue. Redis is a trust boundary: anyone who can reach it can add
 * jobs for the workers and write results for the coordinator. With a shared key (FOCAL_SWEEP_KEY in
 * the environment of the coordinator and every worker, or --key-file on both), the coordinator signs
 * every job and the workers sign every result: HMAC-SHA256 over the canonical JSON of the message
 * together with its job id, so a signature cannot be moved to another job (the id holds the sweep's
 * namespace and the cohort key). Checked in constant time; nothing here ever prints the key.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { canonicalJson } from '../canonical.js';
import { UsageError } from '../errors.js';

/** The environment variable that holds the key (--key-file takes precedence). */
export const KEY_ENV = 'FOCAL_SWEEP_KEY';
/** Shortest key accepted. */
export const MIN_KEY_BYTES = 16;
/** A key file is one key, not a data file. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

/** The one line coordinator and workers print when they run without a key. */
export const UNAUTHENTICATED_WARNING = `warning: the queue is unauthenticated: anyone who can reach Redis can forge results and make workers run jobs; set ${KEY_ENV} (or --key-file) on the coordinator and every worker`;

/** The shared key. Its bytes stay private (not printed, not serialised). */
export class SharedKey {
  readonly #bytes: Buffer;
  constructor(bytes: Buffer) {
    this.#bytes = Buffer.from(bytes);
  }
  mac(text: string): Buffer {
    return createHmac('sha256', this.#bytes).update(text).digest();
  }
  toJSON(): string {
    return '[shared key]';
  }
}

/**
 * The key from `keyFile` (its bytes without a trailing line break) or else from FOCAL_SWEEP_KEY; null
 * when neither is given. A key shorter than 16 bytes or a file that cannot be read is a UsageError
 * (one line, exit 2) that never shows the key.
 */
export function loadKey(keyFile: string | undefined, env: NodeJS.ProcessEnv = process.env): SharedKey | null {
  if (keyFile !== undefined) {
    const where = `--key-file ${keyFile}`;
    let bytes: Buffer;
    try {
      const st = statSync(keyFile);
      // before reading: a FIFO would block, a device would never end
      if (!st.isFile()) throw new UsageError(`${where}: not a regular file`);
      if (st.size > MAX_KEY_FILE_BYTES) throw new UsageError(`${where}: ${st.size} bytes; a key file holds one key (at most ${MAX_KEY_FILE_BYTES} bytes)`);
      bytes = readFileSync(keyFile);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      throw new UsageError(
        `${where}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : `cannot read the file (${code ?? 'error'})`}`,
      );
    }
    let end = bytes.length;
    while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
    return checked(where, bytes.subarray(0, end));
  }
  const text = env[KEY_ENV];
  return text === undefined ? null : checked(KEY_ENV, Buffer.from(text, 'utf8'));
}

function checked(where: string, bytes: Buffer): SharedKey {
  if (bytes.length < MIN_KEY_BYTES) throw new UsageError(`${where}: the key must be at least ${MIN_KEY_BYTES} bytes, got ${bytes.length}`);
  return new SharedKey(bytes);
}

/** What a signature covers: a job (coordinator → worker) or a result (worker → coordinator). */
export type Signed = 'job' | 'result';

/** The text a signature is made over: the message without its signature, what it is, and its job id. */
function signedText(what: Signed, jobId: string, message: Record<string, unknown>): string {
  const { signature: _, ...content } = message;
  return canonicalJson({ focal_sweep: what, job: jobId, content });
}

/** Hex HMAC-SHA256 of a message of job `jobId`. */
export function sign(key: SharedKey, what: Signed, jobId: string, message: Record<string, unknown>): string {
  return key.mac(signedText(what, jobId, message)).toString('hex');
}

/** Whether a received message carries a signature, and whether it is right for this key and job. */
export function verify(key: SharedKey, what: Signed, jobId: string, message: unknown): 'signed' | 'unsigned' | 'wrong' {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return 'unsigned';
  const signature = (message as Record<string, unknown>).signature;
  if (signature === undefined || signature === null) return 'unsigned';
  if (typeof signature !== 'string' || !/^[0-9a-f]{64}$/.test(signature)) return 'wrong';
  let expected: Buffer;
  try {
    expected = key.mac(signedText(what, jobId, message as Record<string, unknown>));
  } catch {
    return 'wrong'; // nested too deep to serialise: not something a coordinator or worker made
  }
  return timingSafeEqual(expected, Buffer.from(signature, 'hex')) ? 'signed' : 'wrong';
}

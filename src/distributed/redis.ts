/**
 * Redis URLs for distributed mode: parse and check `redis://[user:pass@]host:port[/db]` (and rediss://
 * for TLS) into connection options, show them without the password, and prove the server answers
 * (connect + PING with a short timeout) before anything is written anywhere.
 */
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'bullmq';
import { RedisError } from '../errors.js';

export interface RedisTarget {
  /** ioredis options for BullMQ (each Queue/Worker/QueueEvents makes its own connections from them). */
  options: {
    host: string;
    port: number;
    db: number;
    username?: string;
    password?: string;
    tls?: { servername?: string };
    connectTimeout: number;
  };
  /** The URL for messages: the password is replaced by ***. */
  display: string;
}

/** How long connecting + PING may take before the server is called unreachable. */
const CONNECT_TIMEOUT_MS = 5000;

/** Parse a Redis URL. Throws RedisError (exit 2) naming what is wrong, never echoing a password. */
export function parseRedisUrl(raw: string): RedisTarget {
  const text = String(raw ?? '').trim();
  const shown = redactUrl(text);
  const bad = (why: string) => new RedisError(`--redis ${shown}: ${why}; expected redis://[user:password@]host:port[/db] or rediss://… for TLS`);
  if (!text) throw bad('empty URL');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    const port = /^[a-z]+:\/\/(?:[^@/]*@)?[^:/]*:([^/]*)/i.exec(text)?.[1];
    throw bad(
      port !== undefined && !/^\d{1,5}$/.test(port)
        ? `bad port "${port}"`
        : port !== undefined && Number(port) > 65535
          ? `port ${port} is out of range`
          : 'not a URL',
    );
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw bad(`unsupported scheme "${url.protocol.replace(/:$/, '')}"`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw bad('no host');
  const port = url.port === '' ? 6379 : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`bad port "${url.port}"`);
  const path = url.pathname.replace(/^\/+/, '').replace(/\/+$/, '');
  if (path !== '' && !/^\d+$/.test(path)) throw bad(`the path must be a database number, got "/${decodeSafe(path)}"`);
  const db = path === '' ? 0 : Number(path);
  if (db > 100_000) throw bad(`database number ${db} is out of range`);
  if (url.search || url.hash) throw bad('query parameters and fragments are not supported');
  const username = decodeSafe(url.username);
  const password = decodeSafe(url.password);
  const tls = url.protocol === 'rediss:';
  return {
    options: {
      host,
      port,
      db,
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...(tls ? { tls: isIP(host) ? {} : { servername: host } } : {}),
      connectTimeout: CONNECT_TIMEOUT_MS,
    },
    display: `${url.protocol}//${username || password ? `${username ? encodeURIComponent(username) : ''}${password ? ':***' : ''}@` : ''}${url.host}/${db}`,
  };
}

/** The URL with any password replaced by *** (best effort for strings that are not even URLs). */
export function redactUrl(text: string): string {
  try {
    const u = new URL(text);
    if (!u.password) return text;
    u.password = '***';
    return u.toString();
  } catch {
    // "scheme://user:pass@host" that URL() refused: hide whatever sits between ':' and '@'.
    return text.replace(/(\/\/[^/:@]*:)[^@/]*@/, '$1***@');
  }
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Connect, check the server version BullMQ needs, and PING, within about `timeoutMs`. Throws a
 * one-line RedisError for an unreachable server, refused credentials or a timeout.
 */
export async function checkRedis(target: RedisTarget, timeoutMs = CONNECT_TIMEOUT_MS): Promise<void> {
  // No retries: a server that is not there now is an error now (long-lived connections do retry).
  // connectTimeout and commandTimeout bound every step, so the connection always settles before it
  // is closed (closing one that is still connecting makes BullMQ emit an error nobody listens to).
  const options: ConnectionOptions = {
    ...target.options,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  };
  // bullmq (and ioredis) load here, not at start-up: every CLI command imports this module.
  const { RedisConnection } = await import('bullmq');
  const conn = new RedisConnection(options, { shared: false, blocking: false });
  let firstError: Error | null = null;
  conn.on('error', (e: Error) => {
    firstError ??= e;
  });
  try {
    const client = (await conn.client) as unknown as { ping(): Promise<string>; select(db: number): Promise<unknown> };
    const pong = await client.ping();
    if (pong !== 'PONG') throw new Error(`unexpected answer to PING: ${String(pong)}`);
    // ioredis selects the database on connect but only reports a bad number as an 'error' event.
    if (target.options.db) await client.select(target.options.db);
    if (firstError) throw firstError;
  } catch (e) {
    throw new RedisError(`cannot use Redis at ${target.display}: ${describeRedisError(firstError ?? (e as Error))}`);
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** One short line for a connection error, without stack or password. */
export function describeRedisError(e: Error): string {
  const code = (e as NodeJS.ErrnoException).code;
  const msg = (e?.message ?? String(e)).split('\n')[0];
  if (code === 'ECONNREFUSED') return 'connection refused (is redis-server running and listening there?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'unknown host';
  if (code === 'ETIMEDOUT' || /timed? ?out/i.test(msg)) return `no answer within ${CONNECT_TIMEOUT_MS / 1000}s (for rediss://, is the port a TLS port?)`;
  if (/WRONGPASS|invalid password|invalid username-password/i.test(msg)) return 'authentication failed (wrong user or password)';
  if (/NOAUTH/i.test(msg)) return 'the server requires a password: put it in the URL, redis://:password@host:port';
  if (/AUTH.*without any password configured|called without any password/i.test(msg)) return 'the URL has a password but the server has none configured';
  if (/DB index is out of range/i.test(msg)) return 'database number out of range for this server';
  return msg.replace(/:\/\/([^:@/]*):[^@/]*@/g, '://$1:***@');
}

/**
 * Starts a private redis-server for the distributed-mode tests: 127.0.0.1, a free port, a temp dir,
 * no persistence. Readiness comes from the server's own "Ready to accept connections" line, not a
 * sleep. A missing redis-server is an error (the tests must fail, not skip): scripts/install-test-deps.sh installs it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer {
  port: number;
  url: string;
  /** Stop the server (SIGTERM, then SIGKILL after 5 s) and delete its folder. */
  stop(): Promise<void>;
}

/** A TCP port nobody listens on right now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function redisServerBinary(): string {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (found.error || found.status !== 0) {
    throw new Error(
      'redis-server is not installed, and the distributed-mode tests need it: install it with `apt-get install redis-server` (scripts/install-test-deps.sh does this)',
    );
  }
  return 'redis-server';
}

export async function startRedis(timeoutMs = 15_000): Promise<RedisServer> {
  const bin = redisServerBinary();
  let lastError: Error | null = null;
  // A port found free can be taken before redis binds it: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'focal-sweep-redis-'));
    const child = spawn(
      bin,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'notice'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      await waitReady(child, timeoutMs);
      return {
        port,
        url: `redis://127.0.0.1:${port}`,
        stop: () => stopChild(child).finally(() => rmSync(dir, { recursive: true, force: true })),
      };
    } catch (e) {
      lastError = e as Error;
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  throw lastError ?? new Error('redis-server did not start');
}

function waitReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => done(new Error(`redis-server was not ready after ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (b: Buffer) => {
      output += b.toString();
      if (output.includes('Ready to accept connections')) done(null);
    };
    const onExit = (code: number | null) => done(new Error(`redis-server exited with code ${code} before it was ready:\n${output}`));
    const onError = (e: Error) => done(e);
    function done(err: Error | null) {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      // Keep draining its output so the pipe never fills.
      child.stdout?.resume();
      child.stderr?.resume();
      if (err) reject(err);
      else resolve();
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

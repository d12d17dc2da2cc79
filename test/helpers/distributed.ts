/**
 * Shared by the distributed-mode tests: a private Redis per test file, CLI child processes whose
 * `--progress jsonl` output is collected as events (waited on by predicate, never by timers), tiny
 * sweep specs, and database/queue checks.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { queryDb } from './db.js';
import { type RedisServer, startRedis } from './redis.js';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
export type Ev = Record<string, unknown>;

const live: Proc[] = [];

/**
 * Start a redis-server for this test file (fails, not skips, when redis-server is missing) and kill
 * any CLI process a test left running. Returns a getter: the server exists once beforeAll ran.
 */
export function useRedis(): () => RedisServer {
  let server: RedisServer | null = null;
  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
    server = await startRedis();
  });
  afterEach(() => {
    for (const p of live.splice(0)) p.child.kill('SIGKILL');
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('redis-server is not running');
    return server;
  };
}

/** A CLI child process whose JSON output lines are collected as events. */
export class Proc {
  readonly child: ChildProcess;
  readonly events: Ev[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: { pred: (e: Ev[]) => boolean; resolve: () => void }[] = [];

  constructor(
    readonly name: string,
    args: string[],
    cwd: string,
    env: Record<string, string> = {},
  ) {
    this.child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2', ...env },
    });
    live.push(this);
    this.child.stdout!.on('data', (d: Buffer) => {
      this.stdout += d.toString();
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      if (line.startsWith('{')) this.events.push(JSON.parse(line) as Ev);
      for (const w of [...this.waiters]) {
        if (w.pred(this.events)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal })));
  }

  /** Resolves when the events so far satisfy `pred`; rejects if the process exits first, or after `ms` (a safety net). */
  until(what: string, pred: (e: Ev[]) => boolean, ms = 45_000): Promise<void> {
    if (pred(this.events)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: no "${what}" within ${ms} ms; stderr: ${this.stderr}; stdout tail: ${this.stdout.slice(-2000)}`)),
        ms,
      );
      this.waiters.push({
        pred,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      void this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${code ?? signal}) before "${what}"; stderr: ${this.stderr}; stdout tail: ${this.stdout.slice(-2000)}`));
      });
    });
  }

  of(event: string): Ev[] {
    return this.events.filter((e) => e.event === event);
  }
}

/** Predicate: at least `n` events of this kind so far. */
export const countOf =
  (event: string, n = 1) =>
  (e: Ev[]): boolean =>
    e.filter((x) => x.event === event).length >= n;

export function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `fs-dist-${prefix}-`));
}

/** A tiny sweep: classification data, 1 hidden layer of 4, a few epochs; bce + 4 focal settings per seed. */
export function writeSpec(
  dir: string,
  name: string,
  o: { seeds: number; cohortSize: number; samples?: number; epochs?: number; imbalance?: string[]; data?: string },
): string {
  const seeds = Array.from({ length: o.seeds }, (_, i) => i + 1).join(', ');
  const data = o.data ?? `{ generator: classification, samples: ${o.samples ?? 200}, features: 2 }`;
  const text = `name: ${name}
data: ${data}
model: { hidden: [4] }
train: { epochs: ${o.epochs ?? 3}, batch_size: 32 }
execution: { cohort_size: ${o.cohortSize} }
grid:
  controls: false
  imbalance: [${(o.imbalance ?? ['90:10']).map((s) => `"${s}"`).join(', ')}]
  seed: [${seeds}]
  loss:
    - bce
    - focal: { gamma: [1, 2], alpha: [none, 0.25] }
`;
  const file = join(dir, 'spec.yaml');
  writeFileSync(file, text);
  return file;
}

/** Read-only SQL against a results database. */
export const rows = queryDb as (db: string, sql: string) => Ev[];

/** A `focal-sweep worker` with one thread and JSON events. */
export function startWorker(redis: RedisServer, name: string, queue: string, cwd: string, extra: string[] = [], env: Record<string, string> = {}): Proc {
  return new Proc(name, ['worker', '--redis', redis.url, '--queue', queue, '--threads', '1', '--progress', 'jsonl', ...extra], cwd, env);
}

/** The environment that gives a process the shared key of the signed-queue tests. */
export const KEYED = { FOCAL_SWEEP_KEY: 'test-key-0123456789abcdef' };

export async function queueCounts(redis: RedisServer, queue: string): Promise<Record<string, number>> {
  const q = new Queue(queue, { connection: { host: '127.0.0.1', port: redis.port } });
  try {
    return await q.getJobCounts('completed', 'failed', 'active', 'waiting', 'delayed', 'prioritized', 'paused');
  } finally {
    await q.close();
  }
}

/** Every trial of the sweep complete, each key exactly once. */
export function expectAllCompleteOnce(db: string, total: number): Ev[] {
  const all = rows(db, `SELECT key, state, worker, attempts, cohort_key, tp, fp, tn, fn, roc_auc, pr_auc, final_train_loss FROM trials WHERE in_spec = 1`);
  expect(all).toHaveLength(total);
  expect(new Set(all.map((r) => r.key)).size).toBe(total);
  expect(all.filter((r) => r.state !== 'complete')).toEqual([]);
  return all;
}

/** Run the built CLI (dist/cli.js) as a child process. `npm test` builds first. */

import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** JSON events from `run --progress jsonl`, delivered as they are printed. */
export function startCli(args: string[], opts: { cwd?: string } = {}) {
  const child: ChildProcess = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const events: Record<string, unknown>[] = [];
  const waiters: { pred: (e: Record<string, unknown>[]) => boolean; resolve: () => void }[] = [];
  createInterface({ input: child.stdout as Readable }).on('line', (line) => {
    if (line.startsWith('{')) events.push(JSON.parse(line) as Record<string, unknown>);
    for (const w of [...waiters])
      if (w.pred(events)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
  });
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    events,
    stderr: () => stderr,
    exited,
    /** Resolves once the events seen so far satisfy `pred` (rejects if the process exits first). */
    until(pred: (e: Record<string, unknown>[]) => boolean): Promise<void> {
      if (pred(events)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        waiters.push({ pred, resolve });
        void exited.then(() => reject(new Error(`process exited before the awaited event; stderr: ${stderr}`)));
      });
    },
  };
}

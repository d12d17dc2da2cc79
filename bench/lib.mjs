/**
 * Shared helpers for the benchmarks: statistics, child processes, temporary folders, formatting.
 * The benchmarks import the built engine from ../dist (run `npm run build` first; `npm run bench`
 * does).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
export const ROOT = join(BENCH_DIR, '..');

/** Median, min, max (and the runs) of a list of numbers. */
export function stats(values) {
  const runs = values.filter((v) => Number.isFinite(v));
  const s = [...runs].sort((a, b) => a - b);
  const n = s.length;
  const median = n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return { median, min: s[0] ?? NaN, max: s[n - 1] ?? NaN, runs };
}

export function load() {
  return loadavg().map((x) => Math.round(x * 100) / 100);
}

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(prefix = 'fs-bench-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Run a node script in a child process and parse the JSON object it prints on its last stdout
 * line. Its progress lines ("[bench …]" on stderr) are passed through; the rest of its stderr is
 * shown only when it fails (tfjs prints a banner on stdout, which is skipped).
 */
export function runNode(script, args = [], { nodeArgs = [], env = {}, cwd = ROOT } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, script, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err += d;
      // pass the child's progress lines through as they come
      for (const line of String(d).split('\n')) if (line.startsWith('[bench ')) process.stderr.write(`  ${line}\n`);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{'));
      if (code !== 0 || !last) {
        reject(new Error(`${script} ${args.join(' ')} exited with ${code}\n${err.slice(-4000)}${out.slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(last));
    });
  });
}

/** Wall time of a command run to completion (ms), and its exit code. */
export function timeCommand(cmd, args, { cwd = ROOT, env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: performance.now() - t0, code, out }));
  });
}

/** True when this module is the script node was started with. */
export function isMain(metaUrl) {
  return process.argv[1] && fileURLToPath(metaUrl) === process.argv[1];
}

/** Command-line flags of the form --name value / --name=value / --flag. */
export function flags(argv = process.argv.slice(2)) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const [k, v] = a.slice(2).split('=');
    if (v !== undefined) out[k] = v;
    else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) out[k] = argv[++i];
    else out[k] = true;
  }
  return out;
}

export function fmtNum(x, digits = 0) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "1.23 (1.10–1.40)" for a stats object. */
export function fmtStats(s, digits = 2, unit = '') {
  if (!s || !Number.isFinite(s.median)) return '–';
  const u = unit ? ` ${unit}` : '';
  return s.runs.length > 1 ? `${fmtNum(s.median, digits)}${u} (${fmtNum(s.min, digits)}–${fmtNum(s.max, digits)})` : `${fmtNum(s.median, digits)}${u}`;
}

export function log(...args) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${args.join(' ')}\n`);
}

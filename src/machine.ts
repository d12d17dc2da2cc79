/** Facts about this machine and the package versions in use, recorded with every run. */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memory_gb: number;
  os: string;
  node: string;
  load: number[];
}

export function machineInfo(): MachineInfo {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memory_gb: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
    load: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

const here = dirname(fileURLToPath(import.meta.url));

/** The version of an installed package (walking up node_modules from here), or 'not installed'. */
function packageVersion(name: string): string {
  let dir = here;
  for (;;) {
    const pj = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(pj)) return (JSON.parse(readFileSync(pj, 'utf8')) as { version: string }).version;
    const up = dirname(dir);
    if (up === dir) return 'not installed';
    dir = up;
  }
}

/** This package's own version. */
export function ownVersion(): string {
  return (JSON.parse(readFileSync(join(here, '..', 'package.json'), 'utf8')) as { version: string }).version;
}

export function versions(): Record<string, string> {
  const out: Record<string, string> = { 'focal-sweep': ownVersion(), node: process.version };
  for (const p of ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node', 'piscina', 'better-sqlite3', 'bullmq'])
    out[p] = packageVersion(p);
  return out;
}

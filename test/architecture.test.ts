/**
 * The one-way dependency rule of docs/ARCHITECTURE.md, checked on the source: every relative import
 * between src/ folders must go in an allowed direction, and there is no cycle between folders.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

/** The layer of a source file: its folder under src/, 'leaf' for the shared modules at the top, 'cli' for cli.ts. */
function layerOf(file: string): string {
  const rel = relative(SRC, file);
  if (rel === 'cli.ts') return 'cli';
  const parts = rel.split(/[\\/]/);
  return parts.length === 1 ? 'leaf' : parts[0];
}

/** Which layers each layer may import (its own included). */
const ALLOWED: Record<string, string[]> = {
  leaf: ['leaf'],
  store: ['store', 'leaf'],
  worker: ['worker', 'leaf'],
  analysis: ['analysis', 'store', 'leaf'],
  report: ['report', 'analysis', 'store', 'leaf'],
  scheduler: ['scheduler', 'worker', 'store', 'analysis', 'leaf'],
  distributed: ['distributed', 'scheduler', 'worker', 'leaf'],
  cli: ['cli', 'scheduler', 'distributed', 'report', 'analysis', 'store', 'worker', 'leaf'],
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Relative imports of a file (static, dynamic and type-only), resolved to the .ts files they name. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]);
  return specs.map((s) => resolve(join(file, '..'), s).replace(/\.js$/, '.ts'));
}

const edges = sources(SRC).flatMap((file) => importsOf(file).map((target) => ({ file, target, from: layerOf(file), to: layerOf(target) })));

describe('the dependency rule', () => {
  it('sees the imports it checks', () => {
    expect(edges.length).toBeGreaterThan(100);
    expect(new Set(edges.map((e) => e.from))).toEqual(new Set(Object.keys(ALLOWED)));
  });

  it('every import between folders goes in an allowed direction', () => {
    const wrong = edges.filter((e) => !(ALLOWED[e.from] ?? []).includes(e.to)).map((e) => `${relative(SRC, e.file)} -> ${relative(SRC, e.target)}`);
    expect(wrong).toEqual([]);
  });

  it('no cycle between folders', () => {
    const graph = new Map<string, Set<string>>();
    for (const e of edges) if (e.from !== e.to) (graph.get(e.from) ?? graph.set(e.from, new Set()).get(e.from))?.add(e.to);
    const cycles = new Set<string>();
    const visit = (node: string, path: string[]) => {
      if (path.includes(node)) {
        cycles.add([...path.slice(path.indexOf(node)), node].join(' -> '));
        return;
      }
      for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
    };
    for (const node of graph.keys()) visit(node, []);
    expect([...cycles]).toEqual([]);
  });
});

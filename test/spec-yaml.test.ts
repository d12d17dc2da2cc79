/**
 * Hostile or broken YAML in a spec file (alias bombs, deep nesting, huge files) is one line naming
 * the file and position, exit 2, nothing written: never a crash, a stack overflow or a stall.
 */
import { mkdtempSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../src/scheduler/spec.js';
import { runCli } from './helpers/cli.js';

const HEAD = 'name: x\ngrid: {loss: [bce]}\n';
/** The billion laughs: six levels of nine aliases each expand to 9^6 = 531,441 strings; the limit is passed at e's first *d. */
const ALIAS_BOMB = `${HEAD}a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
`;

const nestedFlow = (n: number) => `${HEAD}description: ${'['.repeat(n)}${']'.repeat(n)}\n`;

const CASES: { name: string; yaml: string; error: string }[] = [
  {
    name: 'alias bomb',
    yaml: ALIAS_BOMB,
    error: 'error: spec.yaml:7:8: YAML: too many alias expansions (over the limit of 10,000 values)',
  },
  {
    name: '100,000 nested flow sequences',
    yaml: nestedFlow(100_000),
    error: 'error: spec.yaml:3:78: YAML: nested deeper than 64 levels',
  },
  {
    // the YAML composer overflowed the stack at about 800 levels
    name: '1,000 nested flow sequences',
    yaml: nestedFlow(1000),
    error: 'error: spec.yaml:3:78: YAML: nested deeper than 64 levels',
  },
  {
    name: 'deeply nested block mappings',
    yaml: `${HEAD}d:\n${Array.from({ length: 80 }, (_, i) => `${' '.repeat(i + 1)}k:\n`).join('')}`,
    error: 'error: spec.yaml:67:67: YAML: nested deeper than 64 levels',
  },
  {
    name: 'alias without an anchor',
    yaml: 'name: x\ndescription: *nope\ngrid: {loss: [bce]}\n',
    error: 'error: spec.yaml:2:14: YAML: unknown alias *nope (its anchor &nope must come first)',
  },
  {
    name: 'thousands of anchors',
    yaml: `${HEAD}x: [${Array.from({ length: 1500 }, (_, i) => `&a${i} 1`).join(', ')}]\n`,
    error: 'error: spec.yaml:3:8902: YAML: too many anchors and aliases (over the limit of 1,000)',
  },
  {
    name: 'two documents',
    yaml: `${HEAD}---\nname: y\n`,
    error: 'error: spec.yaml:3:1: YAML: more than one document (a spec is one mapping; remove the --- line)',
  },
];

async function expectRefused(dir: string, error: string) {
  const r = await runCli(['run', 'spec.yaml'], { cwd: dir });
  expect(r.stderr).toBe(`${error}\n`);
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  // no database, no results folder
  expect(readdirSync(dir)).toEqual(['spec.yaml']);
}

describe('hostile YAML is refused with one line, exit 2, nothing written', () => {
  it.concurrent.each(CASES)('$name', async ({ yaml, error }) => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-yaml-'));
    writeFileSync(join(dir, 'spec.yaml'), yaml);
    await expectRefused(dir, error);
  });

  it.concurrent('a spec file over 1 MB is refused before it is read, with its size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-yaml-'));
    const file = join(dir, 'spec.yaml');
    writeFileSync(file, `${HEAD}description: long\n`);
    truncateSync(file, 30 * 1024 * 1024);
    await expectRefused(dir, 'error: spec.yaml: file too large: 31,457,280 bytes (a spec file may be at most 1 MB, 1,048,576 bytes)');
  });
});

describe('ordinary YAML still works', () => {
  it('64 levels of nesting reach validation', () => {
    expect(() => parseSpec(nestedFlow(63), 's.yaml')).toThrow('s.yaml:3:14: description: must be a string, got a list');
  });

  it('anchors and aliases resolve', () => {
    const spec = parseSpec(
      'name: x\ngrid:\n  controls: false\n  seed: &seeds [1, 2]\n  data.seed: *seeds\n  loss: [bce, {focal: {gamma: &g [1, 2], alpha: [0.25]}}, {weighted_bce: {alpha: [0.5]}}]\n',
      's.yaml',
    );
    expect(spec.axes.find((a) => a.path === 'data.seed')?.values).toEqual([1, 2]);
    expect(spec.axes.find((a) => a.path === 'loss')?.values).toHaveLength(4);
  });
});

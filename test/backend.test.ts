/**
 * Backend choice: tensorflow (tfjs-node) if it loads, else wasm, else cpu; a forced backend that
 * cannot load is a clear error; the backend used is what trials record.
 */

import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectedBackend, initBackend } from '../src/worker/backend.js';
import { runCli } from './helpers/cli.js';

const hasTfjsNode = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

describe('backend', () => {
  it('auto picks tensorflow where tfjs-node is installed, else wasm', async () => {
    expect(expectedBackend('auto')).toBe(hasTfjsNode ? 'tensorflow' : 'wasm');
    expect(await initBackend('auto')).toBe(expectedBackend('auto'));
    const tf = await import('@tensorflow/tfjs');
    expect(tf.getBackend()).toBe(expectedBackend('auto'));
  });

  it('a forced backend is used, and switching works', async () => {
    const tf = await import('@tensorflow/tfjs');
    expect(await initBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(await initBackend('wasm')).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it.skipIf(hasTfjsNode)('forcing tensorflow without tfjs-node is a clear error (here: not installed)', async () => {
    await expect(initBackend('tensorflow')).rejects.toThrow(
      /^backend tensorflow is not available \(npm i @tensorflow\/tfjs-node needs to download libtensorflow; use --backend wasm where it cannot\): tensorflow: Cannot find (package|module) '@tensorflow\/tfjs-node'/,
    );
  });

  it.skipIf(hasTfjsNode)('the CLI refuses --backend tensorflow in one line, exit 2, before writing anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-backend-'));
    writeFileSync(join(dir, 'spec.yaml'), 'name: b\ngrid: {loss: [bce]}\n');
    const r = await runCli(['run', 'spec.yaml', '--backend', 'tensorflow'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toMatch(/^error: --backend tensorflow: backend tensorflow is not available/);
    expect(readdirSync(dir)).toEqual(['spec.yaml']);
  });
});

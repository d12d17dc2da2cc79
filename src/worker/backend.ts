/**
 * Pick the tfjs backend: tensorflow (tfjs-node, native) if it loads, else wasm, else cpu. tfjs-node
 * is an optional dependency (its install downloads libtensorflow, which not every machine can), so
 * loading it may fail in several ways; each is caught and the next backend is tried.
 *
 * tfjs is imported lazily so the scheduler can import this module without loading tfjs.
 */
import { createRequire } from 'node:module';
import type { BackendChoice } from '../types.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

const ORDER: BackendName[] = ['tensorflow', 'wasm', 'cpu'];

let active: { choice: BackendChoice; name: Promise<BackendName> } | null = null;

/**
 * Initialise tfjs on this thread with the chosen backend (once per thread; later calls with the same
 * choice return the same backend). A forced backend that cannot load throws with the reason.
 */
export function initBackend(choice: BackendChoice): Promise<BackendName> {
  if (active && active.choice === choice) return active.name;
  const name = load(choice);
  active = { choice, name };
  name.catch(() => {
    if (active?.name === name) active = null;
  });
  return name;
}

async function load(choice: BackendChoice): Promise<BackendName> {
  const tried: string[] = [];
  for (const name of choice === 'auto' ? ORDER : [choice]) {
    try {
      await activate(name);
      return name;
    } catch (e) {
      tried.push(`${name}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const how = choice === 'tensorflow' ? ' (npm i @tensorflow/tfjs-node needs to download libtensorflow; use --backend wasm where it cannot)' : '';
  throw new Error(`backend ${choice} is not available${how}: ${tried.join('; ')}`);
}

async function activate(name: BackendName): Promise<void> {
  const tf = await import('@tensorflow/tfjs');
  // Production mode: no debug checks, and no "install tfjs-node" banner on stderr for cpu/wasm.
  tf.env().set('PROD', true);
  if (name === 'tensorflow') {
    // A variable specifier keeps TypeScript from requiring the optional package at build time.
    const spec = '@tensorflow/tfjs-node';
    await import(spec);
  } else if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // One compute thread per worker: the pool supplies the parallelism.
    wasm.setThreadsCount(1);
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend('${name}') returned false`);
  await tf.ready();
  if (tf.getBackend() !== name) throw new Error(`tfjs reports backend ${tf.getBackend()}`);
}

/**
 * Cheap guess, without loading tfjs, of the backend that `auto` will pick (for the plan line);
 * the backend actually used is recorded on every trial.
 */
export function expectedBackend(choice: BackendChoice): BackendName {
  if (choice !== 'auto') return choice;
  const require = createRequire(import.meta.url);
  try {
    require.resolve('@tensorflow/tfjs-node');
    return 'tensorflow';
  } catch {
    return 'wasm';
  }
}

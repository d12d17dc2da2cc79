/**
 * Pick the tfjs backend: tensorflow (tfjs-node, native) if it loads, else wasm, else cpu. tfjs-node
 * is an optional dependency (its install downloads libtensorflow, which not every machine can), so
 * loading it may fail in several ways; each is caught and the next backend is tried.
 *
 * tfjs is imported lazily so the scheduler can import this module without loading tfjs.
 */
import { createRequire } from 'node:module';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BackendFailure } from '../errors.js';
import { formatBytes } from '../text.js';
import type { BackendChoice } from '../types.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

const ORDER: BackendName[] = ['tensorflow', 'wasm', 'cpu'];

/** The most a 32-bit wasm memory holds: 4 GiB less one 64 KiB page (what tfjs-wasm's emscripten build allows). */
const MAX_WASM_HEAP = 2 ** 32 - 2 ** 16;

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
  if (name === 'wasm') guardWasmAllocations(tf.backend() as unknown as BackendWasm);
}

/**
 * tfjs-wasm does not check its malloc: when the heap (a 32-bit wasm memory, at most 4 GiB) cannot
 * grow, malloc returns 0 and the tensor is written over the start of the heap, which traps or, worse,
 * silently corrupts the thread. Make a failed allocation an error instead (task.ts then retires the
 * thread).
 */
function guardWasmAllocations(backend: BackendWasm): void {
  // the parts of tfjs-wasm's emscripten module used here (its typings leave them out)
  const module = backend.wasm as unknown as { _malloc(size: number): number; _free(at: number): void; HEAPU8: Uint8Array };
  // emscripten binds _malloc lazily: the first call replaces the wrapper with the wasm export, which
  // would also replace a guard installed before it
  module._free(module._malloc(16));
  const malloc = module._malloc;
  module._malloc = (size: number) => {
    // a size past the 32-bit heap would wrap around to a small allocation
    const at = size < MAX_WASM_HEAP ? malloc(size) : 0;
    if (at === 0 && size > 0) {
      throw new BackendFailure(
        `wasm heap exhausted: no room for a tensor of ${formatBytes(size)} (heap ${formatBytes(module.HEAPU8.length)}, at most 4 GiB per thread; the thread is replaced)`,
      );
    }
    return at;
  };
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

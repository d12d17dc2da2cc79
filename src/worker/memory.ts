/**
 * How much tensor memory a cohort needs, from its shape alone, so that the scheduler can size
 * cohorts to fit a training thread before anything runs.
 *
 * Why it matters: the wasm backend's heap is a 32-bit wasm memory (at most 4 GiB), and when
 * tfjs-wasm cannot allocate a tensor its malloc returns 0 and the tensor is written over the start
 * of the heap: the kernel traps ("memory access out of bounds") or, worse, the thread's later
 * results are garbage. backend.ts turns a failed allocation into an error and task.ts retires such a
 * thread; this module keeps cohorts from getting there.
 *
 * The estimate counts float32 tensors alive at once, the way BatchedMlp allocates them (tf.tidy
 * keeps every intermediate of a training step until the step ends):
 *
 *   resident   params, optimizer slots, per-element learning rate (4 copies of P floats)
 *   train step 17 P (views, gradients, the optimizer's element-wise intermediates)
 *              + K · B · (2d + 10 H + 24) activations and their gradients, H = Σ hidden widths
 *   prediction P + K · c · (d + 4 H + 6) for a chunk of c samples (see {@link predictChunk})
 *
 * peak = resident + max(train step, prediction). The coefficients are upper bounds of tf.profile's
 * peakBytes over shapes on the wasm and cpu backends (test/memory.test.ts checks them).
 */

/** Bytes of tensor memory a training thread may use for one cohort (see README "Memory"). */
export const THREAD_MEMORY_BUDGET = 1024 * 2 ** 20;

/** Most samples per forward pass when predicting; a 64×64 decision grid is one pass. */
export const MAX_PREDICT_CHUNK = 4096;

/** Bytes the activations of one prediction pass may take; larger cohorts predict in smaller chunks. */
export const PREDICT_CHUNK_BYTES = 64 * 2 ** 20;

const FLOAT = 4;

/** What the memory of a cohort depends on. */
export interface CohortShape {
  /** Trials in the cohort (K). */
  members: number;
  features: number;
  hidden: readonly number[];
  activation: 'relu' | 'tanh';
  /** Samples per training step (train.batch_size, at most the training split). */
  batch: number;
  nTrain: number;
  nVal: number;
  nTest: number;
}

/** Floats per member of every parameter (weights and biases of all layers). */
function paramsPerMember(features: number, hidden: readonly number[]): number {
  const dims = [features, ...hidden, 1];
  let p = 0;
  for (let l = 1; l < dims.length; l++) p += (dims[l - 1] + 1) * dims[l];
  return p;
}

/** Floats per member and sample of a prediction pass. */
function predictPerSample(features: number, hidden: readonly number[], activation: CohortShape['activation']): number {
  const h = hidden.reduce((s, x) => s + x, 0);
  return 2 * features + (activation === 'tanh' ? 6 : 5) * h + 8;
}

/**
 * Samples per forward pass when predicting for K members: as many as fit PREDICT_CHUNK_BYTES, at
 * most MAX_PREDICT_CHUNK, at least 1. Chunking does not change any prediction (each sample is
 * computed alone), only how many are computed per pass.
 */
export function predictChunk(members: number, features: number, hidden: readonly number[], activation: CohortShape['activation']): number {
  const perSample = members * predictPerSample(features, hidden, activation) * FLOAT;
  return Math.max(1, Math.min(MAX_PREDICT_CHUNK, Math.floor(PREDICT_CHUNK_BYTES / perSample)));
}

/** The most tensor bytes a cohort of this shape holds at once (an upper bound; see the header). */
export function cohortPeakBytes(s: CohortShape): number {
  const K = s.members;
  const P = K * paramsPerMember(s.features, s.hidden);
  const H = s.hidden.reduce((sum, x) => sum + x, 0);
  const B = Math.max(1, Math.min(s.batch, s.nTrain));
  const resident = 4 * P;
  const step = 24 * P + K * B * (3 * s.features + (s.activation === 'tanh' ? 16 : 14) * H + 32);
  // the largest prediction: the evaluation split, the test split, or the 64×64 grid of 2-D data
  const predicted = Math.max(s.nVal, s.nTest, s.features === 2 ? 64 * 64 : 0);
  const chunk = Math.min(predicted, predictChunk(K, s.features, s.hidden, s.activation));
  const prediction = P + K * chunk * predictPerSample(s.features, s.hidden, s.activation);
  return FLOAT * (resident + Math.max(step, prediction));
}

/** The most members a cohort of this shape may have within `budget` bytes (0: not even one fits). */
export function membersWithin(shape: Omit<CohortShape, 'members'>, budget: number): number {
  // the peak grows with K (linearly, except where the prediction chunk shrinks): bisect
  if (cohortPeakBytes({ ...shape, members: 1 }) > budget) return 0;
  let lo = 1;
  let hi = 2;
  while (cohortPeakBytes({ ...shape, members: hi }) <= budget) {
    lo = hi;
    hi *= 2;
    if (hi > 2 ** 30) return lo;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (cohortPeakBytes({ ...shape, members: mid }) <= budget) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * The class weightings of the remedies, as plain numbers from the training class counts: shared by
 * the trainer (src/worker/losses.ts) and the report's loss curves, which must not load tfjs.
 */

/**
 * Class-balanced weights (Cui et al. 2019): w_c = (1 − β)/(1 − β^n_c) for the class counts n_c of the
 * training data, scaled so that w₀·n₀ + w₁·n₁ = n₀ + n₁ (the mean sample weight is 1, so the loss
 * keeps BCE's scale). β = 0 gives 1 and 1; β → 1 approaches inverse class frequency. β^n is taken
 * as exp(n·log β), and (1 − β)/(1 − β^n) through expm1, so β close to 1 loses no precision.
 */
export function classBalancedWeights(beta: number, negatives: number, positives: number): { positive: number; negative: number } {
  if (!(beta >= 0 && beta < 1)) throw new RangeError(`class-balanced β must be in [0, 1), got ${beta}`);
  if (beta === 0) return { positive: 1, negative: 1 };
  const logBeta = Math.log(beta);
  // (1 − β)/(1 − β^n) = −expm1(log β)/−expm1(n·log β); a class with no rows gets weight 0
  const raw = (n: number) => (n > 0 ? Math.expm1(logBeta) / Math.expm1(n * logBeta) : 0);
  const w1 = raw(positives);
  const w0 = raw(negatives);
  const scale = (negatives + positives) / (w0 * negatives + w1 * positives);
  return { positive: w1 * scale, negative: w0 * scale };
}

/** τ·log(π₁/π₀): the logit adjustment for training class priors π₁ = positives/n, π₀ = negatives/n. */
export function logitAdjustment(tau: number, negatives: number, positives: number): number {
  return tau === 0 ? 0 : tau * Math.log(positives / negatives);
}

/**
 * The loss functions as plain float64 functions of p_t, for the report's loss-curve chart (the
 * RetinaNet paper's figure 1). Deliberately free of tfjs: the training code in src/worker/losses.ts
 * computes the same quantities from logits on tensors.
 *
 *   CE(p_t)  = −log p_t
 *   FL(p_t)  = −α_t · (1 − p_t)^γ · log p_t
 *   Poly-1   = −log p_t + ε·(1 − p_t)
 *   LA(p_t)  = −log σ(logit(p_t) + b)
 */

/** −α_t·(1 − p_t)^γ·log(p_t) for p_t in (0, 1]; α_t = 1 when omitted (no class weighting). */
export function focalLossAt(pt: number, gamma: number, alphaT = 1): number {
  if (!(pt > 0 && pt <= 1)) throw new RangeError(`p_t must be in (0, 1], got ${pt}`);
  if (!(gamma >= 0)) throw new RangeError(`gamma must be ≥ 0, got ${gamma}`);
  // −log p_t: through log1p near p_t = 1 (1 − p_t is exact there), plain log near 0 (where
  // p_t − 1 would round to −1); (1 − p_t)^0 = 1 even at p_t = 1.
  const nll = pt === 1 ? 0 : pt > 0.5 ? -Math.log1p(pt - 1) : -Math.log(pt);
  return alphaT * modulatingFactor(pt, gamma) * nll;
}

/** Binary cross-entropy at p_t: focal loss with γ = 0. */
export function bceAt(pt: number): number {
  return focalLossAt(pt, 0);
}

/** The modulating factor (1 − p_t)^γ: how much focal loss down-weights an example relative to BCE. */
export function modulatingFactor(pt: number, gamma: number): number {
  return gamma === 0 ? 1 : (1 - pt) ** gamma;
}

/** Poly-1 at p_t: −log p_t + ε·(1 − p_t). */
export function poly1LossAt(pt: number, epsilon: number): number {
  return focalLossAt(pt, 0) + epsilon * (1 - pt);
}

/**
 * Logit-adjusted loss of an example whose model probability for its class is p_t: −log σ(logit(p_t) + b)
 * (b = τ·log(π₁/π₀) for a minority example). Through softplus, so it is finite for p_t near 0 and 1.
 */
export function logitAdjustedLossAt(pt: number, b: number): number {
  if (!(pt > 0 && pt < 1)) return pt === 1 && b === 0 ? 0 : Number.NaN;
  const z = Math.log(pt) - Math.log1p(-pt) + b;
  return Math.max(-z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
}

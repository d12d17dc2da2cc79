/**
 * Small, dependency-free statistics for the report and `best`: means with Student-t 95% confidence
 * intervals over seeds, and paired differences (same seed = same dataset, split and initialisation
 * seed, so pairing by seed removes the dataset-to-dataset variance from the comparison).
 */

/** Mean and 95% CI of a sample. With n = 1 there is no CI (lo/hi/half are null). */
export interface MeanCI {
  n: number;
  mean: number | null;
  /** Sample standard deviation (n − 1); null when n < 2. */
  sd: number | null;
  /** Half-width of the 95% CI: t(0.975, n−1) · sd / √n; null when n < 2. */
  half: number | null;
  lo: number | null;
  hi: number | null;
}

/** A paired comparison a − b over the seeds both have. */
export interface PairedDiff extends MeanCI {
  /** Seeds where a is better than b (by the metric's direction), worse, and equal. */
  better: number;
  worse: number;
  ties: number;
  /** The seeds that were paired, ascending. */
  seeds: number[];
}

const lanczos = [
  676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
];

/** log Γ(x) for x > 0 (Lanczos, g = 7; ~15 significant digits). */
function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = 0.99999999999980993;
  const t = z + 7.5;
  for (let i = 0; i < lanczos.length; i++) a += lanczos[i] / (z + i + 1);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction for the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularised incomplete beta I_x(a, b). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lbeta = logGamma(a + b) - logGamma(a) - logGamma(b);
  const front = Math.exp(lbeta + a * Math.log(x) + b * Math.log(1 - x));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** CDF of Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

const quantileCache = new Map<string, number>();

/** The p-quantile of Student's t (p in (0.5, 1)), by bisection on the CDF; cached. */
function studentTQuantile(p: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`degrees of freedom must be > 0, got ${df}`);
  if (!(p > 0.5 && p < 1)) throw new RangeError(`p must be in (0.5, 1), got ${p}`);
  const key = `${p}/${df}`;
  const hit = quantileCache.get(key);
  if (hit !== undefined) return hit;
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  const q = (lo + hi) / 2;
  quantileCache.set(key, q);
  return q;
}

/** t(0.975, df): the multiplier of a two-sided 95% confidence interval. */
export function t975(df: number): number {
  return studentTQuantile(0.975, df);
}

/** Mean and Student-t 95% CI of the finite values (nulls and NaN are ignored). */
export function meanCI(values: readonly (number | null | undefined)[]): MeanCI {
  const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return { n, mean: null, sd: null, half: null, lo: null, hi: null };
  let sum = 0;
  for (const x of xs) sum += x;
  const mean = sum / n;
  if (n === 1) return { n, mean, sd: null, half: null, lo: null, hi: null };
  let ss = 0;
  for (const x of xs) ss += (x - mean) ** 2;
  const sd = Math.sqrt(ss / (n - 1));
  const half = (t975(n - 1) * sd) / Math.sqrt(n);
  return { n, mean, sd, half, lo: mean - half, hi: mean + half };
}

/**
 * a − b paired by seed over the seeds where both have a finite value, with its 95% CI and how often
 * a beat b (`higherIsBetter` gives the direction).
 */
export function pairedDiff(a: ReadonlyMap<number, number | null>, b: ReadonlyMap<number, number | null>, higherIsBetter: boolean): PairedDiff {
  const seeds: number[] = [];
  const diffs: number[] = [];
  let better = 0;
  let worse = 0;
  let ties = 0;
  for (const [seed, va] of a) {
    const vb = b.get(seed);
    if (typeof va !== 'number' || typeof vb !== 'number' || !Number.isFinite(va) || !Number.isFinite(vb)) continue;
    seeds.push(seed);
    const d = va - vb;
    diffs.push(d);
    const sign = higherIsBetter ? d : -d;
    if (Math.abs(d) <= 1e-12) ties++;
    else if (sign > 0) better++;
    else worse++;
  }
  seeds.sort((x, y) => x - y);
  return { ...meanCI(diffs), better, worse, ties, seeds };
}

/**
 * How a paired difference reads: 'better' / 'worse' when the whole 95% CI is on one side of zero,
 * 'unclear' when it straddles zero, 'same' when every seed tied, 'n1' with a single seed, 'none'
 * with no common seeds ('too_few' is given by the analysis where a split has too few positives to
 * tell anything).
 */
export type Verdict = 'better' | 'worse' | 'unclear' | 'same' | 'n1' | 'none' | 'too_few';

export function verdictOf(d: PairedDiff, higherIsBetter: boolean): Verdict {
  if (d.n === 0 || d.mean === null) return 'none';
  if (d.ties === d.n) return 'same';
  if (d.n === 1 || d.lo === null || d.hi === null) return 'n1';
  const lo = higherIsBetter ? d.lo : -d.hi;
  const hi = higherIsBetter ? d.hi : -d.lo;
  if (lo > 0) return 'better';
  if (hi < 0) return 'worse';
  return 'unclear';
}

/**
 * Two-sided p-value of the paired t-test that the mean difference is 0 (the test whose 95% interval
 * the CI is: p < 0.05 exactly when the CI excludes 0). 0 when every seed moved by the same non-zero
 * amount; null with fewer than 2 pairs.
 */
export function pairedPValue(d: PairedDiff): number | null {
  if (d.n < 2 || d.mean === null || d.sd === null) return null;
  if (d.sd === 0) return d.mean === 0 ? 1 : 0;
  const t = Math.abs(d.mean) / (d.sd / Math.sqrt(d.n));
  return Math.min(1, 2 * (1 - studentTCdf(t, d.n - 1)));
}

/**
 * Holm–Bonferroni step-down adjustment (Holm 1979): the i-th smallest of m p-values becomes
 * max over j ≤ i of min(1, (m − j + 1)·p_(j)). Controls the chance of calling any of the m
 * comparisons a difference when none is, without Bonferroni's cost for the later ones. Nulls are
 * not counted in m and stay null; the order of the input is kept.
 */
export function holmAdjust(ps: readonly (number | null)[]): (number | null)[] {
  const idx = ps.flatMap((p, i) => (p === null ? [] : [i])).sort((a, b) => (ps[a] as number) - (ps[b] as number));
  const m = idx.length;
  const out: (number | null)[] = ps.map(() => null);
  let running = 0;
  for (const [rank, i] of idx.entries()) {
    running = Math.max(running, Math.min(1, (m - rank) * (ps[i] as number)));
    out[i] = running;
  }
  return out;
}

/** The verdict of a difference judged by a (possibly adjusted) p-value at the 5% level, as verdictOf reads a CI. */
export function verdictFromP(d: PairedDiff, p: number | null, higherIsBetter: boolean): Verdict {
  const plain = verdictOf(d, higherIsBetter);
  if (plain === 'none' || plain === 'same' || plain === 'n1' || p === null) return plain;
  if (p >= 0.05) return 'unclear';
  const gain = higherIsBetter ? (d.mean as number) : -(d.mean as number);
  return gain > 0 ? 'better' : 'worse';
}

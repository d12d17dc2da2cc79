/**
 * Numbers as people read them in the answer, the report and `best`: three decimals and a real minus
 * sign. A value that is not zero never prints as 0.000: it prints as <0.001 with its sign, so the
 * side of zero a CI bound falls on is always visible.
 */

const MINUS = '\u2212';

/** 0.712 -> "0.712", −0.5 -> "−0.500", 0.0004 -> "<0.001", null -> "—". */
export function fixed3(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v !== 0 && Math.abs(v) < 0.0005) return v < 0 ? `${MINUS}<0.001` : '<0.001';
  return v.toFixed(3).replace('-', MINUS);
}

/** A difference with its sign: +0.012, −0.010, +<0.001, 0.000. */
export function signed3(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v === 0) return '0.000';
  const s = fixed3(Math.abs(v));
  return (v > 0 ? '+' : MINUS) + s;
}

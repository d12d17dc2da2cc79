/** Durations as users write them ("90s", "10m", "1h30m", seconds as a number, "none"), in ms. */
import { quoted } from './text.js';

/** The longest timer Node can set (2³¹ − 1 ms, about 596 hours); longer ones fire at once. */
const MAX_DURATION_MS = 2 ** 31 - 1;

/**
 * "90s", "10m", "1h30m", 45 (seconds), "none"/0 -> ms (0 = none); a string describing the problem
 * otherwise. A positive duration is between 1 ms and MAX_DURATION_MS.
 */
export function parseDuration(v: unknown): number | string {
  if (v === 'none' || v === 0) return 0;
  let ms: number | null = null;
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) ms = v * 1000;
  else if (typeof v === 'string') {
    let total = 0;
    let consumed = '';
    for (const m of v.matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h)/g)) {
      total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
      consumed += m[0];
    }
    if (consumed.replace(/\s/g, '') === v.replace(/\s/g, '') && total > 0) ms = total;
  }
  const got = quoted(v);
  if (ms === null) return `must be a duration like "90s", "10m", "1h30m", seconds as a number, or none, got ${got}`;
  if (Math.round(ms) < 1) return `must be at least 1ms (or none), got ${got}`;
  if (Math.round(ms) > MAX_DURATION_MS) return `must be at most 596h (or none), got ${got}`;
  return Math.round(ms);
}

/** 62_000 -> "1m02s", 3_700_000 -> "1h02m", 4_200 -> "4.2s", 5 -> "5ms". Rounds before splitting units (never "1m60s"). */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 9950) return `${(ms / 1000).toFixed(1)}s`;
  const secs = Math.round(ms / 1000);
  if (secs < 60) return `${secs}s`;
  if (secs < 3600) return `${Math.floor(secs / 60)}m${String(secs % 60).padStart(2, '0')}s`;
  const mins = Math.round(secs / 60);
  return `${Math.floor(mins / 60)}h${String(mins % 60).padStart(2, '0')}m`;
}

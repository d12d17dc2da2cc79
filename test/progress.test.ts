/**
 * Progress output: the plan line, a redrawn bar on a TTY, a plain line every few seconds otherwise,
 * JSON events for scripts, and the summary even when quiet.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatDuration } from '../src/duration.js';
import { type PlanInfo, Progress } from '../src/scheduler/progress.js';

const PLAN: PlanInfo = {
  sweep: 'demo',
  db: 'results/demo.db',
  total: 400,
  toRun: 390,
  complete: 10,
  failed: 0,
  merged: 2,
  controls: 0,
  cohorts: 13,
  executor: '2 threads',
  backend: 'wasm',
};

function sink() {
  const out: string[] = [];
  return { out, w: { write: (s: string) => out.push(s) } };
}

describe('Progress', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('prints the plan', () => {
    const { out, w } = sink();
    new Progress('plain', w).plan(PLAN);
    expect(out.join('')).toBe(
      'demo: 390 trials in 13 cohorts, 2 threads, wasm backend (10 already complete, 2 duplicate configurations merged)\nwriting to results/demo.db\n',
    );
  });

  it('redraws a bar on a TTY with done, failed, running, rate and ETA', () => {
    const { out, w } = sink();
    const p = new Progress('tty', w);
    p.plan(PLAN);
    p.start();
    vi.advanceTimersByTime(10_000);
    p.update({ done: 100, failed: 4, running: 32 });
    vi.advanceTimersByTime(250);
    const last = out.at(-1)!;
    expect(last.startsWith('\r\x1b[2K[######')).toBe(true);
    expect(last).toMatch(/104\/390 · 100 done · 4 failed · 32 running · \d+\.\d trials\/s · ETA \S+$/);
    p.summary(['Done'], {});
    expect(out.slice(-2)).toEqual(['\r\x1b[2K', 'Done\n']);
  });

  it('cuts the bar to the terminal width, so redrawing never leaves wrapped rows', () => {
    const out: string[] = [];
    const p = new Progress('tty', { write: (s: string) => out.push(s), columns: 40 } as { write(s: string): unknown });
    p.plan(PLAN);
    p.start();
    vi.advanceTimersByTime(250);
    expect(out.at(-1)).toBe('\r\x1b[2K[........................] 0/390 · 0 do');
    expect([...out.at(-1)!.slice(5)]).toHaveLength(39);
    p.stop();
  });

  it('prints a plain line every interval when not a TTY', () => {
    const { out, w } = sink();
    const p = new Progress('plain', w, 5000);
    p.plan(PLAN);
    p.start();
    p.update({ done: 3, failed: 0, running: 2 });
    vi.advanceTimersByTime(4999);
    expect(out).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(out[2]).toMatch(/^3\/390 · 3 done · 0 failed · 2 running · /);
    vi.advanceTimersByTime(10_000);
    expect(out).toHaveLength(5);
    p.stop();
  });

  it('emits one JSON object per line in jsonl mode', () => {
    const { out, w } = sink();
    const p = new Progress('jsonl', w);
    p.plan(PLAN);
    p.trial({ key: 'k1', state: 'complete', objective: 0.5 });
    p.note('cohort failed', { cohort: 'c' });
    p.summary(['ignored'], { exitCode: 0 });
    expect(out.map((l) => JSON.parse(l))).toEqual([
      { event: 'plan', ...PLAN },
      { event: 'trial', key: 'k1', state: 'complete', objective: 0.5 },
      { event: 'note', message: 'cohort failed', cohort: 'c' },
      { event: 'summary', exitCode: 0 },
    ]);
  });

  it('is silent but for the summary when quiet', () => {
    const { out, w } = sink();
    const p = new Progress('none', w);
    p.plan(PLAN);
    p.start();
    vi.advanceTimersByTime(60_000);
    p.note('hidden');
    p.summary(['Done: 1 complete'], {});
    expect(out).toEqual(['Done: 1 complete\n']);
  });
});

it('formats durations', () => {
  expect([5, 4200, 9_960, 42_000, 59_700, 62_000, 119_700, 3_599_999, 3_700_000].map(formatDuration)).toEqual([
    '5ms',
    '4.2s',
    '10s',
    '42s',
    '1m00s',
    '1m02s',
    '2m00s',
    '1h00m',
    '1h02m',
  ]);
});

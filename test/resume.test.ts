/**
 * Nothing is lost: kill -9 the CLI mid-sweep, and the same command finishes the rest without
 * repeating any finished trial.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runCli, startCli } from './helpers/cli.js';
import { queryDb as query } from './helpers/db.js';

const SPEC = `
name: resume
data: { generator: classification, samples: 400, features: 2 }
model: { hidden: [8] }
train: { epochs: 15, batch_size: 32 }
execution: { cohort_size: 1 }
grid:
  controls: false
  seed: [1, 2, 3, 4, 5]
  loss: [bce, {focal: {gamma: 2, alpha: inverse}}]
`;

it('after SIGKILL mid-sweep, a rerun completes every trial exactly once and re-runs none that finished', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fs-resume-'));
  writeFileSync(join(dir, 'spec.yaml'), SPEC);
  const db = join(dir, 'r.db');
  const args = ['run', 'spec.yaml', '--db', db, '--workers', '1', '--backend', 'cpu', '--progress', 'jsonl'];

  const first = startCli(args, { cwd: dir });
  // each 'trial' event is printed after its result is committed
  await first.until((ev) => ev.filter((e) => e.event === 'trial').length >= 3);
  first.child.kill('SIGKILL');
  const { signal } = await first.exited;
  expect(signal).toBe('SIGKILL');

  const before = query(db, `SELECT key, state, run_id, finished_at FROM trials`);
  expect(before).toHaveLength(10);
  const done = before.filter((r) => r.state === 'complete');
  expect(done.length).toBeGreaterThanOrEqual(3);
  expect(done.length).toBeLessThan(10);
  expect(query(db, `SELECT status FROM runs`)).toEqual([{ status: 'running' }]);

  const second = await runCli(args, { cwd: dir });
  expect(second.stderr).toBe('');
  expect(second.code).toBe(0);
  const events = second.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const plan = events.find((e) => e.event === 'plan')!;
  expect(plan).toMatchObject({ total: 10, complete: done.length, toRun: 10 - done.length });
  const rerun = events.filter((e) => e.event === 'trial').map((e) => e.key as string);
  expect(rerun).toHaveLength(10 - done.length);
  for (const d of done) expect(rerun).not.toContain(d.key);

  const after = query(db, `SELECT key, state, run_id, finished_at, attempts FROM trials`);
  expect(after).toHaveLength(10);
  expect(new Set(after.map((r) => r.key)).size).toBe(10);
  expect(after.every((r) => r.state === 'complete')).toBe(true);
  // the trials finished before the kill are untouched
  for (const d of done) expect(after.find((r) => r.key === d.key)).toMatchObject({ run_id: d.run_id, finished_at: d.finished_at, attempts: 1 });
  expect(query(db, `SELECT id, status FROM runs ORDER BY id`)).toEqual([
    { id: 1, status: 'crashed' },
    { id: 2, status: 'complete' },
  ]);
  // the database is consistent
  expect(query(db, `PRAGMA integrity_check`)).toEqual([{ integrity_check: 'ok' }]);
});

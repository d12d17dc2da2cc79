/**
 * Ctrl-C / SIGTERM: stop dispatching, abort in-flight cohorts, mark them interrupted, close the DB,
 * exit 130; a second signal exits at once. The same command then finishes the sweep.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from './helpers/cli.js';
import { queryDb as query } from './helpers/db.js';

const SPEC = `
name: signals
data: { generator: classification, samples: 400, features: 2 }
model: { hidden: [8] }
train: { epochs: 15, batch_size: 32 }
execution: { cohort_size: 2 }
grid:
  seed: [1, 2, 3, 4, 5, 6]
  loss: [bce, {focal: {gamma: 2}}]
`;

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'fs-signal-'));
  writeFileSync(join(dir, 'spec.yaml'), SPEC);
  const db = join(dir, 'r.db');
  return { dir, db, args: ['run', 'spec.yaml', '--db', db, '--workers', '1', '--backend', 'cpu', '--progress', 'jsonl'] };
}

describe.each(['SIGINT', 'SIGTERM'] as const)('%s', (sig) => {
  it('marks in-flight trials interrupted, exits 130, and a rerun completes', async () => {
    const { dir, db, args } = setup();
    const run = startCli(args, { cwd: dir });
    await run.until((ev) => ev.filter((e) => e.event === 'trial').length >= 2);
    run.child.kill(sig);
    const { code } = await run.exited;
    expect(code).toBe(130);
    const summary = run.events.find((e) => e.event === 'summary');
    expect(summary).toMatchObject({ exitCode: 130 });
    expect(summary!.interrupted).toBeGreaterThan(0);

    const states = query(db, `SELECT state, error, count(*) AS n FROM trials GROUP BY state, error ORDER BY state`);
    const byState = Object.fromEntries(states.map((s) => [s.state, s]));
    expect(byState.interrupted).toMatchObject({ error: 'interrupted by a signal', n: summary!.interrupted });
    expect(byState.complete.n).toBeGreaterThanOrEqual(2);
    expect(byState.running).toBeUndefined();
    expect(query(db, `SELECT status FROM runs`)).toEqual([{ status: 'interrupted' }]);
    // the partial report is written, and says the last run was interrupted
    const report = readFileSync(join(dir, 'signals.html'), 'utf8');
    expect(report).toContain('last run interrupted');

    const again = await runCli(args, { cwd: dir });
    expect(again.code).toBe(0);
    const plan = JSON.parse(again.stdout.split('\n')[0]) as Record<string, unknown>;
    expect(plan).toMatchObject({ event: 'plan', toRun: 12 - (byState.complete.n as number) });
    expect(query(db, `SELECT state, count(*) AS n FROM trials GROUP BY state`)).toEqual([{ state: 'complete', n: 12 }]);
  });
});

it('a second Ctrl-C exits at once, and the database stays consistent for the rerun', async () => {
  const { dir, db, args } = setup();
  const run = startCli(args, { cwd: dir });
  await run.until((ev) => ev.some((e) => e.event === 'trial'));
  run.child.kill('SIGINT');
  run.child.kill('SIGINT');
  const { code } = await run.exited;
  expect(code).toBe(130);
  expect(query(db, `PRAGMA integrity_check`)).toEqual([{ integrity_check: 'ok' }]);
  const again = await runCli(args, { cwd: dir });
  expect(again.code).toBe(0);
  expect(query(db, `SELECT state, count(*) AS n FROM trials GROUP BY state`)).toEqual([{ state: 'complete', n: 12 }]);
});

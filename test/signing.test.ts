/**
 * Signed jobs and results (src/distributed/auth.ts, job.ts): a signature made before BullMQ's JSON
 * checks after it; changing any byte of a message, another key, or moving a message to another job
 * id makes it fail; workers and the coordinator refuse what is unsigned or wrongly signed with reasons
 * that show nothing of the key; bad keys and key files are one-line usage errors, exit 2, before
 * anything is written.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../src/canonical.js';
import { loadKey, SharedKey, sign, verify } from '../src/distributed/auth.js';
import { type CohortJobData, checkJobData, JOB_FORMAT, jobIdOf, makeJobData, makeJobResult, openJobResult } from '../src/distributed/job.js';
import { planCohorts } from '../src/scheduler/cohort.js';
import { expandGrid } from '../src/scheduler/grid.js';
import { parseSpec } from '../src/scheduler/spec.js';
import type { Cohort, TrialResult } from '../src/types.js';
import { trainCohort } from '../src/worker/task.js';
import { runCli } from './helpers/cli.js';

const SPEC = `
name: signed
data: { generator: moons, samples: 120 }
model: { hidden: [3] }
train: { epochs: 2, batch_size: 32 }
grid:
  seed: [1]
  loss: [bce, { focal: { gamma: 2, alpha: 0.25 } }]
`;
const key = new SharedKey(Buffer.from('a shared key of 32 bytes, really'));
const otherKey = new SharedKey(Buffer.from('another key, just as long as it!'));
const jobId = jobIdOf('signed.0123456789', 'cohortkey');

let cohort: Cohort;
let results: TrialResult[];

beforeAll(async () => {
  const trials = expandGrid(parseSpec(SPEC, 'signed.yaml')).trials;
  [cohort] = planCohorts(trials, { cohortSize: 32, workers: 1, backend: 'cpu' });
  results = await trainCohort(cohort);
});

/** What BullMQ does to a job's data and return value on their way through Redis. */
const viaRedis = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Every message obtained by changing one byte of `json` that still parses, with whether its content changed. */
function* oneByteChanges(json: string): Generator<{ at: number; value: Record<string, unknown>; contentChanged: boolean }> {
  const original = JSON.parse(json) as Record<string, unknown>;
  const { signature: _, ...content } = original;
  const before = canonicalJson(content);
  for (let at = 0; at < json.length; at++) {
    const code = json.charCodeAt(at);
    const changed = `${json.slice(0, at)}${String.fromCharCode(code ^ 1)}${json.slice(at + 1)}`;
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(changed) as Record<string, unknown>;
    } catch {
      continue; // not JSON any more: BullMQ could not even read it back
    }
    if (typeof value !== 'object' || value === null) continue;
    const { signature: __, ...after } = value;
    yield { at, value, contentChanged: canonicalJson(after) !== before };
  }
}

describe('signatures', () => {
  it('a signed job and a signed result check out after the JSON trip through Redis', () => {
    const data = makeJobData(key, jobId, { sweep: 'signed', namespace: 'signed.0123456789', timeoutMs: 0, cohort });
    expect(data).toMatchObject({ format: JOB_FORMAT, signature: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(verify(key, 'job', jobId, viaRedis(data))).toBe('signed');
    expect(() => checkJobData(viaRedis(data), jobId, key)).not.toThrow();
    const value = makeJobResult(key, jobId, results);
    expect(verify(key, 'result', jobId, viaRedis(value))).toBe('signed');
    expect(openJobResult(viaRedis(value), jobId, key)).toEqual({ results: viaRedis(results) });
    // without a key nothing is signed, and nothing is checked
    expect(makeJobData(null, jobId, { sweep: 's', namespace: 'n', timeoutMs: 0, cohort })).not.toHaveProperty('signature');
    expect(openJobResult(viaRedis(makeJobResult(null, jobId, results)), jobId, null)).toEqual({ results: viaRedis(results) });
  });

  it('changing any byte of a signed job or result makes it fail (unless the change leaves the content as it was)', () => {
    const data = makeJobData(key, jobId, { sweep: 'signed', namespace: 'signed.0123456789', timeoutMs: 60_000, cohort });
    const value = makeJobResult(key, jobId, results);
    for (const [what, json] of [
      ['job', JSON.stringify(data)],
      ['result', JSON.stringify(value)],
    ] as const) {
      const signature = (JSON.parse(json) as { signature: string }).signature;
      let changes = 0;
      let refused = 0;
      for (const { at, value: changed, contentChanged } of oneByteChanges(json)) {
        changes++;
        const accepted = verify(key, what, jobId, changed) === 'signed';
        // Accepted only when neither the content nor the signature changed: e.g. "1e-7" -> "1E-7" is the same number.
        expect(accepted, `${what}: byte ${at} changed (${json.slice(Math.max(0, at - 20), at + 20)})`).toBe(!contentChanged && changed.signature === signature);
        if (!accepted) refused++;
      }
      expect(changes).toBeGreaterThan(json.length / 4);
      expect(refused).toBeGreaterThan(changes * 0.99);
    }
  });

  it('another key, another job id, another kind of message, or no signature: refused', () => {
    const data = viaRedis(makeJobData(key, jobId, { sweep: 'signed', namespace: 'signed.0123456789', timeoutMs: 0, cohort }));
    expect(verify(otherKey, 'job', jobId, data)).toBe('wrong');
    // replayed onto another job: of another sweep, or another cohort of the same sweep
    expect(verify(key, 'job', jobIdOf('other.0123456789', 'cohortkey'), data)).toBe('wrong');
    expect(verify(key, 'job', jobIdOf('signed.0123456789', 'othercohort'), data)).toBe('wrong');
    // a job's signature is not a result's
    const asResult = { format: JOB_FORMAT, results: [], signature: sign(key, 'job', jobId, { format: JOB_FORMAT, results: [] }) };
    expect(verify(key, 'result', jobId, asResult)).toBe('wrong');
    const { signature: _, ...unsigned } = data;
    expect(verify(key, 'job', jobId, unsigned)).toBe('unsigned');
    expect(verify(key, 'job', jobId, { ...data, signature: 'f'.repeat(63) })).toBe('wrong');
    expect(verify(key, 'job', jobId, { ...data, signature: 12 })).toBe('wrong');
    expect(verify(key, 'job', jobId, 'not an object')).toBe('unsigned');
    const result = viaRedis(makeJobResult(key, jobId, results));
    expect(verify(otherKey, 'result', jobId, result)).toBe('wrong');
    expect(verify(key, 'result', jobIdOf('signed.0123456789', 'othercohort'), result)).toBe('wrong');
  });

  it('workers refuse unsigned and wrongly signed jobs (and signed ones without a key) with reasons that show nothing of the key', () => {
    const signed = viaRedis(makeJobData(key, jobId, { sweep: 'signed', namespace: 'signed.0123456789', timeoutMs: 0, cohort }));
    const unsigned = viaRedis(makeJobData(null, jobId, { sweep: 'signed', namespace: 'signed.0123456789', timeoutMs: 0, cohort }));
    const refusal = (data: unknown, id: string, k: SharedKey | null) => {
      try {
        checkJobData(data, id, k);
        return '';
      } catch (e) {
        expect((e as Error).name).toBe('JobFormatError');
        return (e as Error).message;
      }
    };
    expect(refusal(unsigned, jobId, key)).toBe(
      'the job is not signed, and this worker has a key: give the coordinator the same key (FOCAL_SWEEP_KEY or --key-file)',
    );
    expect(refusal(signed, jobId, otherKey)).toBe(
      "the job's signature does not match this worker's key (the coordinator has another key, or the job was altered in Redis)",
    );
    expect(refusal(signed, jobIdOf('signed.0123456789', 'x'), key)).toBe(
      "the job's signature does not match this worker's key (the coordinator has another key, or the job was altered in Redis)",
    );
    expect(refusal({ ...signed, timeoutMs: 1 } as CohortJobData, jobId, key)).toMatch(/^the job's signature does not match/);
    expect(refusal(signed, jobId, null)).toBe(
      "the job is signed, but this worker has no key: start it with the coordinator's key (FOCAL_SWEEP_KEY or --key-file)",
    );
    expect(refusal({ ...signed, format: 1 }, jobId, key)).toBe(
      "job format 1 is not supported (this worker understands format 2); run workers of the coordinator's focal-sweep version",
    );
    expect(refusal(signed, jobId, key)).toBe('');
    expect(refusal(unsigned, jobId, null)).toBe('');
  });

  it('the coordinator refuses unsigned and wrongly signed results for another try, and results of another format for good', () => {
    const value = viaRedis(makeJobResult(key, jobId, results));
    expect(openJobResult(viaRedis(makeJobResult(null, jobId, results)), jobId, key)).toEqual({
      refused: 'the result is not signed (by a worker without the key, or written into Redis by someone else)',
      retry: true,
    });
    // a forged result: any content, signed with a key that is not ours
    const forged = viaRedis(
      makeJobResult(
        otherKey,
        jobId,
        results.map((r) => ({ ...r, metrics: r.metrics && { ...r.metrics, minority_f1: 0.999 } })),
      ),
    );
    expect(openJobResult(forged, jobId, key)).toEqual({
      refused: "the result's signature does not match (a worker with another key, or the result was altered in Redis)",
      retry: true,
    });
    expect(openJobResult(value, jobIdOf('signed.0123456789', 'x'), key)).toMatchObject({ retry: true });
    expect(openJobResult(results, jobId, key)).toMatchObject({ retry: true });
    expect(openJobResult(results, jobId, null)).toEqual({ refused: 'the worker returned a malformed result (not a result envelope)', retry: false });
    expect(openJobResult({ format: 7, results }, jobId, null)).toEqual({
      refused: "the worker's result has format 7 (this coordinator reads format 2); run workers of the coordinator's focal-sweep version",
      retry: false,
    });
  });
});

describe('keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fs-keys-'));
  const file = (name: string, content: string | Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  const mac = (k: SharedKey | null) => k?.mac('x').toString('hex');

  it('come from --key-file (without its trailing line break) or else FOCAL_SWEEP_KEY; none is null', () => {
    expect(loadKey(undefined, {})).toBeNull();
    const fromEnv = loadKey(undefined, { FOCAL_SWEEP_KEY: '0123456789abcdef' });
    expect(mac(fromEnv)).toBe(mac(new SharedKey(Buffer.from('0123456789abcdef'))));
    const fromFile = loadKey(file('k1', '0123456789abcdef\n'), { FOCAL_SWEEP_KEY: 'something else entirely' });
    expect(mac(fromFile)).toBe(mac(fromEnv));
    expect(mac(loadKey(file('k2', '0123456789abcdef\r\n'), {}))).toBe(mac(fromEnv));
    expect(JSON.stringify({ key: fromEnv })).toBe('{"key":"[shared key]"}');
  });

  it('too short, unreadable or not a regular file: one line naming the source, never the key', () => {
    mkdirSync(join(dir, 'folder'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    const cases: [string | undefined, NodeJS.ProcessEnv, string][] = [
      [undefined, { FOCAL_SWEEP_KEY: 'short-secret' }, 'FOCAL_SWEEP_KEY: the key must be at least 16 bytes, got 12'],
      [undefined, { FOCAL_SWEEP_KEY: '' }, 'FOCAL_SWEEP_KEY: the key must be at least 16 bytes, got 0'],
      [file('short', 'short-secret\n'), {}, `--key-file ${join(dir, 'short')}: the key must be at least 16 bytes, got 12`],
      [join(dir, 'missing'), {}, `--key-file ${join(dir, 'missing')}: no such file`],
      [join(dir, 'folder'), {}, `--key-file ${join(dir, 'folder')}: not a regular file`],
      [join(dir, 'fifo'), {}, `--key-file ${join(dir, 'fifo')}: not a regular file`],
      [file('big', Buffer.alloc(70_000, 97)), {}, `--key-file ${join(dir, 'big')}: 70000 bytes; a key file holds one key (at most 65536 bytes)`],
    ];
    for (const [keyFile, env, message] of cases) {
      let err: Error | null = null;
      try {
        loadKey(keyFile, env);
      } catch (e) {
        err = e as Error;
      }
      expect(err?.name, message).toBe('UsageError');
      expect(err?.message).toBe(message);
      expect(err?.message).not.toContain('short-secret');
    }
  });

  it('the CLI: a bad key or key file is one line on stderr, exit 2, before Redis is contacted and before anything is written', async () => {
    const spec = file('spec.yaml', SPEC);
    const db = join(dir, 'never.db');
    const keyFile = file('short-key', 'short-secret');
    // port 1: nothing listens there, so an error about Redis would mean the key was checked too late
    const redis = 'redis://127.0.0.1:1';
    const cases: [string[], NodeJS.ProcessEnv, string][] = [
      [['run', spec, '--db', db, '--redis', redis], { FOCAL_SWEEP_KEY: 'short-secret' }, 'error: FOCAL_SWEEP_KEY: the key must be at least 16 bytes, got 12'],
      [['run', spec, '--db', db, '--redis', redis, '--key-file', keyFile], {}, `error: --key-file ${keyFile}: the key must be at least 16 bytes, got 12`],
      [['run', spec, '--db', db, '--redis', redis, '--key-file', join(dir, 'nope')], {}, `error: --key-file ${join(dir, 'nope')}: no such file`],
      [['run', spec, '--db', db, '--key-file', keyFile], {}, 'error: --key-file needs --redis'],
      [['worker', '--redis', redis], { FOCAL_SWEEP_KEY: 'short-secret' }, 'error: FOCAL_SWEEP_KEY: the key must be at least 16 bytes, got 12'],
      [['worker', '--redis', redis, '--key-file', join(dir, 'folder')], {}, `error: --key-file ${join(dir, 'folder')}: not a regular file`],
    ];
    await Promise.all(
      cases.map(async ([args, env, message]) => {
        const r = await runCli(args, { cwd: dir, env });
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr, args.join(' ')).toBe(`${message}\n`);
        expect(r.stdout).toBe('');
      }),
    );
    expect(existsSync(db)).toBe(false);
  });
});

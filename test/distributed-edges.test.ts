/**
 * Distributed mode at its edges: jobs that fail every attempt, payloads a worker must refuse, Ctrl-C
 * on a worker, bad or unreachable Redis URLs (and passwords never shown).
 */

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { checkQueueName, jobIdOf, jobNamespace } from '../src/distributed/job.js';
import { checkRedis, parseRedisUrl, redactUrl } from '../src/distributed/redis.js';
import { CONFIG_VERSION } from '../src/types.js';
import { countOf, expectAllCompleteOnce, Proc, queueCounts, rows, startWorker, tmp, useRedis, writeSpec } from './helpers/distributed.js';
import { freePort } from './helpers/redis.js';

const redis = useRedis();

describe('Redis URLs, queue names and job ids', () => {
  it('parses redis:// and rediss:// URLs into connection options', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6380/2')).toEqual({
      options: { host: '127.0.0.1', port: 6380, db: 2, connectTimeout: 5000 },
      display: 'redis://127.0.0.1:6380/2',
    });
    expect(parseRedisUrl('redis://cache.internal')).toMatchObject({
      options: { host: 'cache.internal', port: 6379, db: 0 },
      display: 'redis://cache.internal/0',
    });
    const auth = parseRedisUrl('rediss://al%40ice:p%3Ass@redis.example.com:6390/1');
    expect(auth.options).toMatchObject({
      host: 'redis.example.com',
      port: 6390,
      db: 1,
      username: 'al@ice',
      password: 'p:ss',
      tls: { servername: 'redis.example.com' },
    });
    expect(auth.display).toBe('rediss://al%40ice:***@redis.example.com:6390/1');
    expect(parseRedisUrl('redis://:only-pw@[::1]:7000').options).toMatchObject({ host: '::1', port: 7000, password: 'only-pw' });
    expect(parseRedisUrl('redis://:only-pw@[::1]:7000').display).toBe('redis://:***@[::1]:7000/0');
  });

  it('refuses malformed URLs with one line that never shows the password', () => {
    const bad: [string, RegExp][] = [
      ['', /empty URL/],
      ['localhost:6379', /unsupported scheme "localhost"|not a URL/],
      ['http://h:1', /unsupported scheme "http"/],
      ['redis://', /no host/],
      ['redis://h:0', /: bad port "0"; expected/],
      ['redis://h:1/100001', /: database number 100001 is out of range; expected/],
      ['redis://h:70000', /port 70000 is out of range/],
      ['redis://h:abc', /bad port "abc"/],
      ['redis://h:1/x', /the path must be a database number, got "\/x"/],
      ['redis://h:1/0?family=6', /query parameters and fragments are not supported/],
      ['redis://u:s3cret@h:99999', /port 99999 is out of range/],
    ];
    for (const [url, message] of bad) {
      let err: Error | null = null;
      try {
        parseRedisUrl(url);
      } catch (e) {
        err = e as Error;
      }
      expect(err?.name, url).toBe('RedisError');
      expect(err!.message, url).toMatch(message);
      expect(err!.message).not.toContain('s3cret');
      expect(err!.message.split('\n')).toHaveLength(1);
    }
    expect(redactUrl('redis://u:s3cret@h:1/0')).toBe('redis://u:***@h:1/0');
    expect(redactUrl('redis://u:s3cret@h:99999')).not.toContain('s3cret');
  });

  it('checks queue names and makes job ids from the sweep namespace and the cohort key', () => {
    expect(checkQueueName('focal-sweep')).toBe('focal-sweep');
    expect(() => checkQueueName('a:b')).toThrow(/letters, digits/);
    expect(() => checkQueueName('')).toThrow(/must not be empty/);
    const ns = jobNamespace('my sweep: γ', 'my sweep: γ\n2025-01-01T00:00:00.000Z');
    // the sweep name as in file names (labels.ts slug), then the hash
    expect(ns).toMatch(/^my_sweep_\.[0-9a-f]{10}$/);
    expect(ns).not.toContain(':');
    // another database of the same sweep: another namespace
    expect(jobNamespace('my sweep: γ', 'my sweep: γ\n2025-01-02T00:00:00.000Z')).not.toBe(ns);
    expect(jobIdOf(ns, 'abc123')).toBe(`${ns}.abc123`);
  });
});

describe('distributed mode at its edges', () => {
  it('a job that fails all its attempts marks its trials failed with the message, exit 1', async () => {
    const dir = tmp('fail');
    // CSV data: the worker checks the file against the coordinator's hash, so changing it after the
    // coordinator planned makes every attempt fail, deterministically.
    const csv = join(dir, 'data.csv');
    const lines = ['x1,x2,y'];
    for (let i = 0; i < 120; i++) lines.push(`${(i % 7) / 7},${(i % 5) / 5},${i % 6 === 0 ? 1 : 0}`);
    writeFileSync(csv, `${lines.join('\n')}\n`);
    const spec = writeSpec(dir, 'dist-fail', {
      seeds: 1,
      cohortSize: 5,
      data: `{ generator: csv, path: data.csv, label: y, positive: "1" }`,
      imbalance: ['native'],
    });
    const db = join(dir, 'fail.db');
    const coord = new Proc(
      'coordinator',
      ['run', spec, '--db', db, '--redis', redis().url, '--queue', 'q-fail', '--attempts', '2', '--progress', 'jsonl', '--no-report'],
      dir,
    );
    await coord.until('plan', countOf('plan'));
    writeFileSync(csv, `${lines.join('\n')}\n0,0,1\n`);
    const w = startWorker(redis(), 'worker', 'q-fail', dir);
    const { code } = await coord.exited;
    expect(code, coord.stderr).toBe(1);
    const failed = rows(db, `SELECT state, error FROM trials`);
    expect(failed).toHaveLength(5);
    for (const r of failed) {
      expect(r.state).toBe('failed');
      expect(String(r.error)).toMatch(/data file .*data\.csv on worker .* differs from the coordinator's copy \(sha256 mismatch\).*\(after 2 attempts\)/);
    }
    // every job tried twice (--attempts 2), then final
    expect(w.of('job-failed')).toHaveLength(2 * (coord.of('plan')[0].cohorts as number));
    expect(coord.of('note').some((e) => e.retry === 1)).toBe(true);
    expect(coord.of('summary')[0]).toMatchObject({ exitCode: 1, failed: 5 });
    expect(await queueCounts(redis(), 'q-fail')).toMatchObject({ completed: 0, failed: 0, active: 0, waiting: 0, delayed: 0 });
  });

  it('execution.trial_timeout holds on workers too: a cohort that runs too long fails, final, with the timeout message', async () => {
    const dir = tmp('timeout');
    const spec = writeSpec(dir, 'dist-timeout', { seeds: 1, cohortSize: 5, samples: 3000, epochs: 60 });
    writeFileSync(spec, readFileSync(spec, 'utf8').replace('execution: { cohort_size: 5 }', 'execution: { cohort_size: 5, trial_timeout: 1s }'));
    const w = startWorker(redis(), 'worker', 'q-timeout', dir);
    await w.until('ready', countOf('ready'));
    const db = join(dir, 'timeout.db');
    const coord = new Proc('coordinator', ['run', spec, '--db', db, '--redis', redis().url, '--queue', 'q-timeout', '--progress', 'jsonl', '--no-report'], dir);
    const { code } = await coord.exited;
    expect(code, coord.stderr).toBe(1);
    const trials = rows(db, `SELECT state, error FROM trials`);
    expect(trials).toHaveLength(5);
    for (const t of trials) {
      expect(t.state).toBe('failed');
      expect(String(t.error)).toMatch(/^cohort timed out after 1\.0s .*\(execution\.trial_timeout\)$/);
    }
    // the worker stopped the cohort itself (the coordinator cannot reach into it), and did not retry
    await w.until('job-failed', countOf('job-failed'));
    expect(w.of('job-failed')[0]).toMatchObject({ final: true });
    expect(String(w.of('job-failed')[0].error)).toMatch(/cohort timed out after 1\.0s on worker/);
    expect(w.of('job-start')).toHaveLength(1);
    expect(w.of('job-done')).toHaveLength(0);
  });

  it('a worker refuses malformed or unknown-format jobs with a clear, final failure and keeps serving', async () => {
    const dir = tmp('refuse');
    const w = startWorker(redis(), 'worker', 'q-refuse', dir);
    await w.until('ready', countOf('ready'));
    const connection = { host: '127.0.0.1', port: redis().port };
    const q = new Queue('q-refuse', { connection });
    const events = new QueueEvents('q-refuse', { connection });
    await events.waitUntilReady();
    try {
      const trial = { key: 't1', config: { v: CONFIG_VERSION, seed: 1, data: {}, model: { hidden: [4] }, train: {}, loss: { kind: 'bce' } } };
      const bad: [string, unknown, RegExp][] = [
        [
          'future format',
          { format: 999, sweep: 's', namespace: 'n', timeoutMs: 0, cohort: {} },
          /job format 999 is not supported \(this worker understands format 2\)/,
        ],
        ['not an object', 'hello', /job data is not an object/],
        [
          'no trials',
          { format: 2, sweep: 's', namespace: 'n', timeoutMs: 0, cohort: { format: 1, key: 'k', shape: '', backend: 'auto', trials: 'nope' } },
          /cohort payload has no key or no trials/,
        ],
        [
          'cohort of a newer format',
          { format: 2, sweep: 's', namespace: 'n', timeoutMs: 0, cohort: { format: 2, key: 'k', shape: '', backend: 'auto', trials: [trial] } },
          /cohort format 2 is not supported/,
        ],
        [
          'unknown loss',
          {
            format: 2,
            sweep: 's',
            namespace: 'n',
            timeoutMs: 0,
            cohort: { format: 1, key: 'k', shape: '', backend: 'auto', trials: [{ ...trial, config: { ...trial.config, loss: { kind: 'hinge' } } }] },
          },
          /malformed model or loss/,
        ],
      ];
      for (const [what, data, message] of bad) {
        const job = await q.add('cohort', data, { jobId: `bad-${what.replace(/\W+/g, '-')}`, attempts: 3 });
        const diagnose = () =>
          `${what}; job state ${String(job.id)}; worker exit ${String(w.child.exitCode)}; worker stdout ${w.stdout.slice(-2000)}; stderr ${w.stderr.slice(-2000)}`;
        await expect(
          job.waitUntilFinished(events, 30_000).catch(async (e: Error) => {
            throw new Error(`${e.message} [${await q.getJobState(job.id!)}] ${diagnose()}`);
          }),
          what,
        ).rejects.toThrow(message);
        const after = (await q.getJob(job.id!))!;
        expect(after.failedReason, what).toMatch(/^refused by worker \S+\/\d+: /);
        expect(after.attemptsMade, `${what}: not retried`).toBe(1);
      }
      expect(w.of('job-refused')).toHaveLength(bad.length);
      expect(w.of('job-start')).toHaveLength(0);
      expect(w.child.exitCode).toBeNull();
    } finally {
      await events.close();
      await q.obliterate({ force: true });
      await q.close();
    }
    w.child.kill('SIGINT');
    expect((await w.exited).code).toBe(0);
  });

  it('connect + PING first: unreachable servers, bad credentials and bad database numbers are one-line RedisErrors', async () => {
    const closed = await freePort();
    const cases: [string, RegExp][] = [
      [
        `redis://alice:s3cret-pw@127.0.0.1:${closed}/1`,
        new RegExp(`^cannot use Redis at redis://alice:\\*\\*\\*@127\\.0\\.0\\.1:${closed}/1: connection refused`),
      ],
      [`${redis().url}/99999`, /database number out of range/],
      [`redis://bob:s3cret-pw@127.0.0.1:${redis().port}`, /authentication failed \(wrong user or password\)/],
    ];
    for (const [url, message] of cases) {
      const err = await checkRedis(parseRedisUrl(url)).then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.name, url).toBe('RedisError');
      expect(err!.message, url).toMatch(message);
      expect(err!.message).not.toContain('s3cret');
    }
    await expect(checkRedis(parseRedisUrl(`${redis().url}/3`))).resolves.toBeUndefined();
  });

  it('the CLI: a bad or unreachable --redis is one line on stderr, exit 2, and no database file', async () => {
    const dir = tmp('url');
    const spec = writeSpec(dir, 'dist-url', { seeds: 1, cohortSize: 5 });
    const db = join(dir, 'never.db');
    const closed = await freePort();
    const cases: [string[], RegExp][] = [
      [
        ['run', spec, '--db', db, '--redis', 'http://127.0.0.1:6379'],
        /^error: --redis http:\/\/127\.0\.0\.1:6379: unsupported scheme "http"; expected redis:\/\//,
      ],
      [
        ['run', spec, '--db', db, '--redis', `redis://alice:s3cret-pw@127.0.0.1:${closed}`],
        /^error: cannot use Redis at redis:\/\/alice:\*\*\*@127\.0\.0\.1:\d+\/0: connection refused/,
      ],
      [['run', spec, '--db', db, '--queue', 'x'], /^error: --queue needs --redis$/],
      [['run', spec, '--db', db, '--attempts', '2'], /^error: --attempts needs --redis$/],
      // flags are checked before any connection: port 1 is never tried
      [['run', spec, '--db', db, '--redis', 'redis://127.0.0.1:1', '--attempts', '0'], /^error: --attempts: must be a whole number from 1 to 100, got "0"$/],
      [
        ['worker', '--redis', 'redis://127.0.0.1:1', '--lock-duration', 'soon'],
        /^error: --lock-duration: must be a duration like "60s", "2m" or "500ms" \(a bare number is seconds\), got "soon"$/,
      ],
      [['worker', '--redis', 'redis://127.0.0.1:1', '--lock-duration', '100ms'], /^error: --lock-duration: at least 500 ms, got 100 ms$/],
      [['worker', '--redis', 'redis://127.0.0.1:1', '--stalled-interval', '50ms'], /^error: --stalled-interval: at least 100 ms, got 50 ms$/],
      [['worker', '--redis', 'redis://127.0.0.1:1', '--max-stalled', '-1'], /^error: --max-stalled: must be a whole number ≥ 0, got -1$/],
      [['worker', '--redis', 'redis://127.0.0.1:1', '--threads', '0'], /^error: --threads: must be a whole number from 1 to 1024, or auto, got "0"$/],
      [['worker', '--redis', 'redis://127.0.0.1:1', '--queue', 'q'.repeat(101)], /^error: --queue: at most 100 characters, got 101$/],
      [
        ['worker', '--redis', `redis://alice:s3cret-pw@127.0.0.1:${closed}`],
        /^error: cannot use Redis at redis:\/\/alice:\*\*\*@127\.0\.0\.1:\d+\/0: connection refused/,
      ],
    ];
    await Promise.all(
      cases.map(async ([args, message]) => {
        const p = new Proc(args.join(' '), args, dir);
        const { code } = await p.exited;
        expect(code, args.join(' ')).toBe(2);
        const lines = p.stderr.trim().split('\n');
        expect(lines, args.join(' ')).toHaveLength(1);
        expect(lines[0], args.join(' ')).toMatch(message);
        expect(p.stderr + p.stdout).not.toContain('s3cret');
      }),
    );
    expect(existsSync(db)).toBe(false);
  });

  it('Ctrl-C on a worker finishes its job; a second Ctrl-C hands the job back at once and another worker runs it', async () => {
    const dir = tmp('handback');
    const spec = writeSpec(dir, 'dist-handback', { seeds: 2, cohortSize: 5, samples: 600, epochs: 10 });
    const total = 2 * 5;
    const db = join(dir, 'hb.db');
    const a = startWorker(redis(), 'worker A', 'q-handback', dir);
    await a.until('ready', countOf('ready'));
    const coord = new Proc(
      'coordinator',
      ['run', spec, '--db', db, '--redis', redis().url, '--queue', 'q-handback', '--progress', 'jsonl', '--no-report'],
      dir,
    );
    await a.until('job-start', countOf('job-start'));
    const job = a.of('job-start')[0].job;
    a.child.kill('SIGINT');
    await a.until('stopping', countOf('stopping'));
    expect(a.of('stopping')[0]).toMatchObject({ running: 1 });
    a.child.kill('SIGINT');
    expect((await a.exited).code).toBe(130);
    expect(a.of('handing-back')[0]).toMatchObject({ jobs: [job] });
    expect(a.of('job-done')).toEqual([]);

    const b = startWorker(redis(), 'worker B', 'q-handback', dir);
    const { code } = await coord.exited;
    expect(code, coord.stderr).toBe(0);
    // handed back, not failed or stalled: B runs it as attempt 1, nothing waited for a lock to expire
    expect(b.of('job-start').find((e) => e.job === job)).toMatchObject({ attempt: 1 });
    expect(coord.of('note').some((e) => e.handed_back === true)).toBe(true);
    expect(coord.of('note').some((e) => e.stalled === true)).toBe(false);
    expectAllCompleteOnce(db, total);
    expect(rows(db, `SELECT count(*) AS n FROM trials WHERE worker LIKE '%/${a.child.pid}/%'`)).toEqual([{ n: 0 }]);
    expect(await queueCounts(redis(), 'q-handback')).toMatchObject({ completed: 0, failed: 0, active: 0, waiting: 0 });
  });
});

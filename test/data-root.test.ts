/**
 * Where a distributed worker may read data (src/distributed/data-root.ts): CSV paths of jobs resolve
 * under the data root; `..`, absolute paths and symbolic links cannot leave it, special files are
 * refused, and a refusal reads the same whether or not something exists out there. The coordinator
 * sends paths relative to its working directory (job.ts jobCohort).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataRoot } from '../src/distributed/data-root.js';
import { jobCohort } from '../src/distributed/job.js';
import type { Cohort, CsvData, Trial } from '../src/types.js';

// <base>/root is the data root; <base>/outside holds a file the worker must never read.
const base = realpathSync(mkdtempSync(join(tmpdir(), 'fs-dataroot-')));
const root = join(base, 'root');
mkdirSync(join(root, 'sub'), { recursive: true });
mkdirSync(join(base, 'outside'));
writeFileSync(join(root, 'sub', 'data.csv'), 'x,y\n1,0\n');
writeFileSync(join(base, 'outside', 'secret.csv'), 'password,1\n');
symlinkSync(join(base, 'outside', 'secret.csv'), join(root, 'to-secret.csv'));
symlinkSync(join(base, 'outside'), join(root, 'to-outside'));
symlinkSync(join(root, 'sub', 'data.csv'), join(root, 'alias.csv'));
execFileSync('mkfifo', [join(root, 'pipe.csv')]);
const dataRoot = DataRoot.open(root);
const outside = (p: string) => ({ refused: `data file ${p}: outside this worker's data root ${root} (--data-root)` });

describe('the data root', () => {
  it('finds regular files inside it, also through links that stay inside', () => {
    expect(dataRoot.locate('sub/data.csv')).toEqual({ file: join(root, 'sub', 'data.csv') });
    expect(dataRoot.locate(join(root, 'sub', 'data.csv'))).toEqual({ file: join(root, 'sub', 'data.csv') });
    expect(dataRoot.locate('sub/../sub/./data.csv')).toEqual({ file: join(root, 'sub', 'data.csv') });
    expect(dataRoot.locate('alias.csv')).toEqual({ file: join(root, 'sub', 'data.csv') });
    expect(dataRoot.locate('sub/none.csv')).toEqual({ missing: `data file sub/none.csv not found under this worker's data root ${root} (--data-root)` });
  });

  it('refuses ../, absolute paths and links that lead out, the same way whether or not the file exists there', () => {
    expect(dataRoot.locate('../outside/secret.csv')).toEqual(outside('../outside/secret.csv'));
    expect(dataRoot.locate('../outside/none.csv')).toEqual(outside('../outside/none.csv'));
    expect(dataRoot.locate('sub/../../outside/secret.csv')).toEqual(outside('sub/../../outside/secret.csv'));
    expect(dataRoot.locate(join(base, 'outside', 'secret.csv'))).toEqual(outside(join(base, 'outside', 'secret.csv')));
    expect(dataRoot.locate('/etc/passwd')).toEqual(outside('/etc/passwd'));
    expect(dataRoot.locate('/etc/no-such-file')).toEqual(outside('/etc/no-such-file'));
    // symbolic links: to a file out there, and into a folder out there (existing file or not)
    expect(dataRoot.locate('to-secret.csv')).toEqual(outside('to-secret.csv'));
    expect(dataRoot.locate('to-outside/secret.csv')).toEqual(outside('to-outside/secret.csv'));
    expect(dataRoot.locate('to-outside/none.csv')).toEqual(outside('to-outside/none.csv'));
  });

  it('refuses special files and non-paths without opening them', () => {
    // a FIFO: readFileSync would block for ever
    expect(dataRoot.locate('pipe.csv')).toEqual({ refused: 'data file pipe.csv: not a regular file' });
    expect(dataRoot.locate('sub')).toEqual({ refused: 'data file sub: not a regular file' });
    expect(dataRoot.locate('/dev/zero')).toEqual(outside('/dev/zero'));
    expect(dataRoot.locate('')).toEqual({ refused: 'data file : not a file path' });
    expect(dataRoot.locate('sub/data.csv\0')).toEqual({ refused: 'data file sub/data.csv\0: not a file path' });
    expect(dataRoot.locate(42)).toEqual({ refused: 'data file 42: not a file path' });
    const long = `${'a/'.repeat(300)}x.csv`;
    expect((dataRoot.locate(`../${long}`) as { refused: string }).refused).toBe(
      `data file ${`../${long}`.slice(0, 200)}… (608 characters): outside this worker's data root ${root} (--data-root)`,
    );
  });

  it('--data-root must be a folder', () => {
    expect(() => DataRoot.open(join(base, 'nope'))).toThrow(`--data-root ${join(base, 'nope')}: no such folder`);
    expect(() => DataRoot.open(join(root, 'sub', 'data.csv'))).toThrow(`--data-root ${join(root, 'sub', 'data.csv')}: not a folder`);
    expect(DataRoot.open(join(root, 'to-outside')).dir).toBe(join(base, 'outside'));
  });
});

describe('CSV paths in jobs', () => {
  const trial = (path: string): Trial => ({ key: path, config: { data: { generator: 'csv', path } as CsvData } }) as unknown as Trial;
  const paths = (c: Cohort) => c.trials.map((t) => (t.config.data as CsvData).path);

  it('are relative to the coordinator’s working directory when the file is inside it, else absolute', () => {
    const cohort = {
      trials: [trial(join(base, 'root', 'sub', 'data.csv')), trial(join(base, 'outside', 'secret.csv')), trial('already/relative.csv')],
    } as Cohort;
    expect(paths(jobCohort(cohort, root))).toEqual(['sub/data.csv', join(base, 'outside', 'secret.csv'), 'already/relative.csv']);
    // a worker started in the same folder finds the first under its default data root
    expect(DataRoot.open(root).locate(paths(jobCohort(cohort, root))[0])).toEqual({ file: join(root, 'sub', 'data.csv') });
    // the coordinator's own cohort is left as it is
    expect(paths(cohort)[0]).toBe(join(base, 'root', 'sub', 'data.csv'));
  });
});

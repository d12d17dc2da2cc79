#!/usr/bin/env node
/**
 * focal-sweep: run | report | query | best | worker. User errors print one line and exit 2.
 */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { addRedisRunOptions, redisRunOptions, workerBuilder, workerHandler } from './distributed/cli.js';
import { exitCodeOf, UsageError } from './errors.js';
import {
  addRunReportOptions,
  bestBuilder,
  bestHandler,
  queryBuilder,
  queryHandler,
  reportBuilder,
  reportHandler,
  runReportCheck,
  runReportHook,
} from './report/commands.js';
import type { ProgressMode } from './scheduler/progress.js';
import { flushStdio, guardStdio, OutputClosed } from './stdio.js';
import { parseThreadCount } from './threads.js';
import { BACKEND_CHOICES, type BackendChoice } from './types.js';

// Read from argv directly: fail() also reports errors thrown while yargs parses.
const verbose = process.argv.includes('--verbose');

// A reader that closes stdout or stderr (`| head`) is not an error: see stdio.ts.
guardStdio();

/** Exit once everything written has reached stdout's and stderr's readers (process.exit alone drops a full pipe's queue). */
async function exit(code: number): Promise<never> {
  await flushStdio();
  process.exit(code);
}

function fail(err: unknown): Promise<never> {
  // the reader of stdout went away (`| head`): it has what it wanted
  if (err instanceof OutputClosed) return exit(Number(process.exitCode ?? 0));
  const code = exitCodeOf(err);
  const msg = err instanceof Error ? err.message : String(err);
  if (code === 2) process.stderr.write(`error: ${msg}\n`);
  else
    process.stderr.write(
      verbose && err instanceof Error && err.stack ? `internal error: ${err.stack}\n` : `internal error: ${msg} (--verbose shows the stack)\n`,
    );
  return exit(code);
}

function runCommand(y: Argv) {
  const local = y
    .positional('spec', { type: 'string', describe: 'sweep spec (YAML)', demandOption: true })
    .option('db', { type: 'string', describe: 'results database [default: results/<sweep name>.db]' })
    .option('workers', {
      type: 'string',
      default: 'auto',
      describe: 'worker threads: a number, or auto (one per core); with --redis: threads to size cohorts for while no worker is connected',
    })
    .option('backend', {
      choices: BACKEND_CHOICES,
      default: 'auto' as BackendChoice,
      describe: 'tfjs backend: auto tries tensorflow (tfjs-node), then wasm, then cpu',
    })
    .option('retry-failed', { type: 'boolean', default: false, describe: 'also rerun trials that failed before (interrupted ones always rerun)' })
    .option('yes', { type: 'boolean', default: false, describe: 'run a grid above the 100,000-trial safety limit' })
    .option('force-unlock', {
      type: 'boolean',
      default: false,
      describe: 'a run of this sweep marked running on another host is gone: take over (its running trials rerun)',
    })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no plan or progress; only the summary and errors' })
    .option('progress', {
      choices: ['auto', 'tty', 'plain', 'jsonl', 'none'],
      default: 'auto',
      describe: 'progress display: auto = bar on a terminal, a line every few seconds otherwise; jsonl = one JSON event per line',
    });
  return addRedisRunOptions(local);
}

async function main(): Promise<void> {
  const cli = yargs(hideBin(process.argv))
    .scriptName('focal-sweep')
    .usage('$0 <command> [options]\n\nDoes focal loss beat binary cross-entropy on your imbalanced problem, and with which γ and α?')
    .command(
      'run <spec>',
      'run a sweep: every trial of the YAML grid into SQLite (resumable), then write the HTML report',
      (y) => addRunReportOptions(runCommand(y)),
      async (argv) => {
        const controller = new AbortController();
        let signals = 0;
        const onSignal = () => {
          signals++;
          if (signals === 1) controller.abort();
          else process.exit(130);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        const progress: ProgressMode = argv.quiet
          ? 'none'
          : argv.progress === 'auto'
            ? process.stdout.isTTY
              ? 'tty'
              : 'plain'
            : (argv.progress as ProgressMode);
        // --redis: URL and server checked here, before the database is touched.
        const distributed = await redisRunOptions(argv);
        const { runSweep } = await import('./scheduler/run.js');
        const summary = await runSweep({
          ...distributed,
          specFile: argv.spec as string,
          db: argv.db,
          workers: parseThreadCount('workers', argv.workers),
          backend: argv.backend as BackendChoice,
          retryFailed: argv['retry-failed'],
          yes: argv.yes,
          forceUnlock: argv['force-unlock'],
          progress,
          stop: controller.signal,
          before: runReportCheck(argv),
          after: runReportHook(argv),
        });
        process.exitCode = summary.exitCode;
      },
    )
    .command('report', 'write the self-contained HTML report of a sweep: best settings, CIs, heatmaps, curves, decision regions', reportBuilder, (argv) =>
      reportHandler(argv),
    )
    .command('best', 'the best settings aggregated over seeds, per imbalance ratio, with the paired difference to BCE', bestBuilder, (argv) =>
      bestHandler(argv),
    )
    .command('query <sql>', 'run one read-only SQL statement against a results database (safe while a sweep writes)', queryBuilder, (argv) =>
      queryHandler(argv),
    )
    .command(
      'worker',
      'serve distributed sweeps: train cohorts from a Redis queue on this machine (run --redis is the coordinator)',
      workerBuilder,
      async (argv) => {
        process.exitCode = await workerHandler(argv);
      },
    )
    .option('verbose', { type: 'boolean', default: false, describe: 'stack traces for internal errors' })
    .demandCommand(1, 'give a command: run, report, query, best or worker')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      // yargs messages can span lines (e.g. invalid choices): one line, like every other error
      throw new UsageError(`${msg.replace(/\s*\n\s*/g, ' ')} (see focal-sweep --help)`);
    });
  await cli.parseAsync();
}

main().then(
  () => exit(Number(process.exitCode ?? 0)),
  (err) => fail(err),
);

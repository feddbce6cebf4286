#!/usr/bin/env node
import { Command, Option } from 'commander';
import ora, { type Ora } from 'ora';
import { PyUdfError } from '../errors.js';
import { chooseInterpreter } from '../environments/interpreter.js';
import { downloadRequirements } from '../environments/download.js';
import { ensureJobEnvironment } from '../environments/job-environment.js';
import { ensureWorkerRuntime, holdsRuntimeWheels } from '../environments/worker-runtime.js';
import { listCachedEnvironments, pruneCachedEnvironments } from '../environments/catalog.js';
import type { Logger } from '../logging.js';
import { PYUDF_VERSION } from '../paths.js';
import { diagnose } from './doctor.js';

/**
 * Progress on stderr. On a terminal: a live line (a spinner and the step at hand) under the
 * steps that matter (what is built and why, when it is ready). Elsewhere (CI logs, pipes): one
 * plain line per step. --quiet leaves only warnings and errors; --verbose adds debug lines.
 */
interface Progress extends Logger {
  /** Clears the live line; call before writing results to stdout or failing. */
  stop(): void;
}

function progress(): Progress {
  const { quiet, verbose } = globals();
  const started = Date.now();
  const stamp = () => `[${((Date.now() - started) / 1000).toFixed(1)}s]`;
  const width = process.stderr.columns ?? 0;
  const live = !quiet && process.stderr.isTTY === true && width >= 20 && !process.env.CI;
  // The live line (spinner, space, text) must fit on one terminal row, or each redraw
  // would leave a wrapped remnant; the margin also covers "…", which terminals may draw wide.
  const fit = (text: string) => (text.length <= width - 6 ? text : `${text.slice(0, width - 7)}…`);
  let spinner: Ora | undefined;
  const shown = (level: string) => level === 'warn' || level === 'error' || (!quiet && level === 'info') || (verbose && level === 'debug');
  return {
    log(entry) {
      if (!shown(entry.level)) return;
      if (!live) {
        process.stderr.write(`${stamp()} ${entry.message}\n`);
        return;
      }
      // A step that is pip's passes through the live line; the others stay on screen.
      if (entry.message.startsWith('pip: ') || entry.level === 'debug') {
        spinner ??= ora({ stream: process.stderr }).start();
        spinner.text = fit(`${stamp()} ${entry.message}`);
      } else {
        spinner?.stop();
        spinner = undefined;
        process.stderr.write(`${stamp()} ${entry.message}\n`);
        if (entry.level === 'info') spinner = ora({ stream: process.stderr, text: fit(`${stamp()} working`) }).start();
      }
    },
    stop() {
      spinner?.stop();
      spinner = undefined;
    },
  };
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

const program = new Command('pyudf')
  .version(PYUDF_VERSION)
  .description('Python environments for pyudf jobs: download packages for offline use, build and manage cached environments.')
  .addOption(new Option('--python <path>', 'the Python interpreter (default: PYUDF_PYTHON, else python3)'))
  .addOption(new Option('--cache-dir <dir>', 'where environments are cached (default: PYUDF_CACHE_DIR, else ~/.cache/pyudf)'))
  .option('-q, --quiet', 'no progress: only warnings, errors and the result', false)
  .option('-v, --verbose', "also pyudf's debug messages (the commands it runs)", false);

function globals() {
  return program.opts<{ python?: string; cacheDir?: string; quiet: boolean; verbose: boolean }>();
}

program.command('download')
  .description('download requirements (and their build backends) into a cached dir, for offline installs; needs network')
  .option('-r, --requirement <file>', 'requirements file')
  .requiredOption('-d, --dest <dir>', 'the cached dir to fill')
  .option('--runtime', "also download the worker runtime's wheels (for machines with no index at all)", false)
  .action(async (opts: { requirement?: string; dest: string; runtime: boolean }) => {
    if (!opts.requirement && !opts.runtime) throw new PyUdfError('INVALID_ARGUMENT', 'pyudf download: give -r requirements.txt and/or --runtime');
    const logger = progress();
    const added = await downloadRequirements({
      python: chooseInterpreter(globals().python), requirementsFile: opts.requirement, dest: opts.dest,
      runtime: opts.runtime, logger,
    }).finally(() => logger.stop());
    process.stdout.write(`${added.length} new file(s) in ${opts.dest}${added.length ? `:\n  ${added.join('\n  ')}` : ''}\n`);
  });

const env = program.command('env').description('cached Python environments');

env.command('build')
  .description('build (or reuse) the environment a job with these requirements would use, e.g. in a CI cache step')
  .requiredOption('-r, --requirement <file>', 'requirements file')
  .option('-d, --cached-dir <dir>', 'install offline from this dir only')
  .action(async (opts: { requirement: string; cachedDir?: string }) => {
    const logger = progress();
    const built = await (async () => {
      const runtime = await ensureWorkerRuntime(chooseInterpreter(globals().python), {
        cacheDir: globals().cacheDir, logger,
        findLinks: opts.cachedDir && holdsRuntimeWheels(opts.cachedDir) ? opts.cachedDir : undefined,
      });
      return ensureJobEnvironment(runtime, { requirementsFile: opts.requirement, cachedDir: opts.cachedDir ?? null }, { cacheDir: globals().cacheDir, logger });
    })().finally(() => logger.stop());
    process.stdout.write(`${built.built ? 'built' : 'reused'} ${built.key} ${built.dir}\n`);
  });

env.command('list')
  .description('list cached worker runtimes and job environments')
  .option('--json', 'one JSON array, for scripts', false)
  .action((opts: { json: boolean }) => {
    const entries = listCachedEnvironments(globals().cacheDir);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(entries.map((e) => ({ ...e, lastUsed: e.lastUsed.toISOString() })), null, 2)}\n`);
      return;
    }
    if (entries.length === 0) process.stdout.write('no cached environments\n');
    for (const e of entries) {
      process.stdout.write(`${e.kind.padEnd(7)} ${e.name}  ${mib(e.bytes).padStart(10)}  last used ${e.lastUsed.toISOString()}${e.incomplete ? '  (unfinished)' : ''}${e.requirementsFile ? `  ${e.requirementsFile}` : ''}\n`);
    }
  });

env.command('prune')
  .description('remove job environments unused for a while, and unfinished builds')
  .option('--older-than <days>', 'remove environments not used for this many days', '30')
  .option('--all', 'remove everything, worker runtimes too', false)
  .action((opts: { olderThan: string; all: boolean }) => {
    const days = Number(opts.olderThan);
    if (!Number.isFinite(days) || days < 0) throw new PyUdfError('INVALID_ARGUMENT', `--older-than must be a number of days, got "${opts.olderThan}"`);
    const removed = pruneCachedEnvironments({ cacheDir: globals().cacheDir, olderThanDays: days, all: opts.all });
    const bytes = removed.reduce((sum, e) => sum + e.bytes, 0);
    process.stdout.write(`removed ${removed.length} environment(s), ${mib(bytes)}\n`);
  });

program.command('doctor')
  .description('which interpreter would be used, whether the worker runtime is there, where environments are cached')
  .action(async () => {
    const findings = await diagnose({ python: globals().python, cacheDir: globals().cacheDir });
    for (const f of findings) {
      process.stdout.write(`${f.ok ? 'ok     ' : 'PROBLEM'} ${f.what}\n${f.fix ? `        -> ${f.fix}\n` : ''}`);
    }
    if (findings.some((f) => !f.ok)) process.exitCode = 1;
  });

program.parseAsync().catch((error: unknown) => {
  const code = error instanceof PyUdfError ? ` [${error.code}]` : '';
  process.stderr.write(`pyudf: ${(error as Error).message}${code}\n`);
  process.exitCode = 2;
});

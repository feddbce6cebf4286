#!/usr/bin/env node
import { Command, Option } from 'commander';
import { PyUdfError } from '../errors.js';
import { chooseInterpreter } from '../environments/interpreter.js';
import { downloadRequirements } from '../environments/download.js';
import { ensureJobEnvironment } from '../environments/job-environment.js';
import { ensureWorkerRuntime, holdsRuntimeWheels } from '../environments/worker-runtime.js';
import { listCachedEnvironments, pruneCachedEnvironments } from '../environments/catalog.js';
import type { Logger } from '../logging.js';
import { PYUDF_VERSION } from '../paths.js';
import { diagnose } from './doctor.js';

/** Progress goes to stderr on a terminal (and with --verbose), never under CI unless asked. */
function progressLogger(verbose: boolean): Logger {
  const show = verbose || (process.stderr.isTTY === true && !process.env.CI);
  const started = Date.now();
  return {
    log(entry) {
      if (entry.level === 'warn' || entry.level === 'error' || (show && entry.level === 'info')) {
        process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${entry.message}\n`);
      }
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
  .option('-v, --verbose', 'show progress even when not on a terminal', false);

const globals = () => program.opts<{ python?: string; cacheDir?: string; verbose: boolean }>();

program.command('download')
  .description('download requirements (and their build backends) into a cached dir, for offline installs; needs network')
  .option('-r, --requirement <file>', 'requirements file')
  .requiredOption('-d, --dest <dir>', 'the cached dir to fill')
  .option('--runtime', "also download the worker runtime's wheels (for machines with no index at all)", false)
  .action(async (opts: { requirement?: string; dest: string; runtime: boolean }) => {
    if (!opts.requirement && !opts.runtime) throw new PyUdfError('INVALID_ARGUMENT', 'pyudf download: give -r requirements.txt and/or --runtime');
    const added = await downloadRequirements({
      python: chooseInterpreter(globals().python), requirementsFile: opts.requirement, dest: opts.dest,
      runtime: opts.runtime, logger: progressLogger(globals().verbose),
    });
    process.stdout.write(`${added.length} new file(s) in ${opts.dest}${added.length ? `:\n  ${added.join('\n  ')}` : ''}\n`);
  });

const env = program.command('env').description('cached Python environments');

env.command('build')
  .description('build (or reuse) the environment a job with these requirements would use, e.g. in a CI cache step')
  .requiredOption('-r, --requirement <file>', 'requirements file')
  .option('-d, --cached-dir <dir>', 'install offline from this dir only')
  .action(async (opts: { requirement: string; cachedDir?: string }) => {
    const logger = progressLogger(globals().verbose);
    const runtime = await ensureWorkerRuntime(chooseInterpreter(globals().python), {
      cacheDir: globals().cacheDir, logger,
      findLinks: opts.cachedDir && holdsRuntimeWheels(opts.cachedDir) ? opts.cachedDir : undefined,
    });
    const built = await ensureJobEnvironment(runtime, { requirementsFile: opts.requirement, cachedDir: opts.cachedDir ?? null }, { cacheDir: globals().cacheDir, logger });
    process.stdout.write(`${built.built ? 'built' : 'reused'} ${built.key} ${built.dir}\n`);
  });

env.command('list')
  .description('list cached worker runtimes and job environments')
  .action(() => {
    const entries = listCachedEnvironments(globals().cacheDir);
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

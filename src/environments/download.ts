import fs from 'node:fs';
import path from 'node:path';
import { EnvironmentError, PyUdfError } from '../errors.js';
import type { Logger } from '../logging.js';
import { packagePaths } from '../paths.js';
import { runSetupCommand } from './commands.js';
import { logPipSteps } from './pip.js';

const SDIST = /\.(tar\.gz|zip|tar\.bz2)$/;

/**
 * Fills a cached dir for offline installs, where there is network: wheels
 * where they exist and sdists otherwise, plus the build backend sdists need
 * (setuptools, wheel) and, with `runtime`, the worker runtime's own wheels.
 */
export async function downloadRequirements(options: {
  python: string;
  requirementsFile?: string;
  dest: string;
  runtime: boolean;
  logger: Logger;
}): Promise<string[]> {
  if (options.requirementsFile !== undefined) {
    const file = path.resolve(options.requirementsFile);
    if (!fs.existsSync(file)) {
      throw new PyUdfError('IO', `requirements file ${options.requirementsFile} does not exist${file === options.requirementsFile ? '' : ` (looked for ${file})`}`);
    }
    if (!fs.statSync(file).isFile()) throw new PyUdfError('IO', `requirements file ${options.requirementsFile} is not a file`);
  }
  fs.mkdirSync(options.dest, { recursive: true });
  const before = new Set(fs.readdirSync(options.dest));
  const pipDownload = (what: string, args: string[], onLine?: (line: string) => void) => runSetupCommand(options.python, ['-m', 'pip', 'download',
    '--disable-pip-version-check', '--no-input', '--retries', '0', '--progress-bar', 'off', '-d', options.dest, ...args], `downloading ${what}`, { onLine });
  const download = async (what: string, args: string[]) => {
    options.logger.log({ level: 'info', source: 'pyudf', message: `downloading ${what} into ${options.dest}` });
    try {
      await pipDownload(what, args, logPipSteps(options.logger));
    } catch (error) {
      if (!(error instanceof EnvironmentError)) throw error;
      // pip says "No matching distribution" both for a name the index lacks and for an index it
      // cannot reach; only its verbose log tells them apart, so a failure is retried verbosely.
      const verbose = await pipDownload(what, ['-vv', ...args]).then(() => '', (e: unknown) => (e instanceof EnvironmentError ? e.output : ''));
      throw new EnvironmentError('ENVIRONMENT_BUILD_FAILED', `${downloadFailure(what, options.dest, error.output, verbose)}\n--- pip output ---\n${error.output}`,
        { command: error.command, exitCode: error.exitCode, output: error.output, cause: error });
    }
  };
  if (options.requirementsFile) await download(`the requirements of ${options.requirementsFile}`, ['-r', path.resolve(options.requirementsFile)]);
  if (options.runtime) await download('the worker runtime', ['-r', packagePaths.runtimeRequirements]);
  if (fs.readdirSync(options.dest).some((name) => SDIST.test(name))) {
    // pip builds an sdist in an isolated environment that needs its backend from the same dir.
    await download('the sdist build backend', ['setuptools', 'wheel']);
  }
  return fs.readdirSync(options.dest).filter((name) => !before.has(name)).sort();
}

/**
 * Whether pip reached no index at all: every project page it fetched failed with a connection
 * error, and no local (file://) index answered.
 */
function noIndexReached(verboseOutput: string): boolean {
  const unreachable = new Set([...verboseOutput.matchAll(/Could not fetch URL (\S+?): connection error/g)].map((m) => m[1]));
  const fetched = [...verboseOutput.matchAll(/Fetching project page and analyzing links: (\S+)/g)].map((m) => m[1]);
  const localIndexAnswered = /Location 'file:/.test(verboseOutput);
  return unreachable.size > 0 && !localIndexAnswered && fetched.every((url) => unreachable.has(url));
}

/**
 * What went wrong, as pip's output tells: no network, or a package the index does not have
 * (misspelt, or no such version), or something else.
 */
function downloadFailure(what: string, dest: string, output: string, verboseOutput: string): string {
  const missing = [...output.matchAll(/No matching distribution found for (\S+)/g)].map((m) => m[1]);
  if (noIndexReached(verboseOutput)) {
    return `pyudf download needs network access to a package index, and pip could not reach it for ${what}. Run it where pip can reach the index, then copy ${dest} to the machine that runs the job.`;
  }
  if (missing.length > 0) {
    return `${missing.join(', ')} not found on the package index (while downloading ${what}): check the name's spelling and the version asked for.`;
  }
  return `pip failed to download ${what}.`;
}

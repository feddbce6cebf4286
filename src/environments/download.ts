import fs from 'node:fs';
import path from 'node:path';
import { EnvironmentError } from '../errors.js';
import type { Logger } from '../logging.js';
import { packagePaths } from '../paths.js';
import { runSetupCommand } from './commands.js';

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
  fs.mkdirSync(options.dest, { recursive: true });
  const before = new Set(fs.readdirSync(options.dest));
  const download = async (what: string, args: string[]) => {
    options.logger.log({ level: 'info', source: 'pyudf', message: `downloading ${what} into ${options.dest}` });
    try {
      await runSetupCommand(options.python, ['-m', 'pip', 'download', '--disable-pip-version-check', '--no-input',
        '--retries', '0', '--progress-bar', 'off', '-d', options.dest, ...args], `downloading ${what}`);
    } catch (error) {
      if (!(error instanceof EnvironmentError)) throw error;
      const offline = /(No matching distribution found|Could not find a version|NewConnectionError|Failed to establish|Temporary failure in name resolution|Network is unreachable)/.test(error.output);
      throw new EnvironmentError('ENVIRONMENT_BUILD_FAILED',
        `${offline ? 'pyudf download needs network access to a package index, and pip could not get' : 'pip failed to download'} ${what}. Run it where pip can reach the index, then copy ${options.dest} to the machine that runs the job.\n--- pip output ---\n${error.output}`,
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

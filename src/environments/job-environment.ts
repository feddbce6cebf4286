import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { EnvironmentError } from '../errors.js';
import type { Logger } from '../logging.js';
import { cacheRoot, checkTrustedDirs } from './cache-dir.js';
import { maskCredentials, runSetupCommand } from './commands.js';
import { explainPipFailure, isolatedPipEnv, logPipSteps } from './pip.js';
import { checkOfflineRequirements } from './offline-requirements.js';
import { isPublished, publishOnce } from './published-dir.js';
import type { WorkerRuntime } from './worker-runtime.js';

/** A job's Python requirements, as `setPythonRequirements(file, cachedDir)` declares them. */
export interface PythonRequirements {
  readonly requirementsFile: string;
  /** Where pip takes every package from, offline; null: the machine's package index. */
  readonly cachedDir: string | null;
}

export interface JobEnvironment {
  readonly key: string;
  readonly dir: string;
  /** The directory holding the installed packages: goes on the workers' sys.path. */
  readonly sitePackages: string;
  /** False when an earlier job had built it: pip did not run. */
  readonly built: boolean;
}

export const LAST_USED_FILE = '.last-used';

// A file's digest, remembered by path, size and mtime: a job's later runs do
// not read a large cached dir again.
const fileDigests = new Map<string, string>();

async function digestFile(file: string, stat: fs.Stats): Promise<string> {
  const memo = `${file}\0${stat.size}\0${stat.mtimeMs}`;
  let digest = fileDigests.get(memo);
  if (digest === undefined) {
    const hash = crypto.createHash('sha256');
    // Streamed: wheels of several GiB exist (and exceed what one read returns).
    for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
    digest = hash.digest('hex');
    fileDigests.set(memo, digest);
  }
  return digest;
}

/** Names and content hashes of the cached dir's files: a changed wheel is a new environment. */
export async function digestCachedDir(cachedDir: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for (const name of fs.readdirSync(cachedDir).sort()) {
    const file = path.join(cachedDir, name);
    const stat = fs.statSync(file);
    if (!stat.isFile()) continue;
    hash.update(name).update('\0').update(await digestFile(file, stat)).update('\n');
  }
  return hash.digest('hex');
}

export function environmentKey(runtime: WorkerRuntime, requirements: string, cachedDirDigest: string | null): string {
  return crypto.createHash('sha256')
    .update(JSON.stringify({
      interpreter: runtime.interpreter.executable,
      version: runtime.interpreter.version,
      runtime: path.basename(runtime.dir),
      requirements,
      cachedDir: cachedDirDigest,
    }))
    .digest('hex')
    .slice(0, 16);
}

function readRequirements(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new EnvironmentError('ENVIRONMENT_BUILD_FAILED', `cannot read requirements file ${file}: ${(error as Error).message}`, { cause: error });
  }
}

function requirementLines(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.replace(/(^|\s)#.*$/, '').trim()).filter(Boolean);
}

/**
 * The environment holding a job's requirements, built once per key and
 * reused: every requirement (and its dependencies) installed into its own
 * directory with pip `--target`, so nothing the interpreter or the worker
 * runtime happens to have satisfies a requirement silently. With a cached
 * dir, pip runs `--isolated --no-index --find-links DIR`: nothing comes from
 * anywhere else.
 */
export async function ensureJobEnvironment(
  runtime: WorkerRuntime,
  requirements: PythonRequirements,
  options: { cacheDir?: string; logger: Logger; signal?: AbortSignal },
): Promise<JobEnvironment> {
  const requirementsFile = path.resolve(requirements.requirementsFile);
  const text = readRequirements(requirementsFile);
  const cachedDir = requirements.cachedDir ? path.resolve(requirements.cachedDir) : null;
  if (cachedDir && !fs.existsSync(cachedDir)) {
    throw new EnvironmentError('ENVIRONMENT_BUILD_FAILED', `the cached dir ${cachedDir} does not exist`, {});
  }
  // Before pip runs, and before an environment built from the same text is reused.
  if (cachedDir) checkOfflineRequirements(requirementsFile);
  const key = environmentKey(runtime, text, cachedDir ? await digestCachedDir(cachedDir) : null);
  const root = cacheRoot(options.cacheDir);
  const dir = path.join(root, 'envs', key);
  const sitePackages = path.join(dir, 'site');
  const trusted = [root, path.join(root, 'envs'), dir, sitePackages];
  checkTrustedDirs(trusted, 'the Python environment directory');
  const { built } = await publishOnce(dir, async (staging) => {
    const started = Date.now();
    const lines = requirementLines(text);
    options.logger.log({ level: 'info', source: 'pyudf', message: `creating Python environment ${key} for ${requirementsFile} — first job with these requirements; later jobs reuse it` });
    options.logger.log({ level: 'info', source: 'pyudf', message: maskCredentials(`installing ${lines.length} requirement(s)${cachedDir ? ` from ${cachedDir}` : ''}: ${lines.join(', ')}`) });
    fs.mkdirSync(staging, { recursive: true });
    const source = cachedDir ? ['--isolated', '--no-index', '--find-links', cachedDir] : [];
    const args = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--retries', '0',
      '--no-warn-script-location', '--progress-bar', 'off', ...source,
      '--target', path.join(staging, 'site'), '-r', requirementsFile];
    options.logger.log({ level: 'debug', source: 'pyudf', message: maskCredentials(`running ${[runtime.interpreter.executable, ...args].join(' ')}`) });
    try {
      await runSetupCommand(runtime.interpreter.executable, args, `installing the requirements of ${requirementsFile}`, {
        signal: options.signal,
        onLine: logPipSteps(options.logger),
        env: cachedDir ? isolatedPipEnv() : undefined,
        extendEnv: !cachedDir,
      });
    } catch (error) {
      throw explain(error, requirementsFile, cachedDir);
    }
    options.logger.log({ level: 'info', source: 'pyudf', message: `Python environment ${key} ready in ${((Date.now() - started) / 1000).toFixed(1)} s` });
    // The manifest stores a digest, not the text: requirement lines may carry index credentials.
    return { requirementsFile, requirementsSha256: crypto.createHash('sha256').update(text).digest('hex'), cachedDir };
  }, options.signal);
  if (!isPublished(dir)) throw new EnvironmentError('ENVIRONMENT_BUILD_FAILED', `environment ${dir} vanished after it was built`, {});
  checkTrustedDirs(trusted, 'the Python environment directory');
  fs.writeFileSync(path.join(dir, LAST_USED_FILE), new Date().toISOString());
  return Object.freeze({ key, dir, sitePackages, built });
}

function packageName(requirement: string): string {
  return requirement.split(/[<>=!~ ;[]/, 1)[0]!.toLowerCase();
}

function explain(error: unknown, requirementsFile: string, cachedDir: string | null): unknown {
  if (!(error instanceof EnvironmentError)) return error;
  const reason = explainPipFailure(error.output);
  let message: string | null = null;
  if (reason.invalidLine) {
    message = `${requirementsFile}:${reason.invalidLine.line}: invalid requirement "${reason.invalidLine.text}"`;
  } else if (reason.unreadableFile) {
    message = `${requirementsFile}: pip could not open a file it names: ${reason.unreadableFile}`;
  } else if (reason.missing && cachedDir) {
    const held = fs.readdirSync(cachedDir).filter((n) => /\.(whl|tar\.gz|zip|tar\.bz2)$/.test(n));
    // A package the requirements do not name is a dependency, or a build backend an sdist needs.
    const named = requirementLines(readRequirements(requirementsFile)).some((line) => line.toLowerCase().startsWith(packageName(reason.missing!)));
    const origin = named ? `from ${requirementsFile}` : `needed by ${requirementsFile}: a dependency, or what an sdist in the cached dir needs to build`;
    message = `requirement ${reason.missing} (${origin}) is not in the cached dir ${cachedDir}` +
      `${reason.available ? ` (versions there: ${reason.available})` : ''}; it holds: ${held.join(', ') || '(nothing)'}. ` +
      `Add it where there is network with: pyudf download -r ${requirementsFile} -d ${cachedDir}`;
  } else if (reason.missing) {
    message = `requirement ${reason.missing} (from ${requirementsFile}) could not be found by pip`;
  }
  if (message === null) return error;
  return new EnvironmentError('ENVIRONMENT_BUILD_FAILED', `${message}\n--- pip output ---\n${error.output}`, {
    command: error.command, exitCode: error.exitCode, output: error.output, cause: error,
  });
}

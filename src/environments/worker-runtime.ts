import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { EnvironmentError } from '../errors.js';
import type { Logger } from '../logging.js';
import { packagePaths } from '../paths.js';
import { cacheRoot, checkTrustedDirs } from './cache-dir.js';
import { runSetupCommand } from './commands.js';
import { probeInterpreter, type Interpreter } from './interpreter.js';
import { isolatedPipEnv, logPipSteps } from './pip.js';
import { isPublished, publishOnce } from './published-dir.js';

export interface WorkerRuntime {
  readonly interpreter: Interpreter;
  /** The virtualenv holding the worker runtime (grpcio, protobuf, pyarrow, pandas). */
  readonly dir: string;
  /** Its Python: what workers run. */
  readonly python: string;
  readonly built: boolean;
}

/**
 * Where pip may take the runtimes' wheels from on a machine without an index:
 * a directory made with `pip download -r requirements/runtime.txt` (and
 * `-r requirements/ray.txt` for the Ray runtime, which includes it).
 */
export function runtimeFindLinks(): string | undefined {
  return process.env.PYUDF_RUNTIME_FIND_LINKS || undefined;
}

/**
 * Whether a job's cached dir holds the runtime's wheels (put there by
 * `pyudf download --runtime`): then a machine with no index at all builds the
 * runtime from it.
 */
export function holdsRuntimeWheels(dir: string): boolean {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return false;
  }
  return ['grpcio', 'protobuf', 'pyarrow', 'pandas', 'numpy'].every((name) => names.some((n) => n.startsWith(`${name}-`) && n.endsWith('.whl')));
}

/**
 * A runtime pyudf builds into a cached virtualenv: the worker runtime, or one
 * layered on it (the Ray runtime). What tells them apart is their
 * requirements file and the words their log and errors use.
 */
export interface RuntimeKind {
  /** Its name in messages: "worker runtime". */
  readonly label: string;
  /** What it mainly holds, for messages: "grpcio, protobuf, pyarrow, pandas". */
  readonly contents: string;
  readonly requirementsFile: string;
  /** Put before the directory's name in the cache's `runtimes` directory ("" for the worker runtime). */
  readonly dirPrefix: string;
  /**
   * Whether the venv gets its own pip (from the interpreter's bundled wheel,
   * offline): Ray's runtime_env installs a job's requirements with the
   * node's `python -m pip`; the worker runtime needs none.
   */
  readonly ownPip?: boolean;
}

export const WORKER_RUNTIME: RuntimeKind = Object.freeze({
  label: 'worker runtime',
  contents: 'grpcio, protobuf, pyarrow, pandas',
  requirementsFile: packagePaths.runtimeRequirements,
  dirPrefix: '',
});

/**
 * The text that decides a runtime's identity: the requirements file, followed
 * by each file it includes with `-r`, so that changing an included file (the
 * worker runtime's, under the Ray runtime's) builds anew. A file that
 * includes none is its own text.
 */
export function requirementsText(file: string, seen: ReadonlySet<string> = new Set()): string {
  const text = fs.readFileSync(file, 'utf8');
  let included = '';
  for (const line of text.split('\n')) {
    const match = /^\s*(?:-r|--requirement)(?:\s+|=)(\S+)/.exec(line);
    if (!match) continue;
    const target = path.resolve(path.dirname(file), match[1]!);
    if (seen.has(target)) continue; // pip refuses a cycle itself
    included += `\n# ${match[1]}\n${requirementsText(target, new Set([...seen, file]))}`;
  }
  return text + included;
}

/** The runtime's identity: the requirements are pinned, so where pip takes the wheels from does not change it. */
export function runtimeKey(interpreter: Interpreter, requirements: string): string {
  return crypto.createHash('sha256')
    .update(JSON.stringify({ executable: interpreter.executable, version: interpreter.version, requirements }))
    .digest('hex')
    .slice(0, 16);
}

/** Where the runtime of `kind` (the worker runtime unless told) for `interpreter` lives in the cache. */
export function runtimeDir(interpreter: Interpreter, cacheDir?: string, kind: RuntimeKind = WORKER_RUNTIME): string {
  const key = runtimeKey(interpreter, requirementsText(kind.requirementsFile));
  return path.join(cacheRoot(cacheDir), 'runtimes', `${kind.dirPrefix}py${interpreter.version}-${key}`);
}

/**
 * The cached virtualenv with the worker runtime for `pythonCommand`, built on
 * first use: a venv without its own pip, filled by the interpreter's pip
 * through `--python`.
 */
export async function ensureWorkerRuntime(
  pythonCommand: string,
  options: { cacheDir?: string; logger: Logger; signal?: AbortSignal; findLinks?: string },
): Promise<WorkerRuntime> {
  const interpreter = await probeInterpreter(pythonCommand);
  const runtime = await ensureRuntime(interpreter, WORKER_RUNTIME, options);
  rememberInterpreter(pythonCommand, interpreter, cacheRoot(options.cacheDir));
  return runtime;
}

/**
 * The cached virtualenv of `kind` for `interpreter`, built on first use, once
 * across processes (publishOnce's lock): a venv without its own pip, filled
 * by the interpreter's pip through `--python` from the configured index, or
 * from `findLinks` (else PYUDF_RUNTIME_FIND_LINKS) only, isolated from pip's
 * configuration, when there is one.
 */
export async function ensureRuntime(
  interpreter: Interpreter,
  kind: RuntimeKind,
  options: { cacheDir?: string; logger: Logger; signal?: AbortSignal; findLinks?: string },
): Promise<WorkerRuntime> {
  const requirements = requirementsText(kind.requirementsFile);
  const findLinks = options.findLinks ?? runtimeFindLinks();
  const dir = runtimeDir(interpreter, options.cacheDir, kind);
  const python = path.join(dir, 'bin', 'python');
  const root = cacheRoot(options.cacheDir);
  const trusted = () => runtimeDirsToTrust(root, dir);
  checkTrustedDirs(trusted(), `the ${kind.label} directory`);
  const { built } = await publishOnce(dir, async (staging) => {
    if (!interpreter.hasVenv || !interpreter.hasPip) {
      throw new EnvironmentError('ENVIRONMENT_BUILD_FAILED',
        `Python ${interpreter.executable} lacks ${!interpreter.hasVenv ? 'the venv module' : 'pip'}, which pyudf needs to build the ${kind.label}; install it (e.g. apt-get install python3-venv python3-pip) or choose another interpreter with PYUDF_PYTHON.`,
        { command: [interpreter.executable] });
    }
    const started = Date.now();
    const log = (message: string, level: 'info' | 'debug' = 'info') => options.logger.log({ level, source: 'pyudf', message });
    log(`building the Python ${kind.label} (${kind.contents}) for Python ${interpreter.version} — first run only; later jobs reuse it from ${dir}`);
    log(`creating the virtualenv (${interpreter.executable} -m venv)`);
    await runSetupCommand(interpreter.executable, ['-m', 'venv', ...(kind.ownPip ? [] : ['--without-pip']), staging], `creating the ${kind.label} virtualenv`, { signal: options.signal });
    const source = findLinks ? ['--isolated', '--no-index', '--find-links', findLinks] : [];
    log(`installing ${kind.requirementsFile} with pip${findLinks ? ` from ${findLinks} only` : ''}`);
    log(`running ${interpreter.executable} -m pip --python ${path.join(staging, 'bin', 'python')} install ${[...source, '-r', kind.requirementsFile].join(' ')}`, 'debug');
    await runSetupCommand(
      interpreter.executable,
      ['-m', 'pip', '--python', path.join(staging, 'bin', 'python'), 'install', '--disable-pip-version-check',
        '--no-input', '--retries', '0', ...source, '-r', kind.requirementsFile],
      `installing the ${kind.label} (${kind.contents})`,
      {
        signal: options.signal,
        onLine: logPipSteps(options.logger),
        env: findLinks ? isolatedPipEnv() : undefined,
        extendEnv: !findLinks,
        hint: findLinks
          ? `PYUDF_RUNTIME_FIND_LINKS=${findLinks} must hold wheels for everything in ${kind.requirementsFile}.`
          : `pip could not get the ${kind.label}. Where there is network, run: ${interpreter.executable} -m pip download -d DIR -r ${kind.requirementsFile}; then set PYUDF_RUNTIME_FIND_LINKS=DIR here.`,
      },
    );
    pointScriptsAt(staging, dir);
    log(`${kind.label} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { interpreter: interpreter.executable, version: interpreter.version, requirements };
  }, options.signal);
  checkTrustedDirs(trusted(), `the ${kind.label} directory`);
  return Object.freeze({ interpreter, dir, python, built });
}

/**
 * Where the answer of `pythonCommand` on this PATH is recorded. Probing an
 * interpreter takes 30 ms, or 0.3-0.5 s through a version manager's shim
 * (pyenv's is a shell script): workers can start on the recorded answer
 * while the probe confirms it.
 */
function interpreterRecord(pythonCommand: string, root: string): string {
  const key = crypto.createHash('sha256').update(JSON.stringify([pythonCommand, process.env.PATH ?? ''])).digest('hex').slice(0, 16);
  return path.join(root, 'interpreters', `${key}.json`);
}

/** The records this process found or wrote up to date: every later job of it would only read them again. */
const remembered = new Set<string>();

function rememberInterpreter(pythonCommand: string, interpreter: Interpreter, root: string): void {
  const record = interpreterRecord(pythonCommand, root);
  const text = JSON.stringify(interpreter);
  if (remembered.has(`${record}\n${text}`)) return;
  remembered.add(`${record}\n${text}`);
  try {
    if (fs.readFileSync(record, 'utf8') === text) return;
  } catch {
    // not recorded yet
  }
  try {
    fs.mkdirSync(path.dirname(record), { recursive: true, mode: 0o700 });
    const staging = `${record}.${process.pid}.tmp`;
    fs.writeFileSync(staging, text, { mode: 0o600 });
    fs.renameSync(staging, record);
  } catch {
    // a record is an optimisation: without one, workers start after the probe
  }
}

/**
 * The worker runtime `pythonCommand` led to the last time it was probed from
 * this PATH, when that runtime is built and trusted: a guess to start workers
 * on, which the caller confirms with `ensureWorkerRuntime` before using them.
 * Null when there is nothing to guess from.
 */
export function rememberedWorkerRuntime(pythonCommand: string, options: { cacheDir?: string } = {}): WorkerRuntime | null {
  const root = cacheRoot(options.cacheDir);
  let interpreter: Interpreter;
  try {
    interpreter = Object.freeze(JSON.parse(fs.readFileSync(interpreterRecord(pythonCommand, root), 'utf8')) as Interpreter);
  } catch {
    return null;
  }
  if (interpreter.command !== pythonCommand || typeof interpreter.executable !== 'string' || typeof interpreter.version !== 'string') return null;
  const dir = runtimeDir(interpreter, options.cacheDir);
  if (!isPublished(dir)) return null;
  try {
    checkTrustedDirs([path.join(root, 'interpreters'), ...runtimeDirsToTrust(root, dir)], 'the worker runtime directory');
  } catch {
    return null; // ensureWorkerRuntime says why
  }
  return Object.freeze({ interpreter, dir, python: path.join(dir, 'bin', 'python'), built: false });
}

/** What must be this user's for workers to run from the runtime in `dir`: the directories above it and those its Python reads. */
function runtimeDirsToTrust(root: string, dir: string): string[] {
  return [root, path.join(root, 'runtimes'), dir, ...sitePackagesOf(dir)];
}

/** A venv's site-packages directories (lib/pythonX.Y/site-packages), where a planted `.pth` would run. */
function sitePackagesOf(venv: string): string[] {
  const lib = path.join(venv, 'lib');
  let names: string[];
  try {
    names = fs.readdirSync(lib);
  } catch {
    return [];
  }
  return [lib, ...names.filter((n) => n.startsWith('python')).map((n) => path.join(lib, n, 'site-packages'))];
}

/**
 * Makes the venv's scripts (`bin/ray`, `bin/activate`) name the directory the
 * venv is published at: pip and venv wrote the staging directory into their
 * shebangs and paths, which is gone once the build is renamed into place
 * (a sibling of the final directory, so only the name differs).
 */
function pointScriptsAt(staging: string, finalDir: string): void {
  const bin = path.join(staging, 'bin');
  for (const name of fs.readdirSync(bin)) {
    const file = path.join(bin, name);
    if (!fs.lstatSync(file).isFile()) continue; // python, python3: links to the interpreter
    const bytes = fs.readFileSync(file);
    if (bytes.includes(0)) continue; // not a script
    // By name, not by path: `activate` also shows the bare name in its prompt.
    const text = bytes.toString('utf8');
    const stagingName = path.basename(staging);
    if (text.includes(stagingName)) fs.writeFileSync(file, text.split(stagingName).join(path.basename(finalDir)));
  }
}

import fs from 'node:fs';
import path from 'node:path';
import tmp from 'tmp';
import { PyUdfError, UdfError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { FunctionSpecMessage, UdfErrorMessage } from '../protocol/contract.js';
import { parseDataType } from '../types/data-types.js';
import type { FunctionSignature } from '../planning/compile.js';
import { WorkerClient, type CallOutcome } from './worker-client.js';
import { WorkerProcess } from './worker-process.js';
import { extractArchives, type PythonArchive } from './archives.js';
import type * as arrow from 'apache-arrow';

tmp.setGracefulCleanup();

export interface WorkerPoolOptions {
  readonly python: string;
  readonly parallelism: number;
  readonly logger: Logger;
  readonly functions: readonly FunctionSpecMessage[];
  /** Files and package directories the functions import (addPythonFile). */
  readonly pythonFiles: readonly string[];
  /** More directories for sys.path after the job's files: the job's installed requirements. */
  readonly extraPythonPaths?: readonly string[];
  /** Extracted into the workers' working directory before they start (addPythonArchive). */
  readonly archives?: readonly PythonArchive[];
  readonly jobParameters: Readonly<Record<string, string>>;
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * N workers with the job's functions loaded, and the private directory that
 * holds their sockets and the job's Python files. Calls name the worker, so a
 * batch's calls all go to one worker.
 */
export class WorkerPool {
  readonly signatures: ReadonlyMap<string, FunctionSignature>;
  readonly #clients: readonly WorkerClient[];
  readonly #dir: tmp.DirResult;
  readonly #userPaths: (error: UdfErrorMessage) => UdfErrorMessage;
  readonly #logger: Logger;
  #closed = false;
  /** Set by the first close() or destroy(): later calls wait until the workers are gone. */
  #stopped: Promise<void> | null = null;

  private constructor(
    clients: WorkerClient[], dir: tmp.DirResult, signatures: Map<string, FunctionSignature>,
    userPaths: (error: UdfErrorMessage) => UdfErrorMessage,
    logger: Logger,
  ) {
    this.#logger = logger;
    this.#clients = clients;
    this.#dir = dir;
    this.signatures = signatures;
    this.#userPaths = userPaths;
  }

  get size(): number {
    return this.#clients.length;
  }

  get pids(): number[] {
    return this.#clients.map((c) => c.process.pid).filter((p): p is number => p !== undefined);
  }

  static async start(options: WorkerPoolOptions): Promise<WorkerPool> {
    const dir = tmp.dirSync({ prefix: 'pyudf-', mode: 0o700, unsafeCleanup: true });
    const clients: WorkerClient[] = [];
    try {
      const pythonPath = linkPythonFiles(dir.name, options.pythonFiles);
      const userPaths = userPathsOf(pythonPath, options.pythonFiles);
      const workDir = path.join(dir.name, 'work');
      fs.mkdirSync(workDir);
      await extractArchives(options.archives ?? [], workDir);
      const started = await Promise.allSettled(
        Array.from({ length: options.parallelism }, (_, index) =>
          WorkerProcess.start({ python: options.python, socketDir: dir.name, cwd: workDir, index, env: options.env })),
      );
      for (const s of started) if (s.status === 'fulfilled') clients.push(new WorkerClient(s.value, options.logger));
      const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;

      await Promise.all(clients.map((c) => c.handshake()));
      const replies = await Promise.all(clients.map((c) => c.load([...options.functions], [pythonPath], [...(options.extraPythonPaths ?? [])], { ...options.jobParameters })));
      const failedLoad = replies.find((r) => r.error);
      if (failedLoad?.error) throw loadError(userPaths(failedLoad.error));
      const signatures = new Map<string, FunctionSignature>();
      for (const f of replies[0]?.functions ?? []) {
        signatures.set(f.name, Object.freeze({
          name: f.name,
          inputTypes: f.hasInputTypes ? Object.freeze(f.inputTypes.map(parseDataType)) : null,
          resultType: parseDataType(f.resultType),
        }));
      }
      return new WorkerPool(clients, dir, signatures, userPaths, options.logger);
    } catch (error) {
      await Promise.all(clients.map((c) => c.destroy()));
      removePrivateDir(dir, options.logger);
      throw error;
    }
  }

  call(worker: number, functionName: string, args: readonly arrow.Vector[], numRows: number): Promise<CallOutcome> {
    if (this.#closed) return Promise.reject(new PyUdfError('CLOSED', 'the worker pool is closed'));
    return this.#clients[worker % this.#clients.length]!.call(functionName, args, numRows)
      .then((outcome): CallOutcome => (outcome.ok ? outcome : { ok: false, error: this.#userPaths(outcome.error) }));
  }

  /** Runs close() of every function, stops every worker, removes the private directory. */
  async close(): Promise<UdfErrorMessage[]> {
    if (this.#stopped) {
      await this.#stopped;
      return [];
    }
    this.#closed = true;
    const closing = (async () => {
      try {
        const errors = await Promise.all(this.#clients.map((c) => c.shutdown()));
        return errors.flat().map(this.#userPaths);
      } finally {
        removePrivateDir(this.#dir, this.#logger);
      }
    })();
    this.#stopped = closing.then(() => undefined, () => undefined);
    return closing;
  }

  /** Stops every worker at once. A second call (an abort, then the job's own failure) waits for the first. */
  async destroy(): Promise<void> {
    if (this.#stopped) return this.#stopped;
    this.#closed = true;
    const destroying = (async () => {
      try {
        await Promise.all(this.#clients.map((c) => c.destroy()));
      } finally {
        removePrivateDir(this.#dir, this.#logger);
      }
    })();
    this.#stopped = destroying.then(() => undefined, () => undefined);
    return destroying;
  }
}

/**
 * Removes the pool's private directory. Whatever a UDF left there (read-only
 * files, say) is made removable first; a failure is logged, never thrown, so
 * cleanup cannot turn a finished job into a failed one.
 */
function removePrivateDir(dir: tmp.DirResult, logger: Logger): void {
  try {
    dir.removeCallback(); // also drops it from tmp's clean-up-at-exit list
  } catch {
    try {
      makeWritable(dir.name);
      fs.rmSync(dir.name, { recursive: true, force: true });
    } catch (error) {
      logger.log({ level: 'warn', source: 'pyudf', message: `could not remove the worker directory ${dir.name}: ${(error as Error).message}` });
    }
  }
}

function makeWritable(target: string): void {
  const stat = fs.lstatSync(target);
  if (!stat.isDirectory()) return;
  fs.chmodSync(target, 0o700);
  for (const name of fs.readdirSync(target)) makeWritable(path.join(target, name));
}

/** Links each file or package into one directory that goes first on the workers' sys.path. */
function linkPythonFiles(dir: string, files: readonly string[]): string {
  const pythonPath = path.join(dir, 'python');
  fs.mkdirSync(pythonPath);
  for (const file of files) {
    const target = path.join(pythonPath, path.basename(file));
    if (fs.existsSync(target)) {
      throw new PyUdfError('INVALID_ARGUMENT', `addPythonFile: two files named "${path.basename(file)}" would shadow each other`);
    }
    fs.symlinkSync(path.resolve(file), target);
  }
  return pythonPath;
}

/**
 * Workers import the job's files through links in the private directory,
 * which is gone once the job ends: errors name the files where the user keeps them.
 */
function userPathsOf(pythonPath: string, files: readonly string[]): (error: UdfErrorMessage) => UdfErrorMessage {
  const links = new Map(files.map((file) => [path.join(pythonPath, path.basename(file)), path.resolve(file)]));
  if (links.size === 0) return (error) => error;
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // Longest first, and not followed by more of a name: "my_pkg" must not rewrite "my_pkg2.py".
  const pattern = new RegExp(`(${[...links.keys()].sort((a, b) => b.length - a.length).map(escape).join('|')})(?![\\w-]|\\.\\w)`, 'g');
  const rewrite = (text: string) => text.replace(pattern, (link) => links.get(link)!);
  return (error) => ({
    ...error, message: rewrite(error.message), traceback: rewrite(error.traceback), sourceLocation: rewrite(error.sourceLocation),
  });
}

export function loadError(error: UdfErrorMessage): UdfError {
  const code = error.exceptionType === 'SignatureMismatch' ? 'UDF_SIGNATURE_MISMATCH' : 'UDF_LOAD_FAILED';
  const where = error.sourceLocation ? ` (${error.sourceLocation})` : '';
  const phase = error.phase === 'open' ? 'open() failed' : 'failed to load';
  return new UdfError(code, `Python function "${error.functionName}" ${phase}${where}: ${error.exceptionType}: ${error.message}${error.traceback ? `\n${error.traceback}` : ''}`, {
    functionName: error.functionName,
    phase: error.phase as 'load' | 'open',
    pythonType: error.exceptionType,
    pythonMessage: error.message,
    pythonTraceback: error.traceback,
    sourceLocation: error.sourceLocation,
  });
}

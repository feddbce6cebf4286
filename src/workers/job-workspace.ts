import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tmp from 'tmp';
import { PyUdfError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { UdfErrorMessage } from '../protocol/contract.js';
import { extractArchives, type PythonArchive } from './archives.js';
import { trackDir, untrackDir } from './host-exit.js';

tmp.setGracefulCleanup();

/**
 * A pool's private (0700) directory under TMPDIR: the workers' sockets, the
 * job's Python files linked into one sys.path entry, and the working
 * directory its archives are extracted into. It is tracked, so that an exit
 * of the host removes it, until remove().
 */
export class JobWorkspace {
  readonly #dir: tmp.DirResult;
  /** Where the workers' sockets go. */
  readonly socketDir: string;
  /** The directory first on the workers' sys.path, holding links to the job's files. */
  readonly pythonPath: string;
  /** The workers' working directory, holding the extracted archives. */
  readonly workDir: string;
  /** Rewrites the links' paths in a Python error to the files' own (see userPathsOf). */
  readonly userPaths: (error: UdfErrorMessage) => UdfErrorMessage;

  private constructor(dir: tmp.DirResult, pythonPath: string, workDir: string, userPaths: (error: UdfErrorMessage) => UdfErrorMessage) {
    this.#dir = dir;
    this.socketDir = dir.name;
    this.pythonPath = pythonPath;
    this.workDir = workDir;
    this.userPaths = userPaths;
  }

  /** Makes the directory with the job's files and extracted archives; nothing is left behind when that fails. */
  static async create(pythonFiles: readonly string[], archives: readonly PythonArchive[], logger: Logger): Promise<JobWorkspace> {
    const dir = privateDir();
    trackDir(dir.name);
    try {
      const pythonPath = linkPythonFiles(dir.name, pythonFiles);
      const userPaths = userPathsOf(pythonPath, pythonFiles);
      const workDir = path.join(dir.name, 'work');
      fs.mkdirSync(workDir);
      await extractArchives(archives, workDir);
      return new JobWorkspace(dir, pythonPath, workDir, userPaths);
    } catch (error) {
      removePrivateDir(dir, logger);
      throw error;
    }
  }

  /**
   * Removes the directory. Whatever a UDF left there (read-only files, say)
   * is made removable first; a failure is logged, never thrown, so cleanup
   * cannot turn a finished job into a failed one.
   */
  remove(logger: Logger): void {
    removePrivateDir(this.#dir, logger);
  }
}

/** The workers' private directory under TMPDIR: a missing or unwritable TMPDIR is an IO error that says so. */
function privateDir(): tmp.DirResult {
  try {
    return tmp.dirSync({ prefix: 'pyudf-', mode: 0o700, unsafeCleanup: true });
  } catch (error) {
    throw new PyUdfError('IO', `cannot make the workers' private directory in ${os.tmpdir()} (TMPDIR): ${(error as Error).message}`, { cause: error });
  }
}

function removePrivateDir(dir: tmp.DirResult, logger: Logger): void {
  untrackDir(dir.name);
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

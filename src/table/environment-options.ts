import fs from 'node:fs';
import path from 'node:path';
import { PyUdfError } from '../errors.js';
import type { PythonRequirements } from '../environments/job-environment.js';
import { checkArchive, type PythonArchive } from '../workers/archives.js';
import { ERROR_POLICIES, type ErrorPolicy } from '../execution/udf-errors.js';
import { defaultLogger, type Logger } from '../logging.js';
import { resolveClusterOptions, type ClusterOptions, type ResolvedClusterOptions } from '../cluster/cluster-options.js';

export interface TableEnvironmentOptions {
  /** Python workers per job; batches are spread across them. Default 1. */
  readonly parallelism?: number;
  /**
   * Rows per batch sent to a worker (PyFlink's bundle size). Default 4096, and
   * 65,536 for a job whose Python functions are all vectorized (pandas): each
   * call of one has a fixed cost of its own, which bigger batches spread.
   */
  readonly bundleSize?: number;
  /** A batch goes to a worker once its first row is this old, full or not (PyFlink's bundle time). Default 5 ms: a trickle of rows is answered within milliseconds, a fast source fills whole batches long before. */
  readonly bundleTimeMs?: number;
  /** Batches in flight per worker. Default 4. */
  readonly batchesInFlightPerWorker?: number;
  /** The Python interpreter; default PYUDF_PYTHON, else python3 on PATH. */
  readonly pythonExecutable?: string;
  /** Where built Python environments are cached; default PYUDF_CACHE_DIR or ~/.cache/pyudf. */
  readonly cacheDir?: string;
  /** Receives UDF output (print, logging) and pyudf's own messages. Default: stderr. */
  readonly logger?: Logger;
  /**
   * How often one batch may crash its worker (the worker is replaced and the
   * batch sent again) before the job fails naming the row that does it. Default 3.
   */
  readonly maxWorkerRestarts?: number;
  /**
   * A call of a Python function on one batch that takes longer fails the job
   * (UDF_TIMEOUT) and its worker is killed. Default 10 minutes: long enough for
   * any sane batch, short enough that a hung UDF cannot hang CI. 0 turns it off;
   * at most 2147483647 (about 24.8 days, the longest a timer waits).
   */
  readonly udfTimeoutMs?: number;
  /**
   * Loading a job's functions in a worker, their modules' imports and their
   * open(), that takes longer fails the job (UDF_TIMEOUT naming the import or
   * open() it was stuck in) and the worker is killed. Default 10 minutes
   * (open() may load a model); 0 turns it off; at most 2147483647.
   */
  readonly functionLoadTimeoutMs?: number;
  /**
   * How long the functions' close() hooks get at a job's end before their
   * worker is stopped (the job keeps its rows; a warning names the functions
   * whose close() may not have run to its end). Default: 5 s, multiplied by
   * the host's live workers per core when there are more workers than cores.
   * Given, it is used as it is: at least 1, at most 2147483647.
   */
  readonly functionCloseTimeoutMs?: number;
  /**
   * Each worker's memory limit in MiB: the writable memory (heap, arrays,
   * thread stacks) it may use, set before any function loads. A function
   * that asks for more gets MemoryError, and the job fails with
   * UDF_OUT_OF_MEMORY. A worker uses about 250 MiB before loading anything,
   * so limits below 512 leave little. Default: no limit of pyudf's own (0).
   */
  readonly workerMemoryLimitMb?: number;
  /**
   * What a row on which a Python function raises does, for functions without
   * their own `onError`: "fail" the job (default), make the result "null",
   * "skip" the row, or "deadLetter" it (to `deadLetterPath`) and go on.
   * Counts appear in the job's result.
   */
  readonly onUdfError?: ErrorPolicy;
  /** A JSON Lines file that dead-lettered rows are appended to. */
  readonly deadLetterPath?: string;
  /** Passed to every function's open(): FunctionContext.get_job_parameter(key). */
  readonly jobParameters?: Readonly<Record<string, string>>;
  /**
   * How long the workers of a finished job stay, idle, for the next job of
   * this TableEnvironment with the same Python setup (interpreter,
   * requirements, files, parallelism): that job starts without new processes.
   * Module-level state of the functions' modules lives on with them, as in
   * any long-running Python process. Idle workers never keep Node running;
   * close() stops them. Default 60 s; 0 stops a job's workers when it ends;
   * at most 2147483647 (about 24.8 days, the longest a timer waits).
   */
  readonly workerIdleTimeoutMs?: number;
  /**
   * Runs the jobs on a cluster instead of local workers:
   * `{ kind: 'ray', address: 'head:6379' }`. The same Table API and SQL jobs,
   * functions and requirements run there; see docs/ray.md. Default: local workers.
   */
  readonly cluster?: ClusterOptions;
}

/** The options of a TableEnvironment, checked and with their defaults. */
export interface ResolvedOptions {
  parallelism: number;
  /** null: the default for the job's kind of functions. */
  bundleSize: number | null;
  bundleTimeMs: number;
  maxWorkerRestarts: number;
  udfTimeoutMs: number;
  functionLoadTimeoutMs: number;
  /** null: the default, scaled with load. */
  functionCloseTimeoutMs: number | null;
  /** 0: none. */
  workerMemoryLimitMb: number;
  onUdfError: ErrorPolicy;
  deadLetterPath: string | null;
  batchesInFlightPerWorker: number;
  pythonExecutable: string | null;
  cacheDir: string | undefined;
  logger: Logger;
  jobParameters: Record<string, string>;
  workerIdleTimeoutMs: number;
  cluster: ResolvedClusterOptions | null;
}

const DEFAULTS = Object.freeze({
  parallelism: 1, bundleSize: 4096, bundleTimeMs: 5, batchesInFlightPerWorker: 4, maxWorkerRestarts: 3, udfTimeoutMs: 10 * 60_000,
  functionLoadTimeoutMs: 10 * 60_000, workerIdleTimeoutMs: 60_000,
});

function errorPolicy(value: unknown): ErrorPolicy {
  if (value === undefined) return 'fail';
  if (!ERROR_POLICIES.includes(value as ErrorPolicy)) {
    throw new PyUdfError('INVALID_ARGUMENT', `TableEnvironment option "onUdfError" must be one of ${ERROR_POLICIES.join(', ')}, got ${String(value)}`);
  }
  return value as ErrorPolicy;
}

function nonNegativeInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new PyUdfError('INVALID_ARGUMENT', `TableEnvironment option "${name}" must be an integer >= 0, got ${String(value)}`);
  }
  return value;
}

/** The longest a Node timer waits: a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function timerDuration(value: unknown, name: string, fallback: number): number {
  const ms = nonNegativeInteger(value, name, fallback);
  if (ms > MAX_TIMER_MS) {
    throw new PyUdfError('INVALID_ARGUMENT', `TableEnvironment option "${name}" must be at most ${MAX_TIMER_MS} (about 24.8 days), got ${ms}`);
  }
  return ms;
}

function positiveInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new PyUdfError('INVALID_ARGUMENT', `TableEnvironment option "${name}" must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/** Checks the options given to TableEnvironment.create and fills in the defaults. */
export function resolveOptions(options: TableEnvironmentOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new PyUdfError('INVALID_ARGUMENT', 'TableEnvironment.create: options must be an object');
  }
  return {
    parallelism: positiveInteger(options.parallelism, 'parallelism', DEFAULTS.parallelism),
    bundleSize: options.bundleSize === undefined ? null : positiveInteger(options.bundleSize, 'bundleSize', DEFAULTS.bundleSize),
    bundleTimeMs: positiveInteger(options.bundleTimeMs, 'bundleTimeMs', DEFAULTS.bundleTimeMs),
    maxWorkerRestarts: nonNegativeInteger(options.maxWorkerRestarts, 'maxWorkerRestarts', DEFAULTS.maxWorkerRestarts),
    udfTimeoutMs: timerDuration(options.udfTimeoutMs, 'udfTimeoutMs', DEFAULTS.udfTimeoutMs),
    functionLoadTimeoutMs: timerDuration(options.functionLoadTimeoutMs, 'functionLoadTimeoutMs', DEFAULTS.functionLoadTimeoutMs),
    functionCloseTimeoutMs: options.functionCloseTimeoutMs === undefined
      ? null : positiveInteger(timerDuration(options.functionCloseTimeoutMs, 'functionCloseTimeoutMs', 0), 'functionCloseTimeoutMs', 0),
    workerMemoryLimitMb: nonNegativeInteger(options.workerMemoryLimitMb, 'workerMemoryLimitMb', 0),
    onUdfError: errorPolicy(options.onUdfError),
    deadLetterPath: options.deadLetterPath === undefined ? null : path.resolve(options.deadLetterPath),
    batchesInFlightPerWorker: positiveInteger(options.batchesInFlightPerWorker, 'batchesInFlightPerWorker', DEFAULTS.batchesInFlightPerWorker),
    pythonExecutable: options.pythonExecutable ?? null,
    cacheDir: options.cacheDir,
    logger: options.logger ?? defaultLogger(),
    jobParameters: { ...options.jobParameters },
    workerIdleTimeoutMs: timerDuration(options.workerIdleTimeoutMs, 'workerIdleTimeoutMs', DEFAULTS.workerIdleTimeoutMs),
    cluster: resolveClusterOptions(options.cluster),
  };
}

/**
 * What a TableEnvironment's jobs run with: its resolved options, and the
 * Python setup its functions need (files, archives, requirements), each
 * checked as it is set. Jobs read it as they start, so a change applies to
 * the next job.
 */
export class EnvironmentOptions {
  readonly resolved: ResolvedOptions;
  readonly #pythonFiles: string[] = [];
  readonly #archives: PythonArchive[] = [];
  #requirements: PythonRequirements | null = null;

  constructor(options: TableEnvironmentOptions) {
    this.resolved = resolveOptions(options);
  }

  /** The Python modules and package directories shipped to the workers, resolved, each once. */
  get pythonFiles(): readonly string[] {
    return this.#pythonFiles;
  }

  get archives(): readonly PythonArchive[] {
    return this.#archives;
  }

  get requirements(): PythonRequirements | null {
    return this.#requirements;
  }

  addPythonFile(filePath: string): void {
    const resolved = path.resolve(filePath);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(resolved);
    } catch {
      throw new PyUdfError('INVALID_ARGUMENT', `addPythonFile: ${filePath} does not exist`);
    }
    if (stat.isFile() && !resolved.endsWith('.py')) {
      throw new PyUdfError('INVALID_ARGUMENT', `addPythonFile: ${filePath} is neither a .py file nor a package directory`);
    }
    if (!this.#pythonFiles.includes(resolved)) this.#pythonFiles.push(resolved);
  }

  setPythonRequirements(requirementsFile: string, cachedDir?: string): void {
    if (typeof requirementsFile !== 'string' || !fs.existsSync(requirementsFile)) {
      throw new PyUdfError('INVALID_ARGUMENT', `setPythonRequirements: requirements file ${String(requirementsFile)} does not exist`);
    }
    if (cachedDir !== undefined && (typeof cachedDir !== 'string' || !fs.existsSync(cachedDir) || !fs.statSync(cachedDir).isDirectory())) {
      throw new PyUdfError('INVALID_ARGUMENT', `setPythonRequirements: cached dir ${String(cachedDir)} is not a directory`);
    }
    this.#requirements = Object.freeze({
      requirementsFile: path.resolve(requirementsFile),
      cachedDir: cachedDir === undefined ? null : path.resolve(cachedDir),
    });
  }

  addPythonArchive(archivePath: string, targetDir?: string): void {
    this.#archives.push(checkArchive(archivePath, targetDir));
  }

  setPythonExecutable(executable: string): void {
    if (typeof executable !== 'string' || executable === '') {
      throw new PyUdfError('INVALID_ARGUMENT', 'setPythonExecutable: expected a path or command name');
    }
    this.resolved.pythonExecutable = executable;
  }

  setJobParameter(key: string, value: string): void {
    this.resolved.jobParameters[key] = String(value);
  }
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tmp from 'tmp';
import { PyUdfError, UdfError, UdfOutOfMemoryError, WorkerError, type UdfPhase } from '../errors.js';
import type { Logger } from '../logging.js';
import type { AggregateStepMessage, FunctionCategory, FunctionMetricsMessage, FunctionSpecMessage, LoadFunctionsReply, UdfErrorMessage } from '../protocol/contract.js';
import { valueAt } from '../batches/vectors.js';
import { describe, type SqlValue } from '../types/values.js';
import { parseDataType } from '../types/type-text.js';
import type { FunctionSignature } from '../planning/function-signature.js';
import {
  ConnectionLost, EXIT_AFTER_BROKEN_CONNECTION_MS, LoadTimedOut, QueuedBehindCrash, SHUTDOWN_TIMEOUT_MS, WorkerClient, WorkerOutOfMemory, type CallOutcome,
} from './worker-client.js';
import { EXIT_MEMORY_LIMIT_TOO_LOW, WorkerProcess } from './worker-process.js';
import { extractArchives, type PythonArchive } from './archives.js';
import { liveWorkerCount, trackDir, untrackDir } from './host-exit.js';
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
  /** How often one call may crash its worker (each time replaced) before its batch is searched for the row that does it. */
  readonly maxRestarts?: number;
  /** A call not answered within this time fails the job (UDF_TIMEOUT) and its worker is killed. */
  readonly callTimeoutMs?: number;
  /** Stops the start: workers still loading (a slow open()) are killed. */
  readonly signal?: AbortSignal;
  /** Loading the functions (their modules' imports, open()) not done within this time fails the job (UDF_TIMEOUT). */
  readonly loadTimeoutMs?: number;
  /** Each worker's memory limit in MiB (RLIMIT_DATA); none when absent. */
  readonly memoryLimitMb?: number | null;
}

/** What starting (or restarting) a worker of this pool takes. */
interface WorkerRecipe {
  readonly python: string;
  readonly socketDir: string;
  readonly workDir: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly logger: Logger;
  /** The running job's: a worker started to replace one loads them. */
  functions: readonly FunctionSpecMessage[];
  readonly pythonPath: string;
  readonly libraryPaths: readonly string[];
  jobParameters: Readonly<Record<string, string>>;
  /** Workers being started or loaded right now. */
  readonly starting: Set<WorkerClient>;
  /** Aborted when the pool (or the job starting it) stops: starting workers are killed. */
  readonly stopped: AbortSignal;
  readonly loadTimeoutMs: number;
  readonly memoryLimitMb: number | null;
}

export const DEFAULT_MAX_RESTARTS = 3;

/** What the workers hand over when a job ends on them. */
export interface WorkersReport {
  /** What close() (and reading the metrics) raised: reported, not fatal. */
  readonly errors: UdfErrorMessage[];
  /** Per worker that reported, its functions' metrics. */
  readonly metrics: FunctionMetricsMessage[][];
  /** Workers that died during the job, and their metrics with them. */
  readonly workersLost: number;
}

/**
 * N workers with the job's functions loaded, and the private directory that
 * holds their sockets and the job's Python files. Calls name the worker, so a
 * batch's calls all go to one worker.
 */
export class WorkerPool {
  #signatures: ReadonlyMap<string, FunctionSignature>;
  #onlyVectorized: boolean;
  readonly #clients: WorkerClient[];
  readonly #replacing = new Map<number, Promise<WorkerClient>>();
  readonly #recipe: WorkerRecipe;
  readonly #stop: AbortController;
  readonly #maxRestarts: number;
  readonly #callTimeoutMs: number;
  #restarts = 0;
  #restartsThisJob = 0;
  /** Workers of the running job that lost their connection alive: a fault of the functions, not of one batch. */
  #connectionLossesThisJob = 0;
  /** Set once the lost connections spent maxWorkerRestarts: what the job fails with. */
  #connectionsSpent: UdfError | null = null;
  #spawned = 0;
  readonly #dir: tmp.DirResult;
  readonly #userPaths: (error: UdfErrorMessage) => UdfErrorMessage;
  readonly #logger: Logger;
  /** Per worker slot: the aggregate functions it holds accumulators of in the running job. */
  readonly #accumulatorsHeld = new Map<number, Set<string>>();
  #closed = false;
  /** Set by the first close() or destroy(): later calls wait until the workers are gone. */
  #stopped: Promise<void> | null = null;

  private constructor(
    clients: WorkerClient[], dir: tmp.DirResult, signatures: Map<string, FunctionSignature>, onlyVectorized: boolean,
    userPaths: (error: UdfErrorMessage) => UdfErrorMessage,
    recipe: WorkerRecipe,
    options: WorkerPoolOptions,
    stop: AbortController,
  ) {
    this.#stop = stop;
    this.#logger = recipe.logger;
    this.#recipe = recipe;
    this.#spawned = clients.length;
    this.#maxRestarts = options.maxRestarts ?? DEFAULT_MAX_RESTARTS;
    this.#callTimeoutMs = options.callTimeoutMs ?? Infinity;
    this.#clients = clients;
    this.#dir = dir;
    this.#signatures = signatures;
    this.#onlyVectorized = onlyVectorized;
    this.#userPaths = userPaths;
  }

  /** The running job's functions, as the workers resolved them. */
  get signatures(): ReadonlyMap<string, FunctionSignature> {
    return this.#signatures;
  }

  /** Whether the running job's functions are all vectorized scalar functions (func_type "pandas"). */
  get onlyVectorized(): boolean {
    return this.#onlyVectorized;
  }

  /** Whether the pool can run another job: open, no worker dead or being replaced. */
  get healthy(): boolean {
    return !this.#closed && this.#replacing.size === 0 && this.#clients.every((c) => c.healthy);
  }

  /**
   * Loads the next job's functions into these (idle) workers: a job that
   * finds workers kept warm starts without spawning a process. A function
   * that fails to load fails with UDF_LOAD_FAILED, as at start.
   */
  async beginJob(functions: readonly FunctionSpecMessage[], jobParameters: Readonly<Record<string, string>>): Promise<void> {
    if (!this.healthy) throw new PyUdfError('CLOSED', 'the worker pool cannot take another job');
    this.#accumulatorsHeld.clear();
    this.#recipe.functions = functions;
    this.#recipe.jobParameters = jobParameters;
    this.#restartsThisJob = 0;
    this.#connectionLossesThisJob = 0;
    this.#connectionsSpent = null;
    const replies = await Promise.all(this.#clients.map(async (client) => {
      client.beginJob();
      try {
        return await client.load([...functions], [this.#recipe.pythonPath], [...this.#recipe.libraryPaths], { ...jobParameters }, this.#recipe.loadTimeoutMs);
      } catch (error) {
        throw error instanceof LoadTimedOut ? loadTimeoutError(error, functions) : error;
      }
    }));
    const failed = replies.find((r) => r.error);
    if (failed?.error) throw loadError(this.#userPaths(failed.error), this.#recipe.memoryLimitMb);
    this.#signatures = signaturesOf(replies[0]!);
    this.#onlyVectorized = onlyVectorized(replies[0]!);
  }

  /**
   * Ends the running job and leaves the workers idle, ready for beginJob():
   * close() of every function; what those raised comes back, reported but
   * not fatal, with the functions' metrics. Idle workers do not keep Node running.
   */
  async endJob(timeoutMs?: number): Promise<WorkersReport> {
    this.#accumulatorsHeld.clear();
    await Promise.allSettled(this.#replacing.values());
    const deadline = timeoutMs ?? closeDeadlineMs();
    const replies = await Promise.all(this.#clients.map(async (c) => {
      try {
        return await c.endJob(deadline);
      } catch (error) {
        const names = this.#recipe.functions.map((f) => `"${f.name}"`).join(', ');
        throw new WorkerError('WORKER_TIMEOUT', `close() of ${names} on worker (pid ${c.process.pid}) did not finish within ${deadline} ms, so close() of these functions may not have run to its end: ${(error as Error).message}`, { cause: error });
      }
    }));
    return {
      errors: replies.flatMap((r) => r.errors).map(this.#userPaths),
      metrics: replies.map((r) => r.metrics),
      workersLost: this.#restartsThisJob,
    };
  }

  get size(): number {
    return this.#clients.length;
  }

  get pids(): number[] {
    return this.#clients.map((c) => c.process.pid).filter((p): p is number => p !== undefined);
  }

  /** Workers started to replace crashed ones, during this pool's life. */
  get restarts(): number {
    return this.#restarts;
  }

  static async start(options: WorkerPoolOptions): Promise<WorkerPool> {
    const dir = privateDir();
    trackDir(dir.name);
    const clients: WorkerClient[] = [];
    let stop: AbortController | null = null;
    let stopWhileStarting: (() => void) | null = null;
    let spawnedAtStart = options.parallelism;
    try {
      const pythonPath = linkPythonFiles(dir.name, options.pythonFiles);
      const userPaths = userPathsOf(pythonPath, options.pythonFiles);
      const workDir = path.join(dir.name, 'work');
      fs.mkdirSync(workDir);
      await extractArchives(options.archives ?? [], workDir);
      stop = new AbortController();
      const stopStarting = () => {
        stop!.abort();
        for (const client of recipe.starting) void client.destroy();
      };
      const recipe: WorkerRecipe = {
        python: options.python, socketDir: dir.name, workDir, env: options.env, logger: options.logger,
        functions: options.functions, pythonPath, libraryPaths: options.extraPythonPaths ?? [], jobParameters: options.jobParameters,
        starting: new Set(), stopped: stop.signal,
        loadTimeoutMs: options.loadTimeoutMs ?? Infinity, memoryLimitMb: options.memoryLimitMb ?? null,
      };
      stopWhileStarting = stopStarting;
      options.signal?.addEventListener('abort', stopStarting, { once: true });
      let nextIndex = options.parallelism;
      const retries = options.maxRestarts ?? DEFAULT_MAX_RESTARTS;
      const started = await Promise.allSettled(
        Array.from({ length: options.parallelism }, (_, index) => startWorkerRetrying(recipe, index, () => nextIndex++, retries)),
      );
      spawnedAtStart = nextIndex;
      for (const s of started) if (s.status === 'fulfilled') clients.push(s.value.client);
      const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      const failedLoad = started.map((s) => (s as PromiseFulfilledResult<StartedWorker>).value.reply).find((r) => r.error);
      if (failedLoad?.error) throw loadError(userPaths(failedLoad.error), recipe.memoryLimitMb);
      const firstReply = (started[0] as PromiseFulfilledResult<StartedWorker>).value.reply;
      const signatures = signaturesOf(firstReply);
      if (options.signal?.aborted) throw new PyUdfError('CLOSED', 'the job was cancelled while its workers started');
      const pool = new WorkerPool(clients, dir, signatures, onlyVectorized(firstReply), userPaths, recipe, options, stop!);
      pool.#spawned = spawnedAtStart;
      return pool;
    } catch (error) {
      stopWhileStarting?.();
      await Promise.all(clients.map((c) => c.destroy()));
      removePrivateDir(dir, options.logger);
      throw error;
    } finally {
      if (stopWhileStarting) options.signal?.removeEventListener('abort', stopWhileStarting);
    }
  }

  /**
   * Calls a function on one batch with worker `slot`. A worker that dies
   * under the call is replaced and the call sent again, so every row is
   * answered exactly once; a call that keeps killing its worker is searched
   * for the one row that does it, and fails as UDF_CRASHED with that row.
   */
  async call(slot: number, functionName: string, args: readonly arrow.Vector[], numRows: number): Promise<CallOutcome> {
    let crashes = 0;
    let memoryDeaths = 0;
    for (;;) {
      const attempt = await this.#attempt(slot, functionName, args, numRows);
      if (attempt.kind === 'answered') return this.#ranOutOfMemory(functionName, attempt.outcome, args);
      if (attempt.crash instanceof QueuedBehindCrash) continue; // another call killed the worker
      // Lost connections have a budget of the job's own (#attempt), not of this batch.
      if (attempt.crash instanceof ConnectionLost) continue;
      crashes++;
      if (attempt.crash instanceof WorkerOutOfMemory) {
        // Sent again once (the memory may have been taken by something else), then halved once:
        // memory exhaustion seldom lies in one row, and each search step costs a worker.
        memoryDeaths++;
        if (memoryDeaths > Math.min(1, this.#maxRestarts)) {
          const deaths = { count: memoryDeaths };
          const found = await this.#findMemoryRow(slot, functionName, args, 0, numRows, deaths);
          throw outOfMemoryKilledError(functionName, attempt.crash, deaths.count, found, args);
        }
        continue;
      }
      if (crashes > this.#maxRestarts) {
        const row = await this.#findPoisonRow(slot, functionName, args, 0, numRows);
        throw crashedError(functionName, attempt.crash, row === null ? undefined : args.map((a) => valueAt(a, row)), crashes);
      }
    }
  }

  /**
   * Runs one step of an aggregate function with worker `slot`, which keeps
   * the accumulators from then on. Nothing is replayed: a worker that dies
   * holding accumulators fails the job (UDF_CRASHED), since the rows it
   * accumulated are gone.
   */
  async callAggregate(
    slot: number, functionName: string, args: readonly arrow.Vector[], numRows: number, step: AggregateStepMessage,
  ): Promise<CallOutcome> {
    if (this.#closed) throw new PyUdfError('CLOSED', 'the worker pool is closed');
    const index = slot % this.#clients.length;
    if (step.step === 'accumulate' || step.step === 'merge') {
      const held = this.#accumulatorsHeld.get(index) ?? new Set<string>();
      held.add(functionName);
      this.#accumulatorsHeld.set(index, held);
    }
    const client = await this.#clientAt(index);
    try {
      return this.#ranOutOfMemory(functionName, this.#withUserPaths(await client.call(functionName, args, numRows, this.#callTimeoutMs, step)), args);
    } catch (error) {
      if (error instanceof UdfOutOfMemoryError) throw error;
      if (error instanceof WorkerOutOfMemory && !(error instanceof QueuedBehindCrash)) throw outOfMemoryKilledError(functionName, error, 1, null, args);
      throw this.#callError(functionName, error, index, step.step === 'get_value' ? 'get_value' : step.step === 'accumulate' ? 'accumulate' : 'merge');
    }
  }

  /** One try: the answer, or the crash (the worker already replaced). Timeouts and stops are thrown. */
  async #attempt(slot: number, functionName: string, args: readonly arrow.Vector[], numRows: number): Promise<
    { kind: 'answered'; outcome: CallOutcome } | { kind: 'crashed'; crash: WorkerError }> {
    if (this.#closed) throw new PyUdfError('CLOSED', 'the worker pool is closed');
    const index = slot % this.#clients.length;
    const client = await this.#clientAt(index);
    try {
      return { kind: 'answered', outcome: this.#withUserPaths(await client.call(functionName, args, numRows, this.#callTimeoutMs)) };
    } catch (error) {
      const failure = this.#callError(functionName, error, index, 'eval');
      if (failure !== error || !(error instanceof WorkerError && error.code === 'WORKER_CRASHED') || this.#closed) throw failure;
      if (error instanceof ConnectionLost && ++this.#connectionLossesThisJob > this.#maxRestarts) {
        void client.destroy();
        this.#connectionsSpent = connectionLostError(functionName, error, this.#connectionLossesThisJob, numRows === 1 ? args.map((a) => valueAt(a, 0)) : undefined, numRows);
      }
      // The job fails with it: calls that were queued behind the last loss get no new worker either.
      if (this.#connectionsSpent) throw this.#connectionsSpent;
      await this.#replace(index, client, error);
      return { kind: 'crashed', crash: error };
    }
  }

  #withUserPaths(outcome: CallOutcome): CallOutcome {
    return outcome.ok
      ? { ...outcome, rowErrors: outcome.rowErrors.map(this.#userPaths) }
      : { ok: false, error: this.#userPaths(outcome.error) };
  }

  /** What a failed call of `functionName` on worker `index` fails the job with (`error` itself when it may be retried). */
  #callError(functionName: string, error: unknown, index: number, phase: UdfPhase): unknown {
    if (error instanceof WorkerError && error.code === 'WORKER_TIMEOUT') {
      return new UdfError('UDF_TIMEOUT', `Python function "${functionName}" ${error.message.replace(/^a call of "[^"]*" /, '')}`, {
        functionName, phase, pythonType: '', pythonMessage: '', pythonTraceback: '', sourceLocation: '',
      });
    }
    const held = this.#accumulatorsHeld.get(index);
    if (held && !this.#closed && error instanceof WorkerError && error.code === 'WORKER_CRASHED') {
      return lostAccumulatorsError(functionName, phase, [...held], error);
    }
    return error;
  }

  /**
   * A MemoryError, in a row or in the batch as a whole, fails the job
   * whatever the function's error policy: memory ran out for a reason
   * outside the row's data, and more rows would run it out again.
   */
  #ranOutOfMemory(functionName: string, outcome: CallOutcome, args: readonly arrow.Vector[]): CallOutcome {
    const error = outcome.ok ? outcome.rowErrors.find(isMemoryError) : isMemoryError(outcome.error) ? outcome.error : undefined;
    if (error === undefined) return outcome;
    throw memoryErrorRaised(functionName, error, this.#recipe.memoryLimitMb, args);
  }

  /**
   * The memory-exhaustion search: halves the batch, trying both halves; when
   * both run the worker out of memory, it stops (no one row is to blame).
   */
  async #findMemoryRow(
    slot: number, functionName: string, args: readonly arrow.Vector[], offset: number, numRows: number, deaths: { count: number },
  ): Promise<MemorySearch> {
    if (numRows === 1) return { row: offset };
    const half = Math.ceil(numRows / 2);
    const died: { start: number; length: number; part: arrow.Vector[] }[] = [];
    for (const [start, length] of [[0, half], [half, numRows - half]] as const) {
      if (length === 0) continue;
      const part = args.map((a) => a.slice(start, start + length));
      let attempt = await this.#attempt(slot, functionName, part, length);
      while (attempt.kind === 'crashed' && attempt.crash instanceof QueuedBehindCrash) {
        attempt = await this.#attempt(slot, functionName, part, length);
      }
      if (attempt.kind === 'crashed') {
        deaths.count++;
        died.push({ start, length, part });
      }
    }
    if (died.length === 2) return { row: null, bothHalves: true };
    if (died.length === 0) return { row: null, bothHalves: false };
    const [culprit] = died;
    return this.#findMemoryRow(slot, functionName, culprit!.part, offset + culprit!.start, culprit!.length, deaths);
  }

  /** Halves the batch until one row alone kills the worker; null when no single row does. */
  async #findPoisonRow(slot: number, functionName: string, args: readonly arrow.Vector[], offset: number, numRows: number): Promise<number | null> {
    if (numRows === 1) return offset;
    const half = Math.ceil(numRows / 2);
    for (const [start, length] of [[0, half], [half, numRows - half]] as const) {
      if (length === 0) continue;
      const part = args.map((a) => a.slice(start, start + length));
      let attempt = await this.#attempt(slot, functionName, part, length);
      while (attempt.kind === 'crashed' && attempt.crash instanceof QueuedBehindCrash) {
        attempt = await this.#attempt(slot, functionName, part, length);
      }
      if (attempt.kind === 'crashed') return this.#findPoisonRow(slot, functionName, part, offset + start, length);
    }
    return null;
  }

  async #clientAt(index: number): Promise<WorkerClient> {
    return this.#replacing.get(index) ?? this.#clients[index]!;
  }

  /** Starts a new worker in place of `dead`, once, however many calls saw it die. */
  #replace(index: number, dead: WorkerClient, crash: WorkerError): Promise<WorkerClient> {
    const pending = this.#replacing.get(index);
    if (pending) return pending;
    if (this.#clients[index] !== dead) return Promise.resolve(this.#clients[index]!);
    this.#restarts++;
    this.#restartsThisJob++;
    this.#logger.log({ level: 'warn', source: 'pyudf', message: `${crash.message.split('\n')[0]}; starting a new worker` });
    const replacing = (async () => {
      try {
        void dead.destroy();
        // A replacement that dies before it is ready (killed from outside, say) costs a restart like a crash.
        const { client, reply } = await startWorkerRetrying(this.#recipe, this.#spawned++, () => this.#spawned++, this.#maxRestarts, () => {
          this.#restarts++;
          this.#restartsThisJob++;
        });
        if (reply.error) {
          await client.destroy();
          throw loadError(this.#userPaths(reply.error), this.#recipe.memoryLimitMb);
        }
        if (this.#closed) {
          await client.destroy();
          throw new PyUdfError('CLOSED', 'the worker pool is closed');
        }
        this.#clients[index] = client;
        return client;
      } finally {
        this.#replacing.delete(index);
      }
    })();
    this.#replacing.set(index, replacing);
    return replacing;
  }

  /**
   * Runs close() of every function, stops every worker, removes the private
   * directory. A job still loaded (one that failed) hands over what it has.
   */
  async close(timeoutMs?: number): Promise<WorkersReport> {
    if (this.#stopped) {
      await this.#stopped;
      return { errors: [], metrics: [], workersLost: 0 };
    }
    this.#closed = true;
    const closing = (async () => {
      try {
        await Promise.allSettled(this.#replacing.values());
        const replies = await Promise.all(this.#clients.map((c) => c.shutdown(timeoutMs)));
        return {
          errors: replies.flatMap((r) => r.errors).map(this.#userPaths),
          metrics: replies.map((r) => r.metrics).filter((m) => m.length > 0),
          workersLost: this.#restartsThisJob,
        };
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
        // Replacements still loading (a hanging open()) are killed, not awaited.
        this.#stop.abort();
        for (const client of this.#recipe.starting) void client.destroy();
        await Promise.allSettled(this.#replacing.values());
        await Promise.all(this.#clients.map((c) => c.destroy()));
      } finally {
        removePrivateDir(this.#dir, this.#logger);
      }
    })();
    this.#stopped = destroying.then(() => undefined, () => undefined);
    return destroying;
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

/**
 * Removes the pool's private directory. Whatever a UDF left there (read-only
 * files, say) is made removable first; a failure is logged, never thrown, so
 * cleanup cannot turn a finished job into a failed one.
 */
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

interface StartedWorker {
  readonly client: WorkerClient;
  readonly reply: LoadFunctionsReply;
}

/**
 * Starts a worker and loads the job's functions. Loading runs the user's
 * imports and open(), bounded only by `recipe.loadTimeoutMs`, so a starting
 * worker sits in `recipe.starting` where a stop (destroy, a cancelled job) can kill it.
 */
async function startWorker(recipe: WorkerRecipe, index: number): Promise<StartedWorker> {
  const process = await WorkerProcess.start({
    python: recipe.python, socketDir: recipe.socketDir, cwd: recipe.workDir, index, env: recipe.env, memoryLimitMb: recipe.memoryLimitMb,
    stopped: recipe.stopped,
  });
  const client = new WorkerClient(process, recipe.logger);
  recipe.starting.add(client);
  if (recipe.stopped.aborted) void client.destroy();
  let handshaken = false;
  try {
    await client.handshake();
    handshaken = true;
    const reply = await client.load([...recipe.functions], [recipe.pythonPath], [...recipe.libraryPaths], { ...recipe.jobParameters }, recipe.loadTimeoutMs);
    return { client, reply };
  } catch (error) {
    // Killed between its ready line and the handshake, the worker refuses the connection before its
    // exit is seen: a death while starting all the same, which startWorkerRetrying retries.
    const exit = !handshaken && error instanceof WorkerError && error.code === 'WORKER_CRASHED' ? await process.exitedWithin(EXIT_AFTER_BROKEN_CONNECTION_MS) : null;
    await client.destroy();
    if (exit) {
      throw new WorkerError('WORKER_START_FAILED', `Python worker (pid ${process.pid}) exited before it was ready (exit code ${exit.exitCode}, signal ${exit.signal})`, {
        exitCode: exit.exitCode, signal: exit.signal, stderr: process.stderrTail, cause: error,
      });
    }
    throw error instanceof LoadTimedOut ? loadTimeoutError(error, recipe.functions) : error;
  } finally {
    recipe.starting.delete(client);
  }
}

/**
 * How long the functions' close() hooks get at a job's end: 5 s on an idle
 * machine, more when the host runs more workers than there are cores, each
 * of which then gets a share of a core only.
 */
function closeDeadlineMs(): number {
  return SHUTDOWN_TIMEOUT_MS * Math.max(1, Math.ceil(liveWorkerCount() / os.availableParallelism()));
}

/**
 * startWorker, again (up to `retries` more times) when the worker dies before
 * it is ready: a start-up failure from outside counts like a crash. A worker
 * that could not be spawned at all, timed out or spoke another protocol is
 * not retried: the next would fare no better.
 */
async function startWorkerRetrying(
  recipe: WorkerRecipe, index: number, nextIndex: () => number, retries: number, onRetry: () => void = () => undefined,
): Promise<StartedWorker> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await startWorker(recipe, attempt === 0 ? index : nextIndex());
    } catch (error) {
      const diedStarting = error instanceof WorkerError && error.code === 'WORKER_START_FAILED'
        && (error.signal !== undefined && error.signal !== null || error.exitCode !== undefined && error.exitCode !== null)
        && error.exitCode !== EXIT_MEMORY_LIMIT_TOO_LOW;
      if (!diedStarting || attempt >= retries || recipe.stopped.aborted) throw error;
      onRetry();
      recipe.logger.log({ level: 'warn', source: 'pyudf', message: `${(error as Error).message.split('\n')[0]}; starting a new worker` });
    }
  }
}

function onlyVectorized(reply: LoadFunctionsReply): boolean {
  return reply.functions.length > 0 && reply.functions.every((f) => f.category === 'scalar' && f.kind === 'pandas');
}

function signaturesOf(reply: LoadFunctionsReply): Map<string, FunctionSignature> {
  return new Map(reply.functions.map((f) => [f.name, Object.freeze({
    name: f.name,
    inputTypes: f.hasInputTypes ? Object.freeze(f.inputTypes.map(parseDataType)) : null,
    resultType: f.resultType ? parseDataType(f.resultType) : null,
    category: (f.category || 'scalar') as FunctionCategory,
    kind: f.kind,
    resultTypes: f.resultTypes.length > 0 ? Object.freeze(f.resultTypes.map(parseDataType)) : null,
    hasMerge: f.hasMerge,
  })]));
}

function lostAccumulatorsError(functionName: string, phase: UdfPhase, holders: readonly string[], crash: WorkerError): UdfError {
  const how = crash.signal ? `signal ${crash.signal}` : `exit code ${crash.exitCode}`;
  const names = holders.map((h) => `"${h}"`).join(', ');
  return new UdfError('UDF_CRASHED', `Python worker died (${how}) during a call of "${functionName}" (${phase}) while it held the accumulators of aggregate function ${names}: the rows accumulated there cannot be replayed, so the job fails${crash.stderr ? `\n${crash.stderr.trim()}` : ''}`, {
    functionName, phase, pythonType: '', pythonMessage: crash.message, pythonTraceback: crash.stderr, sourceLocation: '',
  });
}

function crashedError(functionName: string, crash: WorkerError, row: readonly SqlValue[] | undefined, crashes: number): UdfError {
  const how = crash.signal ? `signal ${crash.signal}` : `exit code ${crash.exitCode}`;
  const culprit = row
    ? `; the row that does it: ${functionName}(${row.map(describe).join(', ')})`
    : `, but no single row of the batch does it alone (the last death: ${how}): the cause lies outside any one row, such as memory exhaustion, a signal from outside, or state built up over many rows`;
  return new UdfError('UDF_CRASHED', `Python function "${functionName}" killed its worker ${crashes} time(s) (${how})${culprit}${crash.stderr ? `\n${crash.stderr.trim()}` : ''}`, {
    functionName, phase: 'eval', pythonType: '', pythonMessage: crash.message, pythonTraceback: crash.stderr, sourceLocation: '', row,
  });
}

export function loadError(error: UdfErrorMessage, memoryLimitMb: number | null = null): UdfError {
  if (isMemoryError(error)) {
    const where = error.phase === 'open' ? 'in open()' : 'while loading';
    return new UdfOutOfMemoryError(`Python function "${error.functionName}" ran out of memory ${where} (${error.exceptionType}: ${error.message})${error.sourceLocation ? ` at ${error.sourceLocation}` : ''}; ${memoryAdvice(memoryLimitMb)}${error.traceback ? `\n${error.traceback}` : ''}`, {
      functionName: error.functionName, phase: error.phase as 'load' | 'open', pythonType: error.exceptionType, pythonMessage: error.message,
      pythonTraceback: error.traceback, sourceLocation: error.sourceLocation, memoryLimitMb, evidence: error.exceptionType,
    });
  }
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

type MemorySearch = { readonly row: number } | { readonly row: null; readonly bothHalves: boolean };

/** MemoryError and its subclasses (pyarrow's ArrowMemoryError, numpy's _ArrayMemoryError). */
function isMemoryError(error: UdfErrorMessage): boolean {
  return /MemoryError$/.test(error.exceptionType);
}

function memoryAdvice(limitMb: number | null): string {
  return limitMb !== null
    ? `its worker's memory limit is ${limitMb} MiB (workerMemoryLimitMb): raise it, or lower bundleSize (rows per batch) or parallelism, or make the function use less memory`
    : 'its worker has no memory limit of its own (workerMemoryLimitMb), so the machine\'s or container\'s memory ran out: give the job more memory, lower bundleSize (rows per batch) or parallelism, or set workerMemoryLimitMb so that a function that asks for too much fails with MemoryError instead of being killed';
}

function memoryErrorRaised(functionName: string, e: UdfErrorMessage, limitMb: number | null, args: readonly arrow.Vector[]): UdfOutOfMemoryError {
  const row = e.rowIndex >= 0 ? args.map((a) => valueAt(a, e.rowIndex)) : undefined;
  const on = row ? ` on the row ${functionName}(${row.map(describe).join(', ')})` : ` on a batch of ${args[0]?.length ?? 0} row(s)`;
  return new UdfOutOfMemoryError(`Python function "${functionName}" ran out of memory (${e.exceptionType}${e.message ? `: ${e.message}` : ''})${on}${e.sourceLocation ? ` at ${e.sourceLocation}` : ''}; ${memoryAdvice(limitMb)}${e.traceback ? `\n${e.traceback}` : ''}`, {
    functionName, phase: 'eval', pythonType: e.exceptionType, pythonMessage: e.message, pythonTraceback: e.traceback,
    sourceLocation: e.sourceLocation, row, memoryLimitMb: limitMb, evidence: e.exceptionType,
  });
}

function outOfMemoryKilledError(
  functionName: string, death: WorkerOutOfMemory, deaths: number, found: MemorySearch | null, args: readonly arrow.Vector[],
): UdfOutOfMemoryError {
  const row = found?.row != null ? args.map((a) => valueAt(a, found.row!)) : undefined;
  const culprit = row
    ? `; the row it ran out on alone: ${functionName}(${row.map(describe).join(', ')})`
    : found && 'bothHalves' in found && found.bothHalves
      ? '; both halves of the batch ran it out of memory too, so no single row is to blame and the search stopped there'
      : found ? '; no single row runs it out of memory alone: the memory was built up over many rows' : '';
  return new UdfOutOfMemoryError(`Python function "${functionName}" ran its worker out of memory ${deaths} time(s): ${death.evidence}${culprit}; ${memoryAdvice(death.memoryLimitMb)}`, {
    functionName, phase: 'eval', pythonType: '', pythonMessage: death.message, pythonTraceback: death.stderr, sourceLocation: '',
    row, memoryLimitMb: death.memoryLimitMb, evidence: death.evidence,
  });
}

function connectionLostError(functionName: string, loss: ConnectionLost, losses: number, row: readonly SqlValue[] | undefined, numRows: number): UdfError {
  const on = row ? `, on the row ${functionName}(${row.map(describe).join(', ')})` : `, on a batch of ${numRows} row(s)`;
  return new UdfError('UDF_CRASHED', `Python function "${functionName}" broke its worker's gRPC connection${on}: ${loss.message}. This happened ${losses} time(s) in the job, more than maxWorkerRestarts allows: a function must not close file descriptors or sockets it did not open`, {
    functionName, phase: 'eval', pythonType: '', pythonMessage: loss.message, pythonTraceback: loss.stderr, sourceLocation: '', row,
  });
}

function loadTimeoutError(timeout: LoadTimedOut, functions: readonly FunctionSpecMessage[]): UdfError {
  const functionName = timeout.phase?.function ?? functions[0]?.name ?? '';
  const phase = timeout.phase?.phase ?? 'load';
  return new UdfError('UDF_TIMEOUT', `Python function "${functionName}" did not start in time: ${timeout.message}; raise functionLoadTimeoutMs (0 turns the limit off) if loading rightly takes longer`, {
    functionName, phase, pythonType: '', pythonMessage: timeout.message, pythonTraceback: timeout.stderr, sourceLocation: '',
  });
}

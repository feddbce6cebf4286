import { PyUdfError, UdfError, UdfOutOfMemoryError, WorkerError, type UdfPhase } from '../errors.js';
import type { Logger } from '../logging.js';
import type { AggregateStepMessage, FunctionMetricsMessage, FunctionSpecMessage, UdfErrorMessage } from '../protocol/contract.js';
import type * as arrow from 'apache-arrow';
import type { PythonArchive } from './archives.js';
import { JobWorkspace } from './job-workspace.js';
import { loadedFunctions, onlyVectorized, type LoadedFunction } from './loaded-functions.js';
import { findMemoryRow, findPoisonRow, type Attempt, type TryCall } from './poison-row-search.js';
import { ConnectionLost, QueuedBehindCrash, WorkerOutOfMemory, type CallOutcome } from './worker-client.js';
import {
  callTimeoutError, connectionLostError, crashedError, isMemoryError, loadError, lostAccumulatorsError, memoryErrorRaised, outOfMemoryKilledError,
  type ArgumentRowReader,
} from './worker-errors.js';
import { WorkerSupervisor } from './worker-supervisor.js';

export type { ArgumentRowReader } from './worker-errors.js';
export type { LoadedFunction } from './loaded-functions.js';

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
 * batch's calls all go to one worker. The workers themselves are supervised
 * by a WorkerSupervisor; this class decides what a call's failure means for
 * the job: sent again, searched for the row that causes it, or fatal.
 */
export class WorkerPool {
  #functions: ReadonlyMap<string, LoadedFunction>;
  #onlyVectorized: boolean;
  readonly #workers: WorkerSupervisor;
  readonly #workspace: JobWorkspace;
  readonly #maxRestarts: number;
  readonly #callTimeoutMs: number;
  /** Workers of the running job that lost their connection alive: a fault of the functions, not of one batch. */
  #connectionLossesThisJob = 0;
  /** Set once the lost connections spent maxWorkerRestarts: what the job fails with. */
  #connectionsSpent: UdfError | null = null;
  readonly #logger: Logger;
  readonly #memoryLimitMb: number | null;
  /** Per worker slot: the aggregate functions it holds accumulators of in the running job. */
  readonly #accumulatorsHeld = new Map<number, Set<string>>();
  /** Set by the first close() or destroy(): later calls wait until the workers are gone. */
  #stopped: Promise<void> | null = null;

  private constructor(
    workers: WorkerSupervisor, workspace: JobWorkspace, functions: Map<string, LoadedFunction>, onlyVectorizedFunctions: boolean, options: WorkerPoolOptions,
  ) {
    this.#workers = workers;
    this.#workspace = workspace;
    this.#logger = options.logger;
    this.#memoryLimitMb = options.memoryLimitMb ?? null;
    this.#maxRestarts = options.maxRestarts ?? DEFAULT_MAX_RESTARTS;
    this.#callTimeoutMs = options.callTimeoutMs ?? Infinity;
    this.#functions = functions;
    this.#onlyVectorized = onlyVectorizedFunctions;
  }

  /** The running job's functions, as the workers resolved them. */
  get signatures(): ReadonlyMap<string, LoadedFunction> {
    return this.#functions;
  }

  /** Whether the running job's functions are all vectorized scalar functions (func_type "pandas"). */
  get onlyVectorized(): boolean {
    return this.#onlyVectorized;
  }

  /** Whether the pool can run another job: open, no worker dead or being replaced. */
  get healthy(): boolean {
    return this.#workers.healthy;
  }

  get size(): number {
    return this.#workers.size;
  }

  get pids(): number[] {
    return this.#workers.pids;
  }

  /** Workers started to replace crashed ones, during this pool's life. */
  get restarts(): number {
    return this.#workers.restarts;
  }

  static async start(options: WorkerPoolOptions): Promise<WorkerPool> {
    const workspace = await JobWorkspace.create(options.pythonFiles, options.archives ?? [], options.logger);
    let workers: WorkerSupervisor | null = null;
    try {
      const started = await WorkerSupervisor.start({
        python: options.python, parallelism: options.parallelism, logger: options.logger, workspace, env: options.env,
        functions: options.functions, libraryPaths: options.extraPythonPaths ?? [], jobParameters: options.jobParameters,
        maxRestarts: options.maxRestarts ?? DEFAULT_MAX_RESTARTS,
        loadTimeoutMs: options.loadTimeoutMs ?? Infinity, memoryLimitMb: options.memoryLimitMb ?? null, signal: options.signal,
      });
      workers = started.workers;
      const functions = loadedFunctions(started.firstReply);
      if (options.signal?.aborted) throw new PyUdfError('CLOSED', 'the job was cancelled while its workers started');
      return new WorkerPool(workers, workspace, functions, onlyVectorized(started.firstReply), options);
    } catch (error) {
      await workers?.destroy();
      workspace.remove(options.logger);
      throw error;
    }
  }

  /**
   * Loads the next job's functions into these (idle) workers: a job that
   * finds workers kept warm starts without spawning a process. A function
   * that fails to load fails with UDF_LOAD_FAILED, as at start.
   */
  async beginJob(functions: readonly FunctionSpecMessage[], jobParameters: Readonly<Record<string, string>>): Promise<void> {
    if (!this.healthy) throw new PyUdfError('CLOSED', 'the worker pool cannot take another job');
    this.#accumulatorsHeld.clear();
    this.#connectionLossesThisJob = 0;
    this.#connectionsSpent = null;
    const replies = await this.#workers.loadJob(functions, jobParameters);
    const failed = replies.find((r) => r.error);
    if (failed?.error) throw loadError(this.#workspace.userPaths(failed.error), this.#memoryLimitMb);
    this.#functions = loadedFunctions(replies[0]!);
    this.#onlyVectorized = onlyVectorized(replies[0]!);
  }

  /**
   * Ends the running job and leaves the workers idle, ready for beginJob():
   * close() of every function; what those raised comes back, reported but
   * not fatal, with the functions' metrics. Idle workers do not keep Node running.
   */
  async endJob(timeoutMs?: number): Promise<WorkersReport> {
    this.#accumulatorsHeld.clear();
    const replies = await this.#workers.endJob(timeoutMs);
    return {
      errors: replies.flatMap((r) => r.errors).map(this.#workspace.userPaths),
      metrics: replies.map((r) => r.metrics),
      workersLost: this.#workers.restartsThisJob,
    };
  }

  /**
   * Calls a function on one batch with worker `slot`. A worker that dies
   * under the call is replaced and the call sent again, so every row is
   * answered exactly once; a call that keeps killing its worker is searched
   * for the one row that does it, and fails as UDF_CRASHED with that row,
   * read by `readRow`.
   */
  async call(slot: number, functionName: string, args: readonly arrow.Vector[], numRows: number, readRow: ArgumentRowReader): Promise<CallOutcome> {
    const tryCall: TryCall = (part, rows) => this.#attempt(slot, functionName, part, rows, readRow);
    let crashes = 0;
    let memoryDeaths = 0;
    for (;;) {
      const attempt = await tryCall(args, numRows);
      if (attempt.kind === 'answered') return this.#ranOutOfMemory(functionName, attempt.outcome, args, readRow);
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
          const found = await findMemoryRow(tryCall, args, 0, numRows, deaths);
          throw outOfMemoryKilledError(functionName, attempt.crash, deaths.count, found, found.row !== null ? readRow(args, found.row) : undefined);
        }
        continue;
      }
      if (crashes > this.#maxRestarts) {
        const row = await findPoisonRow(tryCall, args, 0, numRows);
        throw crashedError(functionName, attempt.crash, row === null ? undefined : readRow(args, row), crashes);
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
    slot: number, functionName: string, args: readonly arrow.Vector[], numRows: number, step: AggregateStepMessage, readRow: ArgumentRowReader,
  ): Promise<CallOutcome> {
    if (this.#workers.closed) throw new PyUdfError('CLOSED', 'the worker pool is closed');
    const index = slot % this.#workers.size;
    if (step.step === 'accumulate' || step.step === 'merge') {
      const held = this.#accumulatorsHeld.get(index) ?? new Set<string>();
      held.add(functionName);
      this.#accumulatorsHeld.set(index, held);
    }
    const client = await this.#workers.clientAt(index);
    try {
      return this.#ranOutOfMemory(functionName, this.#withUserPaths(await client.call(functionName, args, numRows, this.#callTimeoutMs, step)), args, readRow);
    } catch (error) {
      if (error instanceof UdfOutOfMemoryError) throw error;
      if (error instanceof WorkerOutOfMemory && !(error instanceof QueuedBehindCrash)) throw outOfMemoryKilledError(functionName, error, 1, null, undefined);
      throw this.#callError(functionName, error, index, step.step === 'get_value' ? 'get_value' : step.step === 'accumulate' ? 'accumulate' : 'merge');
    }
  }

  /** One try: the answer, or the crash (the worker already replaced). Timeouts and stops are thrown. */
  async #attempt(slot: number, functionName: string, args: readonly arrow.Vector[], numRows: number, readRow: ArgumentRowReader): Promise<Attempt> {
    if (this.#workers.closed) throw new PyUdfError('CLOSED', 'the worker pool is closed');
    const index = slot % this.#workers.size;
    const client = await this.#workers.clientAt(index);
    try {
      return { kind: 'answered', outcome: this.#withUserPaths(await client.call(functionName, args, numRows, this.#callTimeoutMs)) };
    } catch (error) {
      const failure = this.#callError(functionName, error, index, 'eval');
      if (failure !== error || !(error instanceof WorkerError && error.code === 'WORKER_CRASHED') || this.#workers.closed) throw failure;
      if (error instanceof ConnectionLost && ++this.#connectionLossesThisJob > this.#maxRestarts) {
        void client.destroy();
        this.#connectionsSpent = connectionLostError(functionName, error, this.#connectionLossesThisJob, numRows === 1 ? readRow(args, 0) : undefined, numRows);
      }
      // The job fails with it: calls that were queued behind the last loss get no new worker either.
      if (this.#connectionsSpent) throw this.#connectionsSpent;
      await this.#workers.replace(index, client, error);
      return { kind: 'crashed', crash: error };
    }
  }

  #withUserPaths(outcome: CallOutcome): CallOutcome {
    return outcome.ok
      ? { ...outcome, rowErrors: outcome.rowErrors.map(this.#workspace.userPaths) }
      : { ok: false, error: this.#workspace.userPaths(outcome.error) };
  }

  /** What a failed call of `functionName` on worker `index` fails the job with (`error` itself when it may be retried). */
  #callError(functionName: string, error: unknown, index: number, phase: UdfPhase): unknown {
    if (error instanceof WorkerError && error.code === 'WORKER_TIMEOUT') return callTimeoutError(functionName, error, phase);
    const held = this.#accumulatorsHeld.get(index);
    if (held && !this.#workers.closed && error instanceof WorkerError && error.code === 'WORKER_CRASHED') {
      return lostAccumulatorsError(functionName, phase, [...held], error);
    }
    return error;
  }

  /**
   * A MemoryError, in a row or in the batch as a whole, fails the job
   * whatever the function's error policy: memory ran out for a reason
   * outside the row's data, and more rows would run it out again.
   */
  #ranOutOfMemory(functionName: string, outcome: CallOutcome, args: readonly arrow.Vector[], readRow: ArgumentRowReader): CallOutcome {
    const error = outcome.ok ? outcome.rowErrors.find(isMemoryError) : isMemoryError(outcome.error) ? outcome.error : undefined;
    if (error === undefined) return outcome;
    const row = error.rowIndex >= 0 ? readRow(args, error.rowIndex) : undefined;
    throw memoryErrorRaised(functionName, error, this.#memoryLimitMb, row, args[0]?.length ?? 0);
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
    const closing = (async () => {
      try {
        const replies = await this.#workers.shutdown(timeoutMs);
        return {
          errors: replies.flatMap((r) => r.errors).map(this.#workspace.userPaths),
          metrics: replies.map((r) => r.metrics).filter((m) => m.length > 0),
          workersLost: this.#workers.restartsThisJob,
        };
      } finally {
        this.#workspace.remove(this.#logger);
      }
    })();
    this.#stopped = closing.then(() => undefined, () => undefined);
    return closing;
  }

  /** Stops every worker at once. A second call (an abort, then the job's own failure) waits for the first. */
  async destroy(): Promise<void> {
    if (this.#stopped) return this.#stopped;
    const destroying = (async () => {
      try {
        await this.#workers.destroy();
      } finally {
        this.#workspace.remove(this.#logger);
      }
    })();
    this.#stopped = destroying.then(() => undefined, () => undefined);
    return destroying;
  }
}

import os from 'node:os';
import { PyUdfError, type WorkerError } from '../errors.js';
import type { Logger } from '../logging.js';
import type {
  CloseFunctionsReply, FunctionSpecMessage, LoadFunctionsReply, ShutdownReply, UdfErrorMessage,
} from '../protocol/contract.js';
import { liveWorkerCount } from './host-exit.js';
import type { JobWorkspace } from './job-workspace.js';
import { LoadTimedOut, SHUTDOWN_TIMEOUT_MS, type WorkerClient } from './worker-client.js';
import { closeTimeoutError, loadError, loadTimeoutError } from './worker-errors.js';
import { startWorkerRetrying, type StartedWorker, type WorkerRecipe } from './worker-start.js';

/** What supervising a pool's workers takes. */
export interface SupervisorOptions {
  readonly python: string;
  readonly parallelism: number;
  readonly logger: Logger;
  readonly workspace: JobWorkspace;
  readonly functions: readonly FunctionSpecMessage[];
  readonly libraryPaths: readonly string[];
  readonly jobParameters: Readonly<Record<string, string>>;
  readonly env?: Readonly<Record<string, string>>;
  /** How often a worker may die starting, and how many times over a replacement may, before it fails. */
  readonly maxRestarts: number;
  readonly loadTimeoutMs: number;
  readonly memoryLimitMb: number | null;
  /** Stops the start: workers still loading (a slow open()) are killed. */
  readonly signal?: AbortSignal;
}

/**
 * A pool's worker processes, one per slot: starts them, replaces one that
 * died (once, however many calls saw it die), says whether they are all fit
 * for another job, and stops them.
 */
export class WorkerSupervisor {
  readonly #clients: WorkerClient[];
  readonly #replacing = new Map<number, Promise<WorkerClient>>();
  readonly #recipe: WorkerRecipe;
  readonly #stop: AbortController;
  readonly #maxRestarts: number;
  readonly #userPaths: (error: UdfErrorMessage) => UdfErrorMessage;
  #restarts = 0;
  #restartsThisJob = 0;
  #spawned: number;
  #closed = false;

  private constructor(
    clients: WorkerClient[], recipe: WorkerRecipe, stop: AbortController, maxRestarts: number,
    userPaths: (error: UdfErrorMessage) => UdfErrorMessage, spawned: number,
  ) {
    this.#clients = clients;
    this.#recipe = recipe;
    this.#stop = stop;
    this.#maxRestarts = maxRestarts;
    this.#userPaths = userPaths;
    this.#spawned = spawned;
  }

  /**
   * Starts `parallelism` workers with the job's functions loaded. On a
   * failure (or a stop through `options.signal`) no worker is left running.
   */
  static async start(options: SupervisorOptions): Promise<{ workers: WorkerSupervisor; firstReply: LoadFunctionsReply }> {
    const stop = new AbortController();
    const recipe: WorkerRecipe = {
      python: options.python, socketDir: options.workspace.socketDir, workDir: options.workspace.workDir, env: options.env, logger: options.logger,
      functions: options.functions, pythonPath: options.workspace.pythonPath, libraryPaths: options.libraryPaths, jobParameters: options.jobParameters,
      starting: new Set(), stopped: stop.signal,
      loadTimeoutMs: options.loadTimeoutMs, memoryLimitMb: options.memoryLimitMb,
    };
    const stopStarting = () => {
      stop.abort();
      for (const client of recipe.starting) void client.destroy();
    };
    const clients: WorkerClient[] = [];
    options.signal?.addEventListener('abort', stopStarting, { once: true });
    try {
      let nextIndex = options.parallelism;
      const started = await Promise.allSettled(
        Array.from({ length: options.parallelism }, (_, index) => startWorkerRetrying(recipe, index, () => nextIndex++, options.maxRestarts)),
      );
      for (const s of started) if (s.status === 'fulfilled') clients.push(s.value.client);
      const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      const replies = started.map((s) => (s as PromiseFulfilledResult<StartedWorker>).value.reply);
      const failedLoad = replies.find((r) => r.error);
      if (failedLoad?.error) throw loadError(options.workspace.userPaths(failedLoad.error), recipe.memoryLimitMb);
      const workers = new WorkerSupervisor(clients, recipe, stop, options.maxRestarts, options.workspace.userPaths, nextIndex);
      return { workers, firstReply: replies[0]! };
    } catch (error) {
      stopStarting();
      await Promise.all(clients.map((c) => c.destroy()));
      throw error;
    } finally {
      options.signal?.removeEventListener('abort', stopStarting);
    }
  }

  get size(): number {
    return this.#clients.length;
  }

  get pids(): number[] {
    return this.#clients.map((c) => c.process.pid).filter((p): p is number => p !== undefined);
  }

  /** Workers started to replace crashed ones, during the pool's life. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Workers that died during the running job. */
  get restartsThisJob(): number {
    return this.#restartsThisJob;
  }

  /** Set by shutdown() or destroy(). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the workers can run another job: open, none dead or being replaced. */
  get healthy(): boolean {
    return !this.#closed && this.#replacing.size === 0 && this.#clients.every((c) => c.healthy);
  }

  /** The running job's functions. */
  get functions(): readonly FunctionSpecMessage[] {
    return this.#recipe.functions;
  }

  /** Loads the next job's functions into every worker (and into any worker started later in the job). */
  async loadJob(functions: readonly FunctionSpecMessage[], jobParameters: Readonly<Record<string, string>>): Promise<LoadFunctionsReply[]> {
    this.#recipe.functions = functions;
    this.#recipe.jobParameters = jobParameters;
    this.#restartsThisJob = 0;
    return Promise.all(this.#clients.map(async (client) => {
      client.beginJob();
      try {
        return await client.load([...functions], [this.#recipe.pythonPath], [...this.#recipe.libraryPaths], { ...jobParameters }, this.#recipe.loadTimeoutMs);
      } catch (error) {
        throw error instanceof LoadTimedOut ? loadTimeoutError(error, functions) : error;
      }
    }));
  }

  /** Runs close() of the job's functions on every worker, once any replacement under way is done. */
  async endJob(timeoutMs?: number): Promise<CloseFunctionsReply[]> {
    await Promise.allSettled(this.#replacing.values());
    const deadline = timeoutMs ?? closeDeadlineMs();
    return Promise.all(this.#clients.map(async (c) => {
      try {
        return await c.endJob(deadline);
      } catch (error) {
        throw closeTimeoutError(this.#recipe.functions, c.process.pid, deadline, error);
      }
    }));
  }

  /** The worker in slot `index`: its replacement, once started, when it died. */
  async clientAt(index: number): Promise<WorkerClient> {
    return this.#replacing.get(index) ?? this.#clients[index]!;
  }

  /** Starts a new worker in place of `dead`, once, however many calls saw it die. */
  replace(index: number, dead: WorkerClient, crash: WorkerError): Promise<WorkerClient> {
    const pending = this.#replacing.get(index);
    if (pending) return pending;
    if (this.#clients[index] !== dead) return Promise.resolve(this.#clients[index]!);
    this.#restarts++;
    this.#restartsThisJob++;
    this.#recipe.logger.log({ level: 'warn', source: 'pyudf', message: `${crash.message.split('\n')[0]}; starting a new worker` });
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

  /** Closes: once any replacement under way is done, every worker runs its functions' close() and stops. */
  async shutdown(timeoutMs?: number): Promise<ShutdownReply[]> {
    this.#closed = true;
    await Promise.allSettled(this.#replacing.values());
    return Promise.all(this.#clients.map((c) => c.shutdown(timeoutMs)));
  }

  /** Stops every worker at once, those still starting included. */
  async destroy(): Promise<void> {
    this.#closed = true;
    // Replacements still loading (a hanging open()) are killed, not awaited.
    this.#stop.abort();
    for (const client of this.#recipe.starting) void client.destroy();
    await Promise.allSettled(this.#replacing.values());
    await Promise.all(this.#clients.map((c) => c.destroy()));
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

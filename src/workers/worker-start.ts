import { WorkerError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { FunctionSpecMessage, LoadFunctionsReply } from '../protocol/contract.js';
import { EXIT_AFTER_BROKEN_CONNECTION_MS, LoadTimedOut, WorkerClient } from './worker-client.js';
import { exitedStartingError, loadTimeoutError } from './worker-errors.js';
import { EXIT_MEMORY_LIMIT_TOO_LOW, WorkerProcess } from './worker-process.js';

/** What starting (or restarting) a worker of a pool takes. */
export interface WorkerRecipe {
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

export interface StartedWorker {
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
    if (exit) throw exitedStartingError(process.pid, exit, process.stderrTail, error);
    throw error instanceof LoadTimedOut ? loadTimeoutError(error, recipe.functions) : error;
  } finally {
    recipe.starting.delete(client);
  }
}

/**
 * startWorker, again (up to `retries` more times) when the worker dies before
 * it is ready: a start-up failure from outside counts like a crash. A worker
 * that could not be spawned at all, timed out or spoke another protocol is
 * not retried: the next would fare no better.
 */
export async function startWorkerRetrying(
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

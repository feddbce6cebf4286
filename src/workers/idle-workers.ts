import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logging.js';
import type { PythonArchive } from './archives.js';
import type { WorkerPool } from './worker-pool.js';

/** What a pool's workers were started with: a later job may reuse them only if its own is the same. */
export interface WorkerSetup {
  readonly python: string;
  readonly parallelism: number;
  readonly extraPythonPaths: readonly string[];
  readonly pythonFiles: readonly string[];
  readonly archives: readonly PythonArchive[];
}

/**
 * The key of a setup. The job's files count by their size and modification
 * time: a worker has imported them, and an edited module must be imported
 * afresh by a new worker, not served stale from a warm one's sys.modules.
 */
export function setupKey(setup: WorkerSetup): string {
  return JSON.stringify({
    python: setup.python,
    parallelism: setup.parallelism,
    extraPythonPaths: setup.extraPythonPaths,
    pythonFiles: setup.pythonFiles.map((file) => [file, stamps(file)]),
    archives: setup.archives.map((archive) => [archive, stamps(archive.archivePath)]),
  });
}

function stamps(target: string): string[] {
  const out: string[] = [];
  const walk = (at: string) => {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(at);
    } catch {
      out.push(`${at}:missing`);
      return;
    }
    if (!stat.isDirectory()) {
      out.push(`${at}:${stat.size}:${stat.mtimeMs}`);
      return;
    }
    for (const name of fs.readdirSync(at).sort()) {
      if (name !== '__pycache__') walk(path.join(at, name));
    }
  };
  walk(path.resolve(target));
  return out;
}

/**
 * The workers a TableEnvironment keeps between jobs: after a successful job
 * its pool stays, idle, for `idleTimeoutMs`, and the next job with the same
 * setup loads its functions into those workers instead of starting new
 * processes. Idle workers do not keep Node running.
 */
export class IdleWorkers {
  readonly #idleTimeoutMs: number;
  readonly #logger: Logger;
  #idle: { readonly pool: WorkerPool; readonly key: string; readonly timer: NodeJS.Timeout } | null = null;
  #closed = false;
  /** Pools being stopped (replaced, idled out, not kept): close() waits for them. */
  readonly #stopping = new Set<Promise<void>>();

  constructor(idleTimeoutMs: number, logger: Logger) {
    this.#idleTimeoutMs = idleTimeoutMs;
    this.#logger = logger;
  }

  /** The idle pool if it was started with this setup and is healthy; any other idle pool is closed. */
  take(key: string): WorkerPool | null {
    const idle = this.#idle;
    if (idle === null) return null;
    this.#idle = null;
    clearTimeout(idle.timer);
    if (idle.key === key && idle.pool.healthy) return idle.pool;
    this.#stop(idle.pool);
    return null;
  }

  /** Keeps a pool that just ended a job for the next one, or stops it (awaited) when none may be kept. */
  async keep(pool: WorkerPool, key: string): Promise<void> {
    if (this.#closed || this.#idleTimeoutMs === 0 || !pool.healthy) {
      await this.#stop(pool);
      return;
    }
    // One idle pool at most: the one that finished last has the freshest setup.
    const previous = this.#idle;
    if (previous) {
      clearTimeout(previous.timer);
      this.#stop(previous.pool);
    }
    const timer = setTimeout(() => {
      if (this.#idle?.pool === pool) {
        this.#idle = null;
        this.#stop(pool);
      }
    }, this.#idleTimeoutMs);
    timer.unref();
    this.#idle = { pool, key, timer };
  }

  /** Stops the idle workers; later pools handed to keep() are closed at once. */
  async close(): Promise<void> {
    this.#closed = true;
    const idle = this.#idle;
    this.#idle = null;
    if (idle) {
      clearTimeout(idle.timer);
      this.#stop(idle.pool);
    }
    await Promise.all(this.#stopping);
  }

  /** Stops a pool where close() waits for it too. */
  #stop(pool: WorkerPool): Promise<void> {
    const stopping = this.#stopped(pool).finally(() => this.#stopping.delete(stopping));
    this.#stopping.add(stopping);
    return stopping;
  }

  async #stopped(pool: WorkerPool): Promise<void> {
    try {
      await pool.close();
    } catch (error) {
      this.#logger.log({ level: 'warn', source: 'pyudf', message: `stopping idle workers failed: ${(error as Error).message}` });
      await pool.destroy();
    }
  }
}

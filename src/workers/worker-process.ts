import fs from 'node:fs';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { WorkerError } from '../errors.js';
import { packagePaths } from '../paths.js';
import { PROTOCOL_VERSION } from '../protocol/contract.js';
import { killGroup, trackGroup, untrackGroup } from './host-exit.js';
import { CappedLines, withTruncation } from './output-lines.js';
import { descendantsOf } from './process-tree.js';
import { MemoryWatch } from './memory-watch.js';

/**
 * Every batch allocates and frees megabyte-sized buffers (the request and
 * reply bytes). Past glibc's mmap threshold each one is a fresh mmap whose
 * pages fault in one by one and are unmapped again: a third of a worker's
 * time per row. Keeping them on the heap lets the next batch reuse the pages.
 * A value set in the environment wins.
 */
const BATCH_FRIENDLY_MALLOC: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: String(256 << 20),
  MALLOC_TRIM_THRESHOLD_: String(256 << 20),
};

/** How long a worker may take from spawn to its ready line (imports grpc and pyarrow). */
export const WORKER_READY_TIMEOUT_MS = 30_000;
/** A worker's exit when its memory limit is below what it uses before loading anything: no retry helps. */
export const EXIT_MEMORY_LIMIT_TOO_LOW = 71;
/** After a polite SIGTERM, how long before SIGKILL. */
export const WORKER_KILL_GRACE_MS = 2_000;
const STDERR_TAIL_BYTES = 16 * 1024;
/**
 * After the process exits, how long its pipes may take to deliver what is
 * left in them. A pipe held open by a process that escaped the worker's
 * group is not waited for beyond this.
 */
const PIPE_DRAIN_AFTER_EXIT_MS = 200;

export type OutputStream = 'stdout' | 'stderr';

export interface WorkerProcessOptions {
  readonly python: string;
  /** A private (0700) directory for the socket. */
  readonly socketDir: string;
  /** The worker's working directory, where archives are extracted. */
  readonly cwd?: string;
  readonly index: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
  /** The most writable memory the worker may use (RLIMIT_DATA, set before any function loads); null: no limit. */
  readonly memoryLimitMb?: number | null;
  /** Aborted when the start is no longer wanted (a cancelled job, a stopped pool): the worker is killed at once. */
  readonly stopped?: AbortSignal;
}

/** Where a loading worker was when it was stopped: which function, in which phase, doing what. */
export interface LoadPhase {
  readonly function: string;
  readonly phase: 'load' | 'open';
  /** "import of module 'x'", "open() of function 'f'". */
  readonly what: string;
}

export interface WorkerExit {
  readonly exitCode: number | null;
  readonly signal: string | null;
}

/**
 * One Python worker process: spawned with its stdin held open by us (the
 * worker exits when it reads EOF, i.e. when we die), ready once it prints its
 * ready line, stopped with SIGTERM then SIGKILL.
 *
 * The worker leads a process group (a session) of its own: what its
 * functions start belongs to it, and stopping the worker signals the whole
 * group. Its exit is the process's own, not the end of its pipes, which a
 * function's child may hold open long after.
 */
export class WorkerProcess {
  readonly address: string;
  readonly #child: ResultPromise;
  readonly #callsFile: string;
  readonly #loadPhaseFile: string;
  readonly #memory: MemoryWatch | null;
  #stderrTail = '';
  #exit: WorkerExit | null = null;
  #memoryExhaustion: string | null = null;
  readonly #exited: Promise<WorkerExit>;
  #expectedExit = false;
  #outputListener: ((stream: OutputStream, line: string) => void) | null = null;
  #ready = false;
  /** Set when the process could not be spawned at all (ENOENT, EACCES): no exit code says why. */
  #spawnError: (Error & { originalMessage?: string }) | null = null;

  private constructor(child: ResultPromise, address: string, callsFile: string, loadPhaseFile: string, memoryLimitMb: number | null) {
    this.#child = child;
    this.address = address;
    this.#callsFile = callsFile;
    this.#loadPhaseFile = loadPhaseFile;
    const pid = child.pid;
    this.#memory = pid === undefined ? null : new MemoryWatch(pid, memoryLimitMb);
    if (pid !== undefined) trackGroup(pid);
    const stderrLines = new CappedLines((line, dropped) => {
      if (this.#ready) this.#outputListener?.('stderr', withTruncation(line, dropped));
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderrTail = (this.#stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
      stderrLines.push(chunk);
    });
    child.stderr?.once('end', () => stderrLines.end());
    const spawnFailed = child.then(() => new Promise<never>(() => undefined), (r: Error & { exitCode?: number; signal?: string; code?: string }) => {
      if (r.exitCode === undefined && r.signal === undefined && typeof r.code === 'string') {
        this.#spawnError = r;
        return { exitCode: null, signal: null };
      }
      return new Promise<never>(() => undefined); // an exit: reported by the exit event
    });
    const exitedItself = new Promise<WorkerExit>((resolve) => {
      child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
    });
    this.#exited = Promise.race([spawnFailed, exitedItself]).then(async (exit) => {
      this.#memory?.stop();
      this.#memoryExhaustion = this.#memory?.exhaustion(exit.signal) ?? null;
      if (pid !== undefined) {
        // What the worker's functions started and left in its group goes with it.
        killGroup(pid, 'SIGKILL');
        untrackGroup(pid);
      }
      await this.#pipesDrained();
      this.#exit = exit;
      return exit;
    });
  }

  /** Waits a moment for the pipes' last bytes, then lets them go whoever still holds them. */
  async #pipesDrained(): Promise<void> {
    const pipes = [this.#child.stdout, this.#child.stderr].filter((p) => p !== null && p !== undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(pipes.map((p) => (p.closed || p.destroyed ? undefined : new Promise((r) => p.once('close', r))))),
      new Promise((r) => { timer = setTimeout(r, PIPE_DRAIN_AFTER_EXIT_MS); }),
    ]);
    clearTimeout(timer);
    for (const pipe of pipes) pipe.destroy();
    this.#child.stdin?.destroy();
  }

  static async start(options: WorkerProcessOptions): Promise<WorkerProcess> {
    const address = `unix:${path.join(options.socketDir, `worker-${options.index}.sock`)}`;
    const callsFile = path.join(options.socketDir, `worker-${options.index}.calls`);
    const loadPhaseFile = path.join(options.socketDir, `worker-${options.index}.loading`);
    const memoryLimitMb = options.memoryLimitMb ?? null;
    let child: ResultPromise;
    try {
      child = execa(options.python, [
        '-u', '-m', 'pyudf.worker', '--address', address, '--owner-dir', options.socketDir, '--calls-file', callsFile,
        '--host-pid', String(process.pid), '--load-phase-file', loadPhaseFile,
        ...(memoryLimitMb === null ? [] : ['--memory-limit-mb', String(memoryLimitMb)]),
      ], {
        stdin: 'pipe',
        cwd: options.cwd,
        stdout: 'pipe',
        stderr: 'pipe',
        buffer: false,
        reject: true,
        // Its own session: the whole group is signalled at stop, and Ctrl-C at a terminal stays the host's.
        detached: true,
        // The host's exit handler SIGKILLs the worker's whole group (host-exit.ts).
        cleanup: false,
        extendEnv: true,
        env: {
          ...Object.fromEntries(Object.entries(BATCH_FRIENDLY_MALLOC).filter(([name]) => process.env[name] === undefined)),
          ...options.env,
          PYTHONPATH: [packagePaths.pythonWorker, options.env?.PYTHONPATH].filter(Boolean).join(path.delimiter),
          PYTHONDONTWRITEBYTECODE: '1',
        },
        forceKillAfterDelay: false,
      });
    } catch (error) {
      throw new WorkerError('WORKER_START_FAILED', `cannot start Python worker "${options.python}": ${(error as Error).message}`, { cause: error });
    }
    const worker = new WorkerProcess(child, address, callsFile, loadPhaseFile, memoryLimitMb);
    await worker.#awaitReady(options.readyTimeoutMs ?? WORKER_READY_TIMEOUT_MS, options.python, options.stopped);
    return worker;
  }

  /**
   * The last call the worker recorded, and whether it was still running it
   * (it records a call as it starts and as it finishes); undefined when it
   * recorded none (died before its first call).
   *
   * A worker sends a reply while it runs the next call, so a reply can be
   * lost with the worker: the oldest unanswered call need not be the culprit.
   */
  lastCall(): { readonly callId: number; readonly running: boolean } | undefined {
    const record = this.#callRecord();
    if (record === undefined || record.length < 16) return undefined;
    return { callId: Number(record.readBigInt64LE(0)), running: record.readBigInt64LE(8) === 1n };
  }

  /** The first call after which the worker found its sockets closed (a function closed them); undefined when none. */
  socketsClosedBy(): number | undefined {
    const record = this.#callRecord();
    return record !== undefined && record.length >= 24 ? Number(record.readBigInt64LE(16)) : undefined;
  }

  #callRecord(): Buffer | undefined {
    try {
      return fs.readFileSync(this.#callsFile);
    } catch {
      return undefined;
    }
  }

  /** Which import or open() a loading worker is in; undefined when it recorded none. */
  loadPhase(): LoadPhase | undefined {
    try {
      const record = JSON.parse(fs.readFileSync(this.#loadPhaseFile, 'utf8')) as LoadPhase;
      return typeof record.function === 'string' && typeof record.what === 'string' ? record : undefined;
    } catch {
      return undefined;
    }
  }

  /** The worker's memory limit in MiB (workerMemoryLimitMb), null when it has none. */
  get memoryLimitMb(): number | null {
    return this.#memory?.limitMb ?? null;
  }

  /**
   * Once the process is gone: why it is thought to have run out of memory
   * (the kernel's OOM killer, or a death by signal with memory at its limit); null when nothing says so.
   */
  get memoryExhaustion(): string | null {
    return this.#memoryExhaustion;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Whether the process has exited, known as soon as its exit is (before its pipes are drained). */
  get hasExited(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null || this.#spawnError !== null;
  }

  get exit(): WorkerExit | null {
    return this.#exit;
  }

  get exited(): Promise<WorkerExit> {
    return this.#exited;
  }

  /**
   * The exit if it comes within `ms`, else null. A dying worker's broken
   * connection (a stream cut, a connection refused) is seen before its exit.
   */
  async exitedWithin(ms: number): Promise<WorkerExit | null> {
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([this.#exited, new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), ms); })]);
    clearTimeout(timer);
    return exit;
  }

  get stderrTail(): string {
    return this.#stderrTail;
  }

  /** Calls `listener` if the process exits without being asked to. */
  onUnexpectedExit(listener: (exit: WorkerExit) => void): void {
    void this.#exited.then((exit) => {
      if (!this.#expectedExit) listener(exit);
    });
  }

  /**
   * Receives what the process writes to its real stdout and stderr after the
   * ready line: output of C code or subprocesses, which Python's print()
   * capture does not see. Lines are capped (MAX_OUTPUT_LINE_BYTES), a cut one
   * says how much was dropped.
   */
  onOutputLine(listener: (stream: OutputStream, line: string) => void): void {
    this.#outputListener = listener;
  }

  async #awaitReady(timeoutMs: number, python: string, stopped: AbortSignal | undefined): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let onStop: (() => void) | undefined;
    const failure = (reason: string, exit?: WorkerExit, cause?: Error) => {
      const stderr = this.#stderrTail.trim();
      return new WorkerError('WORKER_START_FAILED', `Python worker (${python}) ${reason}${stderr ? `:\n${stderr}` : ''}`, {
        exitCode: exit?.exitCode, signal: exit?.signal, stderr, cause,
      });
    };
    try {
      await Promise.race([
        new Promise<void>((resolve, reject) => {
          const lines = new CappedLines((line, dropped) => {
            if (this.#ready) {
              this.#outputListener?.('stdout', withTruncation(line, dropped));
              return;
            }
            let message: { event?: string; protocol?: number };
            try {
              message = JSON.parse(line) as typeof message;
            } catch {
              return; // not ours: ignore stray output before the ready line
            }
            if (message.event !== 'ready') return;
            if (message.protocol !== PROTOCOL_VERSION) {
              reject(new WorkerError('PROTOCOL_MISMATCH', `Python worker speaks protocol ${message.protocol}, this host speaks ${PROTOCOL_VERSION}: install matching versions of pyudf`, {}));
            } else {
              this.#ready = true;
              resolve();
            }
          });
          this.#child.stdout!.on('data', (chunk: Buffer) => lines.push(chunk));
          this.#child.stdout!.once('end', () => lines.end());
        }),
        this.#exited.then(async (exit) => {
          const spawnError = this.#spawnError;
          if (spawnError) throw failure(`could not be started: ${spawnError.originalMessage ?? spawnError.message}`, exit, spawnError);
          throw failure(`exited before it was ready (exit code ${exit.exitCode}, signal ${exit.signal})`, exit);
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(failure(`was not ready within ${timeoutMs} ms`)), timeoutMs);
          onStop = () => reject(new WorkerError('WORKER_START_FAILED', `Python worker (${python}) was stopped before it was ready`, { cause: stopped?.reason }));
          if (stopped?.aborted) onStop();
          else stopped?.addEventListener('abort', onStop, { once: true });
        }),
      ]);
    } catch (error) {
      await this.kill('SIGKILL');
      throw error;
    } finally {
      clearTimeout(timer);
      if (onStop) stopped?.removeEventListener('abort', onStop);
    }
  }

  /**
   * SIGTERM, then SIGKILL after the grace period; resolves once the process is
   * gone. SIGKILL at once for a worker that is known to be stuck.
   */
  async kill(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<WorkerExit> {
    this.#expectedExit = true;
    if (this.#exit !== null) return this.#exit;
    // A stop in progress keeps Node running until the worker is gone: a
    // program awaiting close() must not end before close() does.
    this.#child.ref();
    this.#signal(signal);
    if (signal !== 'SIGKILL') {
      const timer = setTimeout(() => this.#signal('SIGKILL'), WORKER_KILL_GRACE_MS);
      void this.#exited.finally(() => clearTimeout(timer));
    }
    return this.#exited;
  }

  /**
   * Signals the worker's whole group. A SIGKILL also reaches the processes
   * below the worker that left its group (a double fork with setsid()): they
   * are the worker's adopted children until it dies, and init's after.
   */
  #signal(signal: NodeJS.Signals): void {
    const pid = this.#child.pid;
    if (pid === undefined) return;
    if (signal === 'SIGKILL') {
      for (const below of descendantsOf(pid)) {
        try {
          process.kill(below, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
    }
    if (!killGroup(pid, signal)) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone: its exit is on its way
      }
    }
  }

  /** Resolves when the process exits on its own (after Shutdown), killing it if it does not in time. */
  async awaitExit(timeoutMs: number): Promise<WorkerExit> {
    this.#expectedExit = true;
    let timer: NodeJS.Timeout | undefined;
    this.#child.ref();
    const timeout = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); });
    const result = await Promise.race([this.#exited, timeout]);
    clearTimeout(timer);
    // It had its chance to stop in order: a worker still busy in a UDF is killed outright.
    return result === 'timeout' ? this.kill('SIGKILL') : result;
  }

  /**
   * Whether this process (and its pipes) keeps Node running. A worker kept
   * warm between jobs must not: a program that ends without closing its
   * TableEnvironment still exits, and its workers see their stdin close.
   */
  setKeepsHostAlive(keep: boolean): void {
    const handles = [this.#child, this.#child.stdin, this.#child.stdout, this.#child.stderr] as ({ ref?(): void; unref?(): void } | null)[];
    for (const handle of handles) {
      if (keep) handle?.ref?.();
      else handle?.unref?.();
    }
  }

  /** Closing stdin is how the worker learns its host is gone. */
  closeStdin(): void {
    this.#child.stdin?.end();
  }
}

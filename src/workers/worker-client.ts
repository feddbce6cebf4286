import * as grpc from '@grpc/grpc-js';
import type * as arrow from 'apache-arrow';
import { PyUdfError, WorkerError } from '../errors.js';
import { pythonLevel, type Logger } from '../logging.js';
import { PYUDF_VERSION } from '../paths.js';
import { decodeColumns, encodeArguments } from '../protocol/arrow-ipc.js';
import {
  MAX_MESSAGE_BYTES, PROTOCOL_VERSION, workerStubConstructor,
  type AggregateStepMessage, type CallReply, type CallRequest, type CallStatsMessage, type CloseFunctionsReply, type FunctionSpecMessage, type LoadFunctionsReply,
  type ShutdownReply, type UdfErrorMessage, type WorkerStub,
} from '../protocol/contract.js';
import type { LoadPhase, WorkerExit, WorkerProcess } from './worker-process.js';

/** Control calls (handshake, load, shutdown) are quick; a stuck one means a stuck worker. */
export const CONTROL_CALL_TIMEOUT_MS = 60_000;
export const SHUTDOWN_TIMEOUT_MS = 5_000;
/**
 * LoadFunctions runs the user's imports and open() (where models get loaded):
 * its deadline is the job's (functionLoadTimeoutMs), none by default here; a
 * worker that dies meanwhile fails it at once.
 */
export const LOAD_TIMEOUT_MS = Infinity;
/**
 * HTTP/2's default 64 KiB window makes the worker wait for several window
 * updates per reply: a reply is sent whole, as soon as it is ready.
 */
const FLOW_CONTROL_WINDOW_BYTES = 64 << 20;
/**
 * A connection that breaks (a call stream cut, a handshake refused) with the
 * worker still alive is given this long to turn out to be a death (a dying
 * worker's sockets close before its exit is seen).
 */
export const EXIT_AFTER_BROKEN_CONNECTION_MS = 250;
/** Once the worker is gone its log stream has ended or broken; this only bounds a lost end. */
const LOG_DRAIN_TIMEOUT_MS = 1_000;
/**
 * At a job's end the worker is alive and its log stream's end is coming after
 * the job's last line: a backlog is read however long it is, as long as it
 * moves. This bounds only a stream that stopped moving without its end.
 */
const JOB_LOGS_STALL_MS = 10_000;

/** A call that was waiting behind the one its worker died running: not its fault. */
export class QueuedBehindCrash extends WorkerError {
  constructor(crash: WorkerError) {
    super('WORKER_CRASHED', crash.message, { exitCode: crash.exitCode, signal: crash.signal, stderr: crash.stderr, cause: crash });
  }
}

/**
 * The worker's gRPC connection broke while its process stayed alive: a
 * function closed or broke the worker's sockets (closing descriptors it does
 * not own, say). The worker is of no more use and is killed.
 */
export class ConnectionLost extends WorkerError {}

/** A worker that died of memory exhaustion, by what the kernel or its memory said. */
export class WorkerOutOfMemory extends WorkerError {
  /** What says so: the OOM killer's count, or the memory it had when it died. */
  readonly evidence: string;
  readonly memoryLimitMb: number | null;

  constructor(message: string, details: { exitCode: number | null; signal: string | null; stderr: string; evidence: string; memoryLimitMb: number | null }) {
    super('WORKER_CRASHED', message, details);
    this.evidence = details.evidence;
    this.memoryLimitMb = details.memoryLimitMb;
  }
}

/** Loading (a module's import or a function's open()) outlasted its deadline; the worker was killed. */
export class LoadTimedOut extends WorkerError {
  readonly phase: LoadPhase | undefined;
  readonly timeoutMs: number;

  constructor(message: string, details: { phase: LoadPhase | undefined; timeoutMs: number; stderr: string }) {
    super('WORKER_TIMEOUT', message, { stderr: details.stderr });
    this.phase = details.phase;
    this.timeoutMs = details.timeoutMs;
  }
}

export type CallOutcome =
  | {
    readonly ok: true;
    /** A scalar function's one result column; a table function's "row" column and result columns; none for an aggregate's accumulate. */
    readonly columns: readonly arrow.Vector[];
    readonly rowErrors: readonly UdfErrorMessage[];
    /** An aggregate's exported accumulators. */
    readonly accumulators: Uint8Array;
    /** What the worker measured running the batch (null for an aggregate's steps). */
    readonly stats: CallStatsMessage | null;
  }
  | { readonly ok: false; readonly error: UdfErrorMessage };

interface PendingCall {
  readonly functionName: string;
  resolve(outcome: CallOutcome): void;
  reject(error: Error): void;
}

/** The gRPC side of one worker: control calls, the batch stream, and its logs. */
export class WorkerClient {
  readonly process: WorkerProcess;
  readonly #stub: WorkerStub;
  readonly #logger: Logger;
  #callStream: grpc.ClientDuplexStream<CallRequest, CallReply> | null = null;
  #logStream: grpc.ClientReadableStream<unknown> | null = null;
  #logsDone: Promise<unknown> = Promise.resolve();
  /** Log lines received so far: whether a draining stream still moves. */
  #logLines = 0;
  /** Set when a job's log stream was cut before its end: the end still queued in the worker would cut the next job's short. */
  #logsCut = false;
  readonly #pending = new Map<number, PendingCall>();
  #nextCallId = 1;
  /** Settles when the last call sent so far has: a call's timeout starts then. */
  #lastCall: Promise<void> = Promise.resolve();
  #failure: Error | null = null;

  constructor(process: WorkerProcess, logger: Logger) {
    this.process = process;
    this.#logger = logger;
    const Stub = workerStubConstructor();
    this.#stub = new Stub(process.address, grpc.credentials.createInsecure(), {
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.enable_retries': 0,
      'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
    });
    process.onUnexpectedExit((exit) => this.#fail(this.#crashError(exit)));
    // Raw fd 1 and fd 2 (C code, subprocesses): the function is the one running the oldest call in flight, if any.
    process.onOutputLine((stream, line) => {
      this.#logger.log({
        level: stream === 'stderr' ? 'warn' : 'info', message: line, source: 'udf',
        functionName: this.#runningFunction(), pythonLogger: stream, workerPid: this.process.pid,
      });
    });
  }

  /** The function of the oldest call in flight ("" when none is): calls run in order. */
  #runningFunction(): string {
    return this.#pending.values().next().value?.functionName ?? '';
  }

  /** Fails every call in flight and every later one with `error`. */
  #fail(error: Error): void {
    if (this.#failure === null) this.#failure = error;
    const failure = this.#failure;
    const crashed = failure instanceof WorkerError && failure.code === 'WORKER_CRASHED';
    const culprit = !crashed ? this.#pending.keys().next().value
      : failure instanceof ConnectionLost ? this.#connectionBreaker() : this.#culprit();
    // The culprit's rejection goes first: its handler decides whether a new worker is due at all
    // (a lost connection past its budget fails the job), before the calls queued behind it ask for one.
    const callIds = [...this.#pending.keys()];
    const ordered = culprit !== undefined && this.#pending.has(culprit) ? [culprit, ...callIds.filter((id) => id !== culprit)] : callIds;
    for (const callId of ordered) {
      this.#pending.get(callId)!.reject(crashed && callId !== culprit ? new QueuedBehindCrash(failure) : failure);
    }
    this.#pending.clear();
  }

  /**
   * The call a dead worker was running: the one it recorded, else (it died
   * before recording any) the oldest in flight, calls being run in order.
   * A recorded call still unanswered is to blame even when it had finished:
   * its reply died with the worker, and so would the reply of every retry,
   * which without a culprit would be retried without end. None is to blame
   * when the worker died between calls with every call it ran answered.
   */
  #culprit(): number | undefined {
    const last = this.process.lastCall();
    if (last === undefined) return this.#pending.keys().next().value;
    if (this.#pending.has(last.callId)) return last.callId;
    return last.running ? this.#pending.keys().next().value : undefined;
  }

  /**
   * The call that broke a living worker's connection: the one the worker saw
   * close its sockets, else the oldest call without a reply. Its record of
   * the last call is no help: it ran on through the calls it had received.
   */
  #connectionBreaker(): number | undefined {
    const closedBy = this.process.socketsClosedBy();
    if (closedBy !== undefined && this.#pending.has(closedBy)) return closedBy;
    return this.#pending.keys().next().value;
  }

  #crashError(exit: WorkerExit): WorkerError {
    const stderr = this.process.stderrTail.trim();
    const evidence = this.process.memoryExhaustion;
    if (evidence !== null) {
      return new WorkerOutOfMemory(
        `Python worker (pid ${this.process.pid}) ran out of memory during the job: ${evidence}${stderr ? `:\n${stderr}` : ''}`,
        { exitCode: exit.exitCode, signal: exit.signal, stderr, evidence, memoryLimitMb: this.process.memoryLimitMb },
      );
    }
    return new WorkerError(
      'WORKER_CRASHED',
      `Python worker (pid ${this.process.pid}) died during the job (exit code ${exit.exitCode}, signal ${exit.signal})${stderr ? `:\n${stderr}` : ''}`,
      { exitCode: exit.exitCode, signal: exit.signal, stderr },
    );
  }

  #deadline(ms = CONTROL_CALL_TIMEOUT_MS): grpc.CallOptions {
    return Number.isFinite(ms) ? { deadline: Date.now() + ms } : {};
  }

  #unary<Req, Res>(method: 'Handshake' | 'LoadFunctions' | 'CloseFunctions' | 'Shutdown', request: Req, timeoutMs?: number): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const fn = this.#stub[method] as unknown as (
        r: Req, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v?: Res) => void) => void;
      fn.call(this.#stub, request, this.#deadline(timeoutMs), (error, reply) => {
        if (error) reject(this.#failure ?? this.#transportError(method, error));
        else resolve(reply as Res);
      });
    });
  }

  #transportError(what: string, error: grpc.ServiceError): WorkerError {
    if (error.code === grpc.status.FAILED_PRECONDITION && what === 'Handshake') {
      return new WorkerError('PROTOCOL_MISMATCH', `worker refused the handshake: ${error.details}`, { cause: error });
    }
    const exit = this.process.exit;
    if (exit) return this.#crashError(exit);
    return new WorkerError('WORKER_CRASHED', `${what} to Python worker (pid ${this.process.pid}) failed: ${error.details || error.message}`, {
      cause: error, stderr: this.process.stderrTail,
    });
  }

  async handshake(): Promise<void> {
    const reply = await this.#unary<object, { protocolVersion: number; workerVersion: string }>('Handshake', {
      protocolVersion: PROTOCOL_VERSION, hostVersion: PYUDF_VERSION,
    });
    if (reply.protocolVersion !== PROTOCOL_VERSION) {
      throw new WorkerError('PROTOCOL_MISMATCH', `worker ${reply.workerVersion} speaks protocol ${reply.protocolVersion}, host ${PYUDF_VERSION} speaks ${PROTOCOL_VERSION}`, {});
    }
    this.#openLogs();
  }

  #openLogs(): void {
    const stream = this.#stub.StreamLogs({});
    this.#logStream = stream;
    this.#logsDone = new Promise((resolve) => {
      for (const event of ['end', 'error', 'close']) stream.once(event, resolve);
    });
    stream.on('data', (record: { level: string; functionName: string; logger: string; message: string }) => {
      this.#logLines++;
      this.#logger.log({
        level: pythonLevel(record.level),
        message: record.message,
        source: 'udf',
        functionName: record.functionName,
        // print() output comes as level "stdout"/"stderr" with no logger name: those name it.
        pythonLogger: record.level === 'stdout' || record.level === 'stderr' ? record.level : record.logger,
      });
    });
    stream.on('error', () => { /* ends with the worker; a crash is reported by the call path */ });
  }

  /**
   * Loads the job's functions: their modules' imports and open(). Past
   * `timeoutMs` the worker, stuck in one of them, is killed (its whole
   * group) and the load fails with LoadTimedOut naming where it was stuck.
   */
  async load(
    functions: FunctionSpecMessage[], pythonPaths: string[], libraryPaths: string[], jobParameters: Record<string, string>, timeoutMs = LOAD_TIMEOUT_MS,
  ): Promise<LoadFunctionsReply> {
    const loading = this.#unary<object, LoadFunctionsReply>('LoadFunctions', { functions, pythonPaths, libraryPaths, jobParameters });
    if (!Number.isFinite(timeoutMs)) return loading;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); });
    try {
      const first = await Promise.race([loading, timedOut]);
      if (first !== 'timeout') return first;
    } finally {
      clearTimeout(timer);
    }
    loading.catch(() => undefined);
    const phase = this.process.loadPhase();
    const error = new LoadTimedOut(`${phase ? `${phase.what}` : 'loading the functions'} did not finish within ${timeoutMs} ms; the worker (pid ${this.process.pid}) was killed`, {
      phase, timeoutMs, stderr: this.process.stderrTail,
    });
    this.#fail(error);
    await this.process.kill('SIGKILL');
    throw error;
  }

  /**
   * Sends one batch to a function; replies arrive in order on one stream. A
   * call not answered within `timeoutMs` (counted from when the worker could
   * start on it: after the calls queued before it) fails with WORKER_TIMEOUT
   * and the worker, stuck in user code, is killed.
   */
  call(
    functionName: string, args: readonly arrow.Vector[], numRows: number, timeoutMs = Infinity, aggregate?: AggregateStepMessage,
  ): Promise<CallOutcome> {
    if (this.#failure) {
      // The worker died before this call reached it (say, idle): not this call's doing.
      const failure = this.#failure;
      return Promise.reject(failure instanceof WorkerError && failure.code === 'WORKER_CRASHED' ? new QueuedBehindCrash(failure) : failure);
    }
    const stream = this.#ensureCallStream();
    const callId = this.#nextCallId++;
    const previous = this.#lastCall;
    const outcome = new Promise<CallOutcome>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = <T>(fn: (value: T) => void) => (value: T) => {
        clearTimeout(timer);
        fn(value);
      };
      this.#pending.set(callId, { functionName, resolve: settle(resolve), reject: settle(reject) });
      const encoded = encodeArguments(args);
      stream.write({ callId, functionName, arguments: encoded.payload, argumentColumns: encoded.argumentColumns, numRows, aggregate });
      if (Number.isFinite(timeoutMs)) {
        const arm = () => {
          if (!this.#pending.has(callId)) return;
          timer = setTimeout(() => this.#timeOut(functionName, numRows, timeoutMs), timeoutMs);
          timer.unref();
        };
        void previous.then(arm, arm);
      }
    });
    this.#lastCall = outcome.then(() => undefined, () => undefined);
    return outcome;
  }

  #timeOut(functionName: string, numRows: number, timeoutMs: number): void {
    const error = new WorkerError('WORKER_TIMEOUT', `a call of "${functionName}" on ${numRows} row(s) did not finish within ${timeoutMs} ms; the worker (pid ${this.process.pid}) was killed`, {
      stderr: this.process.stderrTail,
    });
    this.#fail(error);
    this.#callStream?.cancel();
    void this.process.kill('SIGKILL');
  }

  #ensureCallStream() {
    if (this.#callStream) return this.#callStream;
    const stream = this.#stub.Call();
    stream.on('data', (reply: CallReply) => {
      const pending = this.#pending.get(reply.callId);
      if (!pending) return;
      this.#pending.delete(reply.callId);
      if (reply.error) pending.resolve({ ok: false, error: reply.error });
      else {
        try {
          pending.resolve({ ok: true, columns: decodeColumns(reply.result), rowErrors: reply.rowErrors, accumulators: reply.accumulators, stats: reply.stats });
        } catch (error) {
          pending.reject(error as Error);
        }
      }
    });
    // A stream ended at a job's end finishes while the next job's calls are on a new one.
    const current = () => this.#callStream === stream;
    stream.on('error', (error: grpc.ServiceError) => {
      if (!current() || (error.code === grpc.status.CANCELLED && this.#pending.size === 0)) return;
      void this.#streamBroken(`${error.details || error.message}`);
    });
    stream.on('end', () => {
      if (current() && this.#pending.size > 0) void this.#streamBroken('the worker ended the call stream with calls in flight');
    });
    this.#callStream = stream;
    return stream;
  }

  /**
   * The call stream broke. A dying worker breaks it before its exit is seen:
   * the exit's story wins when it comes soon. A worker that is still alive
   * lost its connection, and is killed.
   */
  async #streamBroken(reason: string): Promise<void> {
    const exit = await this.process.exitedWithin(EXIT_AFTER_BROKEN_CONNECTION_MS);
    // Exited, its pipes still draining (a child of its may hold them): a death all the same.
    if (exit || this.process.hasExited) {
      this.#fail(this.#crashError(exit ?? await this.process.exited));
      return;
    }
    this.#fail(new ConnectionLost('WORKER_CRASHED', `the gRPC connection to Python worker (pid ${this.process.pid}) was lost while the process stayed alive (${reason}): a function closed or broke the worker's sockets; the worker was killed`, {
      stderr: this.process.stderrTail,
    }));
    void this.process.kill('SIGKILL');
  }

  /** Whether the worker can take another job: alive, and nothing failed on it. */
  get healthy(): boolean {
    return this.#failure === null && this.process.exit === null && !this.#logsCut;
  }

  /**
   * Ends a job on this worker and leaves it idle: close() of every function
   * it loaded (which it then forgets), the job's log lines all delivered, and
   * no call open, so that nothing of it keeps Node running.
   */
  async endJob(timeoutMs = SHUTDOWN_TIMEOUT_MS): Promise<CloseFunctionsReply> {
    const reply = await this.#unary<object, CloseFunctionsReply>('CloseFunctions', {}, timeoutMs);
    this.#callStream?.end();
    this.#callStream = null;
    // The worker ends the log stream after the job's last line.
    if (!(await this.#jobLogsEnded())) {
      this.#logsCut = true;
      this.#logStream?.cancel();
    }
    this.process.setKeepsHostAlive(false);
    return reply;
  }

  /** Makes an idle worker ready for the next job's load(). */
  beginJob(): void {
    this.process.setKeepsHostAlive(true);
    this.#openLogs();
  }

  /**
   * Closes functions (close()), stops the worker and waits for its exit; kills
   * it if it will not go. What close() raised and the functions' metrics come
   * back (nothing, from a worker that had to be killed).
   */
  async shutdown(timeoutMs = SHUTDOWN_TIMEOUT_MS): Promise<ShutdownReply> {
    let reply: ShutdownReply = { errors: [], metrics: [] };
    const deadline = Date.now() + timeoutMs;
    try {
      this.#callStream?.end();
      if (this.process.exit === null && this.#failure === null) {
        reply = await this.#unary<object, ShutdownReply>('Shutdown', {}, timeoutMs);
      }
    } catch {
      // A worker that cannot shut down politely (busy in a UDF) is killed below.
    } finally {
      await this.process.awaitExit(Math.max(0, deadline - Date.now()));
      await this.#drainLogs();
      this.#stub.close();
    }
    return reply;
  }

  /** Stops at once: no close() calls, SIGKILL. */
  async destroy(): Promise<void> {
    this.#fail(new PyUdfError('CLOSED', 'the worker was stopped'));
    this.#callStream?.cancel();
    // Nothing of the worker's is wanted any more (no close()): a UDF busy in
    // C code or sleeping would hold up SIGTERM for the whole grace period.
    await this.process.kill('SIGKILL');
    await this.#drainLogs();
    this.#stub.close();
  }

  /** Waits for the end of the job's log stream while lines keep coming; false if it stalled first. */
  async #jobLogsEnded(): Promise<boolean> {
    for (;;) {
      const seen = this.#logLines;
      let timer: NodeJS.Timeout | undefined;
      const ended = await Promise.race([
        this.#logsDone.then(() => true),
        new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), JOB_LOGS_STALL_MS); }),
      ]);
      clearTimeout(timer);
      if (ended) return true;
      if (this.#logLines === seen) return false;
    }
  }

  /**
   * A stopping worker ends its log stream after everything already printed or
   * logged (close()'s output, a failing row's prints): cancelling it earlier
   * would drop those lines, so it is let go only once the worker has exited.
   */
  async #drainLogs(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#logsDone, new Promise((resolve) => { timer = setTimeout(resolve, LOG_DRAIN_TIMEOUT_MS); })]);
    clearTimeout(timer);
    this.#logStream?.cancel();
  }
}

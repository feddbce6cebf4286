import readline from 'node:readline';
import type { Readable } from 'node:stream';
import * as arrow from 'apache-arrow';
import { ClusterError, CsvFormatError, EnvironmentError, ExpressionError, PyUdfError, UdfError, type UdfPhase } from '../errors.js';
import type { Batch } from '../batches/vectors.js';
import type { Logger } from '../logging.js';

/*
 * What a job's driver reports to the host, however it runs (a process of
 * this host's, or a job's entrypoint on the cluster): JSON-line events
 * (connected, done, error) and a collected result as an Arrow IPC stream.
 */

/** What the driver reports when the job is done. */
export interface DriverDone {
  readonly rows: number;
  readonly errorCounts: Readonly<Record<string, { policy: string; rows: number }>>;
  readonly metrics: Readonly<Record<string, unknown>>;
}

/** What the driver said about the cluster once connected. */
export interface DriverConnected {
  readonly rayVersion: string;
  readonly nodes: number;
  readonly cpus: number;
}

/** What every way of running a job's driver is given. */
export interface DriverReportOptions {
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** Receives each batch of a collected result, in order; the driver waits while it runs. */
  readonly onBatch?: (batch: Batch) => Promise<void>;
  readonly onConnected?: (connected: DriverConnected) => void;
}

/** One job's reports as they arrive: its events and its collected result, each read to its end. */
export class DriverReports {
  /** The driver's "done" event, once it came. */
  done: DriverDone | null = null;
  /** The first failure: the driver's error event, or a result stream that broke. */
  failure: unknown = null;
  readonly #address: string;
  readonly #options: DriverReportOptions;

  constructor(address: string, options: DriverReportOptions) {
    this.#address = address;
    this.#options = options;
  }

  readEvents(stream: Readable): Promise<void> {
    return readEvents(stream, (event) => {
      if (event.event === 'connected') this.#options.onConnected?.(event as unknown as DriverConnected);
      else if (event.event === 'done') {
        this.done = { rows: Number(event.rows ?? 0), errorCounts: (event.errorCounts ?? {}) as DriverDone['errorCounts'], metrics: (event.metrics ?? {}) as DriverDone['metrics'] };
      } else if (event.event === 'error') this.failure ??= driverError((event.error ?? {}) as DriverErrorJson, this.#address);
    });
  }

  readResults(stream: Readable): Promise<void> {
    return readResults(stream, this.#options.onBatch).catch((error: unknown) => { this.failure ??= error; });
  }
}

/** The error event's fields (python_worker/pyudf/cluster). */
export interface DriverErrorJson {
  code?: string;
  message?: string;
  functionName?: string;
  phase?: string;
  exceptionType?: string;
  traceback?: string;
  sourceLocation?: string;
  row?: unknown[];
  file?: string;
  line?: number;
  clusterMessage?: string;
}

async function readEvents(stream: Readable, onEvent: (event: Record<string, unknown>) => void): Promise<void> {
  stream.on('error', () => undefined);
  const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    try {
      onEvent(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // Not an event: nothing else writes to this descriptor.
    }
  }
}

/** A collected result's batches, as the driver streams them: an Arrow IPC stream, nothing for a job without one. */
async function readResults(stream: Readable, onBatch: ((batch: Batch) => Promise<void>) | undefined): Promise<void> {
  stream.on('error', () => undefined);
  const chunks: AsyncIterable<Uint8Array> = stream;
  const iterator = chunks[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return;
  async function* all(): AsyncGenerator<Uint8Array> {
    yield first.value as Uint8Array;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value as Uint8Array;
    }
  }
  const reader = await arrow.RecordBatchReader.from(all());
  for await (const batch of reader) {
    const columns = Array.from({ length: batch.numCols }, (_, i) => batch.getChildAt(i)!);
    await onBatch?.({ numRows: batch.numRows, columns });
  }
}

/** The driver's error event as pyudf's typed error. */
export function driverError(error: DriverErrorJson, address: string): PyUdfError {
  const message = error.message ?? 'the job failed on the cluster';
  const udf = (code: ConstructorParameters<typeof UdfError>[0]) => new UdfError(code, message, {
    functionName: error.functionName ?? '',
    phase: (error.phase ?? 'eval') as UdfPhase,
    pythonType: error.exceptionType ?? '',
    pythonMessage: message,
    pythonTraceback: error.traceback ?? '',
    sourceLocation: error.sourceLocation ?? '',
    row: error.row,
  });
  switch (error.code) {
    case 'UDF_ERROR':
    case 'UDF_FAILED': return udf('UDF_FAILED');
    case 'UDF_LOAD_FAILED': return udf('UDF_LOAD_FAILED');
    case 'UDF_SIGNATURE_MISMATCH': return udf('UDF_SIGNATURE_MISMATCH');
    case 'UDF_RESULT_TYPE': return udf('UDF_RESULT_TYPE');
    case 'UDF_TIMEOUT': return udf('UDF_TIMEOUT');
    case 'WORKER_CRASHED':
    case 'UDF_CRASHED': return udf('UDF_CRASHED');
    case 'CSV_FORMAT':
    case 'CSV_PARSE': return new CsvFormatError(message, { file: error.file ?? '', line: error.line ?? 0 });
    case 'ARITHMETIC': return new ExpressionError('ARITHMETIC', message, { expression: '' });
    case 'REQUIREMENTS': return new EnvironmentError('ENVIRONMENT_BUILD_FAILED', message, { output: error.clusterMessage ?? '' });
    case 'CLUSTER_UNREACHABLE': return new ClusterError('CLUSTER_UNREACHABLE', message, { address, clusterMessage: error.clusterMessage ?? '' });
    case 'JOB_REFUSED':
    case 'CLUSTER_JOB_REFUSED': return new ClusterError('CLUSTER_JOB_REFUSED', message, { address, clusterMessage: error.clusterMessage ?? '' });
    case 'IO': return new PyUdfError('IO', message);
    // INTERNAL: the driver's own failure; its traceback is what there is to go on.
    default: return new ClusterError('CLUSTER_JOB_FAILED', message, { address, clusterMessage: error.clusterMessage ?? error.traceback ?? '' });
  }
}

/** The error a job stopped by its signal ends with: the reason it was given, or CLOSED. */
export function stoppedError(signal: AbortSignal): PyUdfError {
  const reason = signal.reason;
  if (reason instanceof PyUdfError) return reason;
  return new PyUdfError('CLOSED', 'the job was cancelled', { cause: reason });
}

/** The last lines of an output, for an error that says how a process ended. */
export class LastLines {
  readonly #max: number;
  readonly #lines: string[] = [];

  constructor(max: number) {
    this.#max = max;
  }

  push(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.#max) this.#lines.shift();
  }

  text(): string {
    return this.#lines.join('\n');
  }
}

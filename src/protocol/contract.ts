import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { packagePaths } from '../paths.js';
import { isIpcPayload, type IpcPayload } from './arrow-ipc.js';

/** Bumped with every incompatible change of proto/worker.proto; the worker checks it too. */
export const PROTOCOL_VERSION = 2;

/** Batches of large values exceed gRPC's 4 MiB default; batch sizes are bounded by the host. */
export const MAX_MESSAGE_BYTES = 1 << 30;

export interface UdfErrorMessage {
  functionName: string;
  phase: string;
  exceptionType: string;
  message: string;
  traceback: string;
  rowIndex: number;
  sourceLocation: string;
}

export interface HandshakeReply {
  protocolVersion: number;
  workerVersion: string;
  pythonVersion: string;
  pythonExecutable: string;
  pid: number;
}

export interface FunctionSpecMessage {
  name: string;
  callable: string;
  inputTypes: string[];
  hasInputTypes: boolean;
  resultType: string;
  continueOnError: boolean;
  /** "table" or "aggregate" when the host declares it; empty: the Python declaration decides. */
  category?: string;
  /** A table function's result column types, when the host declares them. */
  resultTypes?: string[];
  /** "pandas" or "general"; unset leaves it to the Python declaration. */
  funcType?: string;
  /** Unset (or 0) leaves it to the Python declaration. */
  concurrency?: number;
  ioThreads?: number;
}

/** What a function is: one value per row, rows per row, or one value per group of rows. */
export type FunctionCategory = 'scalar' | 'table' | 'aggregate' | 'table_aggregate';

export interface LoadedFunctionMessage {
  name: string;
  inputTypes: string[];
  hasInputTypes: boolean;
  resultType: string;
  kind: string;
  sourceLocation: string;
  category: string;
  resultTypes: string[];
  hasMerge: boolean;
  concurrency: number;
}

export interface LoadFunctionsReply {
  functions: LoadedFunctionMessage[];
  error: UdfErrorMessage | null;
}

export interface CallRequest {
  callId: number;
  functionName: string;
  arguments: Uint8Array | IpcPayload;
  numRows: number;
  argumentColumns: number[];
  aggregate?: AggregateStepMessage;
}

/** One step of an aggregate function over the groups a worker holds accumulators for (see proto/worker.proto). */
export interface AggregateStepMessage {
  use: number;
  step: 'accumulate' | 'get_value' | 'export' | 'merge';
  groups: number[];
  accumulators?: Uint8Array;
}

export interface CallReply {
  callId: number;
  result: Buffer;
  error: UdfErrorMessage | null;
  rowErrors: UdfErrorMessage[];
  accumulators: Buffer;
  stats: CallStatsMessage | null;
}

/** What a worker measured running one batch. */
export interface CallStatsMessage {
  rowsIn: number;
  rowsOut: number;
  rowsFailed: number;
  functionNanos: number;
}

export interface MetricReadingMessage {
  identifier: string;
  kind: 'counter' | 'gauge' | 'meter' | 'distribution';
  count: number;
  rate: number;
  sum: number;
  min: number;
  max: number;
  number: number;
  text: string;
  isText: boolean;
}

/** One function's metrics in one worker, read at the job's end. */
export interface FunctionMetricsMessage {
  functionName: string;
  readings: MetricReadingMessage[];
}

export interface LogRecord {
  level: string;
  functionName: string;
  logger: string;
  message: string;
  timeUnix: number;
}

export interface CloseFunctionsReply {
  errors: UdfErrorMessage[];
  metrics: FunctionMetricsMessage[];
}

export interface ShutdownReply {
  errors: UdfErrorMessage[];
  metrics: FunctionMetricsMessage[];
}

type Unary<Req, Res> = (
  request: Req,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, reply?: Res) => void,
) => grpc.ClientUnaryCall;

export interface WorkerStub extends grpc.Client {
  Handshake: Unary<{ protocolVersion: number; hostVersion: string }, HandshakeReply>;
  LoadFunctions: Unary<{ functions: FunctionSpecMessage[]; pythonPaths: string[]; libraryPaths: string[]; jobParameters: Record<string, string> }, LoadFunctionsReply>;
  Call(options?: grpc.CallOptions): grpc.ClientDuplexStream<CallRequest, CallReply>;
  StreamLogs(request: Record<string, never>, options?: grpc.CallOptions): grpc.ClientReadableStream<LogRecord>;
  CloseFunctions: Unary<Record<string, never>, CloseFunctionsReply>;
  Shutdown: Unary<Record<string, never>, ShutdownReply>;
}

type WorkerStubConstructor = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => WorkerStub;

let stubConstructor: WorkerStubConstructor | undefined;

/** CallRequest.arguments is field 3, length-delimited: tag (3 << 3) | 2. */
const ARGUMENTS_TAG = 0x1a;

/**
 * Serializes a CallRequest whose arguments are an IpcPayload with one copy of
 * the argument bytes: the other fields encoded as usual, then field 3 written
 * after them (protobuf lets fields come in any order).
 */
function streamCallArguments(service: grpc.ServiceDefinition): void {
  const call = service.Call as grpc.MethodDefinition<CallRequest, CallReply>;
  const encodeFields = call.requestSerialize;
  (call as { requestSerialize: (request: CallRequest) => Buffer }).requestSerialize = (request) => {
    const payload = request.arguments;
    if (!isIpcPayload(payload)) return encodeFields(request);
    const head = encodeFields({ ...request, arguments: EMPTY });
    const lengthBytes = varintLength(payload.byteLength);
    const out = Buffer.allocUnsafe(head.length + 1 + lengthBytes + payload.byteLength);
    head.copy(out, 0);
    let at = head.length;
    out[at++] = ARGUMENTS_TAG;
    for (let n = payload.byteLength; ; n = Math.floor(n / 128)) {
      if (n < 128) {
        out[at++] = n;
        break;
      }
      out[at++] = (n % 128) | 128;
    }
    for (const chunk of payload.chunks) {
      out.set(chunk, at);
      at += chunk.byteLength;
    }
    return out;
  };
}

const EMPTY = new Uint8Array(0);

function varintLength(n: number): number {
  let bytes = 1;
  for (let rest = Math.floor(n / 128); rest > 0; rest = Math.floor(rest / 128)) bytes++;
  return bytes;
}

/** The generated client class, loaded once from the .proto both sides share. */
export function workerStubConstructor(): WorkerStubConstructor {
  if (stubConstructor === undefined) {
    const definition = protoLoader.loadSync(packagePaths.proto, {
      keepCase: false,
      longs: Number,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    streamCallArguments(definition['pyudf.v1.Worker'] as grpc.ServiceDefinition);
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      pyudf: { v1: { Worker: WorkerStubConstructor } };
    };
    stubConstructor = loaded.pyudf.v1.Worker;
  }
  return stubConstructor;
}

/**
 * Every error pyudf throws is a PyUdfError with a stable string `code`: callers
 * branch on `code` and the typed fields, never on message text.
 */
export type PyUdfErrorCode =
  | 'INVALID_ARGUMENT'
  | 'UNKNOWN_TABLE'
  | 'EXPRESSION_SYNTAX'
  | 'SQL_SYNTAX'
  | 'SQL_UNSUPPORTED'
  | 'UNKNOWN_COLUMN'
  | 'UNKNOWN_FUNCTION'
  | 'EXPRESSION_TYPE'
  | 'ARITHMETIC'
  | 'SINK_SCHEMA_MISMATCH'
  | 'UDF_LOAD_FAILED'
  | 'UDF_SIGNATURE_MISMATCH'
  | 'UDF_FAILED'
  | 'UDF_RESULT_TYPE'
  | 'UDF_TIMEOUT'
  | 'UDF_CRASHED'
  | 'UDF_OUT_OF_MEMORY'
  | 'CSV_PARSE'
  | 'IO'
  | 'WORKER_START_FAILED'
  | 'WORKER_CRASHED'
  | 'WORKER_TIMEOUT'
  | 'PROTOCOL_MISMATCH'
  | 'PYTHON_NOT_FOUND'
  | 'ENVIRONMENT_BUILD_FAILED'
  | 'CLUSTER_UNREACHABLE'
  | 'CLUSTER_JOB_REFUSED'
  | 'CLUSTER_JOB_FAILED'
  | 'CLOSED';

export class PyUdfError extends Error {
  readonly code: PyUdfErrorCode;

  constructor(code: PyUdfErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  override get name(): string {
    return this.constructor.name;
  }

  /**
   * What JSON.stringify writes: name, code, message, the subclass's own fields and the
   * cause's message. bigints (e.g. in a UdfError's row) become strings, which JSON lacks.
   */
  toJSON(): Record<string, unknown> {
    const fields: Record<string, unknown> = { name: this.name, code: this.code, message: this.message };
    for (const [key, value] of Object.entries(this)) {
      if (key !== 'code') fields[key] = jsonSafe(value);
    }
    if (this.cause !== undefined) {
      fields.cause = this.cause instanceof Error ? this.cause.message : jsonSafe(this.cause);
    }
    return fields;
  }
}

function jsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Map) return [...value].map(([k, v]) => [jsonSafe(k), jsonSafe(v)]);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  }
  return value;
}

/** An expression that does not parse, or names a column or function that does not exist. */
export class ExpressionError extends PyUdfError {
  readonly expression: string;
  /** The unknown name, for UNKNOWN_COLUMN and UNKNOWN_FUNCTION. */
  readonly unknownName?: string;
  /** What exists instead (columns or functions). */
  readonly candidates: readonly string[];

  constructor(
    code: 'EXPRESSION_SYNTAX' | 'UNKNOWN_COLUMN' | 'UNKNOWN_FUNCTION' | 'EXPRESSION_TYPE' | 'ARITHMETIC',
    message: string,
    details: { expression: string; unknownName?: string; candidates?: readonly string[]; cause?: unknown },
  ) {
    super(code, message, { cause: details.cause });
    this.expression = details.expression;
    this.unknownName = details.unknownName;
    this.candidates = details.candidates ?? [];
  }
}

/**
 * A SQL statement that does not parse, names a table, column or function that
 * does not exist, mistypes, or uses what is not supported: raised before any
 * worker starts, with the statement and the 1-based line and column it points at.
 */
export class SqlError extends PyUdfError {
  readonly statement: string;
  readonly line: number;
  readonly column: number;
  /** The unknown name, for UNKNOWN_TABLE, UNKNOWN_COLUMN and UNKNOWN_FUNCTION. */
  readonly unknownName?: string;
  /** What exists instead (tables, columns or functions). */
  readonly candidates: readonly string[];

  constructor(
    code: 'SQL_SYNTAX' | 'SQL_UNSUPPORTED' | 'UNKNOWN_TABLE' | 'UNKNOWN_COLUMN' | 'UNKNOWN_FUNCTION' | 'EXPRESSION_TYPE' | 'INVALID_ARGUMENT',
    message: string,
    details: { statement: string; line: number; column: number; unknownName?: string; candidates?: readonly string[]; cause?: unknown },
  ) {
    super(code, `${message} (line ${details.line}, column ${details.column})`, { cause: details.cause });
    this.statement = details.statement;
    this.line = details.line;
    this.column = details.column;
    this.unknownName = details.unknownName;
    this.candidates = details.candidates ?? [];
  }
}

export type UdfPhase = 'load' | 'open' | 'eval' | 'result' | 'close' | 'accumulate' | 'get_value' | 'merge';

/** A Python function failed: to load, to open, on a row, or by returning a value of the wrong type. */
export class UdfError extends PyUdfError {
  readonly functionName: string;
  readonly phase: UdfPhase;
  /** The Python exception's qualified type name, e.g. "ZeroDivisionError". */
  readonly pythonType: string;
  readonly pythonMessage: string;
  /** The Python traceback, starting at the user's own code. */
  readonly pythonTraceback: string;
  /** "file.py:12" of the user's code, when known. */
  readonly sourceLocation: string;
  /** The input row (argument values by parameter position) for eval and result errors. */
  readonly row?: readonly unknown[];

  constructor(
    code: 'UDF_LOAD_FAILED' | 'UDF_SIGNATURE_MISMATCH' | 'UDF_FAILED' | 'UDF_RESULT_TYPE' | 'UDF_TIMEOUT' | 'UDF_CRASHED' | 'UDF_OUT_OF_MEMORY',
    message: string,
    details: {
      functionName: string;
      phase: UdfPhase;
      pythonType: string;
      pythonMessage: string;
      pythonTraceback: string;
      sourceLocation: string;
      row?: readonly unknown[];
    },
  ) {
    super(code, message);
    this.functionName = details.functionName;
    this.phase = details.phase;
    this.pythonType = details.pythonType;
    this.pythonMessage = details.pythonMessage;
    this.pythonTraceback = details.pythonTraceback;
    this.sourceLocation = details.sourceLocation;
    this.row = details.row;
  }
}

/**
 * A Python function ran its worker out of memory: it raised MemoryError, or
 * its worker was killed by the kernel's OOM killer or died by a signal with
 * its memory at its limit. Code UDF_OUT_OF_MEMORY; `row` is the row it was
 * running when one is known.
 */
export class UdfOutOfMemoryError extends UdfError {
  /** The worker's limit (workerMemoryLimitMb), null when it had none. */
  readonly memoryLimitMb: number | null;
  /** What says memory ran out: "MemoryError", the OOM killer's count, or the memory the worker died with. */
  readonly evidence: string;

  constructor(
    message: string,
    details: ConstructorParameters<typeof UdfError>[2] & { memoryLimitMb: number | null; evidence: string },
  ) {
    super('UDF_OUT_OF_MEMORY', message, details);
    this.memoryLimitMb = details.memoryLimitMb;
    this.evidence = details.evidence;
  }
}

/** A CSV input that does not match its table's format. */
export class CsvFormatError extends PyUdfError {
  readonly file: string;
  readonly line: number;
  /** 1-based field position, when the error is a field's. */
  readonly column?: number;

  constructor(message: string, details: { file: string; line: number; column?: number; cause?: unknown }) {
    super('CSV_PARSE', message, { cause: details.cause });
    this.file = details.file;
    this.line = details.line;
    this.column = details.column;
  }
}

/** A worker process that did not start, or died. */
export class WorkerError extends PyUdfError {
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** The worker's last stderr output, which usually says why. */
  readonly stderr: string;

  constructor(
    code: 'WORKER_START_FAILED' | 'WORKER_CRASHED' | 'WORKER_TIMEOUT' | 'PROTOCOL_MISMATCH',
    message: string,
    details: { exitCode?: number | null; signal?: string | null; stderr?: string; cause?: unknown },
  ) {
    super(code, message, { cause: details.cause });
    this.exitCode = details.exitCode ?? null;
    this.signal = details.signal ?? null;
    this.stderr = details.stderr ?? '';
  }
}

/** A Python environment (the worker runtime or a job's requirements) that could not be built. */
export class EnvironmentError extends PyUdfError {
  readonly command: readonly string[];
  readonly exitCode: number | null;
  /** pip's (or venv's) combined output. */
  readonly output: string;

  constructor(
    code: 'PYTHON_NOT_FOUND' | 'ENVIRONMENT_BUILD_FAILED',
    message: string,
    details: { command?: readonly string[]; exitCode?: number | null; output?: string; cause?: unknown },
  ) {
    super(code, message, { cause: details.cause });
    this.command = details.command ?? [];
    this.exitCode = details.exitCode ?? null;
    this.output = details.output ?? '';
  }
}

/**
 * A job on a cluster that could not start or did not finish for a reason of
 * the cluster's: CLUSTER_UNREACHABLE (no cluster answers at the address),
 * CLUSTER_JOB_REFUSED (the cluster refused the job, e.g. a Ray or Python
 * version it does not run), CLUSTER_JOB_FAILED (the job's driver failed).
 */
export class ClusterError extends PyUdfError {
  /** The cluster's address, as given in the `cluster` option. */
  readonly address: string;
  /** What the cluster (or its client library) answered, as it said it. */
  readonly clusterMessage: string;

  constructor(
    code: 'CLUSTER_UNREACHABLE' | 'CLUSTER_JOB_REFUSED' | 'CLUSTER_JOB_FAILED',
    message: string,
    details: { address: string; clusterMessage?: string; cause?: unknown },
  ) {
    super(code, message, { cause: details.cause });
    this.address = details.address;
    this.clusterMessage = details.clusterMessage ?? '';
  }
}

import { PyUdfError } from '../errors.js';
import { DataType } from '../types/data-types.js';
import { ERROR_POLICIES, type ErrorPolicy } from '../execution/udf-errors.js';

/** A Python function as the job declares it; the worker resolves `callable`. */
export interface PythonFunction {
  readonly kind: 'python-function';
  /** A Python expression evaluating to a callable: a lambda or a dotted reference. */
  readonly callable: string;
  /** null: taken from the Python declaration (`@udf(input_types=...)`). */
  readonly inputTypes: readonly DataType[] | null;
  /** null: taken from the Python declaration (`@udf(result_type=...)`). */
  readonly resultType: DataType | null;
  /** What a row that raises does; null: the job's `onUdfError` (default "fail"). */
  readonly onError: ErrorPolicy | null;
  /** Set by udtf(), udaf() and udtaf(); absent: the Python declaration says (a plain callable is a scalar function). */
  readonly category?: 'table' | 'aggregate' | 'table_aggregate';
  /** A table function's result column types (udtf); null: taken from the Python declaration. */
  readonly resultTypes?: readonly DataType[] | null;
  /** null: taken from the Python declaration (`@udf(func_type=...)`), else "general". */
  readonly funcType?: FuncType | null;
  /** null: taken from the Python declaration (`@udf(concurrency=...)`). */
  readonly concurrency?: number | null;
  /** null: taken from the Python declaration (`@udf(io_threads=...)`). */
  readonly ioThreads?: number | null;
}

/**
 * "general": called once per row with Python values; "pandas": a vectorized
 * function, called once per batch with a pandas.Series per argument and
 * returning a Series of the same length.
 */
export type FuncType = 'general' | 'pandas';

export const FUNC_TYPES: readonly FuncType[] = ['general', 'pandas'];

/** The protocol carries concurrency and ioThreads as uint32; beyond this a value is a mistake, not a tuning. */
const MAX_CALLS_AT_ONCE = 1_000_000;

export interface UdfOptions {
  /** What a row that raises does: "fail" the job, make the result "null", "skip" the row, or "deadLetter" it. */
  readonly onError?: ErrorPolicy;
  /** "pandas" makes the callable a vectorized function (PyFlink's `func_type`). */
  readonly funcType?: FuncType;
  /** For an `async def` function: at most this many of its calls of one batch run at once (default 64). */
  readonly concurrency?: number;
  /** For a plain row function: its rows run on this many threads (for blocking I/O). */
  readonly ioThreads?: number;
}

/** udf()'s options-object form: the types and the options in one object. */
export interface UdfDeclaration extends UdfOptions {
  /** null or absent: taken from the Python declaration (`@udf(input_types=...)`). */
  readonly inputTypes?: readonly DataType[] | null;
  /** null or absent: taken from the Python declaration (`@udf(result_type=...)`). */
  readonly resultType?: DataType | null;
}

/**
 * Declares a Python scalar function: positionally, `udf(callable, inputTypes, resultType, options)`,
 * or with one object, `udf(callable, { inputTypes, resultType, concurrency, ... })`.
 *
 * @example
 * const add = udf('lambda i, j: i + j', [DataTypes.BIGINT(), DataTypes.BIGINT()], DataTypes.BIGINT());
 * const fadd = udf('my_udfs.add'); // types from my_udfs.py's @udf(...) declaration
 * const lenient = udf('my_udfs.parse', null, null, { onError: 'null' });
 * const vadd = udf('lambda a, b: a + b', [DataTypes.DOUBLE(), DataTypes.DOUBLE()], DataTypes.DOUBLE(), { funcType: 'pandas' });
 * const fetch = udf('my_udfs.fetch', { resultType: DataTypes.STRING(), concurrency: 100 });
 */
export function udf(callable: string, declaration: UdfDeclaration): PythonFunction;
export function udf(
  callable: string,
  inputTypes?: readonly DataType[] | null,
  resultType?: DataType | null,
  options?: UdfOptions,
): PythonFunction;
export function udf(
  callable: string,
  typesOrDeclaration?: readonly DataType[] | UdfDeclaration | null,
  resultTypeArgument?: DataType | null,
  optionsArgument: UdfOptions = {},
): PythonFunction {
  const isDeclaration = typesOrDeclaration != null && !Array.isArray(typesOrDeclaration) && !(typesOrDeclaration instanceof DataType);
  if (isDeclaration && (resultTypeArgument != null || arguments.length > 3)) {
    throw new PyUdfError('INVALID_ARGUMENT', `udf(${JSON.stringify(callable)}): with an options object as second argument, pass the result type and options in it, not after it`);
  }
  const declaration = isDeclaration ? typesOrDeclaration as UdfDeclaration : undefined;
  const inputTypes = declaration ? declaration.inputTypes : typesOrDeclaration as readonly DataType[] | null | undefined;
  const resultType = declaration ? declaration.resultType : resultTypeArgument;
  const options: UdfOptions = declaration ?? optionsArgument;
  if (typeof callable !== 'string' || callable.trim() === '') {
    throw new PyUdfError('INVALID_ARGUMENT', `udf: callable must be a Python expression such as 'lambda i, j: i + j' or 'my_udfs.add', got ${String(callable)}`);
  }
  if (inputTypes != null) {
    if (!Array.isArray(inputTypes)) {
      throw new PyUdfError('INVALID_ARGUMENT', `udf(${JSON.stringify(callable)}): inputTypes must be an array of DataTypes`);
    }
    inputTypes.forEach((t, i) => {
      if (!(t instanceof DataType)) {
        throw new PyUdfError('INVALID_ARGUMENT', `udf(${JSON.stringify(callable)}): inputTypes[${i}] is not a DataType: ${String(t)}`);
      }
    });
  }
  if (resultType != null && !(resultType instanceof DataType)) {
    throw new PyUdfError('INVALID_ARGUMENT', `udf(${JSON.stringify(callable)}): resultType is not a DataType: ${String(resultType)}`);
  }
  if (options.onError !== undefined && !ERROR_POLICIES.includes(options.onError)) {
    throw new PyUdfError('INVALID_ARGUMENT', `udf(${JSON.stringify(callable)}): onError must be one of ${ERROR_POLICIES.join(', ')}, got ${String(options.onError)}`);
  }
  if (options.funcType !== undefined && !FUNC_TYPES.includes(options.funcType)) {
    throw new PyUdfError('INVALID_ARGUMENT', `udf(${JSON.stringify(callable)}): funcType must be one of ${FUNC_TYPES.join(', ')}, got ${String(options.funcType)}`);
  }
  for (const option of ['concurrency', 'ioThreads'] as const) {
    const value = options[option];
    if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_CALLS_AT_ONCE)) {
      throw new PyUdfError('INVALID_ARGUMENT', `udf(${JSON.stringify(callable)}): ${option} must be an integer from 1 to ${MAX_CALLS_AT_ONCE}, got ${String(value)}`);
    }
  }
  return Object.freeze({
    kind: 'python-function',
    callable: callable.trim(),
    inputTypes: inputTypes == null ? null : Object.freeze([...inputTypes]),
    resultType: resultType ?? null,
    onError: options.onError ?? null,
    funcType: options.funcType ?? null,
    concurrency: options.concurrency ?? null,
    ioThreads: options.ioThreads ?? null,
  });
}

export function isPythonFunction(value: unknown): value is PythonFunction {
  return typeof value === 'object' && value !== null && (value as PythonFunction).kind === 'python-function';
}

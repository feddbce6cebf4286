import { PyUdfError } from '../errors.js';
import { ERROR_POLICIES } from '../execution/udf-errors.js';
import { DataType } from '../types/data-types.js';
import type { PythonFunction, UdfOptions } from './python-function.js';

function checkTypes(what: string, name: string, types: readonly DataType[] | null | undefined): readonly DataType[] | null {
  if (types == null) return null;
  if (!Array.isArray(types)) throw new PyUdfError('INVALID_ARGUMENT', `${what}: ${name} must be an array of DataTypes`);
  types.forEach((t, i) => {
    if (!(t instanceof DataType)) throw new PyUdfError('INVALID_ARGUMENT', `${what}: ${name}[${i}] is not a DataType: ${String(t)}`);
  });
  return Object.freeze([...types]);
}

function declaration(
  kind: 'udtf' | 'udaf' | 'udtaf',
  callable: string,
  inputTypes: readonly DataType[] | null | undefined,
  options: UdfOptions,
): { what: string; callable: string; inputTypes: readonly DataType[] | null } {
  if (typeof callable !== 'string' || callable.trim() === '') {
    throw new PyUdfError('INVALID_ARGUMENT', `${kind}: callable must be a Python expression such as 'my_udfs.split', got ${String(callable)}`);
  }
  const what = `${kind}(${JSON.stringify(callable)})`;
  if (options.onError !== undefined && !ERROR_POLICIES.includes(options.onError)) {
    throw new PyUdfError('INVALID_ARGUMENT', `${what}: onError must be one of ${ERROR_POLICIES.join(', ')}, got ${String(options.onError)}`);
  }
  return { what, callable: callable.trim(), inputTypes: checkTypes(what, 'inputTypes', inputTypes) };
}

/**
 * Declares a Python table function: for each row it yields zero, one or
 * many rows (a tuple each, or a single value for one result column). Join
 * them with `table.joinLateral('split(line) AS (word, length)')`.
 *
 * @example
 * const split = udtf('lambda line: ((w, len(w)) for w in line.split())', [DataTypes.STRING()], [DataTypes.STRING(), DataTypes.INT()]);
 * const fromPython = udtf('my_udfs.split'); // types from my_udfs.py's @udtf(...) declaration
 */
export function udtf(
  callable: string,
  inputTypes?: readonly DataType[] | null,
  resultTypes?: readonly DataType[] | null,
  options: UdfOptions = {},
): PythonFunction {
  const checked = declaration('udtf', callable, inputTypes, options);
  const results = checkTypes(checked.what, 'resultTypes', resultTypes);
  if (results !== null && results.length === 0) {
    throw new PyUdfError('INVALID_ARGUMENT', `${checked.what}: resultTypes is empty; a table function has at least one result column`);
  }
  return Object.freeze({
    kind: 'python-function',
    callable: checked.callable,
    inputTypes: checked.inputTypes,
    resultType: null,
    onError: options.onError ?? null,
    category: 'table',
    resultTypes: results,
  });
}

/**
 * Declares a Python aggregate function: an `AggregateFunction` (class or
 * instance) or a `udaf(..., func_type="pandas")` function. Use it in
 * `table.groupBy('k').select('k, my_avg(v) AS m')` or `table.select('my_avg(v)')`.
 *
 * `onError` applies to rows on which accumulate() raises: "fail" the job
 * (default), or leave the row out of its group ("null", "skip") or also
 * write it to the dead letters ("deadLetter"). A get_value() or merge() that
 * raises always fails the job.
 *
 * @example
 * const myAvg = udaf('my_udfs.MyAvg', [DataTypes.DOUBLE()], DataTypes.DOUBLE());
 */
export function udaf(
  callable: string,
  inputTypes?: readonly DataType[] | null,
  resultType?: DataType | null,
  options: UdfOptions = {},
): PythonFunction {
  const checked = declaration('udaf', callable, inputTypes, options);
  if (resultType != null && !(resultType instanceof DataType)) {
    throw new PyUdfError('INVALID_ARGUMENT', `${checked.what}: resultType is not a DataType: ${String(resultType)}`);
  }
  return Object.freeze({
    kind: 'python-function',
    callable: checked.callable,
    inputTypes: checked.inputTypes,
    resultType: resultType ?? null,
    onError: options.onError ?? null,
    category: 'aggregate',
  });
}

/**
 * Declares a Python table aggregate function: a `TableAggregateFunction`
 * (class or instance) whose `emit_value(acc)` yields each group's rows, of
 * the ROW `resultType`. Use it in `table.groupBy('k').flatAggregate('top2(v)')`.
 *
 * @example
 * const top2 = udtaf('my_udfs.Top2', [DataTypes.BIGINT()], DataTypes.ROW([DataTypes.FIELD('v', DataTypes.BIGINT())]));
 */
export function udtaf(
  callable: string,
  inputTypes?: readonly DataType[] | null,
  resultType?: DataType | null,
  options: UdfOptions = {},
): PythonFunction {
  const checked = declaration('udtaf', callable, inputTypes, options);
  if (resultType != null && (!(resultType instanceof DataType) || resultType.name !== 'ROW')) {
    throw new PyUdfError('INVALID_ARGUMENT', `${checked.what}: resultType must be a ROW of the emitted rows' columns, e.g. DataTypes.ROW([DataTypes.FIELD('v', DataTypes.BIGINT())]), got ${String(resultType)}`);
  }
  return Object.freeze({
    kind: 'python-function',
    callable: checked.callable,
    inputTypes: checked.inputTypes,
    resultType: resultType ?? null,
    onError: options.onError ?? null,
    category: 'table_aggregate',
  });
}

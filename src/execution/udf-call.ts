import type * as arrow from 'apache-arrow';
import { PyUdfError, UdfError, WorkerError } from '../errors.js';
import { valueAt } from '../batches/vectors.js';
import type { UdfErrorMessage } from '../protocol/contract.js';
import { describe, type SqlValue } from '../types/values.js';
import type { CallOutcome } from '../workers/worker-client.js';
import type { WorkerPool } from '../workers/worker-pool.js';
import type { JobMetrics } from './job-metrics.js';
import type { UdfErrorHandling } from './udf-errors.js';

/** How the workers' errors read the argument row they name: the workers send columns and never read values themselves. */
export const readArgumentRow = (columns: readonly arrow.Vector[], row: number): SqlValue[] => columns.map((c) => valueAt(c, row));

/** One call of a Python function on a batch of arguments, as the operator making it sees it. */
export interface UdfCall {
  readonly name: string;
  readonly args: readonly arrow.Vector[];
  /**
   * Set when the call covers a batch's rows one for one: a vectorized
   * function's error on the whole batch is then every row's, and a failure
   * names the batch.
   */
  readonly numRows?: number;
  /** Sends the call to a worker of `pool`. */
  readonly send: (pool: WorkerPool) => Promise<CallOutcome>;
  /** The failure the job fails with when the function raised and the worker gave up on the batch. */
  readonly failure: (error: UdfErrorMessage) => Error;
  /** Throws when the reply's columns do not have the shape the call asked for. */
  readonly checkReply?: (columns: readonly arrow.Vector[]) => void;
  /** Leaves rows out of the operator's result (the error policies skip and deadLetter). */
  readonly dropRows: (rows: readonly number[]) => void;
}

/** Where the figures and the row errors of a job's calls go. */
export interface CallAccounting {
  readonly udfErrors: UdfErrorHandling;
  readonly metrics?: JobMetrics;
}

export interface UdfReply {
  readonly columns: readonly arrow.Vector[];
  /** Rows on which the function raised and whose results the "null" policy keeps, as NULL. */
  readonly nulledRows: readonly number[];
}

/**
 * A call on the workers from start to end, the same for scalar functions,
 * table functions and aggregates: the call, its failure as a typed error, the
 * figures the worker measured, then the function's error policy on the rows
 * that raised.
 */
export async function callUdf(pool: WorkerPool | null, call: UdfCall, accounting: CallAccounting): Promise<UdfReply> {
  if (pool === null) throw new PyUdfError('UNKNOWN_FUNCTION', `function "${call.name}" is not loaded in any worker`);
  const outcome = await call.send(pool);
  if (!outcome.ok) throw call.failure(outcome.error);
  call.checkReply?.(outcome.columns);
  accounting.metrics?.recordCall(call.name, outcome.stats);
  const nulledRows = await absorbRowErrors(call.name, outcome.rowErrors, call.args, accounting.udfErrors, call.dropRows, call.numRows);
  return { columns: outcome.columns, nulledRows };
}

/**
 * Applies a function's error policy to the rows on which it raised: "fail"
 * throws the first; the others count them, and "skip" and "deadLetter" drop
 * them ("deadLetter" after sending them). Returns the rows "null" keeps.
 */
async function absorbRowErrors(
  name: string,
  rowErrors: readonly UdfErrorMessage[],
  args: readonly arrow.Vector[],
  udfErrors: UdfErrorHandling,
  dropRows: (rows: readonly number[]) => void,
  numRows?: number,
): Promise<readonly number[]> {
  if (rowErrors.length === 0) return [];
  const policy = udfErrors.policyOf(name);
  // The worker goes on past a failing row only for functions with a policy other than fail.
  if (policy === 'fail') throw udfFailure(name, rowErrors[0]!, args, numRows);
  // A vectorized function fails a batch as a whole (row -1): the error is every row's.
  if (numRows !== undefined) rowErrors = rowErrors.flatMap((e) => (e.rowIndex >= 0 ? [e] : everyRow(e, numRows)));
  const rows = rowErrors.map((e) => e.rowIndex);
  udfErrors.count(name, rows.length);
  if (policy === 'deadLetter') {
    await udfErrors.send(rowErrors.map((e) => ({
      function: name,
      arguments: readArgumentRow(args, e.rowIndex),
      exceptionType: e.exceptionType,
      message: e.message,
      traceback: e.traceback,
      sourceLocation: e.sourceLocation,
    })));
  }
  if (policy === 'skip' || policy === 'deadLetter') dropRows(rows);
  return policy === 'null' ? rows : [];
}

function everyRow(error: UdfErrorMessage, numRows: number): UdfErrorMessage[] {
  return Array.from({ length: numRows }, (_, rowIndex) => ({ ...error, rowIndex }));
}

/** A scalar or table function's failure on a row (or, vectorized, a batch), named with the call. */
export function udfFailure(name: string, e: UdfErrorMessage, args: readonly arrow.Vector[], numRows?: number): UdfError | WorkerError {
  if (e.exceptionType === 'pyudf.InternalError') {
    // The worker, not the user's function, failed on this batch.
    return new WorkerError('WORKER_CRASHED', `Python worker failed while running "${name}": ${e.message}`, {});
  }
  const row = e.rowIndex >= 0 ? readArgumentRow(args, e.rowIndex) : undefined;
  const call = row ? `${name}(${row.map(describe).join(', ')})` : numRows !== undefined ? `${name} on a batch of ${numRows} row(s)` : name;
  const where = e.sourceLocation ? ` at ${e.sourceLocation}` : '';
  if (e.phase === 'result') {
    return new UdfError('UDF_RESULT_TYPE', `Python function "${name}" ${e.message}${where}; call: ${call}`, {
      functionName: name, phase: 'result', pythonType: e.exceptionType, pythonMessage: e.message,
      pythonTraceback: e.traceback, sourceLocation: e.sourceLocation, row,
    });
  }
  return new UdfError('UDF_FAILED', `Python function "${name}" raised ${e.exceptionType}: ${e.message}${where}; call: ${call}\n${e.traceback}`, {
    functionName: name, phase: 'eval', pythonType: e.exceptionType, pythonMessage: e.message,
    pythonTraceback: e.traceback, sourceLocation: e.sourceLocation, row,
  });
}

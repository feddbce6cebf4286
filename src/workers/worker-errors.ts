import type * as arrow from 'apache-arrow';
import { UdfError, UdfOutOfMemoryError, WorkerError, type UdfPhase } from '../errors.js';
import type { FunctionSpecMessage, UdfErrorMessage } from '../protocol/contract.js';
import { describe, type SqlValue } from '../types/values.js';
import type { ConnectionLost, LoadTimedOut, WorkerOutOfMemory } from './worker-client.js';
import type { MemorySearch } from './poison-row-search.js';

/**
 * Reads row `row` of a call's argument columns as values. The caller gives
 * it: the workers send columns and never read values themselves, yet the
 * errors that blame a row name its values.
 */
export type ArgumentRowReader = (columns: readonly arrow.Vector[], row: number) => readonly SqlValue[];

/** MemoryError and its subclasses (pyarrow's ArrowMemoryError, numpy's _ArrayMemoryError). */
export function isMemoryError(error: UdfErrorMessage): boolean {
  return /MemoryError$/.test(error.exceptionType);
}

export function loadError(error: UdfErrorMessage, memoryLimitMb: number | null = null): UdfError {
  if (isMemoryError(error)) {
    const where = error.phase === 'open' ? 'in open()' : 'while loading';
    return new UdfOutOfMemoryError(`Python function "${error.functionName}" ran out of memory ${where} (${error.exceptionType}: ${error.message})${error.sourceLocation ? ` at ${error.sourceLocation}` : ''}; ${memoryAdvice(memoryLimitMb)}${error.traceback ? `\n${error.traceback}` : ''}`, {
      functionName: error.functionName, phase: error.phase as 'load' | 'open', pythonType: error.exceptionType, pythonMessage: error.message,
      pythonTraceback: error.traceback, sourceLocation: error.sourceLocation, memoryLimitMb, evidence: error.exceptionType,
    });
  }
  const code = error.exceptionType === 'SignatureMismatch' ? 'UDF_SIGNATURE_MISMATCH' : 'UDF_LOAD_FAILED';
  const where = error.sourceLocation ? ` (${error.sourceLocation})` : '';
  const phase = error.phase === 'open' ? 'open() failed' : 'failed to load';
  return new UdfError(code, `Python function "${error.functionName}" ${phase}${where}: ${error.exceptionType}: ${error.message}${error.traceback ? `\n${error.traceback}` : ''}`, {
    functionName: error.functionName,
    phase: error.phase as 'load' | 'open',
    pythonType: error.exceptionType,
    pythonMessage: error.message,
    pythonTraceback: error.traceback,
    sourceLocation: error.sourceLocation,
  });
}

export function loadTimeoutError(timeout: LoadTimedOut, functions: readonly FunctionSpecMessage[]): UdfError {
  const functionName = timeout.phase?.function ?? functions[0]?.name ?? '';
  const phase = timeout.phase?.phase ?? 'load';
  return new UdfError('UDF_TIMEOUT', `Python function "${functionName}" did not start in time: ${timeout.message}; raise functionLoadTimeoutMs (0 turns the limit off) if loading rightly takes longer`, {
    functionName, phase, pythonType: '', pythonMessage: timeout.message, pythonTraceback: timeout.stderr, sourceLocation: '',
  });
}

/** A worker that exited between its start and its handshake. */
export function exitedStartingError(pid: number | undefined, exit: { exitCode: number | null; signal: string | null }, stderr: string, cause: unknown): WorkerError {
  return new WorkerError('WORKER_START_FAILED', `Python worker (pid ${pid}) exited before it was ready (exit code ${exit.exitCode}, signal ${exit.signal})`, {
    exitCode: exit.exitCode, signal: exit.signal, stderr, cause,
  });
}

/** The functions' close() at a job's end outlived its deadline on one worker. */
export function closeTimeoutError(functions: readonly FunctionSpecMessage[], pid: number | undefined, deadlineMs: number, error: unknown): WorkerError {
  const names = functions.map((f) => `"${f.name}"`).join(', ');
  return new WorkerError('WORKER_TIMEOUT', `close() of ${names} on worker (pid ${pid}) did not finish within ${deadlineMs} ms, so close() of these functions may not have run to its end: ${(error as Error).message}`, { cause: error });
}

/** A call of `functionName` not answered within callTimeoutMs (`timeout` is the worker's WORKER_TIMEOUT). */
export function callTimeoutError(functionName: string, timeout: WorkerError, phase: UdfPhase): UdfError {
  return new UdfError('UDF_TIMEOUT', `Python function "${functionName}" ${timeout.message.replace(/^a call of "[^"]*" /, '')}`, {
    functionName, phase, pythonType: '', pythonMessage: '', pythonTraceback: '', sourceLocation: '',
  });
}

export function lostAccumulatorsError(functionName: string, phase: UdfPhase, holders: readonly string[], crash: WorkerError): UdfError {
  const how = crash.signal ? `signal ${crash.signal}` : `exit code ${crash.exitCode}`;
  const names = holders.map((h) => `"${h}"`).join(', ');
  return new UdfError('UDF_CRASHED', `Python worker died (${how}) during a call of "${functionName}" (${phase}) while it held the accumulators of aggregate function ${names}: the rows accumulated there cannot be replayed, so the job fails${crash.stderr ? `\n${crash.stderr.trim()}` : ''}`, {
    functionName, phase, pythonType: '', pythonMessage: crash.message, pythonTraceback: crash.stderr, sourceLocation: '',
  });
}

/** `row`: the one row that kills the worker alone, when the poison-row search found one. */
export function crashedError(functionName: string, crash: WorkerError, row: readonly SqlValue[] | undefined, crashes: number): UdfError {
  const how = crash.signal ? `signal ${crash.signal}` : `exit code ${crash.exitCode}`;
  const culprit = row
    ? `; the row that does it: ${functionName}(${row.map(describe).join(', ')})`
    : `, but no single row of the batch does it alone (the last death: ${how}): the cause lies outside any one row, such as memory exhaustion, a signal from outside, or state built up over many rows`;
  return new UdfError('UDF_CRASHED', `Python function "${functionName}" killed its worker ${crashes} time(s) (${how})${culprit}${crash.stderr ? `\n${crash.stderr.trim()}` : ''}`, {
    functionName, phase: 'eval', pythonType: '', pythonMessage: crash.message, pythonTraceback: crash.stderr, sourceLocation: '', row,
  });
}

function memoryAdvice(limitMb: number | null): string {
  return limitMb !== null
    ? `its worker's memory limit is ${limitMb} MiB (workerMemoryLimitMb): raise it, or lower bundleSize (rows per batch) or parallelism, or make the function use less memory`
    : 'its worker has no memory limit of its own (workerMemoryLimitMb), so the machine\'s or container\'s memory ran out: give the job more memory, lower bundleSize (rows per batch) or parallelism, or set workerMemoryLimitMb so that a function that asks for too much fails with MemoryError instead of being killed';
}

/**
 * The function raised MemoryError: `row` is the row it raised it on (the
 * error's rowIndex), undefined when it raised it for the batch of `batchRows` rows.
 */
export function memoryErrorRaised(
  functionName: string, e: UdfErrorMessage, limitMb: number | null, row: readonly SqlValue[] | undefined, batchRows: number,
): UdfOutOfMemoryError {
  const on = row ? ` on the row ${functionName}(${row.map(describe).join(', ')})` : ` on a batch of ${batchRows} row(s)`;
  return new UdfOutOfMemoryError(`Python function "${functionName}" ran out of memory (${e.exceptionType}${e.message ? `: ${e.message}` : ''})${on}${e.sourceLocation ? ` at ${e.sourceLocation}` : ''}; ${memoryAdvice(limitMb)}${e.traceback ? `\n${e.traceback}` : ''}`, {
    functionName, phase: 'eval', pythonType: e.exceptionType, pythonMessage: e.message, pythonTraceback: e.traceback,
    sourceLocation: e.sourceLocation, row, memoryLimitMb: limitMb, evidence: e.exceptionType,
  });
}

/** The worker was killed for its memory; `found` is what the search for a row found (null: no search), `row` that row's values. */
export function outOfMemoryKilledError(
  functionName: string, death: WorkerOutOfMemory, deaths: number, found: MemorySearch | null, row: readonly SqlValue[] | undefined,
): UdfOutOfMemoryError {
  const culprit = row
    ? `; the row it ran out on alone: ${functionName}(${row.map(describe).join(', ')})`
    : found && 'bothHalves' in found && found.bothHalves
      ? '; both halves of the batch ran it out of memory too, so no single row is to blame and the search stopped there'
      : found ? '; no single row runs it out of memory alone: the memory was built up over many rows' : '';
  return new UdfOutOfMemoryError(`Python function "${functionName}" ran its worker out of memory ${deaths} time(s): ${death.evidence}${culprit}; ${memoryAdvice(death.memoryLimitMb)}`, {
    functionName, phase: 'eval', pythonType: '', pythonMessage: death.message, pythonTraceback: death.stderr, sourceLocation: '',
    row, memoryLimitMb: death.memoryLimitMb, evidence: death.evidence,
  });
}

export function connectionLostError(functionName: string, loss: ConnectionLost, losses: number, row: readonly SqlValue[] | undefined, numRows: number): UdfError {
  const on = row ? `, on the row ${functionName}(${row.map(describe).join(', ')})` : `, on a batch of ${numRows} row(s)`;
  return new UdfError('UDF_CRASHED', `Python function "${functionName}" broke its worker's gRPC connection${on}: ${loss.message}. This happened ${losses} time(s) in the job, more than maxWorkerRestarts allows: a function must not close file descriptors or sockets it did not open`, {
    functionName, phase: 'eval', pythonType: '', pythonMessage: loss.message, pythonTraceback: loss.stderr, sourceLocation: '', row,
  });
}

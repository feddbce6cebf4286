import type * as arrow from 'apache-arrow';
import { ExpressionError, PyUdfError, UdfError, WorkerError } from '../errors.js';
import { readCsv } from '../io/csv-source.js';
import { readColumns } from '../io/columns-source.js';
import { readStream } from '../io/stream-source.js';
import { readEngine } from '../engine/engine-stages.js';
import { engineReadsCsv, readCsvInEngine } from '../engine/csv-tables.js';
import type { DuckdbEngine } from '../engine/duckdb-engine.js';
import type { CsvTableDefinition } from '../table/descriptors.js';
import type { Sink } from '../io/sink.js';
import { compileExpr, type CompiledExpr, type EvalContext, type FunctionSignature } from '../planning/compile.js';
import { callsAggregate } from '../planning/aggregates.js';
import { compileAggregate } from './aggregation.js';
import { compileLateralJoin } from './lateral-join.js';
import { checkRowFunction, compilePackRow, compileUnpackRow } from './row-columns.js';
import type { PlanNode } from '../planning/plan.js';
import type { Field, TableSchema } from '../table/schema.js';
import { describe, type SqlValue } from '../types/values.js';
import type { WorkerPool } from '../workers/worker-pool.js';
import type { UdfErrorMessage } from '../protocol/contract.js';
import type { UdfErrorHandling } from './udf-errors.js';
import type { JobMetrics } from './job-metrics.js';
import type { SkippedInput } from './skipped-input.js';
import { rowAt, takeRows, valueAt, type Batch } from './vectors.js';

export interface RunOptions {
  /** Set by runPlan for its source: whether no batch is being processed. */
  readonly pipelineIdle?: () => boolean;
  readonly udfErrors: UdfErrorHandling;
  readonly inputErrors: SkippedInput;
  readonly batchSize: number;
  /** A batch is sent once its first row is this old, full or not. */
  readonly batchTimeMs: number;
  /** Batches being processed at once, across all workers; bounds memory and keeps workers busy. */
  readonly maxInFlight: number;
  readonly signal?: AbortSignal;
  /** Collects what the workers measured per batch. */
  readonly metrics?: JobMetrics;
  /** The job's engine, which reads large CSV files (and any, once open) faster than csv-parse. */
  readonly engine?: DuckdbEngine;
}

export type Operator = (batch: Batch, context: OperatorContext) => Promise<Batch>;

export interface CompiledPlan {
  readonly schema: TableSchema;
  /** `pool` is null when the job calls no function. */
  readonly source: (options: RunOptions, pool: WorkerPool | null) => AsyncGenerator<Batch>;
  readonly operators: readonly Operator[];
}

/** Types a plan against the workers' function signatures and turns it into batch operators. */
export function compilePlan(plan: PlanNode, functions: ReadonlyMap<string, FunctionSignature>): CompiledPlan {
  if (plan.kind === 'scan') {
    const table = plan.table;
    return {
      schema: table.schema,
      source: (options) => {
        switch (table.kind) {
          case 'csv': return readCsvTable(plan.tableName, table, options);
          case 'columns': return readColumns(table, options.batchSize);
          case 'stream': return readStream(table, options);
          case 'engine': return readEngine(table, options.batchSize, options.signal);
          case 'file': throw new PyUdfError('INVALID_ARGUMENT', `table "${plan.tableName}" is read by the engine`);
        }
      },
      operators: [],
    };
  }
  if (plan.kind === 'engine') throw new PyUdfError('INVALID_ARGUMENT', `"${plan.text}" must run in the engine: resolve its stages first`);
  if (plan.kind === 'unpackRow') checkRowFunction(plan, functions);
  const input = compilePlan(plan.input, functions);
  const scope = { text: plan.text, columns: input.schema, functions };
  if (plan.kind === 'lateralJoin') return compileLateralJoin(plan, input, functions);
  if (plan.kind === 'packRow') return compilePackRow(plan, input);
  if (plan.kind === 'unpackRow') return compileUnpackRow(plan, input);
  if (plan.kind === 'aggregate' || (plan.kind === 'project' && callsAggregate(plan.items, functions))) {
    return compileAggregate(plan.kind === 'aggregate' ? plan : { ...plan, keys: [] }, input, functions, runPlan);
  }
  if (plan.kind === 'filter') {
    const predicate = compileExpr(plan.predicate, scope);
    if (predicate.type.name !== 'BOOLEAN') {
      throw new ExpressionError('EXPRESSION_TYPE', `filter "${plan.text}" is ${predicate.type.name}, not BOOLEAN`, { expression: plan.text });
    }
    const types = input.schema.map((f) => f.type);
    const filter: Operator = async (batch, context) => {
      const keep = await predicate.evaluate(batch, context);
      const indices: number[] = [];
      for (let i = 0; i < batch.numRows; i++) if (valueAt(keep, i) === true && !context.dropped.has(i)) indices.push(i);
      return indices.length === batch.numRows ? batch : takeRows(batch, indices, types);
    };
    return { schema: input.schema, source: input.source, operators: [...input.operators, filter] };
  }
  const items: CompiledExpr[] = plan.items.map((item) => compileExpr(item.expr, scope));
  const schema: Field[] = items.map((compiled, i) => Object.freeze({ name: plan.columns[i]!, type: compiled.type }));
  const types = schema.map((f) => f.type);
  const project: Operator = async (batch, context) => {
    const out = { numRows: batch.numRows, columns: await Promise.all(items.map((item) => item.evaluate(batch, context))) };
    if (context.dropped.size === 0) return out;
    const kept: number[] = [];
    for (let i = 0; i < out.numRows; i++) if (!context.dropped.has(i)) kept.push(i);
    return takeRows(out, kept, types);
  };
  return { schema: Object.freeze(schema), source: input.source, operators: [...input.operators, project] };
}

/** A CSV table's rows: read by the engine when it reads the file as csv-parse does, else by csv-parse. */
async function* readCsvTable(tableName: string, table: CsvTableDefinition, options: RunOptions): AsyncGenerator<Batch> {
  const inEngine = options.engine && engineReadsCsv(table, options.engine) ? await readCsvInEngine(options.engine, table, options.batchSize, options.signal) : null;
  if (inEngine) {
    yield* inEngine;
    return;
  }
  yield* readCsv(table, options, (error) => options.inputErrors.skip(tableName, error), (count) => options.inputErrors.blankLines(tableName, table.path, count));
}

/**
 * Runs a compiled plan into a sink: batches flow through the operators with
 * up to `maxInFlight` at once (spread over the workers) and reach the sink in
 * source order. The first failure stops the source and fails the run. The
 * sink is finished, not published: the caller publishes once the job succeeded.
 */
export async function runPlan(compiled: CompiledPlan, pool: WorkerPool | null, sink: Sink, options: RunOptions): Promise<number> {
  const inFlight: Promise<Batch>[] = [];
  let sequence = 0;
  let sourceDone = false;
  let failure: { error: unknown } | null = null;
  // The reader and the writer run side by side: a finished batch reaches the
  // sink at once (a trickle is not held back by a half-empty window), and the
  // reader waits only while `maxInFlight` batches are being processed.
  let wakeReader: (() => void) | null = null;
  let wakeWriter: (() => void) | null = null;
  const wake = (which: 'reader' | 'writer') => {
    const fn = which === 'reader' ? wakeReader : wakeWriter;
    if (which === 'reader') wakeReader = null;
    else wakeWriter = null;
    fn?.();
  };
  // A failure also stops the source, which may be waiting on a quiet input.
  const stopSource = new AbortController();
  let signalFailure!: () => void;
  const failed = new Promise<null>((resolve) => { signalFailure = () => resolve(null); });
  const fail = (error: unknown) => {
    failure ??= { error };
    stopSource.abort();
    signalFailure();
    wake('reader');
    wake('writer');
  };
  const source = compiled.source({
    ...options,
    pipelineIdle: () => inFlight.length === 0,
    signal: options.signal ? AbortSignal.any([options.signal, stopSource.signal]) : stopSource.signal,
  }, pool);
  const abortError = () => new PyUdfError('CLOSED', 'the job was cancelled', { cause: options.signal?.reason });
  const onAbort = () => fail(abortError());
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const read = async () => {
    try {
      for await (const batch of source) {
        if (failure) return;
        if (options.signal?.aborted) throw abortError();
        const worker = sequence++;
        let work = Promise.resolve(batch);
        // Each operator gets its own context: rows it drops are counted in its input.
        for (const operator of compiled.operators) work = work.then((b) => operator(b, batchContext(pool, worker, options.udfErrors, options.metrics)));
        work.catch(() => undefined); // awaited in order by the writer; this keeps a later failure from going unhandled
        inFlight.push(work);
        wake('writer');
        while (inFlight.length >= options.maxInFlight && !failure) await new Promise<void>((resolve) => { wakeReader = resolve; });
      }
    } catch (error) {
      fail(error);
    } finally {
      sourceDone = true;
      wake('writer');
    }
  };

  const write = async () => {
    try {
      for (;;) {
        if (failure) return;
        const next = inFlight[0];
        if (next === undefined) {
          if (sourceDone) return;
          await new Promise<void>((resolve) => { wakeWriter = resolve; });
          continue;
        }
        // A failure elsewhere (the source, a cancellation) must not wait for this batch.
        const batch = await Promise.race([next, failed]);
        if (batch === null) return;
        inFlight.shift();
        wake('reader');
        if (!failure) await sink.write(batch);
      }
    } catch (error) {
      fail(error);
    }
  };

  await Promise.all([read(), write()]);
  options.signal?.removeEventListener('abort', onAbort);
  if (!failure && options.signal?.aborted) failure = { error: abortError() };
  if (failure) {
    // Batches still in flight are left to fail when the workers are stopped;
    // each has a catch handler, and nothing writes to the sink any more.
    await source.return(undefined);
    await sink.abort();
    throw (failure as { error: unknown }).error;
  }
  return sink.finish();
}

/** An EvalContext over one operator's input batch, collecting the rows to drop. */
export interface OperatorContext extends EvalContext {
  readonly dropped: Set<number>;
  /** null when the plan calls no function: no worker is started for it. */
  readonly pool: WorkerPool | null;
  /** The batch's place in the source: which worker its calls go to. */
  readonly sequence: number;
  readonly udfErrors: UdfErrorHandling;
  /** Collects what the workers measured per batch, when the job keeps figures. */
  readonly metrics?: JobMetrics;
}

function batchContext(pool: WorkerPool | null, sequence: number, udfErrors: UdfErrorHandling, metrics: JobMetrics | undefined): OperatorContext {
  const dropped = new Set<number>();
  const scoped = (toBatchRow: (row: number) => number): EvalContext => ({
    callFunction: (name, args, numRows) => callFunction(pool, sequence, udfErrors, metrics, name, args, numRows, (rows) => {
      for (const row of rows) dropped.add(toBatchRow(row));
    }),
    dropRows: (rows) => { for (const row of rows) dropped.add(toBatchRow(row)); },
    forRows: (rows) => scoped((row) => toBatchRow(rows[row]!)),
    isDropped: (row) => dropped.has(toBatchRow(row)),
  });
  return Object.assign(scoped((row) => row), { dropped, pool, sequence, udfErrors, metrics });
}

async function callFunction(
  pool: WorkerPool | null,
  sequence: number,
  udfErrors: UdfErrorHandling,
  metrics: JobMetrics | undefined,
  name: string,
  args: readonly arrow.Vector[],
  numRows: number,
  dropRows: (rows: readonly number[]) => void,
): Promise<arrow.Vector> {
  if (pool === null) throw new PyUdfError('UNKNOWN_FUNCTION', `function "${name}" is not loaded in any worker`);
  const outcome = await pool.call(sequence % pool.size, name, args, numRows, (columns, row) => columns.map((c) => valueAt(c, row)));
  if (!outcome.ok) throw udfFailure(name, outcome.error, args, numRows);
  const result = outcome.columns[0];
  if (result?.length !== numRows) {
    throw new WorkerError('WORKER_CRASHED', `worker broke the protocol: it returned ${result?.length ?? 0} results for ${numRows} rows of "${name}"`, {});
  }
  metrics?.recordCall(name, outcome.stats);
  await absorbRowErrors(name, outcome.rowErrors, args, udfErrors, dropRows, numRows);
  return result;
}

/**
 * Applies a function's error policy to the rows on which it raised: "fail"
 * throws the first; the others count them, and "skip" and "deadLetter" drop
 * them ("deadLetter" after sending them). Returns the rows "null" keeps.
 */
export async function absorbRowErrors(
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
      arguments: args.map((a) => valueAt(a, e.rowIndex)),
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

export function udfFailure(name: string, e: UdfErrorMessage, args: readonly arrow.Vector[], numRows?: number): UdfError | WorkerError {
  if (e.exceptionType === 'pyudf.InternalError') {
    // The worker, not the user's function, failed on this batch.
    return new WorkerError('WORKER_CRASHED', `Python worker failed while running "${name}": ${e.message}`, {});
  }
  const row = e.rowIndex >= 0 ? args.map((a) => valueAt(a, e.rowIndex)) : undefined;
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

export function rowObject(schema: TableSchema, batch: Batch, index: number): Record<string, SqlValue> {
  const values = rowAt(batch, index);
  const row: Record<string, SqlValue> = {};
  schema.forEach((field, c) => { row[field.name] = values[c]!; });
  return row;
}

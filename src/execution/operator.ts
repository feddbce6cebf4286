import type { Batch } from '../batches/vectors.js';
import type { CsvPreloads } from '../engine/csv-tables.js';
import type { DuckdbEngine } from '../engine/duckdb-engine.js';
import type { TableSchema } from '../table/schema.js';
import type { WorkerPool } from '../workers/worker-pool.js';
import type { EvalContext } from './evaluate.js';
import type { JobMetrics } from './job-metrics.js';
import type { SkippedInput } from './skipped-input.js';
import type { UdfErrorHandling } from './udf-errors.js';

/*
 * The shapes every operator shares: a compiled plan is a source of batches
 * followed by operators, each turning one batch into the next with a context
 * of its own. The operators' modules and the pipeline that runs them all
 * import these, and none of them imports another's.
 */

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
  /** CSV tables the engine began loading while the workers started. */
  readonly csvPreloads?: CsvPreloads;
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

export type Operator = (batch: Batch, context: OperatorContext) => Promise<Batch>;

export interface CompiledPlan {
  readonly schema: TableSchema;
  /** `pool` is null when the job calls no function. */
  readonly source: (options: RunOptions, pool: WorkerPool | null) => AsyncGenerator<Batch>;
  readonly operators: readonly Operator[];
}

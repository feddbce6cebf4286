import { WorkerError } from '../errors.js';
import type { WorkerPool } from '../workers/worker-pool.js';
import type { JobMetrics } from './job-metrics.js';
import type { EvalContext } from './evaluate.js';
import type { OperatorContext } from './operator.js';
import { callUdf, udfFailure, readArgumentRow } from './udf-call.js';
import type { UdfErrorHandling } from './udf-errors.js';

/** The context each operator gets for one batch: its calls go to the batch's worker, its dropped rows are its own. */
export function batchContext(pool: WorkerPool | null, sequence: number, udfErrors: UdfErrorHandling, metrics: JobMetrics | undefined): OperatorContext {
  const dropped = new Set<number>();
  const scoped = (toBatchRow: (row: number) => number): EvalContext => {
    const dropRows = (rows: readonly number[]) => { for (const row of rows) dropped.add(toBatchRow(row)); };
    return {
      callFunction: async (name, args, numRows) => {
        const reply = await callUdf(pool, {
          name,
          args,
          numRows,
          send: (workers) => workers.call(sequence % workers.size, name, args, numRows, readArgumentRow),
          failure: (error) => udfFailure(name, error, args, numRows),
          checkReply: (columns) => {
            if (columns[0]?.length !== numRows) {
              throw new WorkerError('WORKER_CRASHED', `worker broke the protocol: it returned ${columns[0]?.length ?? 0} results for ${numRows} rows of "${name}"`, {});
            }
          },
          dropRows,
        }, { udfErrors, metrics });
        return reply.columns[0]!;
      },
      dropRows,
      forRows: (rows) => scoped((row) => toBatchRow(rows[row]!)),
      isDropped: (row) => dropped.has(toBatchRow(row)),
    };
  };
  return Object.assign(scoped((row) => row), { dropped, pool, sequence, udfErrors, metrics });
}

import { rowObject } from '../execution/run-plan.js';
import type { Batch } from '../execution/vectors.js';
import type { TableSchema } from '../table/schema.js';
import type { Row } from '../types/values.js';
import type { Sink } from './sink.js';

/** Gathers a job's rows as plain objects keyed by output column name. */
export function collectSink(schema: TableSchema, rows: Row[]): Sink {
  return {
    async write(batch: Batch) {
      for (let i = 0; i < batch.numRows; i++) rows.push(rowObject(schema, batch, i));
    },
    async finish() {
      return rows.length;
    },
    publish() {},
    async abort() {
      rows.length = 0;
    },
  };
}

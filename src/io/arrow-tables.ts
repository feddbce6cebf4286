import * as arrow from 'apache-arrow';
import type { Batch } from '../batches/vectors.js';
import type { TableSchema } from '../table/schema.js';
import { toArrowType } from '../types/arrow-types.js';
import type { Sink } from './sink.js';

/** Gathers a job's batches into an apache-arrow Table, column by column. */
export function arrowSink(schema: TableSchema): Sink & { table(): arrow.Table } {
  let batches: Batch[] = [];
  let rows = 0;
  return {
    async write(batch: Batch) {
      batches.push(batch);
      rows += batch.numRows;
    },
    async finish() { return rows; },
    publish() {},
    async abort() { batches = []; },
    table() {
      const columns: Record<string, arrow.Vector> = {};
      schema.forEach((field, c) => {
        const parts = batches.map((b) => b.columns[c]!);
        columns[field.name] = parts.length === 0
          ? arrow.vectorFromArray([], toArrowType(field.type)) as arrow.Vector
          : parts.slice(1).reduce((all, part) => all.concat(part), parts[0]!);
      });
      return new arrow.Table(columns);
    },
  };
}

import { PyUdfError } from '../errors.js';
import type { Batching } from './batching.js';
import { vectorOf, type Batch } from '../batches/vectors.js';
import type { TableSchema } from '../table/schema.js';
import { coerceValue, type SqlValue } from '../types/values.js';

/** Rows that arrive over time (an async iterable), each checked against the schema as it comes. */
export interface StreamTableDefinition {
  readonly kind: 'stream';
  readonly rows: AsyncIterable<readonly unknown[]> | Iterable<readonly unknown[]>;
  readonly schema: TableSchema;
}

/**
 * Cuts a stream of rows into batches of at most `batchSize`, sending a batch
 * once its first row is `batchTimeMs` old even when the stream is quiet, and
 * at once when it would wait for the next row with no batch in flight.
 * A stream can be read by one job only.
 */
export async function* readStream(table: StreamTableDefinition, batching: Batching): AsyncGenerator<Batch> {
  const { batchSize, batchTimeMs, signal } = batching;
  const pipelineIdle = batching.pipelineIdle ?? (() => false);
  const iterator = Symbol.asyncIterator in table.rows
    ? (table.rows as AsyncIterable<readonly unknown[]>)[Symbol.asyncIterator]()
    : (table.rows as Iterable<readonly unknown[]>)[Symbol.iterator]();
  const { schema } = table;
  let columns: SqlValue[][] = schema.map(() => []);
  let count = 0;
  let deadline = Infinity;
  let pending: Promise<IteratorResult<readonly unknown[]>> | null = null;
  let rowNumber = 0;
  const flush = (): Batch => {
    const batch = { numRows: count, columns: columns.map((values, c) => vectorOf(values, schema[c]!.type)) };
    columns = schema.map(() => []);
    count = 0;
    deadline = Infinity;
    return batch;
  };
  const aborted = new Promise<'aborted'>((resolve) => signal?.addEventListener('abort', () => resolve('aborted'), { once: true }));
  try {
    for (;;) {
      pending ??= Promise.resolve(iterator.next());
      let timer: NodeJS.Timeout | undefined;
      let immediate: NodeJS.Immediate | undefined;
      const waits: Promise<IteratorResult<readonly unknown[]> | 'timeout' | 'aborted'>[] = [pending, aborted];
      if (count > 0) {
        // A row at hand arrives (in microtasks) before setImmediate fires: only a row that
        // has to be waited for lets an idle pipeline's batch go early. (A zero setTimeout
        // would wait a whole millisecond.)
        if (pipelineIdle()) waits.push(new Promise((resolve) => { immediate = setImmediate(() => resolve('timeout')); }));
        else waits.push(new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now())); }));
      }
      const next = await Promise.race(waits);
      clearTimeout(timer);
      clearImmediate(immediate);
      if (next === 'aborted') throw new PyUdfError('CLOSED', 'the job was cancelled', { cause: signal?.reason });
      if (next === 'timeout') {
        yield flush();
        continue;
      }
      pending = null;
      if (next.done) break;
      const row = next.value;
      if (!Array.isArray(row) || row.length !== schema.length) {
        throw new PyUdfError('INVALID_ARGUMENT', `fromStream: row ${rowNumber} is not an array of ${schema.length} value(s)`);
      }
      schema.forEach((field, c) => columns[c]!.push(coerceValue(row[c], field.type, `fromStream: row ${rowNumber}, column "${field.name}"`)));
      rowNumber++;
      if (count++ === 0) deadline = Date.now() + batchTimeMs;
      if (count === batchSize) yield flush();
    }
  } finally {
    // An async generator's return() waits for its pending next(): on a quiet
    // stream that would never come, so it is not awaited then.
    const closing = Promise.resolve(iterator.return?.()).catch(() => undefined);
    if (pending === null) await closing;
  }
  if (count > 0) yield flush();
}

import * as arrow from 'apache-arrow';
import { valuesOf, type Batch } from '../batches/vectors.js';
import type { TableSchema } from '../table/schema.js';
import type { Row, SqlValue } from '../types/values.js';
import type { Sink } from './sink.js';

/** Gathers a job's rows as plain objects keyed by output column name. */
export function collectSink(schema: TableSchema, rows: Row[]): Sink {
  const makeRow = rowMaker(schema.map((f) => f.name));
  return {
    async write(batch: Batch) {
      appendRows(makeRow, batch, rows);
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

type RowMaker = (columns: readonly ArrayLike<SqlValue>[], index: number) => Row;

/**
 * A function building one row object from the columns at an index. It is
 * generated as one object literal so that V8 creates every row with one
 * hidden class in one allocation, about twice as fast as adding the keys one
 * by one; the names enter the source only as JSON string literals.
 */
export function rowMaker(names: readonly string[]): RowMaker {
  // A "__proto__" key in a literal would set the prototype; computed, it is an own property like any other.
  const fields = names.map((name, c) => `${name === '__proto__' ? `[${JSON.stringify(name)}]` : JSON.stringify(name)}: columns[${c}][index]`).join(', ');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('columns', 'index', `return { ${fields} };`) as RowMaker;
}

/** A batch's rows as objects, pushed onto `into`: each column read once, whole. */
export function appendRows(makeRow: RowMaker, batch: Batch, into: Row[]): void {
  const columns = batch.columns.map(columnValues);
  for (let i = 0; i < batch.numRows; i++) into.push(makeRow(columns, i));
}

/** A column's values: a number column without NULLs is its own typed array, read in place. */
export function columnValues(vector: arrow.Vector): ArrayLike<SqlValue> {
  const data = vector.data.length === 1 ? vector.data[0]! : null;
  // Int and Float only: DATE, TIME and TIMESTAMP are numbers in Arrow too, but strings in a row.
  const numbers = vector.type.typeId === arrow.Type.Int || vector.type.typeId === arrow.Type.Float;
  if (numbers && data !== null && data.nullCount === 0 && isSignedNumberArray(data.values) && data.values.length === data.length) {
    return data.values as unknown as ArrayLike<SqlValue>;
  }
  return valuesOf(vector);
}

// The layouts whose elements are the column's values as pyudf has them (unsigned and half-float ones are not).
function isSignedNumberArray(values: unknown): boolean {
  return values instanceof BigInt64Array || values instanceof Float64Array || values instanceof Int32Array
    || values instanceof Float32Array || values instanceof Int16Array || values instanceof Int8Array;
}

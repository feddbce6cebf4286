import * as arrow from 'apache-arrow';
import { PyUdfError } from '../errors.js';
import { vectorOf, type Batch } from '../execution/vectors.js';
import type { TableSchema } from '../table/schema.js';
import type { DataType } from '../types/data-types.js';
import { coerceValue } from '../types/values.js';

/** Columns given whole (typed arrays or value arrays), as Arrow vectors. */
export interface ColumnsTableDefinition {
  readonly kind: 'columns';
  readonly vectors: readonly arrow.Vector[];
  readonly numRows: number;
  readonly schema: TableSchema;
}

export type ColumnData = ArrayLike<unknown>;

// Typed arrays that are already a column's exact layout: taken without a copy.
const TYPED: Partial<Record<DataType['name'], new (...args: never[]) => ArrayLike<unknown>>> = {
  TINYINT: Int8Array, SMALLINT: Int16Array, INT: Int32Array, BIGINT: BigInt64Array, FLOAT: Float32Array, DOUBLE: Float64Array,
};

export function columnsTable(columns: Readonly<Record<string, ColumnData>>, schema: TableSchema): ColumnsTableDefinition {
  let numRows = -1;
  const vectors = schema.map((field) => {
    const data = columns[field.name];
    if (data === undefined || data === null || typeof (data as ArrayLike<unknown>).length !== 'number') {
      throw new PyUdfError('INVALID_ARGUMENT', `fromColumns: no column "${field.name}" (give an array or typed array per schema field)`);
    }
    if (numRows === -1) numRows = data.length;
    if (data.length !== numRows) {
      throw new PyUdfError('INVALID_ARGUMENT', `fromColumns: column "${field.name}" has ${data.length} value(s), the first column ${numRows}`);
    }
    const exact = TYPED[field.type.name];
    if (exact && data instanceof exact) return arrow.makeVector(data as unknown as BigInt64Array) as arrow.Vector;
    const values = Array.from(data, (v, r) => coerceValue(v, field.type, `fromColumns: column "${field.name}", row ${r}`));
    return vectorOf(values, field.type);
  });
  return Object.freeze({ kind: 'columns', vectors: Object.freeze(vectors), numRows: Math.max(numRows, 0), schema });
}

/** Zero-copy slices of the columns. */
export async function* readColumns(table: ColumnsTableDefinition, batchSize: number): AsyncGenerator<Batch> {
  for (let start = 0; start < table.numRows; start += batchSize) {
    const end = Math.min(start + batchSize, table.numRows);
    yield { numRows: end - start, columns: table.vectors.map((v) => v.slice(start, end)) };
  }
}

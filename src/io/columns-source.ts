import * as arrow from 'apache-arrow';
import { vectorOf, type Batch } from '../batches/vectors.js';
import type { DataType } from '../types/data-types.js';
import { toArrowType } from '../types/arrow-types.js';
import { formatDate } from '../types/temporal.js';
import type { SqlValue } from '../types/values.js';
import type { ColumnsTableDefinition, GivenColumn } from './columns-table.js';

/** Vectors made once per table, however many jobs read it. */
const VECTORS = new WeakMap<ColumnsTableDefinition, readonly arrow.Vector[]>();

function vectorOfColumn(column: GivenColumn, table: ColumnsTableDefinition, index: number): arrow.Vector {
  const type = table.schema[index]!.type;
  switch (column.kind) {
    case 'typed': return arrow.makeVector(column.data as unknown as BigInt64Array) as arrow.Vector;
    case 'values': return vectorOf(column.values, type);
    // A dictionary-encoded string column (apache-arrow's default for strings) is decoded once.
    case 'arrow': return arrow.DataType.isDictionary(column.vector.type) ? vectorOf([...column.vector] as SqlValue[], type) : asSqlLayout(column.vector, type);
  }
}

/** A column whose layout is not its SQL type's own (dates in milliseconds, a zone other than UTC) in that layout. */
function asSqlLayout(vector: arrow.Vector, sqlType: DataType): arrow.Vector {
  const wanted = toArrowType(sqlType);
  if (String(wanted) === String(vector.type)) return vector;
  if (arrow.DataType.isDate(vector.type)) {
    // Milliseconds since the epoch, whole days for a date.
    return vectorOf([...vector].map((ms) => (ms === null ? null : formatDate(Math.floor(Number(ms) / 86_400_000)))), sqlType);
  }
  // Same values, another label (a zone, a bit width): the buffers are shared.
  return new arrow.Vector(vector.data.map((data) => data.clone(wanted)));
}

function vectorsOf(table: ColumnsTableDefinition): readonly arrow.Vector[] {
  let vectors = VECTORS.get(table);
  if (!vectors) {
    vectors = table.columns.map((column, i) => vectorOfColumn(column, table, i));
    VECTORS.set(table, vectors);
  }
  return vectors;
}

/** Zero-copy slices of the columns. */
export async function* readColumns(table: ColumnsTableDefinition, batchSize: number): AsyncGenerator<Batch> {
  const vectors = vectorsOf(table);
  for (let start = 0; start < table.numRows; start += batchSize) {
    const end = Math.min(start + batchSize, table.numRows);
    yield { numRows: end - start, columns: vectors.map((v) => v.slice(start, end)) };
  }
}

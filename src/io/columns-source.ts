import * as arrow from 'apache-arrow';
import { vectorOf, type Batch } from '../execution/vectors.js';
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
    case 'arrow': return arrow.DataType.isDictionary(column.vector.type) ? vectorOf([...column.vector] as SqlValue[], type) : column.vector;
  }
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

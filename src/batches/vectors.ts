import * as arrow from 'apache-arrow';
import type { DataType } from '../types/data-types.js';
import { toArrowType } from '../types/arrow-types.js';
import type { SqlValue } from '../types/values.js';
import { columnData, isPlainArrowType, isPlainType, readValue } from './arrow-columns.js';

/** A batch of rows, column-wise: the unit that flows through a job and to workers. */
export interface Batch {
  readonly numRows: number;
  readonly columns: readonly arrow.Vector[];
}

export function vectorOf(values: readonly SqlValue[], type: DataType): arrow.Vector {
  if (isPlainType(type)) return arrow.vectorFromArray(values as unknown[], toArrowType(type)) as arrow.Vector;
  return new arrow.Vector([columnData(values, type)]);
}

export function constantVector(value: SqlValue, type: DataType, numRows: number): arrow.Vector {
  return vectorOf(new Array<SqlValue>(numRows).fill(value), type);
}

export function valueAt(vector: arrow.Vector, index: number): SqlValue {
  if (isPlainArrowType(vector.type)) {
    const value = vector.get(index) as SqlValue | undefined;
    return value === undefined ? null : value;
  }
  let local = index;
  for (const data of vector.data) {
    if (local < data.length) return readValue(data, local);
    local -= data.length;
  }
  return null;
}

export function valuesOf(vector: arrow.Vector): SqlValue[] {
  const out = new Array<SqlValue>(vector.length);
  if (isPlainArrowType(vector.type)) {
    for (let i = 0; i < vector.length; i++) out[i] = valueAt(vector, i);
    return out;
  }
  let i = 0;
  for (const data of vector.data) for (let j = 0; j < data.length; j++) out[i++] = readValue(data, j);
  return out;
}

/** The rows at `indices`, in that order. */
export function takeRows(batch: Batch, indices: readonly number[], types: readonly DataType[]): Batch {
  return {
    numRows: indices.length,
    columns: batch.columns.map((column, c) => vectorOf(indices.map((i) => valueAt(column, i)), types[c]!)),
  };
}

export function rowAt(batch: Batch, index: number): SqlValue[] {
  return batch.columns.map((column) => valueAt(column, index));
}

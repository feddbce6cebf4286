import * as arrow from 'apache-arrow';
import type duckdbBindings from '@duckdb/node-bindings';
import type { DuckDBAppender, DuckDBDataChunk, DuckDBType } from '@duckdb/node-api';
import { valueAt, vectorOf, type Batch } from '../batches/vectors.js';
import type { DataType } from '../types/data-types.js';
import { toArrowType } from '../types/arrow-types.js';
import type { SqlValue } from '../types/values.js';
import { fromDuckdb } from './duckdb-types.js';

/**
 * Moving batches between Arrow vectors and DuckDB data chunks column by
 * column: a fixed-width number column is copied as bytes (DuckDB's vectors
 * and Arrow's buffers have the same little-endian layout), so no value is
 * boxed on the way; other columns go value by value.
 */

type Bindings = typeof duckdbBindings;

// Loaded with the engine, not when pyudf is imported.
let loaded: { bindings: Bindings; createChunk: (types: readonly DuckDBType[], rows: number) => DuckDBDataChunk } | null = null;
async function load(): Promise<NonNullable<typeof loaded>> {
  if (loaded) return loaded;
  const [{ default: bindings }, { DuckDBDataChunk: Chunk }] = await Promise.all([import('@duckdb/node-bindings'), import('@duckdb/node-api')]);
  loaded = { bindings, createChunk: (types, rows) => Chunk.create(types, rows) };
  return loaded;
}

// Rows in one DuckDB data chunk (STANDARD_VECTOR_SIZE).
const CHUNK_ROWS = 2048;

type NumberArray = Int8Array | Int16Array | Int32Array | BigInt64Array | Float32Array | Float64Array;
type NumberArrayType = { new (length: number): NumberArray; readonly BYTES_PER_ELEMENT: number };

/** The pyudf number types whose DuckDB and Arrow layouts are the same fixed-width values. */
const FIXED_WIDTH: Partial<Record<DataType['name'], { duck: string; array: NumberArrayType }>> = {
  TINYINT: { duck: 'TINYINT', array: Int8Array },
  SMALLINT: { duck: 'SMALLINT', array: Int16Array },
  INT: { duck: 'INTEGER', array: Int32Array },
  BIGINT: { duck: 'BIGINT', array: BigInt64Array },
  FLOAT: { duck: 'FLOAT', array: Float32Array },
  DOUBLE: { duck: 'DOUBLE', array: Float64Array },
};

/** Whether a column of `type` read from DuckDB as `duckType` is copied as bytes. */
function copiedAsBytes(type: DataType, duckType: string): NumberArrayType | null {
  const fixed = FIXED_WIDTH[type.name];
  return fixed && fixed.duck === duckType ? fixed.array : null;
}

/** One output column being filled from successive data chunks. */
interface ColumnBuilder {
  add(chunk: DuckDBDataChunk, column: number, rows: number): void;
  finish(rows: number): arrow.Vector;
}

function fixedWidthBuilder(duckdb: Bindings, array: NumberArrayType, type: DataType, capacity: number): ColumnBuilder {
  const width = array.BYTES_PER_ELEMENT;
  const values = new array(capacity);
  const bytes = new Uint8Array(values.buffer);
  let validity: Uint8Array | null = null;
  let nulls = 0;
  let filled = 0;
  return {
    add(chunk, column, rows) {
      const vector = duckdb.data_chunk_get_vector(chunk.chunk, column);
      bytes.set(duckdb.vector_get_data(vector, rows * width), filled * width);
      const mask = duckdb.vector_get_validity(vector, Math.ceil(rows / 64) * 8) as Uint8Array | null | undefined;
      if (mask) {
        // DuckDB's validity words and Arrow's bitmap are both bit i = row i, least significant first.
        validity ??= new Uint8Array(Math.ceil(capacity / 8)).fill(0xff);
        for (let i = 0; i < rows; i++) {
          if ((mask[i >> 3]! & (1 << (i & 7))) === 0) {
            const at = filled + i;
            validity[at >> 3] = validity[at >> 3]! & ~(1 << (at & 7));
            nulls++;
          }
        }
      }
      filled += rows;
    },
    finish(rows) {
      const data = arrow.makeData({
        type: toArrowType(type) as arrow.Int64,
        length: rows,
        nullCount: nulls,
        data: values.subarray(0, rows) as BigInt64Array,
        nullBitmap: nulls > 0 ? validity!.subarray(0, Math.ceil(rows / 8)) : undefined,
      });
      return arrow.makeVector(data) as arrow.Vector;
    },
  };
}

function valueBuilder(type: DataType): ColumnBuilder {
  const values: SqlValue[] = [];
  return {
    add(chunk, column) {
      for (const v of chunk.getColumnValues(column)) values.push(fromDuckdb(v, type));
    },
    finish() {
      return vectorOf(values, type);
    },
  };
}

/**
 * Reads a DuckDB result's chunks as batches of at least `batchSize` rows
 * (the last may be shorter), each column built once per batch.
 */
export async function* batchesOfChunks(
  fetchChunk: () => Promise<DuckDBDataChunk | null>,
  types: readonly DataType[],
  duckTypes: readonly string[],
  batchSize: number,
  signal?: AbortSignal,
): AsyncGenerator<Batch> {
  const { bindings } = await load();
  // A chunk holds at most CHUNK_ROWS rows: a batch ends at the chunk that fills it.
  const capacity = batchSize + CHUNK_ROWS;
  const builders = (): ColumnBuilder[] => types.map((type, c) => {
    const array = copiedAsBytes(type, duckTypes[c]!);
    return array ? fixedWidthBuilder(bindings, array, type, capacity) : valueBuilder(type);
  });
  let columns = builders();
  let count = 0;
  for (;;) {
    if (signal?.aborted) return;
    const chunk = await fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const rows = chunk.rowCount;
    for (let c = 0; c < columns.length; c++) columns[c]!.add(chunk, c, rows);
    count += rows;
    if (count >= batchSize) {
      yield { numRows: count, columns: columns.map((b) => b.finish(count)) };
      columns = builders();
      count = 0;
    }
  }
  if (count > 0) yield { numRows: count, columns: columns.map((b) => b.finish(count)) };
}

/** The types that go into a data chunk as they are: numbers by their bytes, BOOLEAN and STRING as values. */
const CHUNKED = new Set<DataType['name']>(['TINYINT', 'SMALLINT', 'INT', 'BIGINT', 'FLOAT', 'DOUBLE', 'BOOLEAN', 'STRING']);

/**
 * Appends batches to a DuckDB table: as data chunks when every column can go
 * that way (numbers, BOOLEAN, STRING), else value by value through `fallback`.
 */
export async function chunkAppender(appender: DuckDBAppender, types: readonly DataType[], fallback: (batch: Batch) => void): Promise<(batch: Batch) => void> {
  if (!types.every((t) => CHUNKED.has(t.name))) return fallback;
  const { bindings: duckdb, createChunk } = await load();
  const chunkTypes = types.map((_, c) => appender.columnType(c));
  return (batch) => {
    for (let start = 0; start < batch.numRows; start += CHUNK_ROWS) {
      const rows = Math.min(CHUNK_ROWS, batch.numRows - start);
      const chunk = createChunk(chunkTypes, rows);
      for (let c = 0; c < types.length; c++) {
        const column = batch.columns[c]!;
        const fixed = FIXED_WIDTH[types[c]!.name];
        const data = column.data.length === 1 ? column.data[0]! : null;
        if (fixed && data !== null && data.values instanceof fixed.array) {
          const width = fixed.array.BYTES_PER_ELEMENT;
          const values = data.values as NumberArray;
          const vector = duckdb.data_chunk_get_vector(chunk.chunk, c);
          duckdb.copy_data_to_vector(vector, 0, values.buffer as ArrayBuffer, values.byteOffset + start * width, rows * width);
          if (data.nullCount > 0) copyValidity(duckdb, vector, data, start, rows);
        } else {
          const values: SqlValue[] = new Array(rows);
          for (let i = 0; i < rows; i++) values[i] = valueAt(column, start + i);
          chunk.setColumnValues(c, values as never);
        }
      }
      appender.appendDataChunk(chunk);
    }
  };
}

function copyValidity(duckdb: Bindings, vector: duckdbBindings.Vector, data: arrow.Data, start: number, rows: number): void {
  const words = Math.ceil(rows / 64) * 8;
  const mask = new Uint8Array(words).fill(0xff);
  for (let i = 0; i < rows; i++) {
    if (!data.getValid(start + i)) mask[i >> 3] = mask[i >> 3]! & ~(1 << (i & 7));
  }
  duckdb.vector_ensure_validity_writable(vector);
  duckdb.copy_data_to_vector_validity(vector, 0, mask.buffer, 0, words);
}

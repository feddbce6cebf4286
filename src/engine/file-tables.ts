import path from 'node:path';
import type { EngineNode } from '../planning/plan.js';
import type { TableSchema } from '../table/schema.js';
import { duckdbTypeOf, quoteName } from './duckdb-types.js';

/** A Parquet or JSON-lines file table, read and written by the engine. */
export interface FileTableDefinition {
  readonly kind: 'file';
  readonly path: string;
  readonly format: 'parquet' | 'json';
  readonly schema: TableSchema;
}

export const sqlString = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/** The engine query reading a file table, each column cast to its declared type (a column missing in the file is an error). */
export function fileScanNode(table: FileTableDefinition): EngineNode {
  const file = sqlString(path.resolve(table.path));
  const reader = table.format === 'parquet'
    ? `read_parquet(${file})`
    : `read_json(${file}, format = 'newline_delimited', columns = {${table.schema.map((f) => `${sqlString(f.name)}: ${sqlString(duckdbTypeOf(f.type, f.name))}`).join(', ')}})`;
  const columns = table.schema.map((f) => f.name);
  return Object.freeze({
    kind: 'engine', inputs: Object.freeze([]), text: `${table.format} file ${table.path}`, columns: Object.freeze(columns), file: table,
    build: async () => `SELECT ${table.schema.map((f) => `CAST(${quoteName(f.name)} AS ${duckdbTypeOf(f.type, f.name)}) AS ${quoteName(f.name)}`).join(', ')} FROM ${reader}`,
  });
}

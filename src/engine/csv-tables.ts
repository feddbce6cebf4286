import fs from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { PyUdfError } from '../errors.js';
import type { Batch } from '../batches/vectors.js';
import type { CsvTableDefinition } from '../table/descriptors.js';
import type { Field } from '../table/schema.js';
import type { DuckdbEngine } from './duckdb-engine.js';
import { batchesOfChunks } from './duckdb-chunks.js';
import { duckdbTypeOf, quoteName } from './duckdb-types.js';
import { sqlString } from './file-tables.js';

/**
 * CSV table files read by DuckDB's CSV reader instead of csv-parse, for the
 * files it reads exactly as `readCsv` and `parseField` do. Every field is
 * read as text and checked and converted inside DuckDB by the rules of
 * `parseField`; a value those rules refuse, a line of the wrong shape, or a
 * file with anything this reader does not handle the same way (quotes,
 * carriage returns, blank lines, a byte order mark) makes the whole load fail
 * before a row is emitted, and the caller reads the file with csv-parse,
 * which reports it as it always did. Only regular files qualify: a pipe's
 * rows must flow as they come.
 */

/**
 * Below this size a file is loaded whole into a table (its rows parsed once);
 * from it up, checked whole and then streamed, so that memory does not grow
 * with the file.
 */
const LOAD_WHOLE_BELOW_BYTES = 64 << 20;

/** Below this size a file is read by csv-parse when the engine is not open yet: loading DuckDB costs more than parsing it. */
const ENGINE_WORTHWHILE_BYTES = 1 << 20;

/** What JavaScript's `trim()` removes, but line breaks (no unquoted field holds one). */
const JS_SPACES = ['\t', '\v', '\f', ' ', '\u00a0', '\u1680', ...Array.from({ length: 11 }, (_, i) => String.fromCharCode(0x2000 + i)),
  '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff'];
const SPACE = `[${JS_SPACES.map((c) => `\\x{${c.charCodeAt(0).toString(16)}}`).join('')}]*`;
const TRIMMED = sqlString(JS_SPACES.join(''));
const INTEGER = `${SPACE}[+-]?[0-9]+${SPACE}`;
// What JavaScript's Number() reads as a finite or infinite decimal (its hex, octal and binary forms are left to csv-parse).
const NUMBER = `${SPACE}(NaN|[+-]?(Infinity|([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?))${SPACE}`;
const caseless = (word: string): string => [...word].map((c) => `[${c.toUpperCase()}${c}]`).join('');

/** Fails the load; the caller then reads the file with csv-parse. */
const REFUSE = "error('not read by the engine')";
/** DuckDB's null string: text no unquoted field can hold, so a NULL only comes from a missing field. */
const NO_NULL = sqlString('\u0001\n');

/** The DuckDB query giving a CSV table's rows exactly as `readCsv` does, or null when a column's type is not read this way. */
export function csvScanSql(table: CsvTableDefinition): string | null {
  const { fieldDelimiter, quoteCharacter, ignoreFirstLine, nullLiteral } = table.format.options;
  if (!singleByte(fieldDelimiter) || !singleByte(quoteCharacter) || fieldDelimiter === quoteCharacter) return null;
  const schema = table.schema;
  const values: string[] = [];
  for (let c = 0; c < schema.length; c++) {
    const value = valueSql(schema[c]!, `c${c}`, nullLiteral);
    if (value === null) return null;
    values.push(value);
  }
  // One column more than the table has, padded with NULL: a line with a field too many (which DuckDB
  // takes for a trailing delimiter when it is empty) fills it, a line with too few leaves the last column NULL.
  const last = `c${schema.length - 1}`;
  values[0] = `CASE WHEN c${schema.length} IS NOT NULL OR ${last} IS NULL THEN ${REFUSE} ELSE ${values[0]} END`;
  const columns = Array.from({ length: schema.length + 1 }, (_, c) => `'c${c}': 'VARCHAR'`).join(', ');
  const reader = `read_csv(${sqlString(path.resolve(table.path))}, columns = {${columns}}, auto_detect = false, header = false, ` +
    `skip = ${ignoreFirstLine ? 1 : 0}, delim = ${sqlString(fieldDelimiter)}, quote = ${sqlString(quoteCharacter)}, escape = ${sqlString(quoteCharacter)}, ` +
    `nullstr = ${NO_NULL}, null_padding = true, strict_mode = true)`;
  const select = values.map((v, c) => `CAST(${v} AS ${duckdbTypeOf(schema[c]!.type, schema[c]!.name)}) AS ${quoteName(schema[c]!.name)}`);
  return `SELECT ${select.join(', ')} FROM ${reader}`;
}

function singleByte(text: string): boolean {
  return text.length === 1 && text.charCodeAt(0) < 0x80 && text !== '\n' && text !== '\r';
}

/** A column's value from its field's text `v`, as `parseField` gives it; a value it refuses fails the load. */
function valueSql(field: Field, v: string, nullLiteral: string): string | null {
  const { type } = field;
  const whenNull = type.name !== 'STRING' || nullLiteral !== '' || type.nullable
    ? `WHEN ${v} = ${sqlString(nullLiteral)} THEN ${type.nullable ? 'NULL' : REFUSE} `
    : '';
  const matches = (pattern: string) => `regexp_full_match(${v}, ${sqlString(pattern)})`;
  switch (type.name) {
    case 'BOOLEAN':
      return `CASE ${whenNull}WHEN ${matches(`${SPACE}${caseless('true')}${SPACE}`)} THEN true ` +
        `WHEN ${matches(`${SPACE}${caseless('false')}${SPACE}`)} THEN false ELSE ${REFUSE} END`;
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'BIGINT': {
      const duck = duckdbTypeOf(type, field.name);
      // Most fields are written as DuckDB writes the number back: one cast, no pattern.
      return `CASE ${whenNull}WHEN CAST(TRY_CAST(${v} AS ${duck}) AS VARCHAR) = ${v} THEN TRY_CAST(${v} AS ${duck}) ` +
        `WHEN ${matches(INTEGER)} THEN CAST(trim(${v}, ${TRIMMED}) AS ${duck}) ELSE ${REFUSE} END`;
    }
    case 'DOUBLE':
    case 'FLOAT':
      // FLOAT through DOUBLE, as Math.fround(Number(text)) rounds twice.
      return `CASE ${whenNull}WHEN ${matches(NUMBER)} THEN CAST(trim(${v}, ${TRIMMED}) AS DOUBLE) ELSE ${REFUSE} END`;
    case 'STRING':
      // CHAR and VARCHAR(n) are fitted (padded or refused) by csv-parse's reader.
      if (type.length !== undefined) return null;
      return whenNull === '' ? v : `CASE ${whenNull}ELSE ${v} END`;
    default:
      return null;
  }
}

interface FileState { size: number; mtimeMs: number; ino: number }

async function regularFile(file: string): Promise<FileState | null> {
  try {
    const stat = await fs.promises.stat(file);
    return stat.isFile() ? { size: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino } : null;
  } catch {
    return null;
  }
}

const CHUNK_BYTES = 1 << 20;

/**
 * Whether a file has none of what DuckDB's reader reads otherwise than
 * csv-parse: a quote character (past the header line, which must have none
 * either), a carriage return, a blank line (which csv-parse counts, or reads
 * as a row of a one-column table), a byte order mark (which csv-parse keeps).
 */
async function plainCsv(file: string, size: number, quote: number): Promise<boolean> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch {
    return false;
  }
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let offset = 0;
    let previous = 0x0a; // a line break before the file: a first line that is empty is blank
    while (offset < size) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK_BYTES, size - offset), offset);
      if (bytesRead === 0) return false;
      const chunk = buffer.subarray(0, bytesRead);
      if (offset === 0 && chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) return false;
      if (previous === 0x0a && chunk[0] === 0x0a) return false;
      if (chunk.includes(quote) || chunk.includes(0x0d) || chunk.includes('\n\n')) return false;
      previous = chunk[chunk.length - 1]!;
      offset += bytesRead;
    }
    return true;
  } finally {
    await handle.close();
  }
}

/**
 * The files found not to be read as csv-parse reads them, as they were then: a job that
 * fell back to csv-parse for a relational stage's input does not load the file again for it.
 */
const refused = new WeakMap<CsvTableDefinition, FileState>();

function sameFile(a: FileState | undefined, b: FileState): boolean {
  return a !== undefined && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

/**
 * Loads a CSV table's rows into a new temporary table `relation` of the
 * table's columns. False when the file is not one this reader reads as
 * `readCsv` does; nothing is left behind then.
 */
export async function loadCsvTable(connection: DuckDBConnection, table: CsvTableDefinition, relation: string): Promise<boolean> {
  return (await readCsvFile(connection, table, (scan) => `CREATE TEMP TABLE ${relation} AS ${scan}`, () => connection.run(`DROP TABLE IF EXISTS ${relation}`))) !== null;
}

/**
 * Reads a whole CSV file in DuckDB with `statement` (around the file's scan)
 * and returns the file's state then. Null when the file is not one this
 * reader reads as `readCsv` does, or when it changed while it was read
 * (`undo` then runs): the caller reads it with csv-parse, from its start.
 */
async function readCsvFile(connection: DuckDBConnection, table: CsvTableDefinition, statement: (scan: string) => string, undo?: () => Promise<unknown>): Promise<FileState | null> {
  const sql = csvScanSql(table);
  if (sql === null) return null;
  const before = await regularFile(table.path);
  if (before === null || sameFile(refused.get(table), before)) return null;
  if (!(await plainCsv(table.path, before.size, table.format.options.quoteCharacter.charCodeAt(0)))) {
    refused.set(table, before);
    return null;
  }
  try {
    await connection.run(statement(sql));
  } catch {
    refused.set(table, before);
    return null;
  }
  if (!(await unchanged(table.path, before))) {
    await undo?.().catch(() => undefined);
    return null;
  }
  return before;
}

/**
 * Checks every line of a CSV table in DuckDB without keeping its rows (each
 * column is counted, which converts every field). The file's state then, or
 * null as `readCsvFile`.
 */
async function checkCsvFile(connection: DuckDBConnection, table: CsvTableDefinition): Promise<FileState | null> {
  const counts = table.schema.map((f) => `count(${quoteName(f.name)})`).join(', ');
  return readCsvFile(connection, table, (scan) => `SELECT ${counts} FROM (${scan})`);
}

/** Whether reading a CSV table in the engine is worth opening it: it is open already, or the file is large. */
export function engineReadsCsv(table: CsvTableDefinition, engine: DuckdbEngine): boolean {
  if (csvScanSql(table) === null) return false;
  if (engine.opened) return true;
  try {
    const stat = fs.statSync(table.path);
    return stat.isFile() && stat.size >= ENGINE_WORTHWHILE_BYTES;
  } catch {
    return false;
  }
}

/**
 * A CSV table DuckDB has checked, on a connection of its own: loaded whole
 * into a relation, or (a large file) to be read again as a stream.
 */
export interface LoadedCsv {
  /** Its rows as batches of at least `batchSize` rows; released once they are read or the reading stops. */
  batches(batchSize: number, signal?: AbortSignal): AsyncGenerator<Batch>;
  /** Drops the relation, if any, and closes the connection (once; later calls do nothing). */
  release(): Promise<void>;
}

/**
 * Checks a CSV table in the engine, on a connection of its own: a file under
 * `loadWholeBelowBytes` is loaded whole, a larger one only checked, to be
 * streamed. Null when the file is not one this reader reads as `readCsv` does.
 */
export async function loadCsvInEngine(engine: DuckdbEngine, table: CsvTableDefinition, loadWholeBelowBytes = LOAD_WHOLE_BELOW_BYTES): Promise<LoadedCsv | null> {
  if (csvScanSql(table) === null) return null;
  const connection = await engine.connect();
  if (((await regularFile(table.path))?.size ?? 0) >= loadWholeBelowBytes) return checkedCsv(connection, table);
  const relation = engine.relationName();
  let loaded = false;
  try {
    loaded = await loadCsvTable(connection, table, relation);
  } finally {
    if (!loaded) connection.closeSync();
  }
  if (!loaded) return null;
  let released: Promise<void> | null = null;
  const release = () => released ??= connection.run(`DROP TABLE IF EXISTS ${relation}`).then(() => undefined, () => undefined).then(() => closeQuietly(connection));
  const types = table.schema.map((f) => f.type);
  const duckTypes = table.schema.map((f) => duckdbTypeOf(f.type, f.name));
  return {
    release,
    async *batches(batchSize, signal) {
      try {
        const result = await connection.stream(`SELECT * FROM ${relation}`);
        yield* batchesOfChunks(() => result.fetchChunk(), types, duckTypes, batchSize, signal);
      } finally {
        await release();
      }
    },
  };
}

/** Whether `file` is still the file whose state was taken. */
async function unchanged(file: string, state: FileState): Promise<boolean> {
  const now = await regularFile(file);
  return now !== null && sameFile(state, now);
}

function closeQuietly(connection: DuckDBConnection): void {
  try {
    connection.closeSync();
  } catch {
    // the engine was closed under it, which closed the connection too
  }
}

/**
 * A large CSV table checked whole in DuckDB and then read again as a stream,
 * so that memory holds a few chunks and not the file's rows: the rows are
 * read twice, but a job of any size stays within its batches. A file that
 * changes between the two reads fails the job with an IO error naming it.
 */
async function checkedCsv(connection: DuckDBConnection, table: CsvTableDefinition): Promise<LoadedCsv | null> {
  let checked: FileState | null = null;
  try {
    checked = await checkCsvFile(connection, table);
  } finally {
    if (!checked) connection.closeSync();
  }
  if (!checked) return null;
  const state = checked;
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    closeQuietly(connection);
  };
  const types = table.schema.map((f) => f.type);
  const duckTypes = table.schema.map((f) => duckdbTypeOf(f.type, f.name));
  const changed = (cause?: unknown) => new PyUdfError('IO', `CSV file ${table.path} changed while it was read; rows may have been read from both versions`, { cause });
  return {
    release,
    async *batches(batchSize, signal) {
      try {
        const result = await connection.stream(csvScanSql(table)!);
        yield* batchesOfChunks(() => result.fetchChunk(), types, duckTypes, batchSize, signal);
        if (!(await unchanged(table.path, state))) throw changed();
      } catch (error) {
        if (!(error instanceof PyUdfError) && !(await unchanged(table.path, state))) throw changed(error);
        throw error;
      } finally {
        await release();
      }
    },
  };
}

/**
 * A CSV table's rows read by DuckDB, as batches of at least `batchSize`
 * rows: the whole file is checked before the first batch (see
 * `loadCsvInEngine`). Null when the file is not one this reader reads as
 * `readCsv` does.
 */
export async function readCsvInEngine(engine: DuckdbEngine, table: CsvTableDefinition, batchSize: number, signal?: AbortSignal): Promise<AsyncGenerator<Batch> | null> {
  const loaded = await loadCsvInEngine(engine, table);
  return loaded && loaded.batches(batchSize, signal);
}

/**
 * CSV tables loaded in the engine before their job reads them, while its
 * workers start: the load (about 0.2 s per million rows) then costs the job
 * nothing. A load nobody took is released at the job's end.
 */
export class CsvPreloads {
  readonly #loads = new Map<CsvTableDefinition, Promise<LoadedCsv | null>>();

  start(engine: DuckdbEngine, table: CsvTableDefinition): void {
    if (this.#loads.has(table)) return;
    const load = loadCsvInEngine(engine, table);
    load.catch(() => undefined); // its reader sees the failure
    this.#loads.set(table, load);
  }

  /** The load started for `table`, handed over once; undefined when none was. */
  take(table: CsvTableDefinition): Promise<LoadedCsv | null> | undefined {
    const load = this.#loads.get(table);
    this.#loads.delete(table);
    return load;
  }

  async releaseAll(): Promise<void> {
    const left = [...this.#loads.values()];
    this.#loads.clear();
    await Promise.all(left.map(async (load) => (await load.catch(() => null))?.release()));
  }
}

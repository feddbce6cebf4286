import { PyUdfError } from '../errors.js';
import type { DataType } from '../types/data-types.js';
import { checkCsvColumns } from '../io/csv-values.js';
import { Schema, checkField, type TableSchema } from './schema.js';
import type { FileTableDefinition } from '../engine/file-tables.js';

/** Where a table's data lives: `new FileSystem().path('/tmp/input')`. */
export class FileSystem {
  readonly filePath: string | null;

  constructor(filePath: string | null = null) {
    this.filePath = filePath;
    Object.freeze(this);
  }

  path(filePath: string): FileSystem {
    if (typeof filePath !== 'string' || filePath === '') {
      throw new PyUdfError('INVALID_ARGUMENT', `FileSystem.path: expected a non-empty path, got ${String(filePath)}`);
    }
    return new FileSystem(filePath);
  }
}

export interface CsvOptions {
  readonly fieldDelimiter: string;
  readonly quoteCharacter: string;
  readonly ignoreFirstLine: boolean;
  /** The text that stands for NULL, read and written. Default: the empty field. */
  readonly nullLiteral: string;
  /** Skip (and count) input lines that do not parse instead of failing the job, as Flink's CSV format. */
  readonly ignoreParseErrors: boolean;
}

const CSV_DEFAULTS: CsvOptions = Object.freeze({
  fieldDelimiter: ',',
  quoteCharacter: '"',
  ignoreFirstLine: false,
  nullLiteral: '',
  ignoreParseErrors: false,
});

/** The seed's `OldCsv()` format: comma-separated, no header, fields in order. */
export class OldCsv {
  readonly fields: TableSchema;
  readonly options: CsvOptions;

  constructor(fields: TableSchema = [], options: CsvOptions = CSV_DEFAULTS) {
    this.fields = Object.freeze([...fields]);
    this.options = Object.freeze({ ...options });
    Object.freeze(this);
  }

  field(name: string, type: DataType): OldCsv {
    checkField(name, type, 'OldCsv.field');
    return new OldCsv([...new Schema(this.fields).field(name, type).fields], this.options);
  }

  fieldDelimiter(delimiter: string): OldCsv {
    if (typeof delimiter !== 'string' || delimiter.length === 0) {
      throw new PyUdfError('INVALID_ARGUMENT', `OldCsv.fieldDelimiter: expected a non-empty string, got ${String(delimiter)}`);
    }
    return new OldCsv(this.fields, { ...this.options, fieldDelimiter: delimiter });
  }

  quoteCharacter(quote: string): OldCsv {
    if (typeof quote !== 'string' || quote.length !== 1) {
      throw new PyUdfError('INVALID_ARGUMENT', `OldCsv.quoteCharacter: expected one character, got ${String(quote)}`);
    }
    return new OldCsv(this.fields, { ...this.options, quoteCharacter: quote });
  }

  ignoreFirstLine(ignore = true): OldCsv {
    return new OldCsv(this.fields, { ...this.options, ignoreFirstLine: ignore });
  }

  /** Skip input lines with the wrong field count or a value that does not parse, counting them in the job's result. */
  ignoreParseErrors(ignore = true): OldCsv {
    return new OldCsv(this.fields, { ...this.options, ignoreParseErrors: ignore });
  }

  nullLiteral(literal: string): OldCsv {
    if (typeof literal !== 'string') {
      throw new PyUdfError('INVALID_ARGUMENT', `OldCsv.nullLiteral: expected a string, got ${String(literal)}`);
    }
    return new OldCsv(this.fields, { ...this.options, nullLiteral: literal });
  }
}

/** Parquet files, read and written by the engine; the columns come from withSchema(). */
export class Parquet {
  readonly format = 'parquet';
  constructor() { Object.freeze(this); }
}

/** JSON lines (one object per line, keys the column names), read and written by the engine; the columns come from withSchema(). */
export class Json {
  readonly format = 'json';
  constructor() { Object.freeze(this); }
}

export type FileFormat = OldCsv | Parquet | Json;

/**
 * The one place a file table is defined, from its path, format name
 * ("csv", "parquet", "json"), CSV options and columns: descriptors and DDL
 * both come here.
 */
export function fileTableDefinition(
  filePath: string, format: 'csv' | 'parquet' | 'json', options: Partial<CsvOptions>, schema: TableSchema, where: string,
): CsvTableDefinition | FileTableDefinition {
  if (typeof filePath !== 'string' || filePath === '') throw new PyUdfError('INVALID_ARGUMENT', `${where}: the table has no path`);
  if (schema.length === 0) throw new PyUdfError('INVALID_ARGUMENT', `${where}: declare the table's columns`);
  if (format === 'parquet' || format === 'json') return Object.freeze({ kind: 'file', path: filePath, format, schema: Object.freeze([...schema]) });
  if (format !== 'csv') throw new PyUdfError('INVALID_ARGUMENT', `${where}: unknown format "${String(format)}"; formats: csv, parquet, json`);
  checkCsvColumns(schema, where);
  const csv = new OldCsv(schema, { ...CSV_DEFAULTS, ...options });
  return Object.freeze({ kind: 'csv', path: filePath, format: csv, schema: csv.fields });
}

/** A CSV file table, as declared with `connect(...)...createTemporaryTable(name)`. */
export interface CsvTableDefinition {
  readonly kind: 'csv';
  readonly path: string;
  readonly format: OldCsv;
  readonly schema: TableSchema;
}

/** Built by `tEnv.connect(fileSystem)`; `createTemporaryTable` registers it. */
export class ConnectTableDescriptor {
  readonly #register: (name: string, definition: CsvTableDefinition | FileTableDefinition) => void;
  readonly #fileSystem: FileSystem;
  readonly #format: FileFormat | null;
  readonly #schema: Schema | null;

  constructor(
    register: (name: string, definition: CsvTableDefinition | FileTableDefinition) => void,
    fileSystem: FileSystem,
    format: FileFormat | null = null,
    schema: Schema | null = null,
  ) {
    this.#register = register;
    this.#fileSystem = fileSystem;
    this.#format = format;
    this.#schema = schema;
  }

  withFormat(format: FileFormat): ConnectTableDescriptor {
    if (!(format instanceof OldCsv) && !(format instanceof Parquet) && !(format instanceof Json)) {
      throw new PyUdfError('INVALID_ARGUMENT', 'withFormat: expected an OldCsv, Parquet or Json format');
    }
    return new ConnectTableDescriptor(this.#register, this.#fileSystem, format, this.#schema);
  }

  withSchema(schema: Schema): ConnectTableDescriptor {
    if (!(schema instanceof Schema)) {
      throw new PyUdfError('INVALID_ARGUMENT', 'withSchema: expected a Schema');
    }
    return new ConnectTableDescriptor(this.#register, this.#fileSystem, this.#format, schema);
  }

  createTemporaryTable(name: string): void {
    const path = this.#fileSystem.filePath;
    if (path === null) throw new PyUdfError('INVALID_ARGUMENT', `createTemporaryTable("${name}"): FileSystem has no path`);
    if (this.#format instanceof Parquet || this.#format instanceof Json) {
      this.#register(name, fileTableDefinition(path, this.#format.format, {}, this.#schema?.fields ?? [], `createTemporaryTable("${name}")`));
      return;
    }
    const format = this.#format ?? new OldCsv(this.#schema?.fields ?? []);
    const schema = this.#schema?.fields ?? format.fields;
    if (schema.length === 0) {
      throw new PyUdfError('INVALID_ARGUMENT', `createTemporaryTable("${name}"): declare the fields with withSchema() or withFormat()`);
    }
    checkCsvColumns(schema, `createTemporaryTable("${name}")`);
    if (format.fields.length > 0) {
      const mismatch = format.fields.length !== schema.length ||
        format.fields.some((f, i) => f.name !== schema[i]!.name || !f.type.equals(schema[i]!.type));
      if (mismatch) {
        const show = (fs: TableSchema) => fs.map((f) => `${f.name} ${f.type}`).join(', ');
        throw new PyUdfError(
          'INVALID_ARGUMENT',
          `createTemporaryTable("${name}"): the format's fields (${show(format.fields)}) differ from the schema's (${show(schema)})`,
        );
      }
    }
    this.#register(name, Object.freeze({ kind: 'csv', path, format, schema }));
  }
}

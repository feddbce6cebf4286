import { PyUdfError } from '../errors.js';
import type { DataType } from '../types/data-types.js';
import { checkCsvColumns } from '../io/csv-values.js';
import { Schema, checkField, type TableSchema } from './schema.js';

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

/** A CSV file table, as declared with `connect(...)...createTemporaryTable(name)`. */
export interface CsvTableDefinition {
  readonly kind: 'csv';
  readonly path: string;
  readonly format: OldCsv;
  readonly schema: TableSchema;
}

/** Built by `tEnv.connect(fileSystem)`; `createTemporaryTable` registers it. */
export class ConnectTableDescriptor {
  readonly #register: (name: string, definition: CsvTableDefinition) => void;
  readonly #fileSystem: FileSystem;
  readonly #format: OldCsv | null;
  readonly #schema: Schema | null;

  constructor(
    register: (name: string, definition: CsvTableDefinition) => void,
    fileSystem: FileSystem,
    format: OldCsv | null = null,
    schema: Schema | null = null,
  ) {
    this.#register = register;
    this.#fileSystem = fileSystem;
    this.#format = format;
    this.#schema = schema;
  }

  withFormat(format: OldCsv): ConnectTableDescriptor {
    if (!(format instanceof OldCsv)) {
      throw new PyUdfError('INVALID_ARGUMENT', 'withFormat: expected an OldCsv format');
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

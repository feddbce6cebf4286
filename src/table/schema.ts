import { PyUdfError } from '../errors.js';
import { DataType } from '../types/data-types.js';

export interface Field {
  readonly name: string;
  readonly type: DataType;
}

/** A table's columns, in order. */
export type TableSchema = readonly Field[];

/**
 * The seed's `Schema()` descriptor: `new Schema().field('a', DataTypes.BIGINT())`.
 * Immutable: every call returns a new Schema.
 */
export class Schema {
  readonly fields: TableSchema;

  constructor(fields: TableSchema = []) {
    this.fields = Object.freeze([...fields]);
    Object.freeze(this);
  }

  field(name: string, type: DataType): Schema {
    checkField(name, type, 'Schema.field');
    if (this.fields.some((f) => f.name === name)) {
      throw new PyUdfError('INVALID_ARGUMENT', `Schema.field: duplicate field name "${name}"`);
    }
    return new Schema([...this.fields, Object.freeze({ name, type })]);
  }
}

export function checkField(name: unknown, type: unknown, where: string): void {
  if (typeof name !== 'string' || name === '') {
    throw new PyUdfError('INVALID_ARGUMENT', `${where}: the field name must be a non-empty string, got ${String(name)}`);
  }
  if (!(type instanceof DataType)) {
    throw new PyUdfError('INVALID_ARGUMENT', `${where}("${name}"): the type must be a DataType such as DataTypes.BIGINT(), got ${String(type)}`);
  }
}

/** Accepts a Schema or a plain `{ column: DataType }` object. */
export function toTableSchema(schema: Schema | Readonly<Record<string, DataType>>, where: string): TableSchema {
  if (schema instanceof Schema) return schema.fields;
  if (schema === null || typeof schema !== 'object') {
    throw new PyUdfError('INVALID_ARGUMENT', `${where}: expected a Schema or an object of column types`);
  }
  let built = new Schema();
  for (const [name, type] of Object.entries(schema)) built = built.field(name, type);
  return built.fields;
}

export function columnNames(schema: TableSchema): string[] {
  return schema.map((f) => f.name);
}

import { PyUdfError } from '../errors.js';
import { DataType, DataTypes, sameType } from '../types/data-types.js';
import { describe } from '../types/values.js';
import { Schema, checkField, toTableSchema, type TableSchema } from './schema.js';

/** What `fromElements` takes as its schema, as PyFlink's `from_elements` does. */
export type ElementsSchema =
  | Schema
  | Readonly<Record<string, DataType>>
  | readonly string[]
  | DataType;

type ElementRow = readonly unknown[] | Readonly<Record<string, unknown>>;

/**
 * The columns of a `fromElements` table: a Schema or `{ column: DataType }` as
 * given; a ROW type's fields; or, from a list of column names or no schema at
 * all (columns `_1`, `_2`, ...), types inferred from the values as PyFlink
 * infers them from Python values.
 */
export function elementsSchema(rows: readonly ElementRow[], schema: ElementsSchema | undefined): TableSchema {
  if (schema instanceof DataType) {
    if (schema.name !== 'ROW') {
      throw new PyUdfError('INVALID_ARGUMENT', `fromElements: a schema given as a DataType must be a ROW type, got ${schema}`);
    }
    return Object.freeze(schema.fields!.map((f) => Object.freeze({ name: f.name, type: f.type })));
  }
  if (schema !== undefined && !Array.isArray(schema)) {
    return toTableSchema(schema as Schema | Readonly<Record<string, DataType>>, 'fromElements');
  }
  const names = schema === undefined ? defaultNames(rows) : checkNames(schema as readonly unknown[]);
  let built = new Schema();
  names.forEach((name, c) => {
    const values = rows.map((row) => (Array.isArray(row) ? row[c] : (row as Record<string, unknown>)[name]));
    built = built.field(name, inferColumnType(name, values));
  });
  return built.fields;
}

function checkNames(names: readonly unknown[]): string[] {
  names.forEach((name) => checkField(name, DataTypes.STRING(), 'fromElements: column names'));
  return names as string[];
}

/** PyFlink's names for unnamed columns: `_1`, `_2`, ...; an object row's keys name its columns. */
function defaultNames(rows: readonly ElementRow[]): string[] {
  const first = rows[0];
  if (first === undefined) {
    throw new PyUdfError('INVALID_ARGUMENT', 'fromElements: without rows the columns cannot be inferred; give a schema with their types');
  }
  if (Array.isArray(first)) return first.map((_, i) => `_${i + 1}`);
  if (first !== null && typeof first === 'object') return Object.keys(first);
  throw new PyUdfError('INVALID_ARGUMENT', `fromElements: row 0 must be an array or an object, got ${describe(first)}`);
}

/** A column's type from its non-NULL values; none, or values of conflicting types, is an error naming both. */
function inferColumnType(column: string, values: readonly unknown[]): DataType {
  const present = values.some((v) => v === null || v === undefined) ? values.filter((v) => v !== null && v !== undefined) : values;
  if (present.length === 0) {
    throw new PyUdfError('INVALID_ARGUMENT',
      `fromElements: column "${column}" has no non-NULL value to infer its type from; give the schema with types`);
  }
  try {
    const type = mergeAll(present);
    // An integral number beside a fractional one makes DOUBLE, but a bigint asks for exactness DOUBLE lacks.
    if (type.name === 'DOUBLE') {
      const exact = present.find((v) => typeof v === 'bigint');
      const fractional = present.find((v) => typeof v === 'number' && !Number.isInteger(v));
      if (exact !== undefined && fractional !== undefined) throw new Conflict(exact, 'BIGINT', fractional, 'DOUBLE');
    }
    return type;
  } catch (error) {
    if (!(error instanceof Conflict)) throw error;
    throw new PyUdfError('INVALID_ARGUMENT',
      `fromElements: column "${column}" has values of conflicting types: ${describe(error.first)} (${error.firstType}) and ` +
      `${describe(error.second)} (${error.secondType}); give the schema with types`);
  }
}

class Conflict extends Error {
  constructor(readonly first: unknown, readonly firstType: string, readonly second: unknown, readonly secondType: string) {
    super('conflicting types');
  }
}

/** The one type of several non-NULL values. */
function mergeAll(values: readonly unknown[]): DataType {
  const scalar = scalarColumnType(values);
  if (scalar !== null) return scalar;
  let merged = inferValueType(values[0]);
  let witness = values[0];
  for (let i = 1; i < values.length; i++) {
    const value = values[i];
    const type = inferValueType(value);
    const next = mergeTypes(merged, type);
    if (next === null) throw new Conflict(witness, merged.toString(), value, type.toString());
    merged = next;
    witness = value;
  }
  return merged;
}

/**
 * The type of a column of booleans, numbers, bigints or strings alone, read
 * without a DataType per value (a million-row column is common); null for
 * anything else, or a conflict, which the general path then names.
 */
function scalarColumnType(values: readonly unknown[]): DataType | null {
  let integral = false;
  let fractional = false;
  let kind: 'boolean' | 'number' | 'string' | null = null;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    const type = typeof value;
    if (type === 'number') {
      if (Number.isInteger(value)) integral = true;
      else fractional = true;
    } else if (type === 'bigint') {
      integral = true;
    } else if (type !== 'boolean' && type !== 'string') {
      return null;
    }
    const valueKind = type === 'bigint' ? 'number' : type as 'boolean' | 'number' | 'string';
    if (kind === null) kind = valueKind;
    else if (kind !== valueKind) return null;
  }
  if (kind === 'boolean') return DataTypes.BOOLEAN();
  if (kind === 'string') return DataTypes.STRING();
  if (kind === 'number') return fractional ? DataTypes.DOUBLE() : integral ? DataTypes.BIGINT() : null;
  return null;
}

function inferValueType(value: unknown): DataType {
  if (typeof value === 'boolean') return DataTypes.BOOLEAN();
  if (typeof value === 'bigint') return DataTypes.BIGINT();
  if (typeof value === 'number') return Number.isInteger(value) ? DataTypes.BIGINT() : DataTypes.DOUBLE();
  if (typeof value === 'string') return DataTypes.STRING();
  if (value instanceof Uint8Array) return DataTypes.BYTES();
  if (value instanceof Date) return DataTypes.TIMESTAMP(3);
  if (Array.isArray(value)) return DataTypes.ARRAY(nestedType(value, 'an array'));
  if (value instanceof Map) {
    const keys = [...value.keys()];
    return DataTypes.MAP(nestedType(keys, 'a Map\'s keys'), nestedType([...value.values()], 'a Map\'s values'));
  }
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value);
    if (entries.length === 0) throw new PyUdfError('INVALID_ARGUMENT', 'fromElements: an empty object has no fields to make a ROW of');
    return DataTypes.ROW(entries.map(([name, item]) => DataTypes.FIELD(name, nestedType([item], `field "${name}"`))));
  }
  throw new PyUdfError('INVALID_ARGUMENT', `fromElements: no SQL type is inferred from ${describe(value)}; give the schema with types`);
}

function nestedType(values: readonly unknown[], what: string): DataType {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.length === 0) {
    throw new PyUdfError('INVALID_ARGUMENT', `fromElements: ${what} has no non-NULL value to infer a type from; give the schema with types`);
  }
  return mergeAll(present);
}

/**
 * Two inferred types as one, or null when they conflict. An integral and a
 * fractional JavaScript number make DOUBLE: `1.0` cannot be told from `1`.
 */
function mergeTypes(a: DataType, b: DataType): DataType | null {
  if (sameType(a, b)) return a;
  const names = new Set([a.name, b.name]);
  if (names.size === 2 && names.has('BIGINT') && names.has('DOUBLE')) return DataTypes.DOUBLE();
  if (a.name !== b.name) return null;
  switch (a.name) {
    case 'ARRAY': {
      const element = mergeTypes(a.elementType!, b.elementType!);
      return element && DataTypes.ARRAY(element);
    }
    case 'MAP': {
      const key = mergeTypes(a.keyType!, b.keyType!);
      const value = mergeTypes(a.valueType!, b.valueType!);
      return key && value && DataTypes.MAP(key, value);
    }
    case 'ROW': {
      const fields = a.fields!;
      const other = b.fields!;
      if (fields.length !== other.length || fields.some((f, i) => f.name !== other[i]!.name)) return null;
      const merged = fields.map((f, i) => mergeTypes(f.type, other[i]!.type));
      if (merged.some((t) => t === null)) return null;
      return DataTypes.ROW(fields.map((f, i) => DataTypes.FIELD(f.name, merged[i]!)));
    }
    default: return null;
  }
}

import { PyUdfError } from '../errors.js';
import type { DataType } from './data-types.js';
import { toDecimalText } from './decimal.js';
import {
  dateToDays, dateToMicros, formatDate, formatTime, formatTimestamp, fractionDigits, parseDate, parseTime, parseTimestamp,
} from './temporal.js';

/**
 * The TypeScript value of each SQL type: BOOLEAN boolean, TINYINT/SMALLINT/INT
 * number, BIGINT bigint (exact 64-bit), FLOAT/DOUBLE number, STRING string,
 * BYTES Uint8Array; DECIMAL, DATE, TIME, TIMESTAMP and TIMESTAMP_LTZ exact
 * strings ("12.3400", "2024-02-29", "13:45:30.250001",
 * "2024-02-29T13:45:30.250001", "2024-02-29T13:45:30.250001Z"); ARRAY an
 * array, MAP a Map, ROW a plain object keyed by field name; NULL is null.
 */
export type SqlValue =
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | null
  | SqlValue[]
  | Map<SqlValue, SqlValue>
  | SqlRow;

/** The value of a ROW: field name to value, in the type's field order. */
export interface SqlRow {
  [field: string]: SqlValue;
}

/** A result row: output column name to value. */
export type Row = Record<string, SqlValue>;

/**
 * The row type of a table whose schema is the object `S` (column name → DataType): its
 * columns are known, so `row.a` type-checks and a misspelt column does not.
 */
export type SchemaRow<S> = { [K in keyof S & string]: SqlValue };

const INT_RANGES = {
  TINYINT: [-128, 127],
  SMALLINT: [-32768, 32767],
  INT: [-2147483648, 2147483647],
} as const;

const BIGINT_MIN = -(2n ** 63n);
const BIGINT_MAX = 2n ** 63n - 1n;

/**
 * Checks and normalises a value given from TypeScript (fromElements,
 * fromColumns, fromStream) for a column; throws INVALID_ARGUMENT naming
 * `where` (and the element, key or field inside it) when it does not fit.
 */
export function coerceValue(value: unknown, type: DataType, where: string): SqlValue {
  if (value === null || value === undefined) {
    if (!type.nullable) throw new PyUdfError('INVALID_ARGUMENT', `${where}: NULL in a ${type} column`);
    return null;
  }
  switch (type.name) {
    case 'NULL':
      return refuse(value, type, where, 'is not NULL, the only value of type NULL');
    case 'BOOLEAN':
      return typeof value === 'boolean' ? value : refuse(value, type, where);
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT': {
      const n = typeof value === 'bigint' ? Number(value) : value;
      const [lo, hi] = INT_RANGES[type.name];
      return typeof n === 'number' && Number.isInteger(n) && n >= lo && n <= hi ? n : refuse(value, type, where);
    }
    case 'BIGINT': {
      let n: bigint;
      if (typeof value === 'bigint') n = value;
      else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
      else if (typeof value === 'number' && Number.isInteger(value)) {
        return refuse(value, type, where, `is beyond Number.MAX_SAFE_INTEGER (2^53 - 1): a JavaScript number that large is an unsafe integer, already rounded; pass a bigint for a BIGINT (e.g. ${BigInt(value)}n or BigInt('...') from the exact digits)`);
      } else return refuse(value, type, where);
      return n >= BIGINT_MIN && n <= BIGINT_MAX ? n : refuse(value, type, where);
    }
    case 'FLOAT':
    case 'DOUBLE':
      return typeof value === 'number' ? value : refuse(value, type, where);
    case 'STRING':
      if (typeof value !== 'string') return refuse(value, type, where);
      return type.length === undefined ? value : fitLength(value, type, (reason) => refuse(value, type, where, reason));
    case 'BYTES':
      return value instanceof Uint8Array ? fitLength(value, type, (reason) => refuse(value, type, where, reason)) : refuse(value, type, where);
    case 'DECIMAL': {
      const decimal = toDecimalText(value, type.precision!, type.scale!);
      return 'text' in decimal ? decimal.text : refuse(value, type, where, explain(decimal.error, type));
    }
    case 'DATE': {
      const days = value instanceof Date ? dateToDays(value) : typeof value === 'string' ? parseDate(value) : null;
      if (days === null) return refuse(value, type, where, 'is not a DATE value (a "YYYY-MM-DD" string or a Date at midnight UTC)');
      return 'value' in days ? formatDate(days.value) : refuse(value, type, where, days.error);
    }
    case 'TIME': {
      if (typeof value !== 'string') return refuse(value, type, where, 'is not a TIME value (an "HH:MM:SS[.ffffff]" string)');
      const micros = parseTime(value, type.precision!);
      return 'value' in micros ? formatTime(micros.value, fractionDigits(type.precision!)) : refuse(value, type, where, explain(micros.error, type));
    }
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ': {
      const instant = type.name === 'TIMESTAMP_LTZ';
      const micros = value instanceof Date ? dateToMicros(value, type.precision!)
        : typeof value === 'string' ? parseTimestamp(value, type.precision!, instant) : null;
      if (micros === null) return refuse(value, type, where, `is not a ${type.sqlText} value (an ISO 8601 string or a Date)`);
      return 'value' in micros ? formatTimestamp(micros.value, fractionDigits(type.precision!), instant) : refuse(value, type, where, explain(micros.error, type));
    }
    case 'ARRAY': {
      if (!Array.isArray(value)) return refuse(value, type, where, 'is not an ARRAY value (an array)');
      const element = type.elementType!;
      return value.map((item, i) => coerceValue(item, element, `${where}, element [${i}]`));
    }
    case 'MAP': {
      const entries = value instanceof Map ? [...value.entries()] : isPlainObject(value) ? Object.entries(value) : null;
      if (entries === null) return refuse(value, type, where, 'is not a MAP value (a Map, or an object with string keys)');
      const out = new Map<SqlValue, SqlValue>();
      for (const [key, item] of entries) {
        if (key === null || key === undefined) refuse(value, type, where, 'has a NULL key; MAP keys are never NULL');
        const checkedKey = coerceValue(key, type.keyType!, `${where}, key ${describe(key)}`);
        if (out.has(checkedKey)) refuse(value, type, where, `has the key ${describe(checkedKey)} twice`);
        out.set(checkedKey, coerceValue(item, type.valueType!, `${where}, value of key ${describe(key)}`));
      }
      return out;
    }
    case 'ROW': {
      const fields = type.fields!;
      let items: unknown[];
      if (Array.isArray(value)) {
        if (value.length !== fields.length) refuse(value, type, where, `has ${value.length} value(s), but ${type.sqlText} has ${fields.length} field(s)`);
        items = value;
      } else if (isPlainObject(value)) {
        const unknown = Object.keys(value).filter((k) => !fields.some((f) => f.name === k));
        if (unknown.length > 0) refuse(value, type, where, `has no field(s) ${unknown.map((k) => `"${k}"`).join(', ')} in ${type.sqlText}`);
        items = fields.map((f) => (value as Record<string, unknown>)[f.name]);
      } else {
        return refuse(value, type, where, 'is not a ROW value (an object keyed by field name, or an array in field order)');
      }
      const row: SqlRow = {};
      fields.forEach((f, i) => { row[f.name] = coerceValue(items[i], f.type, `${where}, field "${f.name}"`); });
      return row;
    }
  }
}

/**
 * A CHAR/VARCHAR/BINARY/VARBINARY value as Flink keeps it: longer than the
 * length is refused; CHAR pads with spaces, BINARY with zero bytes. Characters
 * are counted as Flink and Python count them, by code point.
 */
export function fitLength<T extends string | Uint8Array>(value: T, type: DataType, bad: (reason: string) => never): T {
  if (type.length === undefined) return value;
  const size = typeof value === 'string' ? [...value].length : value.length;
  if (size > type.length) bad(`is ${size} ${typeof value === 'string' ? 'characters' : 'bytes'} long, longer than ${type.sqlText} holds`);
  if (!type.fixedLength || size === type.length) return value;
  if (typeof value === 'string') return (value + ' '.repeat(type.length - size)) as T;
  const padded = new Uint8Array(type.length);
  padded.set(value);
  return padded as T;
}

/** A reason a value does not fit, with the type's digits named when too many digits are the reason. */
export function explain(error: string, type: DataType): string {
  return error.startsWith('has more than') ? `${error}, as ${type.sqlText} holds` : error;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

export function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (value instanceof Date) return `Date(${Number.isNaN(value.getTime()) ? 'invalid' : value.toISOString()})`;
  if (Array.isArray(value) || value instanceof Map || isPlainObject(value)) return shorten(describeComposite(value));
  return String(value);
}

function describeComposite(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(describeComposite).join(', ')}]`;
  if (value instanceof Map) return `Map {${[...value].map(([k, v]) => `${describeComposite(k)} => ${describeComposite(v)}`).join(', ')}}`;
  if (isPlainObject(value)) return `{${Object.entries(value).map(([k, v]) => `${k}: ${describeComposite(v)}`).join(', ')}}`;
  return describe(value);
}

function shorten(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** The refusal of a value coerceValue cannot take (a function, not a closure per call: it runs for every value of a table). */
function refuse(value: unknown, type: DataType, where: string, reason = `is not a ${type.sqlText} value`): never {
  throw new PyUdfError('INVALID_ARGUMENT', `${where}: ${describe(value)} ${reason}`);
}

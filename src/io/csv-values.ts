import { PyUdfError } from '../errors.js';
import type { TableSchema } from '../table/schema.js';
import { isCompositeType, isTemporalType, type DataType } from '../types/data-types.js';
import { toDecimalText } from '../types/decimal.js';
import { formatDate, formatTime, formatTimestamp, fractionDigits, parseDate, parseTime, parseTimestamp } from '../types/temporal.js';
import { coerceValue, describe, explain, fitLength, type SqlValue } from '../types/values.js';

const INTEGER = /^[+-]?\d+$/;
const INT_BITS: Readonly<Record<string, number>> = { TINYINT: 8, SMALLINT: 16, INT: 32, BIGINT: 64 };

/** Longest part of a field quoted in an error message or log line: a field may be any size. */
const QUOTED_CHARS = 100;

/** A field's text in quotes, cut to QUOTED_CHARS with its length said. */
export function quoted(text: string): string {
  if (text.length <= QUOTED_CHARS) return `"${text}"`;
  return `"${text.slice(0, QUOTED_CHARS)}…" (${text.length} characters)`;
}

/**
 * Parses one CSV field as its column's type; returns an error text when it
 * does not fit. `nullLiteral` is null for a field that was quoted: `""` or
 * `"NULL"` is the text itself, never NULL (which is how a sink writes it).
 */
export function parseField(text: string, type: DataType, nullLiteral: string | null): { value: SqlValue } | { error: string } {
  if (nullLiteral !== null && text === nullLiteral && (type.name !== 'STRING' || nullLiteral !== '' || type.nullable)) {
    return type.nullable ? { value: null } : { error: `NULL (${quoted(nullLiteral!)}) in a ${type} column` };
  }
  const trimmed = text.trim();
  switch (type.name) {
    case 'BOOLEAN': {
      const lower = trimmed.toLowerCase();
      if (lower === 'true') return { value: true };
      if (lower === 'false') return { value: false };
      return { error: `${quoted(text)} is not a BOOLEAN (true or false)` };
    }
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'BIGINT': {
      if (!INTEGER.test(trimmed)) return { error: `${quoted(text)} is not an integer` };
      // More digits than any of these types holds is out of range: BigInt of millions of digits takes seconds.
      if (trimmed.replace(/^[+-]?0*/, '').length > 20) return { error: `${quoted(trimmed)} is out of range for ${type.name}` };
      const n = BigInt(trimmed);
      if (BigInt.asIntN(INT_BITS[type.name]!, n) !== n) return { error: `${trimmed.length > QUOTED_CHARS ? quoted(trimmed) : trimmed} is out of range for ${type.name}` };
      return { value: type.name === 'BIGINT' ? n : Number(n) };
    }
    case 'FLOAT':
    case 'DOUBLE': {
      const n = Number(trimmed);
      if (trimmed === '' || (Number.isNaN(n) && trimmed !== 'NaN')) return { error: `${quoted(text)} is not a number` };
      return { value: type.name === 'FLOAT' ? Math.fround(n) : n };
    }
    case 'STRING':
      return fitted(text, type);
    case 'BYTES':
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed)) return { error: `${quoted(text)} is not base64` };
      return fitted(Uint8Array.from(Buffer.from(trimmed, 'base64')), type);
    case 'DECIMAL': {
      const decimal = toDecimalText(trimmed, type.precision!, type.scale!);
      return 'text' in decimal ? { value: decimal.text } : { error: `${quoted(text)} ${explain(decimal.error, type)}` };
    }
    case 'DATE': {
      const days = parseDate(trimmed);
      return 'value' in days ? { value: formatDate(days.value) } : { error: `${quoted(text)} ${days.error}` };
    }
    case 'TIME': {
      const micros = parseTime(trimmed, type.precision!);
      return 'value' in micros ? { value: formatTime(micros.value, fractionDigits(type.precision!)) } : { error: `${quoted(text)} ${explain(micros.error, type)}` };
    }
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ': {
      const instant = type.name === 'TIMESTAMP_LTZ';
      const micros = parseTimestamp(trimmed, type.precision!, instant);
      return 'value' in micros
        ? { value: formatTimestamp(micros.value, fractionDigits(type.precision!), instant) }
        : { error: `${quoted(text)} ${explain(micros.error, type)}` };
    }
    case 'ARRAY':
    case 'MAP':
    case 'ROW':
      // CSV tables refuse these columns when they are declared (checkCsvColumns).
      return { error: `${type.sqlText} columns cannot be read from CSV` };
    case 'NULL':
      return { error: `"${text}" is not NULL ("${nullLiteral}"), the only value of type NULL` };
  }
}

/** CSV holds scalar values only: an ARRAY, MAP or ROW column is refused when the table is declared. */
export function checkCsvColumns(schema: TableSchema, where: string): void {
  const composite = schema.find((f) => isCompositeType(f.type));
  if (composite) {
    throw new PyUdfError('INVALID_ARGUMENT', `${where}: column "${composite.name}" is ${composite.type.sqlText}, ` +
      'but CSV tables hold scalar types only (BOOLEAN to BYTES, DECIMAL, DATE, TIME, TIMESTAMP, TIMESTAMP_LTZ)');
  }
}

/**
 * Formats a value for a CSV field: BYTES as base64; DECIMAL, DATE, TIME,
 * TIMESTAMP as their text; NULL as null, which the sink writes as the null
 * literal (unquoted, where a value equal to the literal is quoted).
 */
export function formatField(value: SqlValue, type?: DataType): string | null {
  if (value === null) return null;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  // A narrower column written to a DECIMAL or TIMESTAMP sink takes the sink's digits: 7 as "7.00".
  if (type && (type.name === 'DECIMAL' || isTemporalType(type))) return String(coerceValue(value, type.withNullability(true), 'CSV sink'));
  return String(value);
}

/** A CHAR/VARCHAR/BINARY/VARBINARY field as Flink keeps it (padded, or refused when too long). */
function fitted(value: string | Uint8Array, type: DataType): { value: SqlValue } | { error: string } {
  try {
    return { value: fitLength(value, type, (reason) => { throw new RangeError(`${describe(value)} ${reason}`); }) };
  } catch (error) {
    if (error instanceof RangeError) return { error: error.message };
    throw error;
  }
}

import { PyUdfError } from '../errors.js';
import type { DataType } from './data-types.js';

/**
 * The TypeScript value of each SQL type: BOOLEAN boolean, TINYINT/SMALLINT/INT
 * number, BIGINT bigint (exact 64-bit), FLOAT/DOUBLE number, STRING string,
 * BYTES Uint8Array; NULL is null.
 */
export type SqlValue = boolean | number | bigint | string | Uint8Array | null;

/** A result row: output column name to value. */
export type Row = Record<string, SqlValue>;

const INT_RANGES = {
  TINYINT: [-128, 127],
  SMALLINT: [-32768, 32767],
  INT: [-2147483648, 2147483647],
} as const;

const BIGINT_MIN = -(2n ** 63n);
const BIGINT_MAX = 2n ** 63n - 1n;

/**
 * Checks and normalises a value given from TypeScript (fromElements) for a
 * column; throws INVALID_ARGUMENT naming `where` when it does not fit.
 */
export function coerceValue(value: unknown, type: DataType, where: string): SqlValue {
  if (value === null || value === undefined) {
    if (!type.nullable) throw new PyUdfError('INVALID_ARGUMENT', `${where}: NULL in a ${type} column`);
    return null;
  }
  const bad = (): never => {
    throw new PyUdfError(
      'INVALID_ARGUMENT',
      `${where}: ${describe(value)} is not a ${type.name} value`,
    );
  };
  switch (type.name) {
    case 'BOOLEAN':
      return typeof value === 'boolean' ? value : bad();
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT': {
      const n = typeof value === 'bigint' ? Number(value) : value;
      const [lo, hi] = INT_RANGES[type.name];
      return typeof n === 'number' && Number.isInteger(n) && n >= lo && n <= hi ? n : bad();
    }
    case 'BIGINT': {
      let n: bigint;
      if (typeof value === 'bigint') n = value;
      else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
      else return bad();
      return n >= BIGINT_MIN && n <= BIGINT_MAX ? n : bad();
    }
    case 'FLOAT':
    case 'DOUBLE':
      return typeof value === 'number' ? value : bad();
    case 'STRING':
      return typeof value === 'string' ? value : bad();
    case 'BYTES':
      return value instanceof Uint8Array ? value : bad();
  }
}

export function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  return String(value);
}

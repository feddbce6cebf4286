import { PyUdfError } from '../errors.js';
import { isCompositeType, isNumericType, type DataType } from '../types/data-types.js';
import { compareDecimals, readDecimal, toDecimalText } from '../types/decimal.js';
import { parseTime, parseTimestamp } from '../types/temporal.js';
import { coerceValue, explain, type SqlValue } from '../types/values.js';

/*
 * Comparing DECIMAL, DATE, TIME, TIMESTAMP and TIMESTAMP_LTZ values, which are
 * exact strings (values.ts): by what they stand for, never as text or floats.
 * Numbers among themselves are typecheck.ts's (types) and execution/evaluate.ts's (values) business.
 */

/** Whether `=`, `<` and the other comparisons take a value of `a` on one side and `b` on the other. */
export function comparable(a: DataType, b: DataType): boolean {
  if (isCompositeType(a) || isCompositeType(b)) return false;
  if (a.name === b.name) return true;
  return (a.name === 'DECIMAL' && isNumericType(b)) || (b.name === 'DECIMAL' && isNumericType(a));
}

/** Orders two non-NULL values of comparable types; NaN when one is a NaN float. */
export function compareValues(a: SqlValue, aType: DataType, b: SqlValue, bType: DataType): number {
  if (aType.name === 'DECIMAL' || bType.name === 'DECIMAL') {
    const floating = aType.name === 'FLOAT' || aType.name === 'DOUBLE' || bType.name === 'FLOAT' || bType.name === 'DOUBLE';
    // DECIMAL against FLOAT or DOUBLE compares as DOUBLE, as SQL's implicit cast does.
    if (floating) return order(Number(a), Number(b));
    return compareDecimals(readDecimal(String(a))!, readDecimal(String(b))!);
  }
  switch (aType.name) {
    case 'TIME':
      return order(micros(parseTime(a as string, 6)), micros(parseTime(b as string, 6)));
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ': {
      const instant = aType.name === 'TIMESTAMP_LTZ';
      return order(micros(parseTimestamp(a as string, 6, instant)), micros(parseTimestamp(b as string, 6, instant)));
    }
    case 'DATE': // "YYYY-MM-DD" with four-digit years orders as text
    default:
      if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b);
      return order(a as number, b as number);
  }
}

function order<T extends number | bigint | string | boolean>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : a === b ? 0 : NaN;
}

function micros(parsed: { value: bigint } | { error: string }): bigint {
  if ('error' in parsed) throw new PyUdfError('INVALID_ARGUMENT', `internal: an unchecked time value (${parsed.error})`);
  return parsed.value;
}

/**
 * A literal read as `target` when the literal names a value of it: a string
 * for DECIMAL, DATE, TIME, TIMESTAMP and TIMESTAMP_LTZ ('2024-02-29'), a
 * number for DECIMAL. Undefined when `target` takes the literal otherwise.
 */
export function literalAs(value: SqlValue, kind: string, target: DataType): { value: SqlValue } | { error: string } | undefined {
  if (target.name === 'DECIMAL' && (kind === 'integer' || kind === 'decimal')) {
    const decimal = toDecimalText(value, target.precision!, target.scale!);
    return 'text' in decimal ? { value: decimal.text } : { error: explain(decimal.error, target) };
  }
  const named = target.name === 'DECIMAL' || target.name === 'DATE' || target.name === 'TIME' ||
    target.name === 'TIMESTAMP' || target.name === 'TIMESTAMP_LTZ';
  if (kind !== 'string' || !named) return undefined;
  try {
    return { value: coerceValue(value, target.withNullability(true), 'literal') };
  } catch (error) {
    return { error: (error as Error).message.replace(/^literal: "(?:[^"\\]|\\.)*" /, '') };
  }
}

import type * as arrow from 'apache-arrow';
import { PyUdfError } from '../errors.js';
import type { TableSchema } from '../table/schema.js';
import { DataTypes, type DataType } from '../types/data-types.js';
import { coerceValue, describe, type SqlValue } from '../types/values.js';

// Declaring a table of whole columns checks them and keeps them as given; they
// become Arrow vectors when a job first reads them (io/columns-source.ts), so
// `fromColumns` and `fromArrow` do not load apache-arrow on `import 'pyudf'`.

/** One column as given: a typed array of its exact type, an Arrow vector, or checked values. */
export type GivenColumn =
  | { readonly kind: 'typed'; readonly data: ArrayLike<unknown> }
  | { readonly kind: 'arrow'; readonly vector: arrow.Vector }
  | { readonly kind: 'values'; readonly values: readonly SqlValue[] };

/** Columns given whole (typed arrays, value arrays or an Arrow table's vectors). */
export interface ColumnsTableDefinition {
  readonly kind: 'columns';
  readonly columns: readonly GivenColumn[];
  readonly numRows: number;
  readonly schema: TableSchema;
}

export type ColumnData = ArrayLike<unknown>;

// Typed arrays that are already a column's exact layout: taken without a copy.
const TYPED: Partial<Record<DataType['name'], new (...args: never[]) => ArrayLike<unknown>>> = {
  TINYINT: Int8Array, SMALLINT: Int16Array, INT: Int32Array, BIGINT: BigInt64Array, FLOAT: Float32Array, DOUBLE: Float64Array,
};

export function columnsTable(columns: Readonly<Record<string, ColumnData>>, schema: TableSchema): ColumnsTableDefinition {
  let numRows = -1;
  const given = schema.map((field): GivenColumn => {
    const data = columns[field.name];
    if (data === undefined || data === null || typeof (data as ArrayLike<unknown>).length !== 'number') {
      throw new PyUdfError('INVALID_ARGUMENT', `fromColumns: no column "${field.name}" (give an array or typed array per schema field)`);
    }
    if (numRows === -1) numRows = data.length;
    if (data.length !== numRows) {
      throw new PyUdfError('INVALID_ARGUMENT', `fromColumns: column "${field.name}" has ${data.length} value(s), the first column ${numRows}`);
    }
    const exact = TYPED[field.type.name];
    if (exact && data instanceof exact) return Object.freeze({ kind: 'typed', data });
    const values = Array.from(data, (v, r) => coerceValue(v, field.type, `fromColumns: column "${field.name}", row ${r}`));
    return Object.freeze({ kind: 'values', values: Object.freeze(values) });
  });
  return Object.freeze({ kind: 'columns', columns: Object.freeze(given), numRows: Math.max(numRows, 0), schema });
}

/**
 * `fromElements` rows as whole columns, each value checked as the rows give
 * them (row by row, so the first bad value named is the first in the rows).
 * A number column without NULLs goes into a typed array: a million rows keep
 * no object per value, which the garbage collector would walk on every pass.
 */
export function elementsTable(rows: ReadonlyArray<readonly unknown[] | Readonly<Record<string, unknown>>>, schema: TableSchema): ColumnsTableDefinition {
  const numRows = rows.length;
  const width = schema.length;
  const typed = schema.map((field): TypedColumn | null => {
    const Typed = TYPED[field.type.name];
    return Typed ? new (Typed as unknown as new (length: number) => TypedColumn)(numRows) : null;
  });
  const values = typed.map((column): SqlValue[] | null => (column === null ? new Array<SqlValue>(numRows) : null));
  for (let r = 0; r < numRows; r++) {
    const row = rows[r];
    if (row === null || typeof row !== 'object') {
      throw new PyUdfError('INVALID_ARGUMENT', `fromElements: row ${r} must be an array or an object, got ${describe(row)}`);
    }
    const isArray = Array.isArray(row);
    if (isArray && row.length !== width) {
      throw new PyUdfError('INVALID_ARGUMENT', `fromElements: row ${r} has ${row.length} value(s), the schema ${width}`);
    }
    for (let c = 0; c < width; c++) {
      const field = schema[c]!;
      const given = isArray ? (row as readonly unknown[])[c] : (row as Readonly<Record<string, unknown>>)[field.name];
      const value = checkedElement(given, field.type, r, field.name);
      const numbers = typed[c];
      if (numbers === null || numbers === undefined) {
        values[c]![r] = value;
      } else if (value === null) {
        // A NULL: this column keeps its values as values after all.
        const kept = Array.from(numbers.subarray(0, r) as ArrayLike<SqlValue>);
        kept.length = numRows;
        kept[r] = null;
        values[c] = kept;
        typed[c] = null;
      } else {
        numbers[r] = value as never;
      }
    }
  }
  const columns = schema.map((_, c): GivenColumn => {
    const numbers = typed[c];
    return Object.freeze(numbers ? { kind: 'typed', data: numbers } : { kind: 'values', values: Object.freeze(values[c]!) });
  });
  return Object.freeze({ kind: 'columns', columns: Object.freeze(columns), numRows, schema });
}

type TypedColumn = Int8Array | Int16Array | Int32Array | BigInt64Array | Float32Array | Float64Array;

/** One value checked; the place is spelled out only for a value that is refused (checked again to say so). */
function checkedElement(value: unknown, type: DataType, row: number, column: string): SqlValue {
  try {
    return coerceValue(value, type, '');
  } catch {
    return coerceValue(value, type, `fromElements: row ${row}, column "${column}"`);
  }
}

// apache-arrow's type ids (its `Type` enum), read from the caller's own Arrow
// objects: comparing ids needs no Arrow module of ours.
const ARROW_TYPE = { Int: 2, Float: 3, Binary: 4, Utf8: 5, Bool: 6, Decimal: 7, Date: 8, Time: 9, Timestamp: 10, Dictionary: -1 } as const;
/** Digits of a second of apache-arrow's TimeUnit SECOND, MILLISECOND and MICROSECOND (NANOSECOND is not read). */
const UNIT_PRECISION: Readonly<Record<number, number>> = { 0: 0, 1: 3, 2: 6 };
const FLOAT_PRECISION = { SINGLE: 1, DOUBLE: 2 } as const;

interface ArrowTypeLike {
  readonly typeId: number;
  readonly bitWidth?: number;
  readonly isSigned?: boolean;
  readonly precision?: number;
  readonly scale?: number;
  readonly unit?: number;
  readonly timezone?: string | null;
  readonly dictionary?: ArrowTypeLike;
}

/** The SQL type an Arrow column's type is read as: those whose layout is the type's own, so the column is used as it is. */
function sqlTypeOf(type: ArrowTypeLike, column: string): DataType {
  if (type.typeId === ARROW_TYPE.Dictionary && type.dictionary) return sqlTypeOf(type.dictionary, column);
  switch (type.typeId) {
    case ARROW_TYPE.Bool: return DataTypes.BOOLEAN();
    case ARROW_TYPE.Utf8: return DataTypes.STRING();
    case ARROW_TYPE.Binary: return DataTypes.BYTES();
    case ARROW_TYPE.Int:
      if (type.isSigned) {
        if (type.bitWidth === 8) return DataTypes.TINYINT();
        if (type.bitWidth === 16) return DataTypes.SMALLINT();
        if (type.bitWidth === 32) return DataTypes.INT();
        if (type.bitWidth === 64) return DataTypes.BIGINT();
      }
      break;
    case ARROW_TYPE.Float:
      if (type.precision === FLOAT_PRECISION.SINGLE) return DataTypes.FLOAT();
      if (type.precision === FLOAT_PRECISION.DOUBLE) return DataTypes.DOUBLE();
      break;
    // Exact types of the same values: a zoned timestamp is an instant (TIMESTAMP_LTZ).
    case ARROW_TYPE.Decimal:
      if (type.bitWidth === 128 && type.precision! >= 1 && type.precision! <= 38) return DataTypes.DECIMAL(type.precision!, type.scale!);
      break;
    case ARROW_TYPE.Date: return DataTypes.DATE();
    case ARROW_TYPE.Time:
    case ARROW_TYPE.Timestamp: {
      const precision = UNIT_PRECISION[type.unit!];
      if (precision === undefined) break;
      if (type.typeId === ARROW_TYPE.Time) return DataTypes.TIME(precision);
      return type.timezone ? DataTypes.TIMESTAMP_LTZ(precision) : DataTypes.TIMESTAMP(precision);
    }
  }
  throw new PyUdfError('INVALID_ARGUMENT', `fromArrow: column "${column}" is ${String(type)}; pyudf reads Bool, Int8-64, Float32/64, Utf8, Binary, ` +
    'Decimal (128-bit), Date, Time and Timestamp (seconds to microseconds) columns');
}

function isArrowTable(value: unknown): value is arrow.Table {
  const table = value as arrow.Table | null;
  return typeof table === 'object' && table !== null && typeof table.getChildAt === 'function' &&
    Array.isArray(table.schema?.fields) && typeof table.numRows === 'number';
}

/** An apache-arrow Table as a table of whole columns. */
export function arrowTable(table: arrow.Table): ColumnsTableDefinition {
  if (!isArrowTable(table)) throw new PyUdfError('INVALID_ARGUMENT', 'fromArrow: expected an apache-arrow Table');
  const schema: TableSchema = Object.freeze(table.schema.fields.map((f) => Object.freeze({ name: f.name, type: sqlTypeOf(f.type as ArrowTypeLike, f.name) })));
  const columns = table.schema.fields.map((_, i): GivenColumn => Object.freeze({ kind: 'arrow', vector: table.getChildAt(i)! as arrow.Vector }));
  return Object.freeze({ kind: 'columns', columns: Object.freeze(columns), numRows: table.numRows, schema });
}

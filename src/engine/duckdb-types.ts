import { PyUdfError } from '../errors.js';
import { DataType, DataTypes } from '../types/data-types.js';
import { fractionDigits, formatDate, formatTime, formatTimestamp } from '../types/temporal.js';
import type { SqlValue } from '../types/values.js';

/** The DuckDB column type that holds a pyudf type exactly. */
export function duckdbTypeOf(type: DataType, column: string): string {
  switch (type.name) {
    case 'BOOLEAN': case 'TINYINT': case 'SMALLINT': case 'BIGINT': case 'FLOAT': case 'DOUBLE': case 'DATE':
      return type.name;
    case 'INT': return 'INTEGER';
    case 'STRING': return 'VARCHAR';
    case 'BYTES': return 'BLOB';
    case 'DECIMAL': return `DECIMAL(${type.precision}, ${type.scale})`;
    case 'TIME': return 'TIME';
    // DuckDB keeps seconds, milliseconds or microseconds: the narrowest that holds the precision.
    case 'TIMESTAMP': return type.precision === 0 ? 'TIMESTAMP_S' : type.precision! <= 3 ? 'TIMESTAMP_MS' : 'TIMESTAMP';
    case 'TIMESTAMP_LTZ': return 'TIMESTAMPTZ';
    default:
      throw new PyUdfError('INVALID_ARGUMENT', `column "${column}" of type ${type.sqlText} cannot go through a relational operation yet (ARRAY, MAP and ROW columns are passed only between Python calls)`);
  }
}

/** The pyudf type of a DuckDB result column (Flink's result types: SUM and COUNT are BIGINT). */
export function dataTypeOfDuckdb(text: string, column: string): DataType {
  const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(text);
  if (decimal) return DataTypes.DECIMAL(Number(decimal[1]), Number(decimal[2]));
  switch (text) {
    case 'BOOLEAN': return DataTypes.BOOLEAN();
    case 'TINYINT': return DataTypes.TINYINT();
    case 'SMALLINT': return DataTypes.SMALLINT();
    case 'INTEGER': return DataTypes.INT();
    case 'BIGINT': case 'HUGEINT': case 'UBIGINT': case 'UINTEGER': return DataTypes.BIGINT();
    case 'UTINYINT': return DataTypes.SMALLINT();
    case 'USMALLINT': return DataTypes.INT();
    case 'FLOAT': return DataTypes.FLOAT();
    case 'DOUBLE': return DataTypes.DOUBLE();
    case 'VARCHAR': case '"NULL"': case 'NULL': return DataTypes.STRING();
    case 'BLOB': return DataTypes.BYTES();
    case 'DATE': return DataTypes.DATE();
    case 'TIME': return DataTypes.TIME(6);
    case 'TIMESTAMP_S': return DataTypes.TIMESTAMP(0);
    case 'TIMESTAMP_MS': return DataTypes.TIMESTAMP(3);
    case 'TIMESTAMP': case 'TIMESTAMP_NS': return DataTypes.TIMESTAMP(6);
    case 'TIMESTAMP WITH TIME ZONE': return DataTypes.TIMESTAMP_LTZ(6);
    default:
      throw new PyUdfError('INVALID_ARGUMENT', `column "${column}" has DuckDB type ${text}, which pyudf does not carry; CAST it to a SQL type`);
  }
}

/** What a DuckDB column is selected as, so that the value read back is the pyudf type's. */
export function readableColumn(quotedName: string, duckdbType: string): string {
  // HUGEINT comes from SUM over integers: Flink's SUM keeps BIGINT (and fails past it).
  if (duckdbType === 'HUGEINT' || duckdbType === 'UBIGINT') return `CAST(${quotedName} AS BIGINT)`;
  if (duckdbType === '"NULL"' || duckdbType === 'NULL') return `CAST(${quotedName} AS VARCHAR)`;
  if (duckdbType === 'TIMESTAMP_NS') return `CAST(${quotedName} AS TIMESTAMP)`;
  return quotedName;
}

interface DuckValue { toString(): string; days?: number; micros?: bigint; millis?: bigint; seconds?: bigint; bytes?: Uint8Array }

/** A value DuckDB returned, as pyudf's TypeScript value of `type`. */
export function fromDuckdb(value: unknown, type: DataType): SqlValue {
  if (value === null || value === undefined) return null;
  switch (type.name) {
    case 'BIGINT': return typeof value === 'bigint' ? value : BigInt(String(value));
    case 'TINYINT': case 'SMALLINT': case 'INT': case 'FLOAT': case 'DOUBLE':
      return Number(value);
    case 'BOOLEAN': case 'STRING': return value as SqlValue;
    case 'BYTES': return (value as DuckValue).bytes ?? null;
    case 'DECIMAL': return (value as DuckValue).toString();
    case 'DATE': return formatDate((value as DuckValue).days!);
    case 'TIME': return formatTime((value as DuckValue).micros!, fractionDigits(type.precision!));
    case 'TIMESTAMP': case 'TIMESTAMP_LTZ': {
      const v = value as DuckValue;
      const micros = v.micros ?? (v.millis !== undefined ? v.millis * 1000n : v.seconds! * 1_000_000n);
      return formatTimestamp(micros, fractionDigits(type.precision!), type.name === 'TIMESTAMP_LTZ');
    }
    default: return value as SqlValue;
  }
}

/** Quotes a column or table name for DuckDB. */
export function quoteName(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

import { createRequire } from 'node:module';
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
    // Nested types hold values of the scalar types DuckDB takes from JavaScript as they are.
    case 'ARRAY': return `${nestedTypeOf(type.elementType!, column)}[]`;
    case 'MAP': return `MAP(${nestedTypeOf(type.keyType!, column)}, ${nestedTypeOf(type.valueType!, column)})`;
    case 'ROW': return `STRUCT(${type.fields!.map((f) => `${quoteName(f.name)} ${nestedTypeOf(f.type, column)}`).join(', ')})`;
    default:
      throw new PyUdfError('INVALID_ARGUMENT', `column "${column}" of type ${type.sqlText} cannot go through a relational operation`);
  }
}

const NESTABLE = new Set(['BOOLEAN', 'TINYINT', 'SMALLINT', 'INT', 'BIGINT', 'FLOAT', 'DOUBLE', 'STRING', 'BYTES', 'ARRAY', 'MAP', 'ROW']);

function nestedTypeOf(type: DataType, column: string): string {
  if (!NESTABLE.has(type.name)) {
    throw new PyUdfError('INVALID_ARGUMENT', `column "${column}": ${type.sqlText} values inside an ARRAY, MAP or ROW cannot go through a relational operation; ` +
      'only BOOLEAN, integer, FLOAT, DOUBLE, STRING, BYTES and nested ARRAY, MAP, ROW values can');
  }
  return duckdbTypeOf(type, column);
}

type DuckdbApi = typeof import('@duckdb/node-api');
let duckdbApi: DuckdbApi | null = null;

/** A nested value (ARRAY, MAP, ROW) as the DuckDB value the appender takes. */
export function nestedValue(value: SqlValue, type: DataType): unknown {
  // Loaded on first use: a job that never moves nested values into the engine never loads DuckDB for it.
  const api = (duckdbApi ??= createRequire(import.meta.url)('@duckdb/node-api') as DuckdbApi);
  const convert = (v: SqlValue, t: DataType): unknown => {
    if (v === null) return null;
    switch (t.name) {
      case 'ARRAY': return api.listValue((v as SqlValue[]).map((e) => convert(e, t.elementType!)) as never[]);
      case 'MAP': return api.mapValue([...(v as Map<SqlValue, SqlValue>)].map(([key, val]) => ({ key: convert(key, t.keyType!), value: convert(val, t.valueType!) })) as never[]);
      case 'ROW': return api.structValue(Object.fromEntries(t.fields!.map((f) => [f.name, convert((v as Record<string, SqlValue>)[f.name] ?? null, f.type)])) as never);
      case 'BYTES': return api.blobValue(v as Uint8Array);
      default: return v;
    }
  };
  return convert(value, type);
}

/** Splits `a, b(c, d), e` at its top-level commas. */
function splitTypes(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') { i = text.indexOf('"', i + 1); continue; }
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) { parts.push(text.slice(start, i).trim()); start = i + 1; }
  }
  parts.push(text.slice(start).trim());
  return parts;
}

/** A nested DuckDB type (`BIGINT[]`, `MAP(VARCHAR, INTEGER)`, `STRUCT(a BIGINT, "b c" VARCHAR)`), or null. */
function nestedDataTypeOf(text: string, column: string): DataType | null {
  if (text.endsWith('[]')) return DataTypes.ARRAY(dataTypeOfDuckdb(text.slice(0, -2), column));
  const map = /^MAP\((.*)\)$/s.exec(text);
  if (map) {
    const [key, value] = splitTypes(map[1]!);
    return DataTypes.MAP(dataTypeOfDuckdb(key!, column), dataTypeOfDuckdb(value!, column));
  }
  const struct = /^STRUCT\((.*)\)$/s.exec(text);
  if (struct) {
    return DataTypes.ROW(splitTypes(struct[1]!).map((field) => {
      const m = /^("(?:[^"]|"")*"|\S+)\s+(.*)$/s.exec(field)!;
      const name = m[1]!.startsWith('"') ? m[1]!.slice(1, -1).replaceAll('""', '"') : m[1]!;
      return DataTypes.FIELD(name, dataTypeOfDuckdb(m[2]!, column));
    }));
  }
  return null;
}

/** The pyudf type of a DuckDB result column (Flink's result types: SUM and COUNT are BIGINT). */
export function dataTypeOfDuckdb(text: string, column: string): DataType {
  const nested = nestedDataTypeOf(text, column);
  if (nested) return nested;
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
    case 'ARRAY': return ((value as { items: unknown[] }).items).map((e) => fromDuckdb(e, type.elementType!));
    case 'MAP': return new Map((value as { entries: Array<{ key: unknown; value: unknown }> }).entries.map((e) => [fromDuckdb(e.key, type.keyType!), fromDuckdb(e.value, type.valueType!)]));
    case 'ROW': {
      const entries = (value as { entries: Record<string, unknown> }).entries;
      return Object.fromEntries(type.fields!.map((f) => [f.name, fromDuckdb(entries[f.name], f.type)]));
    }
    default: return value as SqlValue;
  }
}

/** Quotes a column or table name for DuckDB. */
export function quoteName(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

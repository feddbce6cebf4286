import * as arrow from 'apache-arrow';
import type { DataType } from '../types/data-types.js';
import { toArrowType } from '../types/arrow-types.js';
import { readDecimal, rescale, formatDecimal } from '../types/decimal.js';
import { MICROS_PER_SECOND, formatDate, formatTime, formatTimestamp, parseDate, parseTime, parseTimestamp } from '../types/temporal.js';
import type { SqlRow, SqlValue } from '../types/values.js';

/*
 * Arrow columns of the types apache-arrow's own builders and getters would
 * round through a JS number or Date (DECIMAL, DATE, TIME, TIMESTAMP,
 * TIMESTAMP_LTZ, and ARRAY, MAP, ROW holding them): written from and read
 * into the exact SqlValues of values.ts, buffer by buffer.
 */

/** Whether apache-arrow's vectorFromArray and get() handle a column of this type exactly. */
export function isPlainType(type: DataType): boolean {
  switch (type.name) {
    case 'DECIMAL': case 'DATE': case 'TIME': case 'TIMESTAMP': case 'TIMESTAMP_LTZ':
    case 'ARRAY': case 'MAP': case 'ROW':
      return false;
    default:
      return true;
  }
}

const OWN_READERS: ReadonlySet<arrow.Type> = new Set([
  arrow.Type.Decimal, arrow.Type.Date, arrow.Type.Time, arrow.Type.Timestamp, arrow.Type.List, arrow.Type.Map, arrow.Type.Struct,
]);

/** Whether apache-arrow's get() reads this Arrow type exactly (one lookup: it runs for every value read). */
export function isPlainArrowType(type: arrow.DataType): boolean {
  return !OWN_READERS.has(type.typeId);
}

/** One chunk holding `values` (already normalised by coerceValue) as a column of `type`. */
export function columnData(values: readonly SqlValue[], type: DataType): arrow.Data {
  const arrowType = toArrowType(type);
  if (isPlainType(type)) return arrow.vectorFromArray(values as unknown[], arrowType).data[0]!;
  const length = values.length;
  const { nullBitmap, nullCount } = validity(values);
  const base = { type: arrowType, length, nullCount, nullBitmap } as const;
  switch (type.name) {
    case 'DECIMAL': {
      const words = new Uint32Array(length * 4);
      values.forEach((value, i) => {
        if (value !== null) writeInt128(words, i, unscaledOf(value as string, type.scale!));
      });
      return arrow.makeData({ ...base, type: arrowType as arrow.Decimal, data: words });
    }
    case 'DATE': {
      const days = new Int32Array(length);
      values.forEach((value, i) => {
        if (value !== null) days[i] = must(parseDate(value as string));
      });
      return arrow.makeData({ ...base, type: arrowType as arrow.DateDay, data: days });
    }
    case 'TIME': {
      const micros = values.map((value) => (value === null ? 0n : must(parseTime(value as string, type.precision!))));
      const time = arrowType as arrow.Time;
      const perUnit = MICROS_IN_UNIT[time.unit]!;
      const data = time.bitWidth === 64 ? BigInt64Array.from(micros) : Int32Array.from(micros, (m) => Number(m / perUnit));
      return arrow.makeData({ ...base, type: time, data });
    }
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ': {
      const timestamp = arrowType as arrow.Timestamp;
      const perUnit = MICROS_IN_UNIT[timestamp.unit]!;
      const data = BigInt64Array.from(values, (value) =>
        (value === null ? 0n : must(parseTimestamp(value as string, type.precision!, type.name === 'TIMESTAMP_LTZ')) / perUnit));
      return arrow.makeData({ ...base, type: timestamp, data });
    }
    case 'ARRAY':
    case 'MAP': {
      const valueOffsets = new Int32Array(length + 1);
      const elements: SqlValue[] = [];
      const keys: SqlValue[] = [];
      values.forEach((value, i) => {
        // One push per element: spreading a long array into push() overflows the call stack.
        if (type.name === 'ARRAY') for (const item of (value ?? []) as SqlValue[]) elements.push(item);
        else for (const [k, v] of (value ?? new Map()) as Map<SqlValue, SqlValue>) { keys.push(k); elements.push(v); }
        valueOffsets[i + 1] = elements.length;
      });
      if (type.name === 'ARRAY') {
        return arrow.makeData({ ...base, type: arrowType as arrow.List, valueOffsets, child: columnData(elements, type.elementType!) });
      }
      const mapType = arrowType as arrow.Map_;
      const entries = arrow.makeData({
        type: mapType.children[0]!.type, length: keys.length, nullCount: 0,
        children: [columnData(keys, type.keyType!), columnData(elements, type.valueType!)],
      });
      return arrow.makeData({ ...base, type: mapType, valueOffsets, child: entries });
    }
    case 'ROW': {
      const children = type.fields!.map((field) =>
        columnData(values.map((value) => (value === null ? null : (value as SqlRow)[field.name] ?? null)), field.type));
      return arrow.makeData({ ...base, type: arrowType as arrow.Struct, children });
    }
    default:
      throw new Error(`no Arrow column for ${type}`);
  }
}

const MICROS_IN_UNIT: Partial<Record<arrow.TimeUnit, bigint>> = {
  [arrow.TimeUnit.SECOND]: MICROS_PER_SECOND,
  [arrow.TimeUnit.MILLISECOND]: 1000n,
  [arrow.TimeUnit.MICROSECOND]: 1n,
};

const UNIT_DIGITS: Partial<Record<arrow.TimeUnit, number>> = {
  [arrow.TimeUnit.SECOND]: 0,
  [arrow.TimeUnit.MILLISECOND]: 3,
  [arrow.TimeUnit.MICROSECOND]: 6,
};

function validity(values: readonly SqlValue[]): { nullBitmap: Uint8Array | undefined; nullCount: number } {
  let nullCount = 0;
  for (const value of values) if (value === null) nullCount++;
  if (nullCount === 0) return { nullBitmap: undefined, nullCount };
  const nullBitmap = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((value, i) => {
    if (value !== null) nullBitmap[i >> 3]! |= 1 << (i & 7);
  });
  return { nullBitmap, nullCount };
}

/** Values reach here normalised; a value that is not is a bug of ours, not bad input. */
function must<T>(parsed: { value: T } | { error: string }): T {
  if ('error' in parsed) throw new Error(`internal: an unchecked value reached an Arrow column (${parsed.error})`);
  return parsed.value;
}

function unscaledOf(text: string, scale: number): bigint {
  const decimal = readDecimal(text);
  const unscaled = decimal && rescale(decimal, scale);
  if (unscaled === null || unscaled === undefined) throw new Error(`internal: ${JSON.stringify(text)} is not a DECIMAL with scale ${scale}`);
  return unscaled;
}

function writeInt128(words: Uint32Array, index: number, value: bigint): void {
  let bits = BigInt.asUintN(128, value);
  for (let w = 0; w < 4; w++) {
    words[index * 4 + w] = Number(bits & 0xffffffffn);
    bits >>= 32n;
  }
}

function readInt128(words: Uint32Array, index: number): bigint {
  let bits = 0n;
  for (let w = 3; w >= 0; w--) bits = (bits << 32n) | BigInt(words[index * 4 + w]!);
  return BigInt.asIntN(128, bits);
}

const plainVectors = new WeakMap<arrow.Data, arrow.Vector>();

/** The value at `index` of one chunk, as the SqlValue of its column's type. */
export function readValue(data: arrow.Data, index: number): SqlValue {
  if (!data.getValid(index)) return null;
  const type = data.type;
  if (isPlainArrowType(type)) {
    let vector = plainVectors.get(data);
    if (vector === undefined) {
      vector = new arrow.Vector([data]);
      plainVectors.set(data, vector);
    }
    return vector.get(index) as SqlValue;
  }
  if (arrow.DataType.isDecimal(type)) return formatDecimal(readInt128(data.values as Uint32Array, index), type.scale);
  if (arrow.DataType.isDate(type)) {
    // DATE columns are DateDay; a DateMillisecond from elsewhere holds whole days too.
    const value = data.values[index];
    return formatDate(type.unit === arrow.DateUnit.DAY ? Number(value) : Math.floor(Number(value) / 86_400_000));
  }
  if (arrow.DataType.isTime(type)) {
    return formatTime(BigInt(data.values[index] as number | bigint) * MICROS_IN_UNIT[type.unit]!, UNIT_DIGITS[type.unit]!);
  }
  if (arrow.DataType.isTimestamp(type)) {
    const micros = BigInt(data.values[index] as bigint) * MICROS_IN_UNIT[type.unit]!;
    return formatTimestamp(micros, UNIT_DIGITS[type.unit]!, type.timezone !== null && type.timezone !== undefined);
  }
  if (arrow.DataType.isList(type)) {
    const child = data.children[0]!;
    const out: SqlValue[] = [];
    for (let j = data.valueOffsets[index]!; j < data.valueOffsets[index + 1]!; j++) out.push(readValue(child, j));
    return out;
  }
  if (arrow.DataType.isMap(type)) {
    const [keys, items] = data.children[0]!.children as [arrow.Data, arrow.Data];
    const out = new Map<SqlValue, SqlValue>();
    for (let j = data.valueOffsets[index]!; j < data.valueOffsets[index + 1]!; j++) out.set(readValue(keys, j), readValue(items, j));
    return out;
  }
  const row: SqlRow = {};
  (type as arrow.Struct).children.forEach((field, k) => { row[field.name] = readValue(data.children[k]!, index); });
  return row;
}

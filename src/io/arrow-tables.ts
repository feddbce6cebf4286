import * as arrow from 'apache-arrow';
import { PyUdfError } from '../errors.js';
import { vectorOf, type Batch } from '../execution/vectors.js';
import type { SqlValue } from '../types/values.js';
import type { TableSchema } from '../table/schema.js';
import { DataTypes, toArrowType, type DataType } from '../types/data-types.js';
import { formatDate } from '../types/temporal.js';
import type { ColumnsTableDefinition } from './columns-source.js';
import type { Sink } from './sink.js';

/** The SQL type an Arrow column's type is read as: those whose layout is the type's own, so the column is used as it is. */
function sqlTypeOf(type: arrow.DataType, column: string): DataType {
  if (arrow.DataType.isDictionary(type)) return sqlTypeOf(type.dictionary, column);
  const plain: [arrow.DataType, DataType][] = [
    [new arrow.Bool(), DataTypes.BOOLEAN()], [new arrow.Int8(), DataTypes.TINYINT()], [new arrow.Int16(), DataTypes.SMALLINT()],
    [new arrow.Int32(), DataTypes.INT()], [new arrow.Int64(), DataTypes.BIGINT()], [new arrow.Float32(), DataTypes.FLOAT()],
    [new arrow.Float64(), DataTypes.DOUBLE()], [new arrow.Utf8(), DataTypes.STRING()], [new arrow.Binary(), DataTypes.BYTES()],
  ];
  const found = plain.find(([a]) => a.typeId === type.typeId && String(a) === String(type));
  if (found) return found[1];
  const exact = exactTypeOf(type);
  if (exact) return exact;
  throw new PyUdfError('INVALID_ARGUMENT', `fromArrow: column "${column}" is ${String(type)}; pyudf reads Bool, Int8-64, Float32/64, Utf8, Binary, ` +
    'Decimal (128-bit), Date, Time and Timestamp (seconds to microseconds) columns');
}

const PRECISIONS: Readonly<Record<number, number>> = { [arrow.TimeUnit.SECOND]: 0, [arrow.TimeUnit.MILLISECOND]: 3, [arrow.TimeUnit.MICROSECOND]: 6 };

/** Decimal, date, time and timestamp columns as the exact SQL type of the same values (a zoned timestamp is an instant: TIMESTAMP_LTZ). */
function exactTypeOf(type: arrow.DataType): DataType | null {
  if (arrow.DataType.isDecimal(type) && type.bitWidth === 128 && type.precision >= 1 && type.precision <= 38) return DataTypes.DECIMAL(type.precision, type.scale);
  if (arrow.DataType.isDate(type)) return DataTypes.DATE();
  const precision = (arrow.DataType.isTime(type) || arrow.DataType.isTimestamp(type)) ? PRECISIONS[type.unit] : undefined;
  if (precision === undefined) return null;
  if (arrow.DataType.isTime(type)) return DataTypes.TIME(precision);
  return (type as arrow.Timestamp).timezone ? DataTypes.TIMESTAMP_LTZ(precision) : DataTypes.TIMESTAMP(precision);
}

/** A column whose layout is not its SQL type's own (dates in milliseconds, a zone other than UTC) in that layout. */
function asSqlLayout(vector: arrow.Vector, sqlType: DataType): arrow.Vector {
  const wanted = toArrowType(sqlType);
  if (String(wanted) === String(vector.type)) return vector;
  if (arrow.DataType.isDate(vector.type)) {
    // Milliseconds since the epoch, whole days for a date.
    return vectorOf([...vector].map((ms) => (ms === null ? null : formatDate(Math.floor(Number(ms) / 86_400_000)))), sqlType);
  }
  // Same values, another label (a zone, a bit width): the buffers are shared.
  return new arrow.Vector(vector.data.map((data) => data.clone(wanted)));
}

/** An apache-arrow Table as a table of whole columns. */
export function arrowTable(table: arrow.Table): ColumnsTableDefinition {
  if (!(table instanceof arrow.Table)) throw new PyUdfError('INVALID_ARGUMENT', 'fromArrow: expected an apache-arrow Table');
  const schema: TableSchema = Object.freeze(table.schema.fields.map((f) => Object.freeze({ name: f.name, type: sqlTypeOf(f.type, f.name) })));
  const vectors = table.schema.fields.map((f, i) => {
    const vector = table.getChildAt(i)! as arrow.Vector;
    // A dictionary-encoded string column (apache-arrow's default for strings) is decoded once.
    return arrow.DataType.isDictionary(f.type) ? vectorOf([...vector] as SqlValue[], schema[i]!.type) : asSqlLayout(vector, schema[i]!.type);
  });
  return Object.freeze({ kind: 'columns', vectors: Object.freeze(vectors), numRows: table.numRows, schema });
}

/** Gathers a job's batches into an apache-arrow Table, column by column. */
export function arrowSink(schema: TableSchema): Sink & { table(): arrow.Table } {
  let batches: Batch[] = [];
  let rows = 0;
  return {
    async write(batch: Batch) {
      batches.push(batch);
      rows += batch.numRows;
    },
    async finish() { return rows; },
    publish() {},
    async abort() { batches = []; },
    table() {
      const columns: Record<string, arrow.Vector> = {};
      schema.forEach((field, c) => {
        const parts = batches.map((b) => b.columns[c]!);
        columns[field.name] = parts.length === 0
          ? arrow.vectorFromArray([], toArrowType(field.type)) as arrow.Vector
          : parts.slice(1).reduce((all, part) => all.concat(part), parts[0]!);
      });
      return new arrow.Table(columns);
    },
  };
}

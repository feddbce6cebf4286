import * as arrow from 'apache-arrow';
import type { DataType } from './data-types.js';

// Kept apart from data-types.ts so that declaring types does not load apache-arrow:
// only the execution layer, loaded by a table's first job, needs Arrow's types.

/** The Arrow unit of a TIME/TIMESTAMP precision, as PyFlink maps them. */
export function arrowTimeUnit(precision: number): arrow.TimeUnit {
  return precision === 0 ? arrow.TimeUnit.SECOND : precision <= 3 ? arrow.TimeUnit.MILLISECOND : arrow.TimeUnit.MICROSECOND;
}

/** A column's Arrow type: the same as the Python worker's `DataType.to_arrow()`. */
export function toArrowType(type: DataType): arrow.DataType {
  switch (type.name) {
    case 'BOOLEAN': return new arrow.Bool();
    case 'TINYINT': return new arrow.Int8();
    case 'SMALLINT': return new arrow.Int16();
    case 'INT': return new arrow.Int32();
    case 'BIGINT': return new arrow.Int64();
    case 'FLOAT': return new arrow.Float32();
    case 'DOUBLE': return new arrow.Float64();
    case 'STRING': return new arrow.Utf8();
    case 'BYTES': return new arrow.Binary();
    case 'DECIMAL': return new arrow.Decimal(type.scale!, type.precision!, 128);
    case 'DATE': return new arrow.DateDay();
    case 'TIME': {
      const unit = arrowTimeUnit(type.precision!);
      return new arrow.Time(unit, unit === arrow.TimeUnit.MICROSECOND ? 64 : 32);
    }
    // The zone marks a column as instants: TIMESTAMP and TIMESTAMP_LTZ differ on the wire.
    case 'TIMESTAMP': return new arrow.Timestamp(arrowTimeUnit(type.precision!));
    case 'TIMESTAMP_LTZ': return new arrow.Timestamp(arrowTimeUnit(type.precision!), 'UTC');
    case 'ARRAY': return new arrow.List(arrowField('element', type.elementType!));
    case 'MAP': {
      const entries = new arrow.Struct<{ key: arrow.DataType; value: arrow.DataType }>([
        new arrow.Field('key', toArrowType(type.keyType!), false),
        arrowField('value', type.valueType!),
      ]);
      return new arrow.Map_(new arrow.Field('entries', entries, false));
    }
    case 'ROW': return new arrow.Struct(type.fields!.map((f) => arrowField(f.name, f.type)));
    case 'NULL': return new arrow.Null();
  }
}

function arrowField(name: string, type: DataType): arrow.Field {
  return new arrow.Field(name, toArrowType(type), type.nullable);
}

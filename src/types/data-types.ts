import { PyUdfError } from '../errors.js';

export type TypeName =
  | 'BOOLEAN'
  | 'TINYINT'
  | 'SMALLINT'
  | 'INT'
  | 'BIGINT'
  | 'FLOAT'
  | 'DOUBLE'
  | 'STRING'
  | 'BYTES'
  | 'DECIMAL'
  | 'DATE'
  | 'TIME'
  | 'TIMESTAMP'
  | 'TIMESTAMP_LTZ'
  | 'ARRAY'
  | 'MAP'
  | 'ROW'
  | 'NULL';

/** One field of a ROW type, made with `DataTypes.FIELD(name, type)`. */
export interface RowField {
  readonly name: string;
  readonly type: DataType;
  readonly description?: string;
}

/** What a parameterised type is made of; each type takes only its own. */
export interface DataTypeParams {
  readonly precision?: number;
  readonly scale?: number;
  readonly elementType?: DataType;
  readonly keyType?: DataType;
  readonly valueType?: DataType;
  readonly fields?: readonly RowField[];
  /** STRING, BYTES: the most characters or bytes a value has (CHAR, VARCHAR, BINARY, VARBINARY). */
  readonly length?: number;
  /** STRING, BYTES: every value has exactly `length` (CHAR, BINARY), shorter ones padded. */
  readonly fixedLength?: boolean;
}

/** Flink's STRING is VARCHAR(2147483647) and BYTES VARBINARY(2147483647). */
export const MAX_LENGTH = 2147483647;

export const TYPE_NAMES: readonly TypeName[] = [
  'BOOLEAN', 'TINYINT', 'SMALLINT', 'INT', 'BIGINT', 'FLOAT', 'DOUBLE', 'STRING', 'BYTES',
  'DECIMAL', 'DATE', 'TIME', 'TIMESTAMP', 'TIMESTAMP_LTZ', 'ARRAY', 'MAP', 'ROW', 'NULL',
];

/** Python's datetime holds microseconds: finer precisions could not reach a UDF exactly. */
export const MAX_TIME_PRECISION = 6;
export const MAX_DECIMAL_PRECISION = 38;

const TEMPORAL: ReadonlySet<TypeName> = new Set(['TIME', 'TIMESTAMP', 'TIMESTAMP_LTZ']);
const COMPOSITE: ReadonlySet<TypeName> = new Set(['ARRAY', 'MAP', 'ROW']);

/**
 * A SQL type. Its text (`toString()`, e.g. "BIGINT", "STRING NOT NULL",
 * "DECIMAL(38, 10)", "ARRAY<ROW<a INT, b STRING>>") is how types travel to
 * Python workers, which print and parse the same text.
 */
export class DataType {
  readonly name: TypeName;
  readonly nullable: boolean;
  /** DECIMAL: digits in all (1 to 38). TIME, TIMESTAMP, TIMESTAMP_LTZ: digits of a second (0 to 6). */
  readonly precision?: number;
  /** DECIMAL: digits after the point (0 to precision). */
  readonly scale?: number;
  /** ARRAY: the type of its elements. */
  readonly elementType?: DataType;
  /** MAP: the type of its keys (a scalar type; keys are never NULL). */
  readonly keyType?: DataType;
  /** MAP: the type of its values. */
  readonly valueType?: DataType;
  /** ROW: its fields, in order. */
  readonly fields?: readonly RowField[];
  /**
   * STRING (CHAR/VARCHAR) and BYTES (BINARY/VARBINARY): the most characters or
   * bytes a value may have; absent for STRING and BYTES themselves.
   */
  readonly length?: number;
  /** CHAR and BINARY: values are exactly `length` long, shorter ones padded (spaces, zero bytes). */
  readonly fixedLength?: boolean;

  constructor(name: TypeName, nullable = true, params: DataTypeParams = {}) {
    if (!TYPE_NAMES.includes(name)) {
      throw new PyUdfError('INVALID_ARGUMENT', `unknown SQL type "${String(name)}"; known types: ${TYPE_NAMES.join(', ')}`);
    }
    this.name = name;
    this.nullable = nullable;
    if (name === 'DECIMAL') {
      this.precision = checkInteger('DECIMAL precision', params.precision ?? 10, 1, MAX_DECIMAL_PRECISION);
      this.scale = checkInteger('DECIMAL scale', params.scale ?? 0, 0, this.precision);
    } else if (TEMPORAL.has(name)) {
      this.precision = checkInteger(`${name} precision`, params.precision ?? (name === 'TIME' ? 0 : 6), 0, MAX_TIME_PRECISION,
        " (Python's datetime holds microseconds)");
    } else if (name === 'ARRAY') {
      this.elementType = checkType(params.elementType, 'the ARRAY element type');
    } else if (name === 'MAP') {
      this.keyType = checkType(params.keyType, 'the MAP key type');
      this.valueType = checkType(params.valueType, 'the MAP value type');
      if (COMPOSITE.has(this.keyType.name)) {
        // Python dict keys must be hashable: a list or dict key could never reach a UDF.
        throw new PyUdfError('INVALID_ARGUMENT', `MAP keys must be of a scalar type, not ${this.keyType}`);
      }
    } else if (name === 'ROW') {
      this.fields = checkFields(params.fields);
    } else if ((name === 'STRING' || name === 'BYTES') && (params.length !== undefined || params.fixedLength)) {
      const fixed = params.fixedLength === true;
      const spelling = name === 'STRING' ? (fixed ? 'CHAR' : 'VARCHAR') : (fixed ? 'BINARY' : 'VARBINARY');
      const length = checkInteger(`${spelling} length`, params.length ?? 1, 1, MAX_LENGTH);
      // VARCHAR(2147483647) is STRING itself, as in Flink.
      if (fixed || length !== MAX_LENGTH) {
        this.length = length;
        if (fixed) this.fixedLength = true;
      }
    }
    Object.freeze(this);
  }

  notNull(): DataType {
    return this.withNullability(false);
  }

  /** This type, NULL allowed or not. */
  withNullability(nullable: boolean): DataType {
    if (nullable === this.nullable) return this;
    return new DataType(this.name, nullable, this);
  }

  equals(other: DataType): boolean {
    return other instanceof DataType && this.toString() === other.toString();
  }

  /** The SQL text without a NOT NULL suffix, e.g. "DECIMAL(10, 2)". */
  get sqlText(): string {
    switch (this.name) {
      case 'DECIMAL': return `DECIMAL(${this.precision}, ${this.scale})`;
      case 'TIME':
      case 'TIMESTAMP':
      case 'TIMESTAMP_LTZ': return `${this.name}(${this.precision})`;
      case 'ARRAY': return `ARRAY<${this.elementType}>`;
      case 'MAP': return `MAP<${this.keyType}, ${this.valueType}>`;
      case 'ROW': return `ROW<${this.fields!.map((f) => `${quoteFieldName(f.name)} ${f.type}`).join(', ')}>`;
      case 'STRING':
      case 'BYTES': {
        if (this.length === undefined) return this.name;
        const spelling = this.name === 'STRING' ? (this.fixedLength ? 'CHAR' : 'VARCHAR') : (this.fixedLength ? 'BINARY' : 'VARBINARY');
        return `${spelling}(${this.length})`;
      }
      default: return this.name;
    }
  }

  toString(): string {
    return this.nullable ? this.sqlText : `${this.sqlText} NOT NULL`;
  }
}

function checkInteger(what: string, value: unknown, low: number, high: number, why = ''): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < low || value > high) {
    throw new PyUdfError('INVALID_ARGUMENT', `${what} must be an integer from ${low} to ${high}${why}, got ${String(value)}`);
  }
  return value;
}

function checkType(value: unknown, what: string): DataType {
  if (!(value instanceof DataType)) {
    throw new PyUdfError('INVALID_ARGUMENT', `${what} must be a DataType such as DataTypes.INT(), got ${String(value)}`);
  }
  return value;
}

function checkFields(fields: unknown): readonly RowField[] {
  if (!Array.isArray(fields) || fields.length === 0) {
    throw new PyUdfError('INVALID_ARGUMENT', 'a ROW type needs at least one field, e.g. DataTypes.ROW([DataTypes.FIELD("a", DataTypes.INT())])');
  }
  const checked = fields.map((field: Partial<RowField> | null, i) => {
    if (field === null || typeof field !== 'object' || typeof field.name !== 'string' || field.name === '') {
      throw new PyUdfError('INVALID_ARGUMENT', `ROW field ${i} must be made with DataTypes.FIELD(name, type), got ${String(field)}`);
    }
    return Object.freeze({
      name: field.name,
      type: checkType(field.type, `the type of ROW field "${field.name}"`),
      ...(field.description === undefined ? {} : { description: String(field.description) }),
    });
  });
  const names = checked.map((f) => f.name);
  const duplicates = [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
  if (duplicates.length > 0) {
    throw new PyUdfError('INVALID_ARGUMENT', `a ROW type has duplicate field names: ${duplicates.join(', ')}`);
  }
  return Object.freeze(checked);
}

/** A field name as SQL type text writes it: backticks unless it is a plain identifier. */
export function quoteFieldName(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `\`${name.replaceAll('`', '``')}\``;
}

/** Factory of SQL types, with the names and parameters of PyFlink's `DataTypes`. */
export const DataTypes = Object.freeze({
  BOOLEAN: (nullable = true) => new DataType('BOOLEAN', nullable),
  TINYINT: (nullable = true) => new DataType('TINYINT', nullable),
  SMALLINT: (nullable = true) => new DataType('SMALLINT', nullable),
  INT: (nullable = true) => new DataType('INT', nullable),
  BIGINT: (nullable = true) => new DataType('BIGINT', nullable),
  FLOAT: (nullable = true) => new DataType('FLOAT', nullable),
  DOUBLE: (nullable = true) => new DataType('DOUBLE', nullable),
  /** Text of any length: VARCHAR(2147483647). */
  STRING: (nullable = true) => new DataType('STRING', nullable),
  /** Text of exactly `length` characters (1 to 2147483647): shorter values are padded with spaces. */
  CHAR: (length: number, nullable = true) => new DataType('STRING', nullable, { length, fixedLength: true }),
  /** Text of at most `length` characters (1 to 2147483647); a longer value is refused naming its row. */
  VARCHAR: (length: number, nullable = true) => new DataType('STRING', nullable, { length }),
  /** Bytes of any length: VARBINARY(2147483647). */
  BYTES: (nullable = true) => new DataType('BYTES', nullable),
  /** Exactly `length` bytes (1 to 2147483647): shorter values are padded with zero bytes. */
  BINARY: (length: number, nullable = true) => new DataType('BYTES', nullable, { length, fixedLength: true }),
  /** At most `length` bytes (1 to 2147483647); a longer value is refused naming its row. */
  VARBINARY: (length: number, nullable = true) => new DataType('BYTES', nullable, { length }),
  /** Exact decimals: `precision` digits in all (1 to 38), `scale` of them after the point. */
  DECIMAL: (precision: number, scale: number, nullable = true) => new DataType('DECIMAL', nullable, { precision, scale }),
  /** A date, 0001-01-01 to 9999-12-31. */
  DATE: (nullable = true) => new DataType('DATE', nullable),
  /** A time of day without time zone; `precision` digits of a second (0 to 6, default 0). */
  TIME: (precision = 0, nullable = true) => new DataType('TIME', nullable, { precision }),
  /** A wall-clock date and time without time zone; `precision` digits of a second (0 to 6, default 6). */
  TIMESTAMP: (precision = 6, nullable = true) => new DataType('TIMESTAMP', nullable, { precision }),
  /** An instant on the time line (TIMESTAMP WITH LOCAL TIME ZONE); `precision` digits of a second (0 to 6, default 6). */
  TIMESTAMP_LTZ: (precision = 6, nullable = true) => new DataType('TIMESTAMP_LTZ', nullable, { precision }),
  TIMESTAMP_WITH_LOCAL_TIME_ZONE: (precision = 6, nullable = true) => new DataType('TIMESTAMP_LTZ', nullable, { precision }),
  LOCAL_ZONED_TIMESTAMP: (precision = 6, nullable = true) => new DataType('TIMESTAMP_LTZ', nullable, { precision }),
  ARRAY: (elementType: DataType, nullable = true) => new DataType('ARRAY', nullable, { elementType }),
  /** Keys of a scalar type, never NULL. */
  MAP: (keyType: DataType, valueType: DataType, nullable = true) => new DataType('MAP', nullable, { keyType, valueType }),
  ROW: (fields: readonly RowField[], nullable = true) => new DataType('ROW', nullable, { fields }),
  /** The type whose only value is NULL, as Flink's `DataTypes.NULL()`. */
  NULL: () => new DataType('NULL'),
  FIELD: (name: string, type: DataType, description?: string): RowField =>
    Object.freeze({ name, type, ...(description === undefined ? {} : { description }) }),
});

export function isIntegerType(type: DataType): boolean {
  return type.name === 'TINYINT' || type.name === 'SMALLINT' || type.name === 'INT' || type.name === 'BIGINT';
}

export function isNumericType(type: DataType): boolean {
  return isIntegerType(type) || type.name === 'FLOAT' || type.name === 'DOUBLE';
}

export function isCompositeType(type: DataType): boolean {
  return COMPOSITE.has(type.name);
}

export function isTemporalType(type: DataType): boolean {
  return type.name === 'DATE' || TEMPORAL.has(type.name);
}

const NUMERIC_RANK: Partial<Record<TypeName, number>> = {
  TINYINT: 1, SMALLINT: 2, INT: 3, BIGINT: 4, FLOAT: 5, DOUBLE: 6,
};

/** The decimal digits an integer type needs, as SQL's cast of it to DECIMAL. */
export const INTEGER_DIGITS: Partial<Record<TypeName, number>> = { TINYINT: 3, SMALLINT: 5, INT: 10, BIGINT: 19 };

/** The narrowest numeric type both sides widen to, as SQL's implicit casts. */
export function widerNumericType(a: DataType, b: DataType): DataType {
  const name = NUMERIC_RANK[a.name]! >= NUMERIC_RANK[b.name]! ? a.name : b.name;
  return new DataType(name, a.nullable || b.nullable);
}

/** Whether two types are the same apart from NULL being allowed (at any depth). */
export function sameType(a: DataType, b: DataType): boolean {
  if (a.name !== b.name || a.precision !== b.precision || a.scale !== b.scale) return false;
  switch (a.name) {
    case 'ARRAY': return sameType(a.elementType!, b.elementType!);
    case 'MAP': return sameType(a.keyType!, b.keyType!) && sameType(a.valueType!, b.valueType!);
    case 'ROW': return a.fields!.length === b.fields!.length &&
      a.fields!.every((f, i) => f.name === b.fields![i]!.name && sameType(f.type, b.fields![i]!.type));
    default: return true;
  }
}

/** Whether a value of `from` can be passed where `to` is expected without loss (NULL aside). */
export function widensTo(from: DataType, to: DataType): boolean {
  if (from.name !== to.name) {
    if (to.name === 'DECIMAL' && isIntegerType(from)) return INTEGER_DIGITS[from.name]! <= to.precision! - to.scale!;
    if (!isNumericType(from) || !isNumericType(to)) return false;
    if (isIntegerType(from) && isIntegerType(to)) return NUMERIC_RANK[from.name]! <= NUMERIC_RANK[to.name]!;
    // Integers and FLOAT widen to DOUBLE; BIGINT to FLOAT/DOUBLE loses precision, as in SQL, but is allowed.
    return NUMERIC_RANK[from.name]! <= NUMERIC_RANK[to.name]!;
  }
  switch (from.name) {
    case 'DECIMAL': return from.precision! - from.scale! <= to.precision! - to.scale! && from.scale! <= to.scale!;
    case 'TIME':
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ': return from.precision! <= to.precision!;
    case 'ARRAY': return widensTo(from.elementType!, to.elementType!);
    case 'MAP': return sameType(from.keyType!, to.keyType!) && widensTo(from.valueType!, to.valueType!);
    case 'ROW': return from.fields!.length === to.fields!.length &&
      from.fields!.every((f, i) => f.name === to.fields![i]!.name && widensTo(f.type, to.fields![i]!.type));
    default: return true;
  }
}

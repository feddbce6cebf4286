import * as arrow from 'apache-arrow';
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
  | 'BYTES';

/**
 * A SQL type. Its text (`toString()`, e.g. "BIGINT" or "STRING NOT NULL") is
 * how types travel to Python workers.
 */
export class DataType {
  readonly name: TypeName;
  readonly nullable: boolean;

  constructor(name: TypeName, nullable = true) {
    this.name = name;
    this.nullable = nullable;
    Object.freeze(this);
  }

  notNull(): DataType {
    return new DataType(this.name, false);
  }

  equals(other: DataType): boolean {
    return this.name === other.name && this.nullable === other.nullable;
  }

  toString(): string {
    return this.nullable ? this.name : `${this.name} NOT NULL`;
  }
}

/** Factory of SQL types, with the names of PyFlink's `DataTypes`. */
export const DataTypes = Object.freeze({
  BOOLEAN: (nullable = true) => new DataType('BOOLEAN', nullable),
  TINYINT: (nullable = true) => new DataType('TINYINT', nullable),
  SMALLINT: (nullable = true) => new DataType('SMALLINT', nullable),
  INT: (nullable = true) => new DataType('INT', nullable),
  BIGINT: (nullable = true) => new DataType('BIGINT', nullable),
  FLOAT: (nullable = true) => new DataType('FLOAT', nullable),
  DOUBLE: (nullable = true) => new DataType('DOUBLE', nullable),
  STRING: (nullable = true) => new DataType('STRING', nullable),
  BYTES: (nullable = true) => new DataType('BYTES', nullable),
});

const ALIASES: Readonly<Record<string, TypeName>> = {
  INTEGER: 'INT',
  VARCHAR: 'STRING',
  VARBINARY: 'BYTES',
  BOOL: 'BOOLEAN',
  REAL: 'FLOAT',
};

const TYPE_NAMES: readonly TypeName[] = [
  'BOOLEAN', 'TINYINT', 'SMALLINT', 'INT', 'BIGINT', 'FLOAT', 'DOUBLE', 'STRING', 'BYTES',
];

/** Parses a type's SQL text, as Python workers report it. */
export function parseDataType(text: string): DataType {
  let words = text.trim().toUpperCase().split(/\s+/);
  let nullable = true;
  if (words.length > 2 && words.at(-2) === 'NOT' && words.at(-1) === 'NULL') {
    nullable = false;
    words = words.slice(0, -2);
  }
  const base = words.join(' ').replace(/\(.*\)$/, '').trim();
  const name = (ALIASES[base] ?? base) as TypeName;
  if (!TYPE_NAMES.includes(name)) {
    throw new PyUdfError('INVALID_ARGUMENT', `unknown SQL type "${text}"; known types: ${TYPE_NAMES.join(', ')}`);
  }
  return new DataType(name, nullable);
}

export function isIntegerType(type: DataType): boolean {
  return type.name === 'TINYINT' || type.name === 'SMALLINT' || type.name === 'INT' || type.name === 'BIGINT';
}

export function isNumericType(type: DataType): boolean {
  return isIntegerType(type) || type.name === 'FLOAT' || type.name === 'DOUBLE';
}

const NUMERIC_RANK: Partial<Record<TypeName, number>> = {
  TINYINT: 1, SMALLINT: 2, INT: 3, BIGINT: 4, FLOAT: 5, DOUBLE: 6,
};

/** The narrowest numeric type both sides widen to, as SQL's implicit casts. */
export function widerNumericType(a: DataType, b: DataType): DataType {
  const name = NUMERIC_RANK[a.name]! >= NUMERIC_RANK[b.name]! ? a.name : b.name;
  return new DataType(name, a.nullable || b.nullable);
}

/** Whether a value of `from` can be passed where `to` is expected without loss. */
export function widensTo(from: DataType, to: DataType): boolean {
  if (from.name === to.name) return true;
  if (!isNumericType(from) || !isNumericType(to)) return false;
  if (isIntegerType(from) && isIntegerType(to)) return NUMERIC_RANK[from.name]! <= NUMERIC_RANK[to.name]!;
  // Integers and FLOAT widen to DOUBLE; BIGINT to FLOAT/DOUBLE loses precision, as in SQL, but is allowed.
  return NUMERIC_RANK[from.name]! <= NUMERIC_RANK[to.name]!;
}

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
  }
}

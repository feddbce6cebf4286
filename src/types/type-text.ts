import { PyUdfError } from '../errors.js';
import { DataType, DataTypes, TYPE_NAMES, type RowField, type TypeName } from './data-types.js';

/*
 * Reading SQL type text ("DECIMAL(38, 10)", "MAP<STRING, ARRAY<INT>> NOT NULL")
 * as Python workers print it. The grammar is Flink's, for the types pyudf has:
 * keywords in any case, field names as written (backticks around any other
 * name), NOT NULL after any type, nested or not. The Python package's
 * pyudf/type_text.py reads the same text.
 */

const TOKEN = /\s*(?:(?<word>[A-Za-z_][A-Za-z0-9_]*)|(?<number>\d+)|(?<quoted>`(?:[^`]|``)*`)|(?<string>'(?:[^']|'')*')|(?<punct>[<>(),]))/y;

const SIMPLE: Readonly<Record<string, TypeName>> = {
  BOOLEAN: 'BOOLEAN', BOOL: 'BOOLEAN',
  TINYINT: 'TINYINT',
  SMALLINT: 'SMALLINT',
  INT: 'INT', INTEGER: 'INT',
  BIGINT: 'BIGINT',
  FLOAT: 'FLOAT', REAL: 'FLOAT',
  DOUBLE: 'DOUBLE',
  STRING: 'STRING',
  BYTES: 'BYTES',
  DATE: 'DATE',
  NULL: 'NULL',
};
/** Spellings with a length: CHAR and VARCHAR are STRINGs, BINARY and VARBINARY BYTES, with their length kept. */
const WITH_LENGTH: Readonly<Record<string, TypeName>> = { CHAR: 'STRING', VARCHAR: 'STRING', BINARY: 'BYTES', VARBINARY: 'BYTES' };

interface Token {
  readonly kind: 'word' | 'number' | 'quoted' | 'string' | 'punct';
  readonly text: string;
  readonly position: number;
}

class UnknownType extends Error {
  constructor(readonly word: string) {
    super(word);
  }
}

/** Parses a type's SQL text, as Python workers print it (`str(DataType)`). */
export function parseDataType(text: string): DataType {
  try {
    const parser = new TypeParser(text);
    const type = parser.dataType();
    parser.end();
    return type;
  } catch (error) {
    if (error instanceof UnknownType) {
      const inside = error.word === text.trim() ? '' : ` in "${text}"`;
      throw new PyUdfError('INVALID_ARGUMENT', `unknown SQL type "${error.word}"${inside}; known types: ${[...TYPE_NAMES].sort().join(', ')}`);
    }
    const reason = error instanceof PyUdfError || error instanceof SyntaxError ? error.message : String(error);
    throw new PyUdfError('INVALID_ARGUMENT', `cannot read SQL type "${text}": ${reason}`, { cause: error });
  }
}

class TypeParser {
  readonly #tokens: Token[] = [];
  #index = 0;

  constructor(text: string) {
    const trimmed = text.trimEnd();
    TOKEN.lastIndex = 0;
    while (TOKEN.lastIndex < trimmed.length) {
      const start = TOKEN.lastIndex;
      const match = TOKEN.exec(trimmed);
      if (match === null) throw new SyntaxError(`unexpected "${trimmed.slice(start).trimStart()[0]}" at position ${start + 1}`);
      const kind = (Object.keys(match.groups!) as Token['kind'][]).find((k) => match.groups![k] !== undefined)!;
      const value = match.groups![kind]!;
      this.#tokens.push({ kind, text: value, position: match.index + match[0].length - value.length });
    }
  }

  #peek(): Token | undefined {
    return this.#tokens[this.#index];
  }

  #take(): Token {
    const token = this.#peek();
    if (token === undefined) throw new SyntaxError('the text ends too early');
    this.#index++;
    return token;
  }

  #accept(value: string): boolean {
    const token = this.#peek();
    if (token && (token.kind === 'punct' || token.kind === 'word') && token.text.toUpperCase() === value) {
      this.#index++;
      return true;
    }
    return false;
  }

  #expect(value: string): void {
    if (this.#accept(value)) return;
    const token = this.#peek();
    throw new SyntaxError(`expected "${value}", found ${token ? `"${token.text}" at position ${token.position + 1}` : 'the end'}`);
  }

  #number(): number {
    const token = this.#take();
    if (token.kind !== 'number') throw new SyntaxError(`expected a number, found "${token.text}" at position ${token.position + 1}`);
    return Number(token.text);
  }

  #arguments(): number[] {
    if (!this.#accept('(')) return [];
    const values = [this.#number()];
    while (this.#accept(',')) values.push(this.#number());
    this.#expect(')');
    return values;
  }

  end(): void {
    const token = this.#peek();
    if (token) throw new SyntaxError(`unexpected "${token.text}" at position ${token.position + 1}`);
  }

  dataType(): DataType {
    const token = this.#take();
    if (token.kind !== 'word') throw new UnknownType(token.text);
    const type = this.#baseType(token.text.toUpperCase());
    if (type === null) throw new UnknownType(token.text);
    if (this.#accept('NOT')) {
      this.#expect('NULL');
      return type.notNull();
    }
    this.#accept('NULL');
    return type;
  }

  #baseType(name: string): DataType | null {
    if (SIMPLE[name]) return new DataType(SIMPLE[name]);
    if (WITH_LENGTH[name]) {
      const [length, ...rest] = this.#arguments();
      if (rest.length > 0) throw new SyntaxError(`${name} takes one length`);
      const fixedLength = name === 'CHAR' || name === 'BINARY';
      return new DataType(WITH_LENGTH[name], true, { length: length ?? 1, fixedLength });
    }
    if (name === 'DECIMAL' || name === 'DEC' || name === 'NUMERIC') {
      const [precision, scale, ...rest] = this.#arguments();
      if (rest.length > 0) throw new SyntaxError('DECIMAL takes a precision and a scale');
      return new DataType('DECIMAL', true, { precision: precision ?? 10, scale: scale ?? 0 });
    }
    if (name === 'TIME' || name === 'TIMESTAMP' || name === 'TIMESTAMP_LTZ') {
      const [precision, ...rest] = this.#arguments();
      if (rest.length > 0) throw new SyntaxError(`${name} takes one precision`);
      if (name === 'TIMESTAMP' && this.#accept('WITH')) {
        for (const word of ['LOCAL', 'TIME', 'ZONE']) this.#expect(word);
        return new DataType('TIMESTAMP_LTZ', true, { precision: precision ?? 6 });
      }
      if (name !== 'TIMESTAMP_LTZ' && this.#accept('WITHOUT')) {
        this.#expect('TIME');
        this.#expect('ZONE');
      }
      return new DataType(name, true, { precision: precision ?? (name === 'TIME' ? 0 : 6) });
    }
    if (name === 'ARRAY') {
      this.#expect('<');
      const element = this.dataType();
      this.#expect('>');
      return DataTypes.ARRAY(element);
    }
    if (name === 'MAP') {
      this.#expect('<');
      const key = this.dataType();
      this.#expect(',');
      const value = this.dataType();
      this.#expect('>');
      return DataTypes.MAP(key, value);
    }
    if (name === 'ROW') return this.#row();
    return null;
  }

  #row(): DataType {
    const closing = this.#accept('<') ? '>' : this.#accept('(') ? ')' : null;
    if (closing === null) throw new SyntaxError('expected "<" after ROW');
    const fields = [this.#field()];
    while (this.#accept(',')) fields.push(this.#field());
    this.#expect(closing);
    return DataTypes.ROW(fields);
  }

  #field(): RowField {
    const token = this.#take();
    let name: string;
    if (token.kind === 'word') name = token.text;
    else if (token.kind === 'quoted') name = token.text.slice(1, -1).replaceAll('``', '`');
    else throw new SyntaxError(`expected a field name, found "${token.text}" at position ${token.position + 1}`);
    const type = this.dataType();
    const next = this.#peek();
    if (next?.kind === 'string') {
      this.#index++;
      return DataTypes.FIELD(name, type, next.text.slice(1, -1).replaceAll("''", "'"));
    }
    return DataTypes.FIELD(name, type);
  }
}

import { SqlError } from '../errors.js';
import { parseDataType } from '../types/type-text.js';
import type { Field } from '../table/schema.js';
import { isKeyword, lineColumn, nameOf, syntaxError, tokenize, type Token } from './sql-text.js';

/** A statement recognised by its leading keywords; queries in it are parsed later, at `queryOffset`. */
export type Statement =
  | { kind: 'createTable'; name: string; nameOffset: number; ifNotExists: boolean; columns: readonly Field[]; options: ReadonlyMap<string, string>; optionOffsets: ReadonlyMap<string, number> }
  | { kind: 'createView'; name: string; nameOffset: number; ifNotExists: boolean; queryOffset: number }
  | { kind: 'createFunction'; name: string; nameOffset: number; ifNotExists: boolean; callable: string; callableOffset: number }
  | { kind: 'drop'; object: 'TABLE' | 'VIEW' | 'FUNCTION'; name: string; nameOffset: number; ifExists: boolean }
  | { kind: 'show'; object: 'TABLES' | 'VIEWS' | 'FUNCTIONS' | 'USER FUNCTIONS' }
  | { kind: 'describe'; name: string; nameOffset: number }
  | { kind: 'explain'; queryOffset: number }
  | { kind: 'insert'; name: string; nameOffset: number; queryOffset: number }
  | { kind: 'query'; queryOffset: number };

/** Reads what kind of statement `text` is; a trailing ";" is allowed. */
export function recognizeStatement(text: string): Statement {
  if (typeof text !== 'string' || text.trim() === '') {
    throw new SqlError('SQL_SYNTAX', 'SQL syntax error: the statement is empty', { statement: String(text), line: 1, column: 1 });
  }
  let tokens = tokenize(text);
  const last = tokens[tokens.length - 1];
  if (last?.value === ';' && last.kind === 'symbol') tokens = tokens.slice(0, -1);
  const extraSemicolon = tokens.find((t) => t.kind === 'symbol' && t.value === ';');
  if (extraSemicolon) throw syntaxError(text, extraSemicolon.start, 'one statement at a time: unexpected ";"');
  const reader = new TokenReader(text, tokens);
  const first = tokens[0]!;
  switch (first.kind === 'word' ? first.value.toUpperCase() : first.value) {
    case 'SELECT':
    case 'WITH':
    case '(':
      return { kind: 'query', queryOffset: first.start };
    case 'CREATE':
      reader.next();
      return create(reader);
    case 'DROP': {
      reader.next();
      reader.optional('TEMPORARY');
      reader.optional('SYSTEM');
      const object = reader.oneOf(['TABLE', 'VIEW', 'FUNCTION']) as 'TABLE' | 'VIEW' | 'FUNCTION';
      const ifExists = reader.optional('IF') ? (reader.keyword('EXISTS'), true) : false;
      const { name, offset } = reader.name(`${object.toLowerCase()} name`);
      reader.end();
      return { kind: 'drop', object, name, nameOffset: offset, ifExists };
    }
    case 'SHOW': {
      reader.next();
      // SHOW FUNCTIONS lists the built-in functions and the user's, SHOW USER FUNCTIONS the user's alone, as in Flink.
      if (reader.optional('USER')) {
        reader.keyword('FUNCTIONS');
        reader.end();
        return { kind: 'show', object: 'USER FUNCTIONS' };
      }
      const object = reader.oneOf(['TABLES', 'VIEWS', 'FUNCTIONS']) as 'TABLES' | 'VIEWS' | 'FUNCTIONS';
      reader.end();
      return { kind: 'show', object };
    }
    case 'DESCRIBE':
    case 'DESC': {
      reader.next();
      const { name, offset } = reader.name('table name');
      reader.end();
      return { kind: 'describe', name, nameOffset: offset };
    }
    case 'EXPLAIN': {
      reader.next();
      if (reader.optional('PLAN')) reader.keyword('FOR');
      return { kind: 'explain', queryOffset: reader.rest() };
    }
    case 'INSERT': {
      reader.next();
      if (reader.peekKeyword('OVERWRITE')) {
        throw new SqlError('SQL_UNSUPPORTED', 'INSERT OVERWRITE is not supported yet: INSERT INTO replaces the sink\'s file', { statement: text, ...lineColumn(text, reader.offset()) });
      }
      reader.keyword('INTO');
      const { name, offset } = reader.name('table name');
      if (reader.peekSymbol('(')) {
        throw new SqlError('SQL_UNSUPPORTED', 'a column list in INSERT INTO is not supported yet: select the sink\'s columns in order', { statement: text, ...lineColumn(text, reader.offset()) });
      }
      return { kind: 'insert', name, nameOffset: offset, queryOffset: reader.rest() };
    }
    default:
      throw syntaxError(text, first.start, `unexpected "${first.value}": expected SELECT, INSERT, CREATE, DROP, SHOW, DESCRIBE or EXPLAIN`);
  }
}

function create(reader: TokenReader): Statement {
  reader.optional('TEMPORARY');
  const system = reader.optional('SYSTEM');
  const object = reader.oneOf(system ? ['FUNCTION'] : ['TABLE', 'VIEW', 'FUNCTION']);
  const ifNotExists = reader.optional('IF') ? (reader.keyword('NOT'), reader.keyword('EXISTS'), true) : false;
  const { name, offset } = reader.name(`${object.toLowerCase()} name`);
  if (object === 'VIEW') {
    if (reader.peekSymbol('(')) throw new SqlError('SQL_UNSUPPORTED', 'a column list in CREATE VIEW is not supported yet: name the columns with AS in the query', { statement: reader.text, ...lineColumn(reader.text, reader.offset()) });
    reader.keyword('AS');
    return { kind: 'createView', name, nameOffset: offset, ifNotExists, queryOffset: reader.rest() };
  }
  if (object === 'FUNCTION') {
    reader.keyword('AS');
    const callable = reader.string('the Python function\'s dotted name, e.g. \'my_udfs.add\'');
    if (reader.optional('LANGUAGE')) {
      const language = reader.name('a language').name;
      if (language.toUpperCase() !== 'PYTHON') {
        throw new SqlError('SQL_UNSUPPORTED', `LANGUAGE ${language}: only LANGUAGE PYTHON functions exist here`, { statement: reader.text, ...lineColumn(reader.text, reader.previous().start) });
      }
    } else {
      throw syntaxError(reader.text, reader.offset(), 'expected LANGUAGE PYTHON: functions here are Python functions');
    }
    reader.end();
    return { kind: 'createFunction', name, nameOffset: offset, ifNotExists, callable: callable.value, callableOffset: callable.offset };
  }
  return createTable(reader, name, offset, ifNotExists);
}

/** `(a BIGINT, b DECIMAL(10, 2), ...) WITH ('k' = 'v', ...)`: each column's type is read as Flink type text. */
function createTable(reader: TokenReader, name: string, nameOffset: number, ifNotExists: boolean): Statement {
  reader.symbol('(');
  const columns: Field[] = [];
  for (;;) {
    const column = reader.name('a column name');
    if (['PRIMARY', 'WATERMARK', 'CONSTRAINT'].includes(column.name.toUpperCase()) && reader.previous().kind === 'word') {
      throw new SqlError('SQL_UNSUPPORTED', `${column.name.toUpperCase()} in CREATE TABLE is not supported: batch tables have plain columns`, { statement: reader.text, ...lineColumn(reader.text, column.offset) });
    }
    const typeStart = reader.offset();
    const typeEnd = reader.skipToTopLevel([',', ')']);
    const typeText = reader.text.slice(typeStart, typeEnd).trim();
    if (typeText === '') throw syntaxError(reader.text, typeStart, `expected the type of column "${column.name}"`);
    let type;
    try {
      type = parseDataType(typeText);
    } catch (error) {
      throw new SqlError('SQL_SYNTAX', `SQL syntax error: column "${column.name}": ${(error as Error).message}`, { statement: reader.text, ...lineColumn(reader.text, typeStart), cause: error });
    }
    if (columns.some((c) => c.name === column.name)) {
      throw new SqlError('INVALID_ARGUMENT', `column "${column.name}" is declared twice`, { statement: reader.text, ...lineColumn(reader.text, column.offset) });
    }
    columns.push(Object.freeze({ name: column.name, type }));
    if (reader.optionalSymbol(',')) continue;
    reader.symbol(')');
    break;
  }
  if (reader.optional('COMMENT')) reader.string('a comment');
  const options = new Map<string, string>();
  const optionOffsets = new Map<string, number>();
  if (reader.optional('WITH')) {
    reader.symbol('(');
    for (;;) {
      const key = reader.string('an option name in quotes, e.g. \'connector\'');
      reader.symbol('=');
      const value = reader.string(`a value in quotes for '${key.value}'`);
      if (options.has(key.value)) throw new SqlError('INVALID_ARGUMENT', `option '${key.value}' is given twice`, { statement: reader.text, ...lineColumn(reader.text, key.offset) });
      options.set(key.value, value.value);
      optionOffsets.set(key.value, key.offset);
      if (reader.optionalSymbol(',')) continue;
      reader.symbol(')');
      break;
    }
  }
  reader.end();
  return { kind: 'createTable', name, nameOffset, ifNotExists, columns: Object.freeze(columns), options, optionOffsets };
}

class TokenReader {
  #index = 0;

  constructor(readonly text: string, readonly tokens: readonly Token[]) {}

  next(): Token {
    return this.tokens[this.#index++]!;
  }

  previous(): Token {
    return this.tokens[this.#index - 1]!;
  }

  offset(): number {
    return this.tokens[this.#index]?.start ?? this.text.trimEnd().length;
  }

  fail(expected: string): never {
    const token = this.tokens[this.#index];
    throw syntaxError(this.text, this.offset(), `expected ${expected}${token ? ` but found "${this.text.slice(token.start, token.end)}"` : ' but the statement ends'}`);
  }

  peekKeyword(word: string): boolean {
    return isKeyword(this.tokens[this.#index], word);
  }

  peekSymbol(symbol: string): boolean {
    const token = this.tokens[this.#index];
    return token?.kind === 'symbol' && token.value === symbol;
  }

  optional(word: string): boolean {
    if (!this.peekKeyword(word)) return false;
    this.#index++;
    return true;
  }

  keyword(word: string): void {
    if (!this.optional(word)) this.fail(word);
  }

  oneOf(words: readonly string[]): string {
    const found = words.find((w) => this.peekKeyword(w));
    if (found === undefined) this.fail(words.join(' or '));
    this.#index++;
    return found;
  }

  optionalSymbol(symbol: string): boolean {
    if (!this.peekSymbol(symbol)) return false;
    this.#index++;
    return true;
  }

  symbol(symbol: string): void {
    if (!this.optionalSymbol(symbol)) this.fail(`"${symbol}"`);
  }

  name(what: string): { name: string; offset: number } {
    const token = this.tokens[this.#index];
    const name = nameOf(token);
    if (name === null) this.fail(what);
    this.#index++;
    if (this.peekSymbol('.')) {
      throw new SqlError('SQL_UNSUPPORTED', `qualified name "${name}.…": catalogs and databases are not supported, name the ${what.replace(/ name$/, '')} alone`, { statement: this.text, ...lineColumn(this.text, token!.start) });
    }
    return { name, offset: token!.start };
  }

  string(what: string): { value: string; offset: number } {
    const token = this.tokens[this.#index];
    if (token?.kind !== 'string') this.fail(what);
    this.#index++;
    return { value: token.value, offset: token.start };
  }

  /** Skips to the next of `stops` outside parentheses and angle brackets; its offset. */
  skipToTopLevel(stops: readonly string[]): number {
    let depth = 0;
    for (; this.#index < this.tokens.length; this.#index++) {
      const token = this.tokens[this.#index]!;
      if (token.kind !== 'symbol') continue;
      if (depth === 0 && stops.includes(token.value)) return token.start;
      if (token.value === '(' || token.value === '<') depth++;
      if (token.value === ')' || token.value === '>') depth--;
    }
    return this.text.length;
  }

  /** The offset where the rest of the statement (a query) starts. */
  rest(): number {
    if (this.#index >= this.tokens.length) this.fail('a query');
    return this.tokens[this.#index]!.start;
  }

  end(): void {
    if (this.#index < this.tokens.length) {
      const token = this.tokens[this.#index]!;
      throw syntaxError(this.text, token.start, `unexpected "${this.text.slice(token.start, token.end)}" after the end of the statement`);
    }
  }
}

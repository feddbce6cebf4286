import { SqlError } from '../errors.js';

/** A token of a SQL statement, with its place: enough to recognise statements and point at names. */
export interface Token {
  readonly kind: 'word' | 'quoted' | 'string' | 'number' | 'symbol';
  /** A word as written; a backticked name or a string without its quotes. */
  readonly value: string;
  readonly start: number;
  readonly end: number;
}

/** Splits a statement into tokens, skipping white space and comments. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (text.startsWith('--', i)) { const nl = text.indexOf('\n', i); i = nl < 0 ? text.length : nl + 1; continue; }
    if (text.startsWith('/*', i)) { const close = text.indexOf('*/', i + 2); i = close < 0 ? text.length : close + 2; continue; }
    const start = i;
    if (c === '`' || c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) {
          throw syntaxError(text, start, `unterminated ${c === '`' ? 'quoted name' : 'string'}`);
        }
        if (text[i] === c && text[i + 1] === c) { value += c; i += 2; continue; }
        if (text[i] === c) { i++; break; }
        value += text[i++];
      }
      tokens.push({ kind: c === '`' ? 'quoted' : 'string', value, start, end: i });
      continue;
    }
    const word = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(text.slice(i, i + 256));
    if (word) { i += word[0].length; tokens.push({ kind: 'word', value: word[0], start, end: i }); continue; }
    const number = /^\d+(\.\d+)?/.exec(text.slice(i, i + 256));
    if (number) { i += number[0].length; tokens.push({ kind: 'number', value: number[0], start, end: i }); continue; }
    i++;
    tokens.push({ kind: 'symbol', value: c, start, end: i });
  }
  return tokens;
}

/** True when the token is the keyword `word` (any case). */
export function isKeyword(token: Token | undefined, word: string): boolean {
  return token !== undefined && token.kind === 'word' && token.value.toUpperCase() === word;
}

/** A name token's name: a plain word or a backticked one. */
export function nameOf(token: Token | undefined): string | null {
  return token !== undefined && (token.kind === 'word' || token.kind === 'quoted') ? token.value : null;
}

/** 1-based line and column of an offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1]!.length + 1 };
}

/** Where a name is first written in a statement (as a word or backticked), from `from` on; -1 when nowhere. */
export function findName(text: string, name: string, from = 0): number {
  try {
    const token = tokenize(text).find((t) => t.start >= from && (t.kind === 'word' || t.kind === 'quoted') && t.value.toLowerCase() === name.toLowerCase());
    return token ? token.start : -1;
  } catch {
    return -1;
  }
}

export function syntaxError(statement: string, offset: number, message: string, cause?: unknown): SqlError {
  return new SqlError('SQL_SYNTAX', `SQL syntax error: ${message}`, { statement, ...lineColumn(statement, offset), cause });
}

/** The text with [start, end) replaced by `replacement` padded to the same length, so every later offset stays put. */
export function replaceKeepingOffsets(text: string, start: number, end: number, replacement: string): string {
  if (replacement.length > end - start) throw new Error(`replacement "${replacement}" is longer than the text it replaces`);
  return text.slice(0, start) + replacement.padEnd(end - start, ' ') + text.slice(end);
}

/** The text with [0, end) blanked out (newlines kept), so a parser reading the rest reports the statement's own offsets. */
export function blankPrefix(text: string, end: number): string {
  return text.slice(0, end).replace(/[^\n]/g, ' ') + text.slice(end);
}

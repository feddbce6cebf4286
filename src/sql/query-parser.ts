import { createRequire } from 'node:module';
import { SqlError } from '../errors.js';
import { isKeyword, lineColumn, nameOf, replaceKeepingOffsets, syntaxError, tokenize, type Token } from './sql-text.js';

/** A node of node-sql-parser's AST. */
export interface SqlAst {
  type?: string;
  [key: string]: unknown;
}

interface FlinkSqlParser {
  astify(sql: string, options: { database: string }): unknown;
  exprToSQL(expr: unknown, options: { database: string }): string;
}

const DIALECT = { database: 'flinksql' } as const;
let parser: FlinkSqlParser | null = null;

/**
 * The parser is loaded on first use, and only its Flink SQL grammar: a job
 * that uses no SQL never pays for it.
 */
function flinkSqlParser(): FlinkSqlParser {
  if (parser === null) {
    const require = createRequire(import.meta.url);
    const { Parser } = require('node-sql-parser/build/flinksql') as { Parser: new () => FlinkSqlParser };
    parser = new Parser();
  }
  return parser;
}

/** An expression of the AST as SQL text with backticked names, which Table API expression strings read. */
export function expressionText(expr: SqlAst): string {
  return flinkSqlParser().exprToSQL(withListaggSeparators(expr), DIALECT);
}

/**
 * The parser keeps LISTAGG's separator aside (`args.separator`), where its
 * printer forgets it: such a call is handed on as a call of two arguments.
 */
function withListaggSeparators(expr: SqlAst): SqlAst {
  if (Array.isArray(expr)) return expr.map((e) => withListaggSeparators(e as SqlAst)) as unknown as SqlAst;
  if (expr === null || typeof expr !== 'object') return expr;
  const args = expr.args as { expr?: SqlAst; separator?: unknown } | undefined;
  if (expr.type === 'aggr_func' && String(expr.name).toUpperCase() === 'LISTAGG' && args?.separator) {
    const separator = [args.separator].flat(Infinity).find((part): part is SqlAst => typeof part === 'object' && part !== null && 'type' in part);
    if (separator) {
      return {
        type: 'function', name: { name: [{ type: 'default', value: 'LISTAGG' }] }, over: expr.over ?? null,
        args: { type: 'expr_list', value: [withListaggSeparators(args.expr!), separator] },
      };
    }
  }
  return Object.fromEntries(Object.entries(expr).map(([key, value]) => [key, withListaggSeparators(value as SqlAst)])) as SqlAst;
}

/** `LATERAL TABLE(call) AS T(w, ...)` in a FROM clause: the parser sees a table named `name` in its place. */
export interface LateralTable {
  readonly name: string;
  /** The call inside TABLE(...), as written. */
  readonly callText: string;
  readonly callOffset: number;
  readonly alias: string | null;
  readonly columns: readonly string[] | null;
}

export interface ParsedQuery {
  readonly ast: SqlAst;
  readonly laterals: ReadonlyMap<string, LateralTable>;
  /** `f(x) OVER (spec)`: the parser sees `__overN(f(x))` (`__overN()` for `f()`); each name maps to its window. */
  readonly overs: ReadonlyMap<string, OverWindow>;
}

export const OVER_PREFIX = '__over';

/** An OVER window as written: its spec, and the call it applies to when that call has no arguments (ROW_NUMBER()). */
export interface OverWindow { readonly spec: string; readonly call: string | null }

export const LATERAL_PREFIX = '__lateral_';

/**
 * Parses the query that starts at `offset` of `statement`. Flink's forms the
 * grammar lacks are first rewritten in place, at the same length, so that
 * every position the parser reports is the statement's own:
 * `LATERAL TABLE(...) AS T(w)` becomes a placeholder table, and
 * `OFFSET n ROWS FETCH NEXT m ROWS ONLY` becomes `LIMIT m OFFSET n`.
 */
export function parseQuery(statement: string, offset: number): ParsedQuery {
  let text = statement.slice(0, offset).replace(/[^\n]/g, ' ') + statement.slice(offset);
  const tokens = tokenize(text).filter((t) => t.start >= offset);
  const laterals = new Map<string, LateralTable>();
  const overs = new Map<string, OverWindow>();
  // A rewrite longer than what it replaces moves what follows: kept to map the parser's positions back.
  const shifts: Array<{ at: number; by: number }> = [];
  const shifted = (offset: number) => offset + shifts.reduce((sum, s) => sum + (s.at <= offset ? s.by : 0), 0);
  for (let i = 0; i < tokens.length; i++) {
    if (isKeyword(tokens[i], 'LATERAL') && isKeyword(tokens[i + 1], 'TABLE')) {
      const lateral = readLateral(statement, tokens, i, laterals.size);
      text = replaceKeepingOffsets(text, shifted(tokens[i]!.start), shifted(lateral.end), lateral.table.name);
      laterals.set(lateral.table.name, lateral.table);
      i = lateral.next - 1;
    } else if (isKeyword(tokens[i], 'OVER') && tokens[i + 1]?.value === '(' && tokens[i - 1]?.value === ')') {
      // The grammar has no OVER (...): `f(x) OVER (spec)` becomes `__overN(f(x))` and spaces, at the same length.
      const callOpen = openingOf(tokens, i - 1);
      const nameToken = tokens[callOpen - 1];
      const close = closingOf(tokens, i + 1);
      if (nameToken?.kind !== 'word' || close < 0) throw syntaxError(statement, tokens[i]!.start, 'expected a function call before OVER and a window in parentheses after it');
      const name = `${OVER_PREFIX}${overs.size}`;
      const call = statement.slice(nameToken.start, tokens[i - 1]!.end);
      const start = shifted(nameToken.start);
      const end = shifted(tokens[close]!.end);
      // A call without arguments (ROW_NUMBER(), RANK()) the grammar reads only before OVER: it is kept aside.
      const bare = callOpen === i - 2;
      const replacement = bare ? `${name}()` : `${name}(${call})`;
      if (replacement.length > end - start) throw unsupported(statement, tokens[i]!.start, 'an OVER window this short');
      text = text.slice(0, start) + replacement.padEnd(end - start, ' ') + text.slice(end);
      overs.set(name, { spec: statement.slice(tokens[i + 1]!.end, tokens[close]!.start), call: bare ? call : null });
      i = close;
    } else if (isKeyword(tokens[i], 'POSITION') && tokens[i + 1]?.value === '(') {
      // The grammar reads `POSITION(a IN b)` only where b is a literal: the IN becomes a comma, `POSITION(a ,  b)`.
      const close = closingOf(tokens, i + 1);
      let depth = 0;
      for (let j = i + 2; j < close; j++) {
        if (tokens[j]!.kind === 'symbol' && tokens[j]!.value === '(') depth++;
        if (tokens[j]!.kind === 'symbol' && tokens[j]!.value === ')') depth--;
        if (depth === 0 && isKeyword(tokens[j], 'IN')) {
          text = replaceKeepingOffsets(text, shifted(tokens[j]!.start), shifted(tokens[j]!.end), ',');
          break;
        }
      }
    } else if ((isKeyword(tokens[i], 'TIMESTAMPADD') || isKeyword(tokens[i], 'TIMESTAMPDIFF')) && tokens[i + 1]?.value === '(' && tokens[i + 2]?.kind === 'word' && tokens[i + 3]?.value === ',') {
      // The grammar reads no unit keyword as an argument: `TIMESTAMPADD(YEAR, ...)` becomes `TIMESTAMPADD('YEAR', ...)`.
      const unit = tokens[i + 2]!;
      const start = shifted(unit.start);
      text = `${text.slice(0, start)}'${unit.value}'${text.slice(shifted(unit.end))}`;
      shifts.push({ at: unit.end, by: 2 });
      i += 3;
    } else if (isKeyword(tokens[i], 'OFFSET') || isKeyword(tokens[i], 'FETCH')) {
      const rewritten = readOffsetFetch(tokens, i);
      if (rewritten) {
        const start = shifted(tokens[i]!.start);
        const end = shifted(rewritten.end);
        const grows = Math.max(0, rewritten.text.length - (end - start));
        text = text.slice(0, start) + rewritten.text.padEnd(end - start, ' ') + text.slice(end);
        if (grows > 0) shifts.push({ at: rewritten.end, by: grows });
        i = rewritten.next - 1;
      }
    }
  }
  const unshifted = (offset: number) => offset - shifts.reduce((sum, s) => sum + (shifted(s.at) <= offset ? s.by : 0), 0);
  let ast: unknown;
  try {
    ast = flinkSqlParser().astify(text, DIALECT);
  } catch (error) {
    const location = (error as { location?: { start?: { offset?: number } } }).location?.start?.offset;
    const at = location === undefined ? offset : unshifted(location);
    const found = (error as { found?: string | null }).found;
    const near = found ? `unexpected "${found}"` : at >= statement.trimEnd().length ? 'unexpected end of statement' : (error as Error).message;
    throw syntaxError(statement, at, near, error);
  }
  if (Array.isArray(ast)) {
    if (ast.length !== 1) throw syntaxError(statement, offset, 'expected one statement');
    ast = ast[0];
  }
  return { ast: ast as SqlAst, laterals, overs };
}

/** The index of the "(" that the ")" at `close` ends. */
function openingOf(tokens: readonly Token[], close: number): number {
  let depth = 0;
  for (let i = close; i >= 0; i--) {
    if (tokens[i]!.kind !== 'symbol') continue;
    if (tokens[i]!.value === ')') depth++;
    if (tokens[i]!.value === '(' && --depth === 0) return i;
  }
  return -1;
}

/** The index of the ")" that ends the "(" at `open`; -1 when none does. */
function closingOf(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (tokens[i]!.kind !== 'symbol') continue;
    if (tokens[i]!.value === '(') depth++;
    if (tokens[i]!.value === ')' && --depth === 0) return i;
  }
  return -1;
}

/**
 * Puts the OVER windows back into an expression's text: `__overN(f(x))`
 * becomes `f(x) OVER (spec)`, the spec's qualified names (`o.k`) replaced by
 * `name(qualifier, column)`.
 */
export function restoreOvers(text: string, overs: ReadonlyMap<string, OverWindow>, name: (qualifier: string | null, column: string) => string): string {
  if (overs.size === 0 || !text.includes(OVER_PREFIX)) return text;
  const tokens = tokenize(text);
  let out = '';
  let at = 0;
  for (let i = 0; i < tokens.length; i++) {
    const over = tokens[i]!.kind === 'word' ? overs.get(tokens[i]!.value) : undefined;
    if (over === undefined || tokens[i + 1]?.value !== '(') continue;
    const close = closingOf(tokens, i + 1);
    const inner = over.call ?? restoreOvers(text.slice(tokens[i + 1]!.end, tokens[close]!.start), overs, name);
    out += `${text.slice(at, tokens[i]!.start)}${inner} OVER (${windowSpec(over.spec, name)})`;
    at = tokens[close]!.end;
    i = close;
  }
  return out + text.slice(at);
}

function windowSpec(spec: string, name: (qualifier: string | null, column: string) => string): string {
  const tokens = tokenize(spec);
  let out = '';
  let at = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind !== 'word' && t.kind !== 'quoted') continue;
    const qualified = tokens[i + 1]?.value === '.' && (tokens[i + 2]?.kind === 'word' || tokens[i + 2]?.kind === 'quoted');
    if (qualified) {
      out += `${spec.slice(at, t.start)}${name(t.value, tokens[i + 2]!.value)}`;
      at = tokens[i + 2]!.end;
      i += 2;
    } else if (t.kind === 'quoted' || (!WINDOW_WORDS.has(t.value.toUpperCase()) && tokens[i + 1]?.value !== '(')) {
      out += `${spec.slice(at, t.start)}${name(null, t.value)}`;
      at = t.end;
    }
  }
  return out + spec.slice(at);
}

const WINDOW_WORDS = new Set(['PARTITION', 'BY', 'ORDER', 'ASC', 'DESC', 'NULLS', 'FIRST', 'LAST', 'ROWS', 'RANGE', 'BETWEEN', 'AND',
  'UNBOUNDED', 'PRECEDING', 'FOLLOWING', 'CURRENT', 'ROW', 'INTERVAL', 'DAY', 'HOUR', 'MINUTE', 'SECOND']);

function readLateral(statement: string, tokens: readonly Token[], at: number, index: number): { table: LateralTable; end: number; next: number } {
  const open = tokens[at + 2];
  if (open?.value !== '(') throw syntaxError(statement, open?.start ?? statement.length, 'expected "(" after LATERAL TABLE');
  let depth = 0;
  let close = at + 2;
  for (; close < tokens.length; close++) {
    if (tokens[close]!.kind !== 'symbol') continue;
    if (tokens[close]!.value === '(') depth++;
    if (tokens[close]!.value === ')' && --depth === 0) break;
  }
  if (close >= tokens.length) throw syntaxError(statement, open.start, 'unbalanced "(" in LATERAL TABLE(...)');
  const callText = statement.slice(open.end, tokens[close]!.start);
  let next = close + 1;
  let end = tokens[close]!.end;
  let alias: string | null = null;
  let columns: string[] | null = null;
  if (isKeyword(tokens[next], 'AS')) next++;
  const aliasName = nameOf(tokens[next]);
  if (aliasName !== null && !['ON', 'WHERE', 'GROUP', 'ORDER', 'LIMIT', 'JOIN', 'LEFT', 'INNER', 'CROSS', 'UNION', 'HAVING'].includes(aliasName.toUpperCase())) {
    alias = aliasName;
    end = tokens[next]!.end;
    next++;
    if (tokens[next]?.value === '(') {
      columns = [];
      next++;
      for (;;) {
        const column = nameOf(tokens[next]);
        if (column === null) throw syntaxError(statement, tokens[next]?.start ?? statement.length, `expected a column name in ${alias}(...)`);
        columns.push(column);
        next++;
        if (tokens[next]?.value === ',') { next++; continue; }
        if (tokens[next]?.value === ')') { end = tokens[next]!.end; next++; break; }
        throw syntaxError(statement, tokens[next]?.start ?? statement.length, `expected "," or ")" in ${alias}(...)`);
      }
    }
  }
  const table: LateralTable = Object.freeze({
    name: `${LATERAL_PREFIX}${index}`, callText, callOffset: open.end, alias, columns: columns && Object.freeze(columns),
  });
  return { table, end, next };
}

/** `OFFSET n ROW[S]`, `FETCH FIRST|NEXT m ROW[S] ONLY`, or both: the LIMIT the grammar knows. */
function readOffsetFetch(tokens: readonly Token[], at: number): { text: string; end: number; next: number } | null {
  let i = at;
  let offset: string | null = null;
  let fetch: string | null = null;
  let end = tokens[at]!.start;
  if (isKeyword(tokens[i], 'OFFSET')) {
    if (tokens[i + 1]?.kind !== 'number') return null;
    offset = tokens[i + 1]!.value;
    i += 2;
    if (!isKeyword(tokens[i], 'ROWS') && !isKeyword(tokens[i], 'ROW')) return null;
    end = tokens[i]!.end;
    i++;
  }
  if (isKeyword(tokens[i], 'FETCH')) {
    if (!(isKeyword(tokens[i + 1], 'FIRST') || isKeyword(tokens[i + 1], 'NEXT')) || tokens[i + 2]?.kind !== 'number') return null;
    if (!(isKeyword(tokens[i + 3], 'ROWS') || isKeyword(tokens[i + 3], 'ROW')) || !isKeyword(tokens[i + 4], 'ONLY')) return null;
    fetch = tokens[i + 2]!.value;
    end = tokens[i + 4]!.end;
    i += 5;
  }
  if (offset === null && fetch === null) return null;
  const text = `LIMIT ${fetch ?? 'ALL'}${offset === null ? '' : ` OFFSET ${offset}`}`;
  return { text, end, next: i };
}

export function unsupported(statement: string, offset: number, what: string): SqlError {
  return new SqlError('SQL_UNSUPPORTED', `${what} is not supported yet`, { statement, ...lineColumn(statement, offset) });
}

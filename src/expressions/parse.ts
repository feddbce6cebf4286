import { createRequire } from 'node:module';
import type { Parser } from 'node-sql-parser';
import { ExpressionError } from '../errors.js';
import { node, type BinaryOp, type Expr, type SelectItem } from './nodes.js';

// The expression language is SQL's: we let a SQL parser read it by wrapping the
// text in a SELECT, then translate its AST into our own frozen nodes.
// The parser is most of the library's load time (about half a second), so it
// is loaded on the first expression, not on `import 'pyudf'`.
let parser: Parser | undefined;
function sqlParser(): Parser {
  if (!parser) {
    const { Parser: ParserClass } = createRequire(import.meta.url)('node-sql-parser') as typeof import('node-sql-parser');
    parser = new ParserClass();
  }
  return parser;
}
const DIALECT = { database: 'MySQL' } as const;

const SELECT_PREFIX = 'SELECT ';
const WHERE_PREFIX = 'SELECT 1 FROM t WHERE ';

// Backtick-quoted names (a doubled backtick stands for one) reach the SQL
// parser as placeholders, so that any character may be in a name: the parser
// knows no escape inside backticks. Parsing is synchronous: one table at a time.
let quotedNames: string[] = [];
const PLACEHOLDER = /^__pyudf_quoted_(\d+)__$/;

/** The text with each quoted name replaced by a placeholder, and (outside quotes and strings) whether it holds a ";". */
function withPlaceholders(text: string): { sql: string; semicolon: boolean } {
  quotedNames = [];
  let sql = '';
  let semicolon = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '`') {
      let name = '';
      let j = i + 1;
      for (; j < text.length; j++) {
        if (text[j] === '`' && text[j + 1] === '`') { name += '`'; j++; } else if (text[j] === '`') break; else name += text[j];
      }
      if (j >= text.length) return { sql: sql + text.slice(i), semicolon }; // unclosed: the parser says where
      sql += `\`__pyudf_quoted_${quotedNames.push(name) - 1}__\``;
      i = j;
    } else if (c === "'") {
      let j = i + 1;
      for (; j < text.length; j++) {
        if (text[j] === "'" && text[j + 1] === "'") j++; else if (text[j] === "'") break;
      }
      sql += text.slice(i, j + 1);
      i = j;
    } else {
      if (c === ';') semicolon = true;
      sql += c;
    }
  }
  return { sql, semicolon };
}

/** A name as the user wrote it, placeholders restored. */
function restored(name: string): string {
  const match = PLACEHOLDER.exec(name);
  return match ? quotedNames[Number(match[1])]! : name;
}

/** Parses a select list such as `add(a, b) AS s, a`. */
export function parseSelectList(text: string): readonly SelectItem[] {
  const ast = astify(text, SELECT_PREFIX, (sql) => `${SELECT_PREFIX}${sql} FROM t`);
  const columns = (ast as { columns?: unknown }).columns;
  if (!Array.isArray(columns) || columns.length === 0) {
    throw new ExpressionError('EXPRESSION_SYNTAX', `select list "${text}" is empty`, { expression: text });
  }
  return Object.freeze(columns.map((column: { expr: SqlAst; as: string | null }) => {
    if (column.expr.type === 'column_ref' && column.expr.column === '*') {
      throw new ExpressionError('EXPRESSION_SYNTAX', `"*" is not supported in "${text}": name the columns`, {
        expression: text,
      });
    }
    return Object.freeze({ expr: translate(column.expr, text), alias: column.as === null || column.as === undefined ? null : restored(column.as) });
  }));
}

/** Parses a boolean predicate such as `a > 1 AND b IS NOT NULL`. */
export function parsePredicate(text: string): Expr {
  const ast = astify(text, WHERE_PREFIX, (sql) => `${WHERE_PREFIX}${sql}`);
  const where = (ast as { where?: SqlAst | null }).where;
  if (!where) throw new ExpressionError('EXPRESSION_SYNTAX', `predicate "${text}" is empty`, { expression: text });
  return translate(where, text);
}

interface SqlAst {
  type: string;
  [key: string]: unknown;
}

function astify(text: string, prefix: string, wrap: (sql: string) => string): SqlAst {
  if (typeof text !== 'string' || text.trim() === '') {
    throw new ExpressionError('EXPRESSION_SYNTAX', 'an expression must be a non-empty string', {
      expression: String(text),
    });
  }
  const { sql: quoted, semicolon } = withPlaceholders(text);
  const sql = wrap(quoted);
  if (semicolon) {
    throw new ExpressionError('EXPRESSION_SYNTAX', `unexpected ";" in expression "${text}"`, { expression: text });
  }
  let ast: unknown;
  try {
    ast = sqlParser().astify(sql, DIALECT);
  } catch (error) {
    const offset = (error as { location?: { start?: { offset?: number } } }).location?.start?.offset;
    const at = offset === undefined ? '' : ` at position ${Math.max(0, offset - prefix.length) + 1}`;
    const found = (error as { found?: string | null }).found;
    const near = found ? ` near "${found}"` : '';
    throw new ExpressionError(
      'EXPRESSION_SYNTAX',
      `cannot parse expression "${text}"${at}${near} (quote reserved words as column names with backticks)`,
      { expression: text, cause: error },
    );
  }
  if (Array.isArray(ast)) {
    throw new ExpressionError('EXPRESSION_SYNTAX', `expected one expression list in "${text}"`, { expression: text });
  }
  return ast as SqlAst;
}

const BINARY_OPS: Readonly<Record<string, BinaryOp>> = {
  '+': '+', '-': '-', '*': '*', '/': '/', '%': '%',
  '=': '=', '==': '=', '<>': '<>', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=',
  AND: 'AND', '&&': 'AND', OR: 'OR',
};

function translate(ast: SqlAst, text: string): Expr {
  const unsupported = (what: string): never => {
    throw new ExpressionError('EXPRESSION_SYNTAX', `${what} is not supported in expression "${text}"`, {
      expression: text,
    });
  };
  switch (ast.type) {
    case 'column_ref': {
      if (ast.table) unsupported(`qualified column "${String(ast.table)}.${columnName(ast.column)}"`);
      return node({ kind: 'column', name: columnName(ast.column) });
    }
    case 'number': {
      if (typeof ast.value === 'number' && Number.isInteger(ast.value) && !Number.isSafeInteger(ast.value)) {
        // The parser folds "-<digits>" into a double, losing digits beyond 2^53.
        throw new ExpressionError('EXPRESSION_SYNTAX',
          `integer literal ${ast.value < 0 ? '-' : ''}... in "${text}" is too long to read exactly; write it as -(digits), e.g. -(9223372036854775808)`,
          { expression: text });
      }
      const raw = String(ast.value);
      if (/^-?\d+$/.test(raw)) return node({ kind: 'literal', literalKind: 'integer', value: BigInt(raw) });
      return node({ kind: 'literal', literalKind: 'decimal', value: Number(raw) });
    }
    case 'bigint':
      return node({ kind: 'literal', literalKind: 'integer', value: BigInt(String(ast.value)) });
    case 'single_quote_string':
    case 'string':
      return node({ kind: 'literal', literalKind: 'string', value: String(ast.value).replaceAll("''", "'") });
    case 'double_quote_string':
      return unsupported('a double-quoted string (use single quotes for strings, backticks for names)');
    case 'bool':
      return node({ kind: 'literal', literalKind: 'boolean', value: Boolean(ast.value) });
    case 'null':
      return node({ kind: 'literal', literalKind: 'null', value: null });
    case 'hex_string':
      return node({ kind: 'literal', literalKind: 'bytes', value: Uint8Array.from(Buffer.from(String(ast.value), 'hex')) });
    case 'binary_expr': {
      const operator = String(ast.operator).toUpperCase();
      if (operator === 'IS' || operator === 'IS NOT') {
        const right = ast.right as SqlAst;
        if (right.type !== 'null') unsupported(`"${operator} ${String(right.value)}"`);
        return node({ kind: 'isNull', operand: translate(ast.left as SqlAst, text), negated: operator === 'IS NOT' });
      }
      const op = BINARY_OPS[operator] ?? unsupported(`operator "${String(ast.operator)}"`);
      return node({ kind: 'binary', op, left: translate(ast.left as SqlAst, text), right: translate(ast.right as SqlAst, text) });
    }
    case 'unary_expr': {
      const operator = String(ast.operator).toUpperCase();
      const operand = translate(ast.expr as SqlAst, text);
      if (operator === '-') return negate(operand);
      if (operator === '+') return operand;
      if (operator === 'NOT' || operator === '!') return node({ kind: 'unary', op: 'NOT', operand });
      return unsupported(`operator "${operator}"`);
    }
    case 'function': {
      const name = functionName(ast.name);
      const args = ((ast.args as { value?: SqlAst[] } | null)?.value ?? []).map((a) => translate(a, text));
      if (name.toUpperCase() === 'NOT' && args.length === 1) return node({ kind: 'unary', op: 'NOT', operand: args[0]! });
      return node({ kind: 'call', name, args: Object.freeze(args) });
    }
    case 'expr_list': {
      const items = ast.value as SqlAst[];
      if (items.length !== 1) unsupported('a parenthesised list');
      return translate(items[0]!, text);
    }
    default:
      return unsupported(`"${ast.type}"`);
  }
}

function negate(operand: Expr): Expr {
  if (operand.kind === 'literal' && typeof operand.value === 'bigint') return node({ ...operand, value: -operand.value });
  if (operand.kind === 'literal' && typeof operand.value === 'number') return node({ ...operand, value: -operand.value });
  return node({ kind: 'unary', op: '-', operand });
}

function columnName(column: unknown): string {
  if (typeof column === 'string') return restored(column);
  const expr = (column as { expr?: { value?: unknown } })?.expr;
  return restored(String(expr?.value ?? column));
}

function functionName(name: unknown): string {
  const parts = (name as { name?: Array<{ value: string }> })?.name;
  if (Array.isArray(parts)) return parts.map((p) => restored(p.value)).join('.');
  return String(name);
}

import { ExpressionError } from '../errors.js';
import type { Call } from './nodes.js';
import { parseSelectList } from './parse.js';

/** `split(line) AS (word, length)`: the call, and the names of its result columns if given. */
export interface TableFunctionCall {
  readonly call: Call;
  readonly aliases: readonly string[] | null;
}

// SQL's column list after AS is not part of an expression list: it is split off here.
const COLUMN_LIST = /^([\s\S]*?)\s+AS\s*\(([^()]*)\)\s*$/i;
const NAME = /^(`[^`]+`|[A-Za-z_][A-Za-z0-9_$]*)$/;

/** Parses joinLateral's argument: one function call, optionally `AS name` or `AS (name, ...)`. */
export function parseTableFunctionCall(text: string): TableFunctionCall {
  const fail = (message: string): never => {
    throw new ExpressionError('EXPRESSION_SYNTAX', `${message} in "${text}"`, { expression: String(text) });
  };
  const list = typeof text === 'string' ? COLUMN_LIST.exec(text) : null;
  const items = parseSelectList(list ? list[1]! : text);
  if (items.length !== 1) fail('expected one table function call such as split(line) AS (word, length)');
  const { expr, alias } = items[0]!;
  if (expr.kind !== 'call') fail('expected a table function call such as split(line) AS (word, length)');
  let aliases: string[] | null = alias === null ? null : [alias];
  if (list) {
    aliases = list[2]!.split(',').map((name) => name.trim());
    const bad = aliases.find((name) => !NAME.test(name));
    if (bad !== undefined) fail(`"${bad}" is not a column name`);
    aliases = aliases.map((name) => name.replace(/^`|`$/g, ''));
  }
  return Object.freeze({ call: expr as Call, aliases: aliases && Object.freeze(aliases) });
}

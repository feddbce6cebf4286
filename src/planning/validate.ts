import { ExpressionError } from '../errors.js';
import { walk, type Expr } from '../expressions/nodes.js';

/**
 * Checks that every column and function an expression names exists, before
 * anything runs: the error names the unknown one and lists what exists.
 */
export function validateNames(
  expr: Expr,
  text: string,
  columns: readonly string[],
  functions: readonly string[],
): void {
  walk(expr, (e) => {
    if (e.kind === 'column' && !columns.includes(e.name)) {
      throw new ExpressionError(
        'UNKNOWN_COLUMN',
        `unknown column "${e.name}" in "${text}"; available columns: ${columns.join(', ') || '(none)'}`,
        { expression: text, unknownName: e.name, candidates: columns },
      );
    }
    if (e.kind === 'call' && resolveFunctionName(e.name, functions) === undefined) {
      throw new ExpressionError(
        'UNKNOWN_FUNCTION',
        `unknown function "${e.name}" in "${text}"; registered functions: ${functions.join(', ') || '(none)'}`,
        { expression: text, unknownName: e.name, candidates: functions },
      );
    }
  });
}

/** Function names match exactly, else case-insensitively when that is unambiguous (SQL habit). */
export function resolveFunctionName(name: string, functions: readonly string[]): string | undefined {
  if (functions.includes(name)) return name;
  const matches = functions.filter((f) => f.toLowerCase() === name.toLowerCase());
  return matches.length === 1 ? matches[0] : undefined;
}

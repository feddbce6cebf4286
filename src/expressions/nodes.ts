import type { SqlValue } from '../types/values.js';

/** Expression trees: frozen plain objects with a `kind`. */
export type Expr = ColumnRef | Literal | Call | Binary | Unary | IsNull;

export interface ColumnRef { readonly kind: 'column'; readonly name: string }

export type LiteralKind = 'integer' | 'decimal' | 'string' | 'boolean' | 'null' | 'bytes';
export interface Literal { readonly kind: 'literal'; readonly literalKind: LiteralKind; readonly value: SqlValue }

export interface Call { readonly kind: 'call'; readonly name: string; readonly args: readonly Expr[] }

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%';
export type ComparisonOp = '=' | '<>' | '<' | '<=' | '>' | '>=';
export type LogicalOp = 'AND' | 'OR';
export type BinaryOp = ArithmeticOp | ComparisonOp | LogicalOp;
export interface Binary { readonly kind: 'binary'; readonly op: BinaryOp; readonly left: Expr; readonly right: Expr }

export interface Unary { readonly kind: 'unary'; readonly op: 'NOT' | '-'; readonly operand: Expr }

export interface IsNull { readonly kind: 'isNull'; readonly operand: Expr; readonly negated: boolean }

/** One item of a select list: the expression, its alias, and its source text. */
export interface SelectItem { readonly expr: Expr; readonly alias: string | null }

export function node<T extends Expr>(value: T): T {
  return Object.freeze(value);
}

/** Every column and function an expression names, for validation before anything runs. */
export function walk(expr: Expr, visit: (e: Expr) => void): void {
  visit(expr);
  switch (expr.kind) {
    case 'call': expr.args.forEach((a) => walk(a, visit)); break;
    case 'binary': walk(expr.left, visit); walk(expr.right, visit); break;
    case 'unary':
    case 'isNull': walk(expr.operand, visit); break;
    default: break;
  }
}

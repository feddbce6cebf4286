import { ExpressionError } from '../errors.js';
import type { ArithmeticOp, Call, ComparisonOp, Expr } from '../expressions/nodes.js';
import {
  DataType, isCompositeType, isIntegerType, isNumericType, isTemporalType, sameType, widensTo, widerNumericType,
} from '../types/data-types.js';
import type { SqlValue } from '../types/values.js';
import { comparable, literalAs } from './comparisons.js';
import type { FunctionSignature } from '../protocol/function-signature.js';
import { resolveFunctionName } from './validate.js';

/*
 * Type checking of expressions: names resolved, types checked, literals given
 * the type their context asks for, implicit widenings made explicit. The
 * result is a typed tree; evaluating it over batches is execution's business
 * (execution/evaluate.ts).
 */

/** An expression once type-checked: every node knows its SQL type. */
export type TypedExpr =
  | { readonly kind: 'column'; readonly type: DataType; readonly index: number }
  /** A literal; its kind lets it take the type its context asks for. */
  | { readonly kind: 'constant'; readonly type: DataType; readonly value: SqlValue; readonly literalKind: string }
  | { readonly kind: 'call'; readonly type: DataType; readonly name: string; readonly args: readonly TypedExpr[] }
  | { readonly kind: 'isNull'; readonly type: DataType; readonly operand: TypedExpr; readonly negated: boolean }
  | { readonly kind: 'not'; readonly type: DataType; readonly operand: TypedExpr }
  /** Unary minus, wrapping at an integer type's width. */
  | { readonly kind: 'negate'; readonly type: DataType; readonly operand: TypedExpr }
  /** An implicit widening to `type` (INT to BIGINT, integers to DOUBLE or DECIMAL, a finer TIMESTAMP...). */
  | { readonly kind: 'widen'; readonly type: DataType; readonly operand: TypedExpr }
  /**
   * AND/OR, evaluated as SQL does: the right side only on the rows the left
   * does not decide, taken out of a batch of `columnTypes`.
   */
  | { readonly kind: 'logic'; readonly type: DataType; readonly op: 'AND' | 'OR'; readonly left: TypedExpr; readonly right: TypedExpr; readonly columnTypes: readonly DataType[] }
  /** Numbers of one type compare as numbers; DECIMAL and temporal values (`exact`) by what they stand for. */
  | { readonly kind: 'compare'; readonly type: DataType; readonly op: ComparisonOp; readonly left: TypedExpr; readonly right: TypedExpr; readonly exact: boolean }
  /** Both operands of the result's type; `text` names the expression in an arithmetic error. */
  | { readonly kind: 'arithmetic'; readonly type: DataType; readonly op: ArithmeticOp; readonly left: TypedExpr; readonly right: TypedExpr; readonly text: string };

export interface Scope {
  readonly text: string;
  readonly columns: readonly { name: string; type: DataType }[];
  readonly functions: ReadonlyMap<string, FunctionSignature>;
}

export function checkExpr(expr: Expr, scope: Scope): TypedExpr {
  const fail = (message: string, code: 'EXPRESSION_TYPE' | 'UNKNOWN_COLUMN' | 'UNKNOWN_FUNCTION' = 'EXPRESSION_TYPE'): never => {
    throw new ExpressionError(code, `${message} in "${scope.text}"`, { expression: scope.text });
  };
  switch (expr.kind) {
    case 'column': {
      const index = scope.columns.findIndex((c) => c.name === expr.name);
      if (index < 0) fail(`unknown column "${expr.name}"`, 'UNKNOWN_COLUMN');
      return { kind: 'column', type: scope.columns[index]!.type, index };
    }
    case 'literal':
      return literal(expr.value, expr.literalKind);
    case 'call': {
      const signature = scalarSignature(expr.name, scope);
      const args = checkArguments(expr, signature, scope);
      return { kind: 'call', type: signature.resultType!, name: signature.name, args };
    }
    case 'isNull':
      return { kind: 'isNull', type: new DataType('BOOLEAN', false), operand: checkExpr(expr.operand, scope), negated: expr.negated };
    case 'unary': {
      let operand = checkExpr(expr.operand, scope);
      if (isNullLiteral(operand)) {
        operand = adapt(operand, new DataType(expr.op === 'NOT' ? 'BOOLEAN' : 'INT'), () => operand);
      }
      if (expr.op === 'NOT') {
        if (operand.type.name !== 'BOOLEAN') fail(`NOT needs a BOOLEAN, got ${operand.type.name}`);
        return { kind: 'not', type: operand.type, operand };
      }
      if (!isNumericType(operand.type)) fail(`unary minus needs a number, got ${operand.type.name}`);
      return { kind: 'negate', type: operand.type, operand };
    }
    case 'binary':
      return checkBinary(expr.op, checkExpr(expr.left, scope), checkExpr(expr.right, scope), fail, scope);
  }
}

/** The scalar function a call names; a table or aggregate function there is an ExpressionError saying where it belongs. */
function scalarSignature(called: string, scope: Scope): FunctionSignature {
  const signature = functionSignature(called, scope);
  if (signature.category === 'table') {
    throw new ExpressionError('EXPRESSION_TYPE',
      `"${signature.name}" is a table function, which cannot be called in an expression ("${scope.text}"): join its rows with joinLateral('${signature.name}(...) AS (...)') or leftOuterJoinLateral`,
      { expression: scope.text });
  }
  if (signature.category === 'table_aggregate') {
    throw new ExpressionError('EXPRESSION_TYPE',
      `"${signature.name}" is a table aggregate function, which cannot be called in an expression ("${scope.text}"): use groupBy(...).flatAggregate('${signature.name}(...)') or flatAggregate`,
      { expression: scope.text });
  }
  if (signature.category === 'aggregate') {
    throw new ExpressionError('EXPRESSION_TYPE',
      `"${signature.name}" is an aggregate function, which cannot be used here ("${scope.text}"): aggregates go at the top of a select list, of a table (one row) or of groupBy(...).select(...), and not inside another aggregate's arguments`,
      { expression: scope.text });
  }
  return signature;
}

export function functionSignature(called: string, scope: Scope): FunctionSignature {
  const name = resolveFunctionName(called, [...scope.functions.keys()]);
  if (name === undefined) {
    throw new ExpressionError('UNKNOWN_FUNCTION', `unknown function "${called}" in "${scope.text}"`, { expression: scope.text });
  }
  return scope.functions.get(name)!;
}

/** A call's arguments, checked against (and widened to) the function's declared input types. */
export function checkArguments(call: Call, signature: FunctionSignature, scope: Scope): TypedExpr[] {
  const fail = (message: string): never => {
    throw new ExpressionError('EXPRESSION_TYPE', `${message} in "${scope.text}"`, { expression: scope.text });
  };
  const name = signature.name;
  const args = call.args.map((a) => checkExpr(a, scope));
  if (signature.inputTypes === null) return args;
  const expected = signature.inputTypes;
  if (args.length !== expected.length) {
    fail(`function "${name}" takes ${expected.length} argument(s) (${expected.join(', ')}), got ${args.length}`);
  }
  return args.map((arg, i) => adapt(arg, expected[i]!, () =>
    fail(`argument ${i + 1} of "${name}" must be ${expected[i]!.sqlText}, got ${arg.type.sqlText}`)));
}

function isNullLiteral(expr: TypedExpr): boolean {
  return expr.kind === 'constant' && expr.literalKind === 'null';
}

function literal(value: SqlValue, kind: string): TypedExpr {
  let type: DataType;
  if (kind === 'integer') {
    const n = value as bigint;
    type = new DataType(n >= -(2n ** 31n) && n < 2n ** 31n ? 'INT' : 'BIGINT', false);
    if (n < -(2n ** 63n) || n >= 2n ** 63n) {
      throw new ExpressionError('EXPRESSION_TYPE', `integer literal ${n} does not fit BIGINT`, { expression: String(n) });
    }
    value = type.name === 'INT' ? Number(n) : n;
  } else if (kind === 'decimal') type = new DataType('DOUBLE', false);
  else if (kind === 'string') type = new DataType('STRING', false);
  else if (kind === 'boolean') type = new DataType('BOOLEAN', false);
  else if (kind === 'bytes') type = new DataType('BYTES', false);
  else type = new DataType('STRING', true); // NULL: takes its context's type through adapt()
  return { kind: 'constant', type, value, literalKind: kind };
}

/**
 * Gives `arg` the type `target`: literals take it when their value fits,
 * other expressions widen (INT to BIGINT, integers to DOUBLE); anything else
 * is a type error.
 */
function adapt(arg: TypedExpr, target: DataType, fail: () => TypedExpr): TypedExpr {
  if (sameType(arg.type, target)) return arg;
  if (arg.kind === 'constant') {
    const value = convertConstant(arg.value, arg.literalKind, target);
    if (value === null) return fail();
    const type = target.withNullability(arg.literalKind === 'null');
    return { kind: 'constant', type, value: value.v, literalKind: arg.literalKind };
  }
  if (!widensTo(arg.type, target)) return fail();
  return { kind: 'widen', type: target.withNullability(arg.type.nullable), operand: arg };
}

function convertConstant(value: SqlValue, kind: string, target: DataType): { v: SqlValue } | null {
  if (kind === 'null') return { v: null };
  const typed = literalAs(value, kind, target);
  if (typed !== undefined) return 'value' in typed ? { v: typed.value } : null;
  if ((kind === 'integer' || kind === 'decimal') && isNumericType(target)) {
    const n = typeof value === 'bigint' ? value : value as number;
    if (isIntegerType(target)) {
      if (typeof n === 'number' && !Number.isInteger(n)) return null;
      const big = BigInt(n);
      const bits = INTEGER_BITS[target.name]!;
      if (BigInt.asIntN(bits, big) !== big) return null;
      return { v: target.name === 'BIGINT' ? big : Number(big) };
    }
    return { v: Number(n) };
  }
  return null;
}

/** The width of each integer type, in bits. */
export const INTEGER_BITS: Readonly<Record<string, number>> = { TINYINT: 8, SMALLINT: 16, INT: 32, BIGINT: 64 };

function checkBinary(
  op: string,
  leftIn: TypedExpr,
  rightIn: TypedExpr,
  fail: (message: string) => never,
  scope: Scope,
): TypedExpr {
  let left = leftIn;
  let right = rightIn;
  // A NULL literal takes the other side's type; a numeric literal widens to it.
  const comparison = ['=', '<>', '<', '<=', '>', '>='].includes(op);
  if (left.kind === 'constant' && (right.kind !== 'constant' || left.literalKind === 'null')) left = adaptLiteral(left, right.type, comparison, fail);
  if (right.kind === 'constant' && (left.kind !== 'constant' || right.literalKind === 'null')) right = adaptLiteral(right, left.type, comparison, fail);
  const nullable = left.type.nullable || right.type.nullable;

  if (op === 'AND' || op === 'OR') {
    if (left.type.name !== 'BOOLEAN' || right.type.name !== 'BOOLEAN') {
      fail(`${op} needs BOOLEAN operands, got ${left.type.name} and ${right.type.name}`);
    }
    return { kind: 'logic', type: new DataType('BOOLEAN', nullable), op, left, right, columnTypes: scope.columns.map((c) => c.type) };
  }

  let operandType: DataType;
  let exact = false;
  if (isNumericType(left.type) && isNumericType(right.type)) {
    operandType = widerNumericType(left.type, right.type);
    left = adapt(left, operandType, () => fail('cannot widen'));
    right = adapt(right, operandType, () => fail('cannot widen'));
  } else if (comparison && comparable(left.type, right.type)) {
    operandType = left.type;
    exact = true;
  } else {
    const what = (t: DataType) => (isCompositeType(t) ? t.sqlText : t.name);
    const exactType = (t: DataType) => t.name === 'DECIMAL' || isTemporalType(t);
    const why = comparison && isCompositeType(left.type) && sameType(left.type, right.type) ? ' (ARRAY, MAP and ROW values do not compare)'
      : !comparison && (exactType(left.type) || exactType(right.type)) ? ' (expressions compare DECIMAL, DATE, TIME and TIMESTAMP values; compute with them in a Python function)'
        : '';
    return fail(`operator ${op} cannot combine ${what(left.type)} and ${what(right.type)}${why}`);
  }

  if (comparison) return { kind: 'compare', type: new DataType('BOOLEAN', nullable), op: op as ComparisonOp, left, right, exact };
  return { kind: 'arithmetic', type: new DataType(operandType.name, nullable), op: op as ArithmeticOp, left, right, text: scope.text };
}

function adaptLiteral(literalExpr: TypedExpr & { kind: 'constant' }, target: DataType, comparison: boolean, fail: (message: string) => never): TypedExpr {
  const { literalKind: kind, value } = literalExpr;
  if (kind === 'null') return adapt(literalExpr, target, () => literalExpr);
  // `d >= '2024-01-01'`, `price = 12.50`: the literal is read as the other side's type, exactly.
  const typed = comparison ? literalAs(value, kind, target) : undefined;
  if (typed !== undefined && 'error' in typed) {
    if (kind === 'string') fail(`'${String(value)}' ${typed.error}, so it cannot compare with ${target.sqlText}`);
    return literalExpr; // a number that does not fit the DECIMAL compares as a DOUBLE
  }
  if (typed !== undefined) return adapt(literalExpr, target, () => literalExpr);
  // Only widening: `tinyint_col + 100` is INT arithmetic, `a / 2.0` stays DOUBLE, as in SQL.
  if ((kind === 'integer' || kind === 'decimal') && isNumericType(target) && widensTo(literalExpr.type, target)) {
    return adapt(literalExpr, target, () => literalExpr);
  }
  return literalExpr;
}

import type * as arrow from 'apache-arrow';
import { ExpressionError } from '../errors.js';
import type { Call, Expr } from '../expressions/nodes.js';
import type { FunctionCategory } from '../protocol/contract.js';
import {
  DataType, isCompositeType, isIntegerType, isNumericType, isTemporalType, sameType, widensTo, widerNumericType,
} from '../types/data-types.js';
import { coerceValue, type SqlValue } from '../types/values.js';
import { compareValues, comparable, literalAs } from './comparisons.js';
import { constantVector, takeRows, valueAt, valuesOf, vectorOf, type Batch } from '../batches/vectors.js';
import { resolveFunctionName } from './validate.js';

/** A function's signature once its worker has resolved it. */
export interface FunctionSignature {
  readonly name: string;
  /** null: any number of arguments, passed as they are. */
  readonly inputTypes: readonly DataType[] | null;
  /** null for a table function, whose columns are `resultTypes`. */
  readonly resultType: DataType | null;
  readonly category: FunctionCategory;
  /** "general" (called per row) or "pandas" (called with pandas.Series). */
  readonly kind: string;
  /** A table function's result columns. */
  readonly resultTypes: readonly DataType[] | null;
  /** An aggregate function that can merge accumulators built by different workers. */
  readonly hasMerge: boolean;
}

/** What evaluating an expression needs beyond the batch: calling Python. */
export interface EvalContext {
  callFunction(name: string, args: readonly arrow.Vector[], numRows: number, batch: Batch): Promise<arrow.Vector>;
  /** Leaves rows of the batch being evaluated out of the result (error policies skip and deadLetter). */
  dropRows(rows: readonly number[]): void;
  /** The context for a subset of the rows: row i there is `rows[i]` here. */
  forRows(rows: readonly number[]): EvalContext;
  /** Whether a row was already dropped (its error counted once, its dead letter sent once). */
  isDropped(row: number): boolean;
}

export interface CompiledExpr {
  readonly type: DataType;
  /** Set for literals: lets a literal take the type its context asks for. */
  readonly constant?: { readonly value: SqlValue; readonly kind: string };
  evaluate(batch: Batch, context: EvalContext): Promise<arrow.Vector> | arrow.Vector;
}

export interface Scope {
  readonly text: string;
  readonly columns: readonly { name: string; type: DataType }[];
  readonly functions: ReadonlyMap<string, FunctionSignature>;
}

export function compileExpr(expr: Expr, scope: Scope): CompiledExpr {
  const fail = (message: string, code: 'EXPRESSION_TYPE' | 'UNKNOWN_COLUMN' | 'UNKNOWN_FUNCTION' = 'EXPRESSION_TYPE'): never => {
    throw new ExpressionError(code, `${message} in "${scope.text}"`, { expression: scope.text });
  };
  switch (expr.kind) {
    case 'column': {
      const index = scope.columns.findIndex((c) => c.name === expr.name);
      if (index < 0) fail(`unknown column "${expr.name}"`, 'UNKNOWN_COLUMN');
      return { type: scope.columns[index]!.type, evaluate: (batch) => batch.columns[index]! };
    }
    case 'literal':
      return literal(expr.value, expr.literalKind);
    case 'call': {
      const signature = scalarSignature(expr.name, scope);
      const args = compileArguments(expr, signature, scope);
      return {
        type: signature.resultType!,
        evaluate: async (batch, context) => {
          const vectors = await Promise.all(args.map((a) => a.evaluate(batch, context)));
          return context.callFunction(signature.name, vectors, batch.numRows, batch);
        },
      };
    }
    case 'isNull': {
      const operand = compileExpr(expr.operand, scope);
      return {
        type: new DataType('BOOLEAN', false),
        evaluate: async (batch, context) => {
          const v = await operand.evaluate(batch, context);
          const out = new Array<SqlValue>(batch.numRows);
          for (let i = 0; i < batch.numRows; i++) out[i] = (valueAt(v, i) === null) !== expr.negated;
          return vectorOf(out, new DataType('BOOLEAN'));
        },
      };
    }
    case 'unary': {
      let operand = compileExpr(expr.operand, scope);
      if (operand.constant?.kind === 'null') {
        operand = adapt(operand, new DataType(expr.op === 'NOT' ? 'BOOLEAN' : 'INT'), () => operand);
      }
      if (expr.op === 'NOT') {
        if (operand.type.name !== 'BOOLEAN') fail(`NOT needs a BOOLEAN, got ${operand.type.name}`);
        return mapValues(operand, operand.type, (v) => (v === null ? null : !v));
      }
      if (!isNumericType(operand.type)) fail(`unary minus needs a number, got ${operand.type.name}`);
      return mapValues(operand, operand.type, (v) =>
        v === null ? null : wrapInteger(typeof v === 'bigint' ? -v : -(v as number), operand.type));
    }
    case 'binary':
      return compileBinary(expr.op, compileExpr(expr.left, scope), compileExpr(expr.right, scope), fail, scope);
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
export function compileArguments(call: Call, signature: FunctionSignature, scope: Scope): CompiledExpr[] {
  const fail = (message: string): never => {
    throw new ExpressionError('EXPRESSION_TYPE', `${message} in "${scope.text}"`, { expression: scope.text });
  };
  const name = signature.name;
  const args = call.args.map((a) => compileExpr(a, scope));
  if (signature.inputTypes === null) return args;
  const expected = signature.inputTypes;
  if (args.length !== expected.length) {
    fail(`function "${name}" takes ${expected.length} argument(s) (${expected.join(', ')}), got ${args.length}`);
  }
  return args.map((arg, i) => adapt(arg, expected[i]!, () =>
    fail(`argument ${i + 1} of "${name}" must be ${expected[i]!.sqlText}, got ${arg.type.sqlText}`)));
}

function literal(value: SqlValue, kind: string): CompiledExpr {
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
  const constant = { value, kind };
  return { type, constant, evaluate: (batch) => constantVector(value, type, batch.numRows) };
}

/**
 * Gives `arg` the type `target`: literals take it when their value fits,
 * other expressions widen (INT to BIGINT, integers to DOUBLE); anything else
 * is a type error.
 */
function adapt(arg: CompiledExpr, target: DataType, fail: () => CompiledExpr): CompiledExpr {
  if (sameType(arg.type, target)) return arg;
  if (arg.constant) {
    const value = convertConstant(arg.constant.value, arg.constant.kind, target);
    if (value === null) return fail();
    const type = target.withNullability(arg.constant.kind === 'null');
    return { type, constant: { value: value.v, kind: arg.constant.kind }, evaluate: (batch) => constantVector(value.v, type, batch.numRows) };
  }
  if (!widensTo(arg.type, target)) return fail();
  const type = target.withNullability(arg.type.nullable);
  if (isNumericType(target)) return mapValues(arg, type, (v) => castNumber(v, target));
  // DECIMAL to a wider DECIMAL, integers to DECIMAL, a TIMESTAMP to a finer one, collections of those.
  return mapValues(arg, type, (v) => coerceValue(v, type, `a value widened to ${type}`));
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

const INTEGER_BITS: Readonly<Record<string, number>> = { TINYINT: 8, SMALLINT: 16, INT: 32, BIGINT: 64 };

function castNumber(value: SqlValue, target: DataType): SqlValue {
  if (value === null) return null;
  if (target.name === 'BIGINT') return BigInt(value as number | bigint);
  if (target.name === 'FLOAT') return Math.fround(Number(value));
  return Number(value);
}

/** SQL integer arithmetic wraps at its type's width, as in Flink (Java). */
function wrapInteger(value: number | bigint, type: DataType): SqlValue {
  if (!isIntegerType(type)) return value;
  const bits = INTEGER_BITS[type.name]!;
  const wrapped = BigInt.asIntN(bits, typeof value === 'bigint' ? value : BigInt(value));
  return type.name === 'BIGINT' ? wrapped : Number(wrapped);
}

function mapValues(input: CompiledExpr, type: DataType, fn: (v: SqlValue) => SqlValue): CompiledExpr {
  return {
    type,
    evaluate: async (batch, context) => {
      const values = valuesOf(await input.evaluate(batch, context));
      return vectorOf(values.map(fn), type);
    },
  };
}

function compileBinary(
  op: string,
  leftIn: CompiledExpr,
  rightIn: CompiledExpr,
  fail: (message: string) => never,
  scope: Scope,
): CompiledExpr {
  let left = leftIn;
  let right = rightIn;
  // A NULL literal takes the other side's type; a numeric literal widens to it.
  const comparison = ['=', '<>', '<', '<=', '>', '>='].includes(op);
  if (left.constant && (!right.constant || left.constant.kind === 'null')) left = adaptLiteral(left, right.type, comparison, fail);
  if (right.constant && (!left.constant || right.constant.kind === 'null')) right = adaptLiteral(right, left.type, comparison, fail);
  const nullable = left.type.nullable || right.type.nullable;

  if (op === 'AND' || op === 'OR') {
    if (left.type.name !== 'BOOLEAN' || right.type.name !== 'BOOLEAN') {
      fail(`${op} needs BOOLEAN operands, got ${left.type.name} and ${right.type.name}`);
    }
    return shortCircuit(op, left, right, new DataType('BOOLEAN', nullable), scope.columns.map((c) => c.type));
  }

  let operandType: DataType;
  let order = compare;
  if (isNumericType(left.type) && isNumericType(right.type)) {
    operandType = widerNumericType(left.type, right.type);
    left = adapt(left, operandType, () => fail('cannot widen'));
    right = adapt(right, operandType, () => fail('cannot widen'));
  } else if (comparison && comparable(left.type, right.type)) {
    operandType = left.type;
    const [leftType, rightType] = [left.type, right.type];
    order = (a, b) => compareValues(a, leftType, b, rightType);
  } else {
    const what = (t: DataType) => (isCompositeType(t) ? t.sqlText : t.name);
    const exact = (t: DataType) => t.name === 'DECIMAL' || isTemporalType(t);
    const why = comparison && isCompositeType(left.type) && sameType(left.type, right.type) ? ' (ARRAY, MAP and ROW values do not compare)'
      : !comparison && (exact(left.type) || exact(right.type)) ? ' (expressions compare DECIMAL, DATE, TIME and TIMESTAMP values; compute with them in a Python function)'
        : '';
    return fail(`operator ${op} cannot combine ${what(left.type)} and ${what(right.type)}${why}`);
  }

  if (comparison) {
    return zip(left, right, new DataType('BOOLEAN', nullable), (a, b) => {
      if (a === null || b === null) return null;
      const c = order(a, b);
      switch (op) {
        case '=': return c === 0;
        case '<>': return c !== 0;
        case '<': return c < 0;
        case '<=': return c <= 0;
        case '>': return c > 0;
        default: return c >= 0;
      }
    });
  }

  const resultType = new DataType(operandType.name, nullable);
  const integer = isIntegerType(operandType);
  return zip(left, right, resultType, (a, b) => {
    if (a === null || b === null) return null;
    if (integer) {
      const x = BigInt(a as number | bigint);
      const y = BigInt(b as number | bigint);
      if ((op === '/' || op === '%') && y === 0n) {
        throw new ExpressionError('ARITHMETIC', `integer division by zero: ${String(a)} ${op} ${String(b)} in "${scope.text}"`, { expression: scope.text });
      }
      const r = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : op === '/' ? x / y : x % y;
      return wrapInteger(r, operandType);
    }
    const x = Number(a);
    const y = Number(b);
    const r = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : op === '/' ? x / y : x % y;
    return operandType.name === 'FLOAT' ? Math.fround(r) : r;
  });
}

function adaptLiteral(literalExpr: CompiledExpr, target: DataType, comparison: boolean, fail: (message: string) => never): CompiledExpr {
  const { kind, value } = literalExpr.constant!;
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

function compare(a: SqlValue, b: SqlValue): number {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b);
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : a === b ? 0 : NaN;
  return (a as never) < (b as never) ? -1 : (a as never) > (b as never) ? 1 : 0;
}

/**
 * AND/OR as SQL evaluates them: the right side only for the rows the left
 * side does not decide, so `b <> 0 AND a / b > 1` never divides by zero and a
 * guard such as `x IS NOT NULL AND f(x)` keeps f from seeing the NULLs.
 */
function shortCircuit(op: 'AND' | 'OR', left: CompiledExpr, right: CompiledExpr, type: DataType, columnTypes: readonly DataType[]): CompiledExpr {
  const decisive = op === 'OR';
  return {
    type,
    evaluate: async (batch, context) => {
      const l = await left.evaluate(batch, context);
      const out = new Array<SqlValue>(batch.numRows);
      const undecided: number[] = [];
      for (let i = 0; i < batch.numRows; i++) {
        const a = valueAt(l, i);
        out[i] = a;
        if (a !== decisive && !context.isDropped(i)) undecided.push(i);
      }
      if (undecided.length > 0) {
        const rest = undecided.length === batch.numRows ? batch : takeRows(batch, undecided, columnTypes);
        const r = await right.evaluate(rest, rest === batch ? context : context.forRows(undecided));
        undecided.forEach((row, k) => {
          const a = out[row];
          const b = valueAt(r, k);
          // SQL's three-valued logic, the left side being NULL or the non-deciding value.
          out[row] = b === decisive ? decisive : a === null || b === null ? null : !decisive;
        });
      }
      return vectorOf(out, type);
    },
  };
}

function zip(
  left: CompiledExpr,
  right: CompiledExpr,
  type: DataType,
  fn: (a: SqlValue, b: SqlValue) => SqlValue,
): CompiledExpr {
  return {
    type,
    evaluate: async (batch, context) => {
      const [l, r] = await Promise.all([left.evaluate(batch, context), right.evaluate(batch, context)]);
      const out = new Array<SqlValue>(batch.numRows);
      for (let i = 0; i < batch.numRows; i++) out[i] = fn(valueAt(l, i), valueAt(r, i));
      return vectorOf(out, type);
    },
  };
}

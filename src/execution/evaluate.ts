import type * as arrow from 'apache-arrow';
import { ExpressionError } from '../errors.js';
import { constantVector, takeRows, valueAt, valuesOf, vectorOf, type Batch } from '../batches/vectors.js';
import { compareValues } from '../planning/comparisons.js';
import { INTEGER_BITS, type TypedExpr } from '../planning/typecheck.js';
import { DataType, isIntegerType, isNumericType } from '../types/data-types.js';
import { coerceValue, type SqlValue } from '../types/values.js';

/*
 * Expressions as functions over batches: a type-checked expression
 * (planning/typecheck.ts) becomes an evaluator that computes a column for
 * every row of a batch, calling Python through its context.
 */

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
  evaluate(batch: Batch, context: EvalContext): Promise<arrow.Vector> | arrow.Vector;
}

export function compileExpr(expr: TypedExpr): CompiledExpr {
  const type = expr.type;
  switch (expr.kind) {
    case 'column': {
      const index = expr.index;
      return { type, evaluate: (batch) => batch.columns[index]! };
    }
    case 'constant': {
      const value = expr.value;
      return { type, evaluate: (batch) => constantVector(value, type, batch.numRows) };
    }
    case 'call': {
      const args = expr.args.map(compileExpr);
      const name = expr.name;
      return {
        type,
        evaluate: async (batch, context) => {
          const vectors = await Promise.all(args.map((a) => a.evaluate(batch, context)));
          return context.callFunction(name, vectors, batch.numRows, batch);
        },
      };
    }
    case 'isNull': {
      const operand = compileExpr(expr.operand);
      const negated = expr.negated;
      return {
        type,
        evaluate: async (batch, context) => {
          const v = await operand.evaluate(batch, context);
          const out = new Array<SqlValue>(batch.numRows);
          for (let i = 0; i < batch.numRows; i++) out[i] = (valueAt(v, i) === null) !== negated;
          return vectorOf(out, new DataType('BOOLEAN'));
        },
      };
    }
    case 'not':
      return mapValues(compileExpr(expr.operand), type, (v) => (v === null ? null : !v));
    case 'negate':
      return mapValues(compileExpr(expr.operand), type, (v) =>
        v === null ? null : wrapInteger(typeof v === 'bigint' ? -v : -(v as number), type));
    case 'widen':
      if (isNumericType(type)) return mapValues(compileExpr(expr.operand), type, (v) => castNumber(v, type));
      // DECIMAL to a wider DECIMAL, integers to DECIMAL, a TIMESTAMP to a finer one, collections of those.
      return mapValues(compileExpr(expr.operand), type, (v) => coerceValue(v, type, `a value widened to ${type}`));
    case 'logic':
      return shortCircuit(expr.op, compileExpr(expr.left), compileExpr(expr.right), type, expr.columnTypes);
    case 'compare':
      return compileComparison(expr);
    case 'arithmetic':
      return compileArithmetic(expr);
  }
}

function compileComparison(expr: TypedExpr & { kind: 'compare' }): CompiledExpr {
  const [leftType, rightType] = [expr.left.type, expr.right.type];
  const order = expr.exact ? (a: SqlValue, b: SqlValue) => compareValues(a, leftType, b, rightType) : compare;
  const op = expr.op;
  return zip(compileExpr(expr.left), compileExpr(expr.right), expr.type, (a, b) => {
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

function compileArithmetic(expr: TypedExpr & { kind: 'arithmetic' }): CompiledExpr {
  const { op, type, text } = expr;
  const integer = isIntegerType(type);
  return zip(compileExpr(expr.left), compileExpr(expr.right), type, (a, b) => {
    if (a === null || b === null) return null;
    if (integer) {
      const x = BigInt(a as number | bigint);
      const y = BigInt(b as number | bigint);
      if ((op === '/' || op === '%') && y === 0n) {
        throw new ExpressionError('ARITHMETIC', `integer division by zero: ${String(a)} ${op} ${String(b)} in "${text}"`, { expression: text });
      }
      const r = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : op === '/' ? x / y : x % y;
      return wrapInteger(r, type);
    }
    const x = Number(a);
    const y = Number(b);
    const r = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : op === '/' ? x / y : x % y;
    return type.name === 'FLOAT' ? Math.fround(r) : r;
  });
}

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

import type { Expr } from '../expressions/nodes.js';
import type { FunctionSignature } from '../protocol/function-signature.js';
import { checkExpr, type Scope } from '../planning/typecheck.js';
import type { EngineNode, FilterNode, PlanNode, ProjectNode } from '../planning/plan.js';
import type { Field, TableSchema } from '../table/schema.js';
import type { DataType } from '../types/data-types.js';
import { duckdbTypeOf, quoteName } from './duckdb-types.js';

/**
 * Moves the `where`/`select` steps that call no function (arithmetic,
 * comparisons, logic) from the host evaluator into DuckDB, where they run a
 * column at a time instead of a value at a time. Only what DuckDB computes
 * exactly as the host does moves:
 *
 * - integer `+`, `-`, `*` and unary minus, computed one size wider and
 *   wrapped to the host's result type (Flink wraps on overflow, DuckDB would
 *   fail);
 * - comparisons of integers, `=`/`<>` of strings and booleans, `AND`, `OR`,
 *   `NOT`, `IS [NOT] NULL`;
 * - integer, string and boolean literals;
 * - every column of a type DuckDB holds exactly (not ARRAY, MAP, ROW, TIME,
 *   TIMESTAMP_LTZ, or a TIMESTAMP precision DuckDB has no unit for).
 *
 * Anything else (`/` and `%`, whose division by zero is an error on the host
 * and NULL in DuckDB; floating point, whose NaN and overflow DuckDB treats
 * otherwise; DECIMAL arithmetic; Python calls) stays on the host evaluator.
 * Result types are the host's: each result is cast to it.
 */
export function offloadCalcs(plan: PlanNode, schemaOf: (plan: PlanNode) => TableSchema): PlanNode {
  if (plan.kind === 'scan') return plan;
  if (plan.kind === 'engine') return Object.freeze({ ...plan, inputs: Object.freeze(plan.inputs.map((i) => offloadCalcs(i, schemaOf))) });
  const input = offloadCalcs(plan.input, schemaOf);
  const withInput = input === plan.input ? plan : Object.freeze({ ...plan, input }) as PlanNode;
  if (plan.kind !== 'filter' && plan.kind !== 'project') return withInput;
  return calcNode(withInput as FilterNode | ProjectNode, schemaOf) ?? withInput;
}

const NO_FUNCTIONS: ReadonlyMap<string, FunctionSignature> = new Map();

function calcNode(plan: FilterNode | ProjectNode, schemaOf: (plan: PlanNode) => TableSchema): EngineNode | null {
  const exprs = plan.kind === 'filter' ? [plan.predicate] : plan.items.map((i) => i.expr);
  if (exprs.some(callsFunction)) return null;
  let input: TableSchema;
  try {
    // A calc already moved into the engine knows its schema; the host cannot compile an engine node.
    input = plan.input.kind === 'engine' && plan.input.schema ? plan.input.schema : schemaOf(plan.input);
  } catch {
    return null;
  }
  if (!input.every((f) => heldExactly(f.type))) return null;
  const scope: Scope = { text: plan.text, columns: input, functions: NO_FUNCTIONS };
  const sql: string[] = [];
  const schema: Field[] = [];
  try {
    for (let i = 0; i < exprs.length; i++) {
      const translated = sqlOf(exprs[i]!, scope);
      if (translated === null) return null;
      const type = checkExpr(exprs[i]!, scope).type;
      if (!heldExactly(type)) return null;
      sql.push(translated);
      schema.push(Object.freeze({ name: plan.columns[i]!, type }));
    }
  } catch {
    // The host reports what it cannot type, in its own words.
    return null;
  }
  if (plan.kind === 'filter') {
    if (schema[0]!.type.name !== 'BOOLEAN') return null;
    return Object.freeze({
      kind: 'engine', inputs: Object.freeze([plan.input]), text: plan.text, columns: plan.columns, schema: input, rowwise: true,
      build: async ([r]: readonly string[]) => `SELECT * FROM ${r} WHERE ${sql[0]}`,
    });
  }
  const list = sql.map((s, i) => `CAST(${s} AS ${duckdbTypeOf(schema[i]!.type, schema[i]!.name)}) AS ${quoteName(plan.columns[i]!)}`);
  return Object.freeze({
    kind: 'engine', inputs: Object.freeze([plan.input]), text: plan.text, columns: plan.columns, schema: Object.freeze(schema), rowwise: true,
    build: async ([r]: readonly string[]) => `SELECT ${list.join(', ')} FROM ${r}`,
  });
}

function callsFunction(expr: Expr): boolean {
  switch (expr.kind) {
    case 'call': return true;
    case 'binary': return callsFunction(expr.left) || callsFunction(expr.right);
    case 'unary': case 'isNull': return callsFunction(expr.operand);
    default: return false;
  }
}

/** Whether a column of `type` goes into DuckDB and comes back with the same values and type. */
function heldExactly(type: DataType): boolean {
  switch (type.name) {
    case 'BOOLEAN': case 'TINYINT': case 'SMALLINT': case 'INT': case 'BIGINT': case 'FLOAT': case 'DOUBLE':
    case 'STRING': case 'BYTES': case 'DECIMAL': case 'DATE':
      return true;
    case 'TIMESTAMP': return type.precision === 0 || type.precision === 3 || type.precision === 6;
    default: return false;
  }
}

const INTEGER_BITS: Partial<Record<DataType['name'], number>> = { TINYINT: 8, SMALLINT: 16, INT: 32, BIGINT: 64 };
// The type an integer operation is computed in before it is wrapped: wide enough for any product.
const WIDER: Partial<Record<DataType['name'], string>> = { TINYINT: 'BIGINT', SMALLINT: 'BIGINT', INT: 'BIGINT', BIGINT: 'HUGEINT' };

/** DuckDB SQL computing `expr` as the host does, or null when it might not. */
function sqlOf(expr: Expr, scope: Scope): string | null {
  switch (expr.kind) {
    case 'column': return quoteName(expr.name);
    case 'literal':
      switch (expr.literalKind) {
        case 'integer': return `CAST(${String(expr.value)} AS BIGINT)`;
        case 'string': return `'${String(expr.value).replaceAll("'", "''")}'`;
        case 'boolean': return expr.value ? 'TRUE' : 'FALSE';
        default: return null;
      }
    case 'isNull': {
      const operand = sqlOf(expr.operand, scope);
      return operand === null ? null : `(${operand} IS ${expr.negated ? 'NOT ' : ''}NULL)`;
    }
    case 'unary': {
      const operand = sqlOf(expr.operand, scope);
      if (operand === null) return null;
      if (expr.op === 'NOT') return `(NOT ${operand})`;
      const type = checkExpr(expr, scope).type;
      return INTEGER_BITS[type.name] ? wrapped(`(- CAST(${operand} AS ${WIDER[type.name]}))`, type) : null;
    }
    case 'binary': {
      const left = sqlOf(expr.left, scope);
      const right = sqlOf(expr.right, scope);
      if (left === null || right === null) return null;
      if (expr.op === 'AND' || expr.op === 'OR') return `(${left} ${expr.op} ${right})`;
      const leftType = checkExpr(expr.left, scope).type;
      const rightType = checkExpr(expr.right, scope).type;
      const integers = INTEGER_BITS[leftType.name] !== undefined && INTEGER_BITS[rightType.name] !== undefined;
      if (expr.op === '+' || expr.op === '-' || expr.op === '*') {
        const type = checkExpr(expr, scope).type;
        if (!integers || !INTEGER_BITS[type.name]) return null;
        const wide = WIDER[type.name]!;
        return wrapped(`(CAST(${left} AS ${wide}) ${expr.op} CAST(${right} AS ${wide}))`, type);
      }
      if (expr.op === '/' || expr.op === '%') return null;
      if (integers) return `(${left} ${expr.op} ${right})`;
      const same = leftType.name === rightType.name && (leftType.name === 'STRING' || leftType.name === 'BOOLEAN');
      // Strings order by UTF-16 code units on the host, by bytes in DuckDB: only equality is the same.
      return same && (expr.op === '=' || expr.op === '<>') ? `(${left} ${expr.op} ${right})` : null;
    }
    default: return null;
  }
}

/** A wider integer result wrapped into `type`'s bits, two's complement, as the host wraps it. */
function wrapped(wide: string, type: DataType): string {
  const bits = INTEGER_BITS[type.name]!;
  const half = 1n << BigInt(bits - 1);
  const mask = (1n << BigInt(bits)) - 1n;
  const target = duckdbTypeOf(type, '');
  return `CAST(((${wide} + ${half}) & ${mask}) - ${half} AS ${target})`;
}

import { ExpressionError } from '../errors.js';
import { node, walk, type Call, type Expr, type SelectItem } from '../expressions/nodes.js';
import type { Field, TableSchema } from '../table/schema.js';
import type { FunctionSignature } from '../protocol/function-signature.js';
import { checkArguments, checkExpr, type Scope, type TypedExpr } from './typecheck.js';
import { resolveFunctionName } from './validate.js';

/** One aggregate call of a select list: `my_avg(a + b)`; equal calls share one. */
export interface AggregateUse {
  readonly signature: FunctionSignature;
  readonly call: Call;
  /** Its arguments, over the input's columns. */
  readonly args: readonly TypedExpr[];
}

/** An aggregating select, typed: what is computed per input row, per group, and per output row. */
export interface AggregatePlan {
  /** The group keys: input columns. */
  readonly keys: readonly Field[];
  readonly keyIndexes: readonly number[];
  readonly uses: readonly AggregateUse[];
  /** The select list over the groups' columns: the keys, then one column per use. */
  readonly output: readonly TypedExpr[];
  readonly schema: TableSchema;
}

function aggregateSignature(call: Expr, functions: ReadonlyMap<string, FunctionSignature>): FunctionSignature | null {
  if (call.kind !== 'call') return null;
  const name = resolveFunctionName(call.name, [...functions.keys()]);
  const signature = name === undefined ? undefined : functions.get(name);
  return signature?.category === 'aggregate' || signature?.category === 'table_aggregate' ? signature : null;
}

/** Whether a select list calls an aggregate function, making it one row per group (or one row). */
export function callsAggregate(items: readonly SelectItem[], functions: ReadonlyMap<string, FunctionSignature>): boolean {
  let found = false;
  for (const item of items) walk(item.expr, (e) => { found ||= aggregateSignature(e, functions) !== null; });
  return found;
}

/** A name no expression can spell: the column a use's value takes between grouping and the select list. */
const useColumn = (i: number) => `\u0000aggregate ${i}`;

function sameCall(a: Call, b: Call): boolean {
  const text = (e: Expr) => JSON.stringify(e, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? [...v] : v));
  return text(a) === text(b);
}

export function planAggregate(
  keys: readonly string[],
  items: readonly SelectItem[],
  columnNames: readonly string[],
  text: string,
  input: TableSchema,
  functions: ReadonlyMap<string, FunctionSignature>,
  tableAggregate = false,
): AggregatePlan {
  const fail = (message: string): never => {
    throw new ExpressionError('EXPRESSION_TYPE', `${message} in "${text}"`, { expression: text });
  };
  const inputScope: Scope = { text, columns: input, functions };
  const keyIndexes = keys.map((k) => input.findIndex((f) => f.name === k));
  const keyFields = keyIndexes.map((i) => input[i]!);
  const calls: { call: Call; signature: FunctionSignature }[] = [];

  const replaceAggregates = (expr: Expr): Expr => {
    const signature = aggregateSignature(expr, functions);
    if (signature !== null) {
      const call = expr as Call;
      let index = calls.findIndex((c) => sameCall(c.call, call));
      if (index < 0) index = calls.push({ call, signature }) - 1;
      return node({ kind: 'column', name: useColumn(index) });
    }
    switch (expr.kind) {
      case 'call': return node({ ...expr, args: Object.freeze(expr.args.map(replaceAggregates)) });
      case 'binary': return node({ ...expr, left: replaceAggregates(expr.left), right: replaceAggregates(expr.right) });
      case 'unary':
      case 'isNull': return node({ ...expr, operand: replaceAggregates(expr.operand) });
      default: return expr;
    }
  };
  const rewritten = items.map((item) => replaceAggregates(item.expr));
  for (const expr of rewritten) {
    walk(expr, (e) => {
      if (e.kind === 'column' && !e.name.startsWith('\u0000') && !keys.includes(e.name)) {
        fail(keys.length === 0
          ? `column "${e.name}" must be inside an aggregate function: a select with aggregates gives one row (group rows with groupBy(...) first)`
          : `column "${e.name}" is neither a group key (${keys.join(', ')}) nor inside an aggregate function`);
      }
    });
  }
  const misplaced = calls.find(({ signature }) => (signature.category === 'table_aggregate') !== tableAggregate);
  if (misplaced !== undefined) {
    fail(tableAggregate
      ? `"${misplaced.signature.name}" is an aggregate function; flatAggregate takes a table aggregate function (udtaf)`
      : `"${misplaced.signature.name}" is a table aggregate function, which gives rows, not a value: use flatAggregate('${misplaced.signature.name}(...)')`);
  }
  const uses = calls.map(({ call, signature }) => Object.freeze({ signature, call, args: Object.freeze(checkArguments(call, signature, inputScope)) }));
  const groupColumns: Field[] = [
    ...keyFields,
    ...uses.map((use, i) => ({ name: useColumn(i), type: use.signature.resultType! })),
  ];
  const output = rewritten.map((expr) => checkExpr(expr, { text, columns: groupColumns, functions }));
  const schema = output.map((typed, i) => Object.freeze({ name: columnNames[i]!, type: typed.type }));
  return Object.freeze({ keys: keyFields, keyIndexes, uses, output, schema: Object.freeze(schema) });
}

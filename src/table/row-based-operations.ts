import { ExpressionError, PyUdfError } from '../errors.js';
import { node, type Call, type SelectItem } from '../expressions/nodes.js';
import { parseTableFunctionCall, type TableFunctionCall } from '../expressions/table-function-call.js';
import { PACKED_ROW_COLUMN, type PlanNode } from '../planning/plan.js';
import { resolveFunctionName, validateNames } from '../planning/validate.js';
import { describeCategory, ROW_FUNCTION_KINDS, type RowBasedMethod } from '../planning/row-functions.js';
import type { FunctionCategory } from '../protocol/contract.js';
import type { PythonFunction } from './python-function.js';

/** What the planning of a row-based operation needs from its table. */
export interface RowBasedInput {
  readonly plan: PlanNode;
  readonly functions: readonly string[];
  readonly declaration: (name: string) => PythonFunction | undefined;
}

// Names no expression can spell: the function's result between its call and its columns.
const RESULT_COLUMN = '\u0000result';
const producedColumn = (i: number) => `\u0000produced ${i}`;
const BARE_NAME = /^\s*(`[^`]+`|[A-Za-z_][A-Za-z0-9_$]*)\s*((?:\bAS\b[\s\S]*)?)$/i;

interface FunctionCall {
  readonly call: Call;
  /** Named without arguments: the whole row is its one argument, a ROW with the columns' names. */
  readonly wholeRow: boolean;
  readonly names: readonly string[];
}

/**
 * Reads `f`, `f AS (x, y)`, `f(a, b)` or `f(a, b) AS (x, y)`, checks the
 * function is of the kind the method takes as far as TypeScript declared it,
 * and names its result columns: the AS list, else the declared ROW's fields
 * (a table function's f0, f1, ... as in PyFlink).
 */
function functionCall(method: RowBasedMethod, text: string, input: RowBasedInput): FunctionCall {
  if (typeof text !== 'string') throw new PyUdfError('INVALID_ARGUMENT', `${method}: expected a function call such as "f" or "f(a, b)", got ${String(text)}`);
  const whole = wholeRowCall(text, input.functions);
  const wholeRow = whole !== null;
  const parsed = whole ?? parseTableFunctionCall(text);
  validateNames(parsed.call, text, wholeRow ? [...input.plan.columns, PACKED_ROW_COLUMN] : input.plan.columns, input.functions);
  const name = resolveFunctionName(parsed.call.name, input.functions)!;
  const declared = input.declaration(name);
  const expected = ROW_FUNCTION_KINDS[method];
  // A udf() declaration has no category; one naming only a Python reference may be of any kind.
  const category: FunctionCategory | undefined = declared === undefined ? undefined : declared.category ?? (declared.resultType === null ? undefined : 'scalar');
  if (category !== undefined && category !== expected.category) {
    throw new ExpressionError('EXPRESSION_TYPE', `${method}("${text}"): "${name}" is declared as ${describeCategory(category)}; ${method} takes ${expected.what}`, { expression: text });
  }
  let names = parsed.aliases;
  if (names === null && declared !== undefined) {
    if (method === 'flatMap') names = declared.resultTypes?.map((_, i) => `f${i}`) ?? null;
    else if (declared.resultType !== null) {
      if (declared.resultType.name !== 'ROW') {
        throw new ExpressionError('EXPRESSION_TYPE',
          `${method}("${text}"): "${name}" returns ${declared.resultType.sqlText}; ${method} takes ${expected.what}, whose fields become the columns`,
          { expression: text });
      }
      names = declared.resultType.fields!.map((f) => f.name);
    }
  }
  if (names === null) {
    throw new PyUdfError('INVALID_ARGUMENT',
      `${method}("${text}"): name the result columns of "${name}", e.g. "${name}${wholeRow ? '' : '(...)'} AS (a, b)", or declare its result type with ${expected.declare}() in TypeScript`);
  }
  return { call: wholeRow ? node({ ...parsed.call, name }) : parsed.call, wholeRow, names };
}

/**
 * `f` or `f AS (x, y)` naming a registered function (PyFlink's `t.map(f)`):
 * its call with the whole row, packed by withWholeRow, as its one argument;
 * null for any other text.
 */
export function wholeRowCall(text: string, functions: readonly string[]): TableFunctionCall | null {
  const bare = typeof text === 'string' ? BARE_NAME.exec(text) : null;
  if (bare === null || resolveFunctionName(bare[1]!.replace(/^`|`$/g, ''), functions) === undefined) return null;
  const parsed = parseTableFunctionCall(`${bare[1]}()${bare[2] ? ` ${bare[2]}` : ''}`);
  const call = node({ ...parsed.call, args: Object.freeze([node({ kind: 'column', name: PACKED_ROW_COLUMN })]) });
  return Object.freeze({ call, aliases: parsed.aliases });
}

/** The input's columns, then the whole row as one ROW column, for a call made by wholeRowCall. */
export function withWholeRow(input: PlanNode, text: string): PlanNode {
  return Object.freeze({ kind: 'packRow', input, text, columns: Object.freeze([...input.columns, PACKED_ROW_COLUMN]) });
}

/** The columns but the packed whole row. */
export function withoutWholeRow(input: PlanNode, text: string): PlanNode {
  const columns = input.columns.filter((c) => c !== PACKED_ROW_COLUMN);
  const items = columns.map((name): SelectItem => Object.freeze({ expr: node({ kind: 'column', name }), alias: null }));
  return Object.freeze({ kind: 'project', input, items: Object.freeze(items), text, columns: Object.freeze(columns) });
}

function withoutDuplicates(method: RowBasedMethod, text: string, columns: readonly string[]): readonly string[] {
  const duplicate = columns.find((c, i) => columns.indexOf(c) !== i);
  if (duplicate !== undefined) {
    throw new PyUdfError('INVALID_ARGUMENT', `${method}("${text}"): column "${duplicate}" would appear twice; name the function's columns differently with AS (...)`);
  }
  return Object.freeze([...columns]);
}

function packed(input: PlanNode, text: string, wholeRow: boolean): PlanNode {
  return wholeRow ? withWholeRow(input, text) : input;
}

/** map: a scalar function's ROW result, its fields as the columns. */
export function mapPlan(text: string, input: RowBasedInput): PlanNode {
  const { call, wholeRow, names } = functionCall('map', text, input);
  const item: SelectItem = Object.freeze({ expr: call, alias: RESULT_COLUMN });
  const project: PlanNode = Object.freeze({
    kind: 'project', input: packed(input.plan, text, wholeRow), items: Object.freeze([item]), text, columns: Object.freeze([RESULT_COLUMN]),
  });
  return Object.freeze({ kind: 'unpackRow', input: project, many: false, functionName: call.name, method: 'map', text, columns: withoutDuplicates('map', text, names) });
}

/** flatMap: the rows a table function produces for each row, alone. */
export function flatMapPlan(text: string, input: RowBasedInput): PlanNode {
  const { call, wholeRow, names } = functionCall('flatMap', text, input);
  const base = packed(input.plan, text, wholeRow);
  const produced = names.map((_, i) => producedColumn(i));
  const lateral: PlanNode = Object.freeze({
    kind: 'lateralJoin', input: base, call, aliases: Object.freeze(produced), outer: false, predicate: null, method: 'flatMap',
    text, columns: Object.freeze([...base.columns, ...produced]),
  });
  const items = produced.map((column, i): SelectItem => Object.freeze({ expr: node({ kind: 'column', name: column }), alias: names[i]! }));
  return Object.freeze({ kind: 'project', input: lateral, items: Object.freeze(items), text, columns: withoutDuplicates('flatMap', text, names) });
}

/** aggregate / flatAggregate: per group, the keys then the ROW's fields (flatAggregate: a row per row it emits). */
export function aggregatePlan(method: 'aggregate' | 'flatAggregate', text: string, keys: readonly string[], input: RowBasedInput): PlanNode {
  const { call, wholeRow, names } = functionCall(method, text, input);
  const keyItems = keys.map((k): SelectItem => Object.freeze({ expr: node({ kind: 'column', name: k }), alias: null }));
  const aggregate: PlanNode = Object.freeze({
    kind: 'aggregate', input: packed(input.plan, text, wholeRow), keys,
    items: Object.freeze([...keyItems, Object.freeze({ expr: call, alias: RESULT_COLUMN })]),
    tableAggregate: method === 'flatAggregate', text, columns: Object.freeze([...keys, RESULT_COLUMN]),
  });
  return Object.freeze({
    kind: 'unpackRow', input: aggregate, many: method === 'flatAggregate', functionName: call.name, method, text,
    columns: withoutDuplicates(method, text, [...keys, ...names]),
  });
}

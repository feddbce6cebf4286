import { ExpressionError, PyUdfError } from '../errors.js';
import { quoteName } from '../engine/duckdb-types.js';
import { checkEngineNames, selectItem, splitTopLevel } from '../engine/flink-sql.js';
import type { EngineNode, PlanNode } from '../planning/plan.js';

/** Builders of the relational plan nodes the Table API's methods make; each checks the names it uses first. */

const node = (inputs: readonly PlanNode[], text: string, columns: readonly string[], build: EngineNode['build']): EngineNode =>
  Object.freeze({ kind: 'engine', inputs: Object.freeze([...inputs]), build, text, columns: Object.freeze([...columns]) });

const noDuplicates = (what: string, columns: readonly string[]): void => {
  const duplicate = columns.find((c, i) => columns.indexOf(c) !== i);
  if (duplicate !== undefined) throw new PyUdfError('INVALID_ARGUMENT', `${what}: column "${duplicate}" would appear twice; rename one first (renameColumns or alias)`);
};

export type JoinKind = 'INNER' | 'LEFT' | 'RIGHT' | 'FULL';

export function joinNode(left: PlanNode, right: PlanNode, kind: JoinKind, predicate: string | undefined, functions: readonly string[]): EngineNode {
  const columns = [...left.columns, ...right.columns];
  const what = `join${predicate ? ` on "${predicate}"` : ''}`;
  noDuplicates(what, columns);
  if (predicate !== undefined) checkEngineNames(predicate, columns, functions);
  else if (kind !== 'INNER') throw new PyUdfError('INVALID_ARGUMENT', `an outer join needs a join predicate`);
  return node([left, right], predicate ?? 'join', columns, async ([l, r], translate) =>
    predicate === undefined ? `SELECT * FROM ${l} CROSS JOIN ${r}` : `SELECT * FROM ${l} ${kind} JOIN ${r} ON ${await translate(predicate)}`);
}

/** orderBy("a.desc, b") or orderBy("a DESC, b"), with an offset and a fetch count. */
export interface SortSpec { readonly keys: string; readonly offset: number; readonly fetch: number | null }

export function sortNode(input: PlanNode, spec: SortSpec | null, offset: number, fetch: number | null, functions: readonly string[], text: string): EngineNode {
  const keys = spec === null ? null : splitTopLevel(spec.keys).map((key) => {
    const m = /^(.*?)(?:\.(asc|desc)|\s+(ASC|DESC))?$/is.exec(key.trim())!;
    const direction = (m[2] ?? m[3] ?? 'ASC').toUpperCase();
    checkEngineNames(m[1]!, input.columns, functions);
    return { expr: m[1]!, direction };
  });
  return node([input], text, input.columns, async ([r], translate) => {
    const order = keys ? ` ORDER BY ${(await Promise.all(keys.map(async (k) => `${await translate(k.expr)} ${k.direction}`))).join(', ')}` : '';
    return `SELECT * FROM ${r}${order}${fetch === null ? '' : ` LIMIT ${fetch}`}${offset > 0 ? ` OFFSET ${offset}` : ''}`;
  });
}

export function distinctNode(input: PlanNode): EngineNode {
  return node([input], 'distinct', input.columns, async ([r]) => `SELECT DISTINCT * FROM ${r}`);
}

export type SetOperation = 'UNION' | 'UNION ALL' | 'INTERSECT' | 'INTERSECT ALL' | 'EXCEPT' | 'EXCEPT ALL';

export function setNode(left: PlanNode, right: PlanNode, operation: SetOperation): EngineNode {
  if (left.columns.length !== right.columns.length) {
    throw new PyUdfError('INVALID_ARGUMENT', `${operation.toLowerCase()}: the tables have ${left.columns.length} and ${right.columns.length} columns; they must have the same columns`);
  }
  return node([left, right], operation, left.columns, async ([l, r]) => `SELECT * FROM ${l} ${operation} SELECT * FROM ${r}`);
}

/** A select list in the engine: built-in functions and aggregates, with GROUP BY keys when grouped. */
export function selectNode(input: PlanNode, fields: string, functions: readonly string[], keys: readonly string[] | null): EngineNode {
  const items = splitTopLevel(fields).map((text, i) => selectItem(text, i));
  if (items.length === 0) throw new ExpressionError('EXPRESSION_SYNTAX', `select list "${fields}" is empty`, { expression: fields });
  items.forEach((item) => checkEngineNames(item.expr, input.columns, functions));
  const columns = items.map((item) => item.name);
  noDuplicates(`select "${fields}"`, columns);
  return node([input], fields, columns, async ([r], translate) => {
    const list = await Promise.all(items.map(async (item) => `${await translate(item.expr)} AS ${quoteName(item.name)}`));
    const group = keys && keys.length > 0 ? ` GROUP BY ${keys.map(quoteName).join(', ')}` : '';
    return `SELECT ${list.join(', ')} FROM ${r}${group}`;
  });
}

export function filterNode(input: PlanNode, predicate: string, functions: readonly string[]): EngineNode {
  checkEngineNames(predicate, input.columns, functions);
  return node([input], predicate, input.columns, async ([r], translate) => `SELECT * FROM ${r} WHERE ${await translate(predicate)}`);
}

/** Column names of a comma-separated list, each checked against `columns`. */
export function columnList(text: string, columns: readonly string[], what: string): string[] {
  return splitTopLevel(text).map((name) => {
    const bare = name.trim().replace(/^`|`$/g, '');
    if (!columns.includes(bare)) {
      throw new ExpressionError('UNKNOWN_COLUMN', `${what}: unknown column "${bare}"; available columns: ${columns.join(', ') || '(none)'}`,
        { expression: text, unknownName: bare, candidates: columns });
    }
    return bare;
  });
}

/** Quotes a column name for an expression string. */
export const asField = (name: string): string => `\`${name}\``;

import type { Expr, SelectItem } from '../expressions/nodes.js';
import type { CsvTableDefinition } from '../table/descriptors.js';
import type { ColumnsTableDefinition } from '../io/columns-source.js';
import type { StreamTableDefinition } from '../io/stream-source.js';
import type { TableSchema } from '../table/schema.js';
import type { SqlValue } from '../types/values.js';

/** In-memory rows from `fromElements`, already checked against their schema. */
export interface ElementsTableDefinition {
  readonly kind: 'elements';
  readonly rows: readonly (readonly SqlValue[])[];
  readonly schema: TableSchema;
}

export type TableDefinition = CsvTableDefinition | ElementsTableDefinition | ColumnsTableDefinition | StreamTableDefinition;

/** A logical plan: frozen nodes, each knowing its output column names. */
export type PlanNode = ScanNode | FilterNode | ProjectNode;

export interface ScanNode {
  readonly kind: 'scan';
  readonly tableName: string;
  readonly table: TableDefinition;
  readonly columns: readonly string[];
}

export interface FilterNode {
  readonly kind: 'filter';
  readonly input: PlanNode;
  readonly predicate: Expr;
  readonly text: string;
  readonly columns: readonly string[];
}

export interface ProjectNode {
  readonly kind: 'project';
  readonly input: PlanNode;
  readonly items: readonly SelectItem[];
  readonly text: string;
  readonly columns: readonly string[];
}

/** Every function a plan calls, for loading just those into workers. */
export function functionsUsed(plan: PlanNode, into = new Set<string>()): Set<string> {
  const visitExpr = (e: Expr): void => {
    if (e.kind === 'call') into.add(e.name);
    if (e.kind === 'call') e.args.forEach(visitExpr);
    else if (e.kind === 'binary') { visitExpr(e.left); visitExpr(e.right); }
    else if (e.kind === 'unary' || e.kind === 'isNull') visitExpr(e.operand);
  };
  if (plan.kind === 'filter') visitExpr(plan.predicate);
  if (plan.kind === 'project') plan.items.forEach((i) => visitExpr(i.expr));
  if (plan.kind !== 'scan') functionsUsed(plan.input, into);
  return into;
}

import type { Call, Expr, SelectItem } from '../expressions/nodes.js';
import type { CsvTableDefinition } from '../table/descriptors.js';
import type { ColumnsTableDefinition } from '../io/columns-table.js';
import type { StreamTableDefinition } from '../io/stream-source.js';
import type { TableSchema } from '../table/schema.js';
import type { DuckdbEngine } from '../engine/duckdb-engine.js';
import type { FileTableDefinition } from '../engine/file-tables.js';
import type { RowBasedMethod } from './row-functions.js';

/** A relation inside the job's DuckDB: a relational stage's result. */
export interface EngineTableDefinition {
  readonly kind: 'engine';
  readonly engine: DuckdbEngine;
  readonly relation: string;
  /** DuckDB's type of each column, as DESCRIBE names it. */
  readonly duckTypes: readonly string[];
  readonly schema: TableSchema;
}

export type TableDefinition = CsvTableDefinition | ColumnsTableDefinition | StreamTableDefinition | EngineTableDefinition | FileTableDefinition;

/** A logical plan: frozen nodes, each knowing its output column names. */
export type PlanNode = ScanNode | FilterNode | ProjectNode | LateralJoinNode | AggregateNode | EngineNode | PackRowNode | UnpackRowNode;

/**
 * A relational operation run in the engine (DuckDB): joins, sorts, set
 * operations, built-in functions and aggregates. `build` writes its query
 * over its inputs' relations, translating Flink expressions with `translate`.
 */
export interface EngineNode {
  readonly kind: 'engine';
  readonly inputs: readonly PlanNode[];
  readonly build: (relations: readonly string[], translate: (expression: string) => Promise<string>) => Promise<string>;
  readonly text: string;
  readonly columns: readonly string[];
  /** The result's exact types, when known before it runs (a calc moved from the host keeps the host's). */
  readonly schema?: TableSchema;
  /** A filter or projection of its one input, row by row: it may run on each part of the rows apart. */
  readonly rowwise?: boolean;
  /** The Parquet or JSON file table it reads, when it is that table's scan. */
  readonly file?: FileTableDefinition;
}

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

/** Each input row joined with each row a table function produced for it. */
export interface LateralJoinNode {
  readonly kind: 'lateralJoin';
  readonly input: PlanNode;
  readonly call: Call;
  /** The names of the function's result columns, after the input's. */
  readonly aliases: readonly string[];
  /** leftOuterJoinLateral: an input row with no row of its own is kept, with NULLs. */
  readonly outer: boolean;
  /** Keeps only the joined rows for which it is TRUE; null: all. */
  readonly predicate: Expr | null;
  /** The Table method that made it, for errors: joinLateral, leftOuterJoinLateral or flatMap. */
  readonly method?: string;
  readonly text: string;
  readonly columns: readonly string[];
}

/** groupBy(keys).select(items): one row per distinct key, aggregates over its rows. */
export interface AggregateNode {
  readonly kind: 'aggregate';
  readonly input: PlanNode;
  /** Input columns; none: the whole input is one group (a select with aggregates). */
  readonly keys: readonly string[];
  readonly items: readonly SelectItem[];
  /** flatAggregate: its one Python call is a table aggregate function. */
  readonly tableAggregate?: boolean;
  readonly text: string;
  readonly columns: readonly string[];
}

/** A name no expression can spell: packRow's column, read only by the call the planner made over it. */
export const PACKED_ROW_COLUMN = '\u0000row';

/**
 * The whole row as one more column, a ROW whose fields are the input's
 * columns: what map, flatMap, aggregate and flatAggregate pass to a function
 * named without arguments.
 */
export interface PackRowNode {
  readonly kind: 'packRow';
  readonly input: PlanNode;
  readonly text: string;
  readonly columns: readonly string[];
}

/**
 * The last column, the ROW a function returned, replaced by its fields named
 * `names`; with `many` (flatAggregate), an ARRAY of ROWs: one output row per
 * element, the other columns repeated, and none for an empty or NULL array.
 */
export interface UnpackRowNode {
  readonly kind: 'unpackRow';
  readonly input: PlanNode;
  readonly many: boolean;
  /** The function that made the column, for errors. */
  readonly functionName: string;
  /** The Table method, for errors. */
  readonly method: Exclude<RowBasedMethod, 'flatMap'>;
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
  if (plan.kind === 'project' || plan.kind === 'aggregate') plan.items.forEach((i) => visitExpr(i.expr));
  if (plan.kind === 'lateralJoin') {
    visitExpr(plan.call);
    if (plan.predicate) visitExpr(plan.predicate);
  }
  if (plan.kind === 'engine') plan.inputs.forEach((input) => functionsUsed(input, into));
  else if (plan.kind !== 'scan') functionsUsed(plan.input, into);
  return into;
}

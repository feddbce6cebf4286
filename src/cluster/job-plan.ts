import fs from 'node:fs';
import path from 'node:path';
import * as arrow from 'apache-arrow';
import type { DuckDBConnection } from '@duckdb/node-api';
import { PyUdfError } from '../errors.js';
import { csvScanSql } from '../engine/csv-tables.js';
import type { DuckdbEngine } from '../engine/duckdb-engine.js';
import { dataTypeOfDuckdb, duckdbTypeOf, quoteName } from '../engine/duckdb-types.js';
import { engineError } from '../engine/engine-stages.js';
import { withFlinkArithmetic } from '../engine/flink-arithmetic.js';
import { toDuckdbSql } from '../engine/flink-sql.js';
import { compilePlan } from '../execution/run-plan.js';
import { compileScan } from '../execution/scan.js';
import { arrowSink } from '../io/arrow-tables.js';
import { callsAggregate, planAggregate } from '../planning/aggregates.js';
import type { EngineNode, PlanNode, ScanNode } from '../planning/plan.js';
import type { SelectItem } from '../expressions/nodes.js';
import { checkArguments, checkExpr, functionSignature, type TypedExpr } from '../planning/typecheck.js';
import type { FunctionSignature } from '../protocol/function-signature.js';
import type { TableSchema } from '../table/schema.js';
import type { SqlValue } from '../types/values.js';

/*
 * A job's plan as the Ray driver reads it (job.json's "plan"): every node
 * with its output schema, expressions type-checked as the host evaluator
 * runs them, relational stages already translated to DuckDB SQL, in-memory
 * tables written beside it as Arrow files. Versioned by CLUSTER_JOB_VERSION.
 */

/** Bumped with every change the driver of an older pyudf would misread. */
export const CLUSTER_JOB_VERSION = 1;

export interface FieldJson { readonly name: string; readonly type: string }

export type SourceJson =
  | { readonly kind: 'csv'; readonly path: string; readonly sql: string; readonly skipFirstLine: boolean }
  | { readonly kind: 'parquet' | 'json'; readonly paths: readonly string[]; readonly sql: string }
  | { readonly kind: 'arrow'; readonly file: string };

export type ExprJson = { readonly kind: string; readonly type: string; readonly [field: string]: unknown };

export type NodeJson = { readonly kind: string; readonly schema: readonly FieldJson[]; readonly [field: string]: unknown };

/** What serializing a plan needs from the job: the functions' signatures, the engine that translates SQL, where data files go. */
export interface PlanWriting {
  readonly functions: ReadonlyMap<string, FunctionSignature>;
  readonly engine: DuckdbEngine;
  /** The bundle directory; in-memory tables are written under its data/. */
  readonly bundleDir: string;
}

/** `plan` as job.json's "plan", and the schema of its rows. */
export async function planJson(plan: PlanNode, writing: PlanWriting): Promise<{ node: NodeJson; schema: TableSchema }> {
  const connection = await writing.engine.connect();
  try {
    await prepareConnection(connection);
    return await new PlanWriter(writing, connection).node(plan);
  } finally {
    connection.closeSync();
  }
}

/** The statements a DuckDB connection runs first to compute with Flink's semantics (as the host engine's connection does). */
export function engineSetup(): string[] {
  return [...ENGINE_SETTINGS];
}

const ENGINE_SETTINGS = ['SET integer_division = true', "SET default_null_order = 'nulls_first_on_asc_last_on_desc'"];

async function prepareConnection(connection: DuckDBConnection): Promise<void> {
  for (const statement of ENGINE_SETTINGS) await connection.run(statement);
}

class PlanWriter {
  readonly #writing: PlanWriting;
  readonly #connection: DuckDBConnection;
  #dataFiles = 0;
  #relations = 0;

  constructor(writing: PlanWriting, connection: DuckDBConnection) {
    this.#writing = writing;
    this.#connection = connection;
  }

  async node(plan: PlanNode): Promise<{ node: NodeJson; schema: TableSchema }> {
    if (plan.kind === 'scan') return this.#scan(plan);
    if (plan.kind === 'engine') return this.#engine(plan);
    const input = await this.node(plan.input);
    const scope = { text: plan.text, columns: input.schema, functions: this.#writing.functions };
    // The node's schema as the local run computes it, over a stand-in for its input.
    const schema = compilePlan({ ...plan, input: standIn(input.schema) } as PlanNode, this.#writing.functions).schema;
    const common = { input: input.node, schema: fieldsJson(schema) };
    switch (plan.kind) {
      case 'filter':
        return { node: { kind: 'filter', ...common, predicate: exprJson(checkExpr(plan.predicate, scope)) }, schema };
      case 'project':
        if (callsAggregate(plan.items, this.#writing.functions)) return this.#aggregate({ ...plan, keys: [] }, input, schema);
        return { node: { kind: 'project', ...common, items: plan.items.map((i) => exprJson(checkExpr(i.expr, scope))) }, schema };
      case 'aggregate':
        return this.#aggregate(plan, input, schema);
      case 'lateralJoin': {
        const signature = functionSignature(plan.call.name, scope);
        const args = checkArguments(plan.call, signature, scope);
        const predicate = plan.predicate === null ? null : exprJson(checkExpr(plan.predicate, { ...scope, columns: schema }));
        const call = { kind: 'call', name: signature.name, args: args.map(exprJson), type: 'ROW' };
        return { node: { kind: 'lateralJoin', ...common, call, outer: plan.outer, predicate }, schema };
      }
      case 'packRow':
        return { node: { kind: 'packRow', ...common }, schema };
      case 'unpackRow':
        return { node: { kind: 'unpackRow', ...common, many: plan.many }, schema };
    }
  }

  #aggregate(
    plan: { keys: readonly string[]; items: readonly SelectItem[]; columns: readonly string[]; text: string; tableAggregate?: boolean },
    input: { node: NodeJson; schema: TableSchema },
    schema: TableSchema,
  ): { node: NodeJson; schema: TableSchema } {
    const typed = planAggregate(plan.keys, plan.items, plan.columns, plan.text, input.schema, this.#writing.functions, plan.tableAggregate === true);
    return {
      node: {
        kind: 'aggregate',
        input: input.node,
        schema: fieldsJson(schema),
        keys: typed.keyIndexes,
        uses: typed.uses.map((use) => ({ name: use.signature.name, category: use.signature.category, args: use.args.map(exprJson), type: String(use.signature.resultType) })),
        output: typed.output.map(exprJson),
        tableAggregate: plan.tableAggregate === true,
      },
      schema,
    };
  }

  async #scan(plan: ScanNode): Promise<{ node: NodeJson; schema: TableSchema }> {
    const table = plan.table;
    const schema = table.schema;
    switch (table.kind) {
      case 'csv': {
        const sql = csvScanSql({ ...table, path: CSV_PATH_MARK });
        if (sql === null) {
          throw new PyUdfError('INVALID_ARGUMENT', `table "${plan.tableName}": a job on a cluster reads CSV files with single-character delimiters and columns of ` +
            'BOOLEAN, integer, FLOAT, DOUBLE or STRING type; run this job locally');
        }
        const skipFirstLine = table.format.options.ignoreFirstLine;
        const source: SourceJson = {
          kind: 'csv', path: path.resolve(table.path), skipFirstLine,
          sql: sql.replace(sqlStringOf(path.resolve(CSV_PATH_MARK)), "'{path}'").replace(/skip = [01]/, 'skip = {skip}'),
        };
        return { node: { kind: 'scan', source, schema: fieldsJson(schema) }, schema };
      }
      case 'columns':
      case 'stream':
        return { node: { kind: 'scan', source: await this.#dataFile(plan), schema: fieldsJson(schema) }, schema };
      case 'engine':
      case 'file':
        throw new PyUdfError('INVALID_ARGUMENT', `table "${plan.tableName}" cannot be read on a cluster`);
    }
  }

  /** An in-memory table's rows, written to the bundle as an Arrow file. */
  async #dataFile(plan: ScanNode): Promise<SourceJson> {
    const compiled = compileScan(plan);
    const sink = arrowSink(compiled.schema);
    const options = { batchSize: 65_536, batchTimeMs: 5, maxInFlight: 1, udfErrors: null as never, inputErrors: null as never };
    for await (const batch of compiled.source(options, null)) await sink.write(batch);
    const file = `data/t${this.#dataFiles++}.arrow`;
    fs.mkdirSync(path.join(this.#writing.bundleDir, 'data'), { recursive: true });
    fs.writeFileSync(path.join(this.#writing.bundleDir, file), arrow.tableToIPC(sink.table(), 'file'));
    return { kind: 'arrow', file };
  }

  /**
   * Whether a query of one relation computes each output row from one input
   * row alone (a filter and projection: no aggregate, window, order, limit,
   * distinct or subquery), so that it can run on each part of the rows apart.
   */
  async #rowwise(sql: string): Promise<boolean> {
    try {
      const parsed = await this.#connection.runAndReadAll(`SELECT json_serialize_sql(${sqlStringOf(sql)})`);
      const tree = JSON.parse(String(parsed.getRows()[0]?.[0])) as { error?: boolean; statements?: { node: SqlAst }[] };
      const select = tree.statements?.[0]?.node;
      if (tree.error || tree.statements?.length !== 1 || !select || select.type !== 'SELECT_NODE') return false;
      if ((select.from_table as SqlAst | undefined)?.type !== 'BASE_TABLE') return false;
      if ((select.group_expressions as unknown[]).length > 0 || select.having || (select.modifiers as unknown[]).length > 0) return false;
      if (select.aggregate_handling !== 'STANDARD_HANDLING' && select.aggregate_handling !== undefined) return false;
      const functions = new Set<string>();
      let plain = true;
      const visit = (value: unknown): void => {
        if (Array.isArray(value)) return value.forEach(visit);
        if (value === null || typeof value !== 'object') return;
        const ast = value as SqlAst;
        if (ast.class === 'WINDOW' || ast.class === 'SUBQUERY') plain = false;
        if (ast.class === 'FUNCTION' && typeof ast.function_name === 'string') functions.add(ast.function_name.toLowerCase());
        Object.values(ast).forEach(visit);
      };
      visit([select.select_list, select.where_clause]);
      if (!plain) return false;
      if (functions.size === 0) return true;
      const names = [...functions].map(sqlStringOf).join(', ');
      const aggregates = await this.#connection.runAndReadAll(
        `SELECT count(*) FROM duckdb_functions() WHERE function_type IN ('aggregate', 'table') AND lower(function_name) IN (${names})`);
      return Number(aggregates.getRows()[0]?.[0]) === 0;
    } catch {
      return false;
    }
  }

  async #engine(plan: EngineNode): Promise<{ node: NodeJson; schema: TableSchema }> {
    if (plan.file) {
      // A Parquet or JSON file table: read per file by the cluster's tasks.
      const sql = (await plan.build([], async (text) => text)).replace(sqlStringOf(path.resolve(plan.file.path)), "'{path}'");
      const schema = plan.file.schema;
      const source: SourceJson = { kind: plan.file.format, paths: [path.resolve(plan.file.path)], sql };
      return { node: { kind: 'scan', source, schema: fieldsJson(schema) }, schema };
    }
    const inputs = [];
    for (const input of plan.inputs) inputs.push(await this.node(input));
    // Empty tables of the inputs' schemas stand for their rows: DuckDB types the translated expressions over them.
    const relations = inputs.map(() => `input${this.#relations++}`);
    for (const [i, input] of inputs.entries()) {
      const columns = input.schema.map((f) => `${quoteName(f.name)} ${duckdbTypeOf(f.type, f.name)}`).join(', ');
      await this.#connection.run(`CREATE OR REPLACE TEMP TABLE ${relations[i]} (${columns})`);
    }
    const typeOf = async (expr: string): Promise<string> => {
      const from = relations[0] === undefined ? '' : ` FROM ${relations[0]}`;
      try {
        const described = await this.#connection.runAndReadAll(`DESCRIBE SELECT ${expr}${from}`);
        return String(described.getRows()[0]?.[1] ?? '');
      } catch (error) {
        throw engineError(error, plan.text);
      }
    };
    const sql = await plan.build(relations, async (text) => withFlinkArithmetic(await toDuckdbSql(text, typeOf), this.#connection, relations[0]));
    let schema = plan.schema;
    if (!schema) {
      let described;
      try {
        described = await this.#connection.runAndReadAll(`DESCRIBE ${sql}`);
      } catch (error) {
        throw engineError(error, plan.text);
      }
      schema = Object.freeze(described.getRows().map((r, i) => Object.freeze({ name: plan.columns[i] ?? String(r[0]), type: dataTypeOfDuckdb(String(r[1]), plan.columns[i] ?? String(r[0])) })));
    }
    const rowwise = plan.rowwise === true || (relations.length === 1 && await this.#rowwise(sql));
    const node: NodeJson = { kind: 'sql', inputs: inputs.map((i) => i.node), relations, sql, rowwise, schema: fieldsJson(schema) };
    return { node, schema };
  }
}

interface SqlAst { class?: string; type?: string; function_name?: string; [key: string]: unknown }

const CSV_PATH_MARK = '\u0001pyudf-csv-path\u0001';

function sqlStringOf(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A scan standing for an input already serialized: only its schema is read. */
function standIn(schema: TableSchema): ScanNode {
  return Object.freeze({
    kind: 'scan', tableName: 'input', columns: schema.map((f) => f.name),
    table: Object.freeze({ kind: 'stream', rows: [], schema }),
  }) as ScanNode;
}

export function fieldsJson(schema: TableSchema): FieldJson[] {
  return schema.map((f) => ({ name: f.name, type: String(f.type) }));
}

/** A typed expression as JSON: the host evaluator's own tree, types as text. */
export function exprJson(expr: TypedExpr): ExprJson {
  const type = String(expr.type);
  switch (expr.kind) {
    case 'column': return { kind: 'column', type, index: expr.index };
    case 'constant': return { kind: 'constant', type, value: valueJson(expr.value), literalKind: expr.literalKind };
    case 'call': return { kind: 'call', type, name: expr.name, args: expr.args.map(exprJson) };
    case 'isNull': return { kind: 'isNull', type, operand: exprJson(expr.operand), negated: expr.negated };
    case 'not':
    case 'negate':
    case 'widen':
      return { kind: expr.kind, type, operand: exprJson(expr.operand) };
    case 'logic': return { kind: 'logic', type, op: expr.op, left: exprJson(expr.left), right: exprJson(expr.right) };
    case 'compare': return { kind: 'compare', type, op: expr.op, left: exprJson(expr.left), right: exprJson(expr.right), exact: expr.exact };
    case 'arithmetic': return { kind: 'arithmetic', type, op: expr.op, left: exprJson(expr.left), right: exprJson(expr.right), text: expr.text };
  }
}

/** A constant as JSON: BIGINT as its digits, bytes as base64; the expression's type says which. */
function valueJson(value: SqlValue): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}

/**
 * The argument types of each Python function a plan calls (its first call
 * where there are several): what the values of a failing row reported by the
 * cluster, as JSON, are read back as.
 */
export function callArgumentTypes(node: NodeJson): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(visit);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    const { name, args } = record;
    if (typeof name === 'string' && Array.isArray(args) && !found.has(name) && (record.kind === 'call' || 'category' in record)) {
      found.set(name, args.map((a) => String((a as { type?: unknown }).type)));
    }
    Object.values(record).forEach(visit);
  };
  visit(node);
  return found;
}

import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { ExpressionError, PyUdfError } from '../errors.js';
import type { CompiledPlan } from '../execution/operator.js';
import { valueAt, type Batch } from '../batches/vectors.js';
import type { Sink } from '../io/sink.js';
import { functionsUsed, type EngineNode, type EngineTableDefinition, type PlanNode } from '../planning/plan.js';
import type { CsvTableDefinition } from '../table/descriptors.js';
import type { Field, TableSchema } from '../table/schema.js';
import type { DataType } from '../types/data-types.js';
import type { SqlValue } from '../types/values.js';
import type { DuckdbEngine } from './duckdb-engine.js';
import { batchesOfChunks, chunkAppender } from './duckdb-chunks.js';
import { engineReadsCsv, loadCsvTable } from './csv-tables.js';
import { dataTypeOfDuckdb, duckdbTypeOf, nestedValue, quoteName, readableColumn } from './duckdb-types.js';
import { withFlinkArithmetic } from './flink-arithmetic.js';
import { toDuckdbSql } from './flink-sql.js';

/** What cutting a plan into stages needs from the job running it. */
export interface StageContext {
  readonly engine: DuckdbEngine;
  readonly compile: (plan: PlanNode) => CompiledPlan;
  readonly run: (compiled: CompiledPlan, sink: Sink) => Promise<number>;
  /** The relations the job made, dropped when it ends. */
  readonly created: string[];
}

/**
 * Whether a job over `plan` will open the engine: for a relational stage, or
 * for a CSV file DuckDB's reader takes. Known before the job starts, so the
 * engine can open while the workers start instead of after them.
 */
export function plansOpenEngine(plan: PlanNode, engine: DuckdbEngine): boolean {
  if (plan.kind === 'engine') return true;
  if (plan.kind === 'scan') return plan.table.kind === 'csv' && engineReadsCsv(plan.table, engine);
  return plansOpenEngine(plan.input, engine);
}

/**
 * The CSV tables whose rows go straight into Python calls and which the
 * engine's reader takes: no relational stage is made of their scan when the
 * job starts (a calc moved into the engine calls no function), so their
 * loading can begin while the workers start.
 */
export function csvTablesFeedingPython(plan: PlanNode, engine: DuckdbEngine, into: CsvTableDefinition[] = []): CsvTableDefinition[] {
  if (plan.kind === 'engine') {
    for (const input of plan.inputs) csvTablesFeedingPython(input, engine, into);
    return into;
  }
  if (plan.kind === 'scan') return into;
  const input = plan.input;
  if (input.kind === 'scan' && input.table.kind === 'csv' && functionsUsed(plan).size > 0 && engineReadsCsv(input.table, engine)) into.push(input.table);
  return csvTablesFeedingPython(input, engine, into);
}

/** Whether a plan has a relational stage, i.e. needs the engine. */
export function hasEngineStage(plan: PlanNode): boolean {
  if (plan.kind === 'engine') return true;
  if (plan.kind === 'scan') return false;
  return hasEngineStage(plan.input);
}

/**
 * Cuts a plan into DuckDB stages and host stages, as Flink's planner cuts
 * Java calcs from Python calcs: each outermost run of relational nodes is
 * one DuckDB query over its inputs; an input that calls Python runs first on
 * the workers (with all their batching, policies and figures) into a DuckDB
 * table. The plan returned reads each DuckDB stage's result as a scan.
 */
export async function resolveStages(plan: PlanNode, context: StageContext): Promise<PlanNode> {
  if (plan.kind === 'scan') return plan;
  if (plan.kind !== 'engine') return Object.freeze({ ...plan, input: await resolveStages(plan.input, context) }) as PlanNode;
  const connection = await context.engine.connection();
  const sql = await stageSql(plan, context, connection);
  const name = context.engine.relationName();
  try {
    await connection.run(`CREATE TEMP TABLE ${name} AS ${sql}`);
  } catch (error) {
    throw engineError(error, plan.text);
  }
  context.created.push(name);
  const described = await connection.runAndReadAll(`DESCRIBE ${name}`);
  const duckTypes = described.getRows().map((r) => String(r[1]));
  if (duckTypes.length !== plan.columns.length) {
    throw new PyUdfError('INVALID_ARGUMENT', `"${plan.text}" produced ${duckTypes.length} columns where ${plan.columns.length} were expected`);
  }
  const schema: TableSchema = plan.schema ?? Object.freeze(duckTypes.map((t, i) => Object.freeze({ name: plan.columns[i]!, type: dataTypeOfDuckdb(t, plan.columns[i]!) }) as Field));
  const table: EngineTableDefinition = Object.freeze({ kind: 'engine', engine: context.engine, relation: name, duckTypes, schema });
  return Object.freeze({ kind: 'scan', tableName: name, table, columns: plan.columns });
}

async function stageSql(plan: EngineNode, context: StageContext, connection: DuckDBConnection): Promise<string> {
  const relations: string[] = [];
  for (const input of plan.inputs) relations.push(await relationOf(input, context, connection));
  const typeOf = async (expr: string): Promise<string> => {
    try {
      const from = relations[0] === undefined ? '' : ` FROM ${relations[0]}`;
      const r = await connection.runAndReadAll(`SELECT typeof(${expr})${from} LIMIT 1`);
      const row = r.getRows()[0];
      if (row) return String(row[0]);
      const d = await connection.runAndReadAll(`DESCRIBE SELECT ${expr}${from}`);
      return String(d.getRows()[0]?.[1] ?? '');
    } catch (error) {
      throw engineError(error, plan.text);
    }
  };
  return plan.build(relations, async (text) => withFlinkArithmetic(await toDuckdbSql(text, typeOf), connection, relations[0]));
}

/** A relation DuckDB can read holding an input's rows: a subquery, a stage's table, or a table filled by the workers. */
async function relationOf(input: PlanNode, context: StageContext, connection: DuckDBConnection): Promise<string> {
  if (input.kind === 'engine') return `(${await stageSql(input, context, connection)}) AS ${context.engine.relationName()}`;
  const resolved = await resolveStages(input, context);
  if (resolved.kind === 'scan' && resolved.table.kind === 'engine') {
    return `(SELECT * FROM ${resolved.table.relation}) AS ${context.engine.relationName()}(${resolved.columns.map(quoteName).join(', ')})`;
  }
  if (resolved.kind === 'scan' && resolved.table.kind === 'csv') {
    // Read by DuckDB where it reads the file as csv-parse does: the rows never cross into JavaScript.
    const loaded = context.engine.relationName();
    if (await loadCsvTable(connection, resolved.table, loaded)) {
      context.created.push(loaded);
      return loaded;
    }
  }
  const compiled = context.compile(resolved);
  const name = context.engine.relationName();
  const columns = compiled.schema.map((f) => `${quoteName(f.name)} ${duckdbTypeOf(f.type, f.name)}`).join(', ');
  await connection.run(`CREATE TEMP TABLE ${name} (${columns})`);
  context.created.push(name);
  await context.run(compiled, await engineSink(connection, name, compiled.schema));
  return name;
}

/** A sink appending a job's batches to a DuckDB table. */
async function engineSink(connection: DuckDBConnection, table: string, schema: TableSchema): Promise<Sink> {
  const appender = await connection.createAppender(table);
  let rows = 0;
  const types = schema.map((f) => f.type);
  const append = await chunkAppender(appender, types, (batch) => appendBatch(appender, batch, types));
  return {
    async write(batch: Batch) {
      append(batch);
      rows += batch.numRows;
    },
    async finish() {
      appender.flushSync();
      appender.closeSync();
      return rows;
    },
    publish() {},
    async abort() {
      try { appender.closeSync(); } catch { /* already closed */ }
    },
  };
}

/** Appends a batch's rows, value by value in each column's type. */
export function appendBatch(appender: DuckDBAppender, batch: Batch, types: readonly DataType[]): void {
  for (let i = 0; i < batch.numRows; i++) {
    for (let c = 0; c < types.length; c++) append(appender, valueAt(batch.columns[c]!, i), types[c]!);
    appender.endRow();
  }
}

function append(appender: DuckDBAppender, value: SqlValue, type: DataType): void {
  if (value === null) return appender.appendNull();
  switch (type.name) {
    case 'BOOLEAN': return appender.appendBoolean(value as boolean);
    case 'TINYINT': return appender.appendTinyInt(value as number);
    case 'SMALLINT': return appender.appendSmallInt(value as number);
    case 'INT': return appender.appendInteger(value as number);
    case 'BIGINT': return appender.appendBigInt(value as bigint);
    case 'FLOAT': return appender.appendFloat(value as number);
    case 'DOUBLE': return appender.appendDouble(value as number);
    case 'BYTES': return appender.appendBlob(value as Uint8Array);
    case 'ARRAY': case 'MAP': case 'ROW': return appender.appendValue(nestedValue(value, type) as never);
    // Exact texts (DECIMAL, DATE, TIME, TIMESTAMP) DuckDB parses into the column's type.
    default: return appender.appendVarchar(String(value));
  }
}

/** A DuckDB stage's result, read as batches of up to `batchSize` rows. */
export async function* readEngine(table: EngineTableDefinition, batchSize: number, signal?: AbortSignal): AsyncGenerator<Batch> {
  const connection = await table.engine.connection();
  const select = table.duckTypes.map((t, i) => readableColumn(quoteName(`column${i}`), t)).join(', ');
  const names = table.duckTypes.map((_, i) => quoteName(`column${i}`)).join(', ');
  const result = await connection.stream(`SELECT ${select} FROM (SELECT * FROM ${table.relation}) AS r(${names})`);
  yield* batchesOfChunks(() => result.fetchChunk(), table.schema.map((f) => f.type), table.duckTypes.map(readType), batchSize, signal);
}

/** The type a column of `duckType` is read back as (see readableColumn). */
function readType(duckType: string): string {
  if (duckType === 'HUGEINT' || duckType === 'UBIGINT') return 'BIGINT';
  if (duckType === '"NULL"' || duckType === 'NULL') return 'VARCHAR';
  if (duckType === 'TIMESTAMP_NS') return 'TIMESTAMP';
  return duckType;
}

/** A DuckDB error, as pyudf's typed error naming the expression. */
export function engineError(error: unknown, text: string): PyUdfError {
  const message = (error as Error).message ?? String(error);
  if (/Overflow|Out of Range/i.test(message)) return new ExpressionError('ARITHMETIC', `${message} in "${text}"`, { expression: text, cause: error });
  const column = /Referenced column "([^"]+)" not found/.exec(message);
  if (column) return new ExpressionError('UNKNOWN_COLUMN', `unknown column "${column[1]}" in "${text}"`, { expression: text, unknownName: column[1], cause: error });
  const fn = /Function with name "?([^"\s]+)"? does not exist/i.exec(message);
  if (fn) return new ExpressionError('UNKNOWN_FUNCTION', `unknown function "${fn[1]}" in "${text}"`, { expression: text, unknownName: fn[1], cause: error });
  if (/Parser Error/i.test(message)) return new ExpressionError('EXPRESSION_SYNTAX', `cannot parse "${text}": ${message}`, { expression: text, cause: error });
  if (/Binder Error|Conversion Error|No function matches/i.test(message)) return new ExpressionError('EXPRESSION_TYPE', `${message} in "${text}"`, { expression: text, cause: error });
  return new PyUdfError('IO', `the engine failed on "${text}": ${message}`, { cause: error });
}

/** A relational plan's row count, as a one-row engine stage. */
export function countNode(plan: EngineNode): EngineNode {
  return Object.freeze({ kind: 'engine', inputs: Object.freeze([plan]), text: 'count', columns: Object.freeze(['n']), build: async (relations: readonly string[]) => `SELECT count(*) AS n FROM ${relations[0]}` });
}

import type { DuckDBConnection } from '@duckdb/node-api';
import type { CompiledPlan } from '../execution/operator.js';
import type { EngineNode, PlanNode } from '../planning/plan.js';
import type { Field, TableSchema } from '../table/schema.js';
import type { DuckdbEngine } from './duckdb-engine.js';
import { dataTypeOfDuckdb, duckdbTypeOf, quoteName } from './duckdb-types.js';
import { withFlinkArithmetic } from './flink-arithmetic.js';
import { toDuckdbSql } from './flink-sql.js';
import { engineError } from './engine-stages.js';
import { elementsTable } from '../io/columns-table.js';

/**
 * A plan's result schema, found without reading a row or calling Python
 * (DESCRIBE of a view): each relational stage's query is written over empty
 * tables of its inputs' types and DuckDB describes it; the host stages
 * around compile as they would in a job.
 */
export async function describePlan(plan: PlanNode, engine: DuckdbEngine, compile: (plan: PlanNode) => CompiledPlan): Promise<TableSchema> {
  const connection = await engine.connection();
  const created: string[] = [];
  try {
    return compile(await emptied(plan, engine, connection, compile, created)).schema;
  } finally {
    for (const name of created) await connection.run(`DROP TABLE IF EXISTS ${name}`).catch(() => undefined);
  }
}

/** The plan with each relational stage replaced by an empty table of its result's types. */
async function emptied(plan: PlanNode, engine: DuckdbEngine, connection: DuckDBConnection, compile: (plan: PlanNode) => CompiledPlan, created: string[]): Promise<PlanNode> {
  if (plan.kind === 'scan') return plan;
  if (plan.kind !== 'engine') return Object.freeze({ ...plan, input: await emptied(plan.input, engine, connection, compile, created) }) as PlanNode;
  const schema = await stageSchema(plan, engine, connection, compile, created);
  return Object.freeze({ kind: 'scan', tableName: '(described)', table: elementsTable([], schema), columns: plan.columns });
}

async function stageSchema(plan: EngineNode, engine: DuckdbEngine, connection: DuckDBConnection, compile: (plan: PlanNode) => CompiledPlan, created: string[]): Promise<TableSchema> {
  const relations: string[] = [];
  for (const input of plan.inputs) {
    const schema = input.kind === 'engine'
      ? await stageSchema(input, engine, connection, compile, created)
      : compile(await emptied(input, engine, connection, compile, created)).schema;
    const name = engine.relationName();
    await connection.run(`CREATE TEMP TABLE ${name} (${schema.map((f) => `${quoteName(f.name)} ${duckdbTypeOf(f.type, f.name)}`).join(', ')})`);
    created.push(name);
    relations.push(name);
  }
  const typeOf = async (expr: string): Promise<string> => {
    const described = await connection.runAndReadAll(`DESCRIBE SELECT ${expr}${relations[0] === undefined ? '' : ` FROM ${relations[0]}`}`);
    return String(described.getRows()[0]?.[1] ?? '');
  };
  try {
    const sql = await plan.build(relations, async (text) => withFlinkArithmetic(await toDuckdbSql(text, typeOf), connection, relations[0]));
    const described = await connection.runAndReadAll(`DESCRIBE ${sql}`);
    return Object.freeze(described.getRows().map((row, i) => Object.freeze({ name: plan.columns[i]!, type: dataTypeOfDuckdb(String(row[1]), plan.columns[i]!) }) as Field));
  } catch (error) {
    throw engineError(error, plan.text);
  }
}

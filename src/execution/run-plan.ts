import { ExpressionError, PyUdfError } from '../errors.js';
import { readCsv } from '../io/csv-source.js';
import { readColumns } from '../io/columns-source.js';
import { readStream } from '../io/stream-source.js';
import { readEngine } from '../engine/engine-stages.js';
import { engineReadsCsv, readCsvInEngine } from '../engine/csv-tables.js';
import type { CsvTableDefinition } from '../table/descriptors.js';
import type { FunctionSignature } from '../planning/function-signature.js';
import { checkExpr } from '../planning/typecheck.js';
import { callsAggregate } from '../planning/aggregates.js';
import { compileAggregate } from './aggregation.js';
import { compileLateralJoin } from './lateral-join.js';
import { checkRowFunction, compilePackRow, compileUnpackRow } from './row-columns.js';
import type { PlanNode } from '../planning/plan.js';
import type { Field } from '../table/schema.js';
import { takeRows, valueAt, type Batch } from '../batches/vectors.js';
import { compileExpr, type CompiledExpr } from './evaluate.js';
import type { CompiledPlan, Operator, RunOptions } from './operator.js';

/** Types a plan against the workers' function signatures and turns it into batch operators. */
export function compilePlan(plan: PlanNode, functions: ReadonlyMap<string, FunctionSignature>): CompiledPlan {
  if (plan.kind === 'scan') {
    const table = plan.table;
    return {
      schema: table.schema,
      source: (options) => {
        switch (table.kind) {
          case 'csv': return readCsvTable(plan.tableName, table, options);
          case 'columns': return readColumns(table, options.batchSize);
          case 'stream': return readStream(table, options);
          case 'engine': return readEngine(table, options.batchSize, options.signal);
          case 'file': throw new PyUdfError('INVALID_ARGUMENT', `table "${plan.tableName}" is read by the engine`);
        }
      },
      operators: [],
    };
  }
  if (plan.kind === 'engine') throw new PyUdfError('INVALID_ARGUMENT', `"${plan.text}" must run in the engine: resolve its stages first`);
  if (plan.kind === 'unpackRow') checkRowFunction(plan, functions);
  const input = compilePlan(plan.input, functions);
  const scope = { text: plan.text, columns: input.schema, functions };
  if (plan.kind === 'lateralJoin') return compileLateralJoin(plan, input, functions);
  if (plan.kind === 'packRow') return compilePackRow(plan, input);
  if (plan.kind === 'unpackRow') return compileUnpackRow(plan, input);
  if (plan.kind === 'aggregate' || (plan.kind === 'project' && callsAggregate(plan.items, functions))) {
    return compileAggregate(plan.kind === 'aggregate' ? plan : { ...plan, keys: [] }, input, functions);
  }
  if (plan.kind === 'filter') {
    const predicate = compileExpr(checkExpr(plan.predicate, scope));
    if (predicate.type.name !== 'BOOLEAN') {
      throw new ExpressionError('EXPRESSION_TYPE', `filter "${plan.text}" is ${predicate.type.name}, not BOOLEAN`, { expression: plan.text });
    }
    const types = input.schema.map((f) => f.type);
    const filter: Operator = async (batch, context) => {
      const keep = await predicate.evaluate(batch, context);
      const indices: number[] = [];
      for (let i = 0; i < batch.numRows; i++) if (valueAt(keep, i) === true && !context.dropped.has(i)) indices.push(i);
      return indices.length === batch.numRows ? batch : takeRows(batch, indices, types);
    };
    return { schema: input.schema, source: input.source, operators: [...input.operators, filter] };
  }
  const items: CompiledExpr[] = plan.items.map((item) => compileExpr(checkExpr(item.expr, scope)));
  const schema: Field[] = items.map((compiled, i) => Object.freeze({ name: plan.columns[i]!, type: compiled.type }));
  const types = schema.map((f) => f.type);
  const project: Operator = async (batch, context) => {
    const out = { numRows: batch.numRows, columns: await Promise.all(items.map((item) => item.evaluate(batch, context))) };
    if (context.dropped.size === 0) return out;
    const kept: number[] = [];
    for (let i = 0; i < out.numRows; i++) if (!context.dropped.has(i)) kept.push(i);
    return takeRows(out, kept, types);
  };
  return { schema: Object.freeze(schema), source: input.source, operators: [...input.operators, project] };
}

/** A CSV table's rows: read by the engine when it reads the file as csv-parse does, else by csv-parse. */
async function* readCsvTable(tableName: string, table: CsvTableDefinition, options: RunOptions): AsyncGenerator<Batch> {
  const inEngine = options.engine && engineReadsCsv(table, options.engine) ? await readCsvInEngine(options.engine, table, options.batchSize, options.signal) : null;
  if (inEngine) {
    yield* inEngine;
    return;
  }
  yield* readCsv(table, options, (error) => options.inputErrors.skip(tableName, error), (count) => options.inputErrors.blankLines(tableName, table.path, count));
}


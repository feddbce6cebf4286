import { takeRows, type Batch } from '../batches/vectors.js';
import type { FunctionSignature } from '../protocol/function-signature.js';
import type { ProjectNode } from '../planning/plan.js';
import { checkExpr } from '../planning/typecheck.js';
import type { Field } from '../table/schema.js';
import type { DataType } from '../types/data-types.js';
import { compileExpr, type CompiledExpr } from './evaluate.js';
import type { CompiledPlan, Operator } from './operator.js';

/** select() without aggregates: one column per item, computed for every row. */
export function compileProject(plan: ProjectNode, input: CompiledPlan, functions: ReadonlyMap<string, FunctionSignature>): CompiledPlan {
  const scope = { text: plan.text, columns: input.schema, functions };
  const items = plan.items.map((item) => compileExpr(checkExpr(item.expr, scope)));
  const schema: Field[] = items.map((compiled, i) => Object.freeze({ name: plan.columns[i]!, type: compiled.type }));
  return { schema: Object.freeze(schema), source: input.source, operators: [...input.operators, projectOperator(items)] };
}

/** The operator computing `items` over each batch; rows an error policy dropped are left out. */
export function projectOperator(items: readonly CompiledExpr[]): Operator {
  const types = items.map((item) => item.type);
  return async (batch, context) => withoutDropped(
    { numRows: batch.numRows, columns: await Promise.all(items.map((item) => item.evaluate(batch, context))) },
    context.dropped,
    types,
  );
}

export function withoutDropped(batch: Batch, dropped: ReadonlySet<number>, types: readonly DataType[]): Batch {
  if (dropped.size === 0) return batch;
  const kept: number[] = [];
  for (let i = 0; i < batch.numRows; i++) if (!dropped.has(i)) kept.push(i);
  return takeRows(batch, kept, types);
}

import { ExpressionError } from '../errors.js';
import { takeRows, valueAt } from '../batches/vectors.js';
import type { FunctionSignature } from '../protocol/function-signature.js';
import type { FilterNode } from '../planning/plan.js';
import { checkExpr } from '../planning/typecheck.js';
import { compileExpr } from './evaluate.js';
import type { CompiledPlan, Operator } from './operator.js';

/** where(): the rows whose predicate is TRUE (not FALSE, not NULL), less those an error policy dropped. */
export function compileFilter(plan: FilterNode, input: CompiledPlan, functions: ReadonlyMap<string, FunctionSignature>): CompiledPlan {
  const predicate = compileExpr(checkExpr(plan.predicate, { text: plan.text, columns: input.schema, functions }));
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

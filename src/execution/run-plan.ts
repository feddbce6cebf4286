import { PyUdfError } from '../errors.js';
import { callsAggregate } from '../planning/aggregates.js';
import type { FunctionSignature } from '../protocol/function-signature.js';
import type { PlanNode } from '../planning/plan.js';
import { compileAggregate } from './aggregation.js';
import { compileFilter } from './filter.js';
import { compileLateralJoin } from './lateral-join.js';
import type { CompiledPlan } from './operator.js';
import { compileProject } from './project.js';
import { checkRowFunction, compilePackRow, compileUnpackRow } from './row-columns.js';
import { compileScan } from './scan.js';

/**
 * Types a plan against the workers' function signatures and assembles its
 * operators: the scan's source, then one operator per node above it, each
 * built by its own module. runPlan (pipeline.ts) runs the result.
 */
export function compilePlan(plan: PlanNode, functions: ReadonlyMap<string, FunctionSignature>): CompiledPlan {
  if (plan.kind === 'scan') return compileScan(plan);
  if (plan.kind === 'engine') throw new PyUdfError('INVALID_ARGUMENT', `"${plan.text}" must run in the engine: resolve its stages first`);
  if (plan.kind === 'unpackRow') checkRowFunction(plan, functions);
  const input = compilePlan(plan.input, functions);
  switch (plan.kind) {
    case 'lateralJoin': return compileLateralJoin(plan, input, functions);
    case 'packRow': return compilePackRow(plan, input);
    case 'unpackRow': return compileUnpackRow(plan, input);
    case 'aggregate': return compileAggregate(plan, input, functions);
    case 'filter': return compileFilter(plan, input, functions);
    case 'project':
      return callsAggregate(plan.items, functions) ? compileAggregate({ ...plan, keys: [] }, input, functions) : compileProject(plan, input, functions);
  }
}

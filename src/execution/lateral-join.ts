import type * as arrow from 'apache-arrow';
import { ExpressionError, WorkerError } from '../errors.js';
import type { FunctionSignature } from '../protocol/function-signature.js';
import { checkArguments, checkExpr, functionSignature } from '../planning/typecheck.js';
import type { LateralJoinNode } from '../planning/plan.js';
import type { Field } from '../table/schema.js';
import type { SqlValue } from '../types/values.js';
import { compileExpr } from './evaluate.js';
import type { CompiledPlan, Operator } from './operator.js';
import { callUdf, udfFailure, readArgumentRow } from './udf-call.js';
import { takeRows, valueAt, vectorOf, type Batch } from '../batches/vectors.js';

/**
 * joinLateral / leftOuterJoinLateral as an operator: each input row is
 * followed by the rows the table function produced for it, in the order it
 * produced them; an outer join keeps a row that got none (or none passing
 * the predicate) once, with NULLs for the function's columns.
 */
export function compileLateralJoin(plan: LateralJoinNode, input: CompiledPlan, functions: ReadonlyMap<string, FunctionSignature>): CompiledPlan {
  const scope = { text: plan.text, columns: input.schema, functions };
  const signature = functionSignature(plan.call.name, scope);
  if (signature.category !== 'table') {
    throw new ExpressionError('EXPRESSION_TYPE',
      `"${signature.name}" is ${signature.category === 'scalar' ? 'a scalar' : signature.category === 'aggregate' ? 'an aggregate' : 'a table aggregate'} function; ${plan.method ?? (plan.outer ? 'leftOuterJoinLateral' : 'joinLateral')} takes a table function (udtf) in "${plan.text}"`,
      { expression: plan.text });
  }
  const resultTypes = signature.resultTypes ?? [];
  if (resultTypes.length !== plan.aliases.length) {
    throw new ExpressionError('EXPRESSION_TYPE',
      `table function "${signature.name}" has ${resultTypes.length} result column(s) (${resultTypes.join(', ')}), but "${plan.text}" names ${plan.aliases.length} (${plan.aliases.join(', ')})`,
      { expression: plan.text });
  }
  const args = checkArguments(plan.call, signature, scope).map(compileExpr);
  const produced: Field[] = plan.aliases.map((name, i) => Object.freeze({ name, type: resultTypes[i]! }));
  const schema: Field[] = [...input.schema, ...produced];
  const inputTypes = input.schema.map((f) => f.type);
  const predicate = plan.predicate === null ? null : compileExpr(checkExpr(plan.predicate, { ...scope, columns: schema }));
  if (predicate !== null && predicate.type.name !== 'BOOLEAN') {
    throw new ExpressionError('EXPRESSION_TYPE', `join predicate of "${plan.text}" is ${predicate.type.name}, not BOOLEAN`, { expression: plan.text });
  }
  const name = signature.name;
  const width = resultTypes.length;

  const join: Operator = async (batch, context) => {
    const argVectors = await Promise.all(args.map((a) => a.evaluate(batch, context)));
    const reply = await callUdf(context.pool, {
      name,
      args: argVectors,
      send: (pool) => pool.call(context.sequence % pool.size, name, argVectors, batch.numRows, readArgumentRow),
      failure: (error) => udfFailure(name, error, argVectors),
      checkReply: (columns) => {
        if (columns.length !== width + 1) {
          throw new WorkerError('WORKER_CRASHED', `worker broke the protocol: its reply for table function "${name}" holds ${columns.length} column(s), not ${width + 1}`, {});
        }
      },
      dropRows: (rows) => context.dropRows(rows),
    }, context);
    const [rowColumn, ...results] = reply.columns as [arrow.Vector, ...arrow.Vector[]];
    const nulled = new Set(reply.nulledRows);

    // Each produced row's input row, ascending as the worker sends them.
    const sources = Array.from(rowColumn.toArray() as Int32Array);
    let keep: boolean[] | null = null;
    if (predicate !== null && sources.length > 0) {
      const joined: Batch = { numRows: sources.length, columns: [...takeRows(batch, sources, inputTypes).columns, ...results] };
      const verdict = await predicate.evaluate(joined, context.forRows(sources));
      keep = sources.map((_, i) => valueAt(verdict, i) === true);
    }
    const inputRows: number[] = [];
    const producedRows: (number | null)[] = [];
    let next = 0;
    for (let row = 0; row < batch.numRows; row++) {
      let joinedAny = false;
      for (; next < sources.length && sources[next] === row; next++) {
        if (context.dropped.has(row) || (keep !== null && !keep[next])) continue;
        inputRows.push(row);
        producedRows.push(next);
        joinedAny = true;
      }
      if (!joinedAny && !context.dropped.has(row) && (plan.outer || nulled.has(row))) {
        inputRows.push(row);
        producedRows.push(null);
      }
    }
    const inputPart = takeRows(batch, inputRows, inputTypes);
    const producedPart = results.map((column, c) =>
      vectorOf(producedRows.map((i): SqlValue => (i === null ? null : valueAt(column as arrow.Vector, i))), produced[c]!.type));
    return { numRows: inputRows.length, columns: [...inputPart.columns, ...producedPart] };
  };
  return { schema: Object.freeze(schema), source: input.source, operators: [...input.operators, join] };
}

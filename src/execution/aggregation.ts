import type * as arrow from 'apache-arrow';
import { PyUdfError, UdfError, WorkerError, type UdfPhase } from '../errors.js';
import type { Sink } from '../io/sink.js';
import { planAggregate, type AggregatePlan, type AggregateUse } from '../planning/aggregates.js';
import type { FunctionSignature } from '../protocol/function-signature.js';
import type { SelectItem } from '../expressions/nodes.js';
import type { AggregateStepMessage, UdfErrorMessage } from '../protocol/contract.js';
import type { Field } from '../table/schema.js';
import { describe, type SqlValue } from '../types/values.js';
import type { WorkerPool } from '../workers/worker-pool.js';
import { compileExpr } from './evaluate.js';
import type { CompiledPlan, Operator, RunOptions } from './operator.js';
import { runPlan } from './pipeline.js';
import { projectOperator, withoutDropped } from './project.js';
import { callUdf, readArgumentRow } from './udf-call.js';
import { takeRows, valueAt, valuesOf, vectorOf, type Batch } from '../batches/vectors.js';

interface AggregatingSelect {
  readonly keys: readonly string[];
  readonly items: readonly SelectItem[];
  readonly text: string;
  readonly columns: readonly string[];
  /** flatAggregate: its one call is a table aggregate function. */
  readonly tableAggregate?: boolean;
}

/**
 * An aggregating select as a source: it runs its input to the end, feeding
 * each row to the accumulators of its group (in the workers), then yields
 * one row per group, in the order the groups first appeared in the input.
 * A select with aggregates but no keys is one group, and one row, even over
 * no input at all.
 *
 * With several workers, the groups are spread over them by group number (a
 * group's rows all go to one worker, which needs no merge); a select with no
 * keys spreads its batches over the workers and merges their accumulators
 * when every aggregate in it defines merge(), and uses one worker otherwise.
 */
export function compileAggregate(select: AggregatingSelect, input: CompiledPlan, functions: ReadonlyMap<string, FunctionSignature>): CompiledPlan {
  const plan = planAggregate(select.keys, select.items, select.columns, select.text, input.schema, functions, select.tableAggregate === true);
  const useArgs = plan.uses.flatMap((u) => u.args.map(compileExpr));
  const preparedTypes = [...plan.keys.map((f) => f.type), ...useArgs.map((a) => a.type)];
  // Per input row: its keys, then every use's arguments.
  const prepare: Operator = async (batch, context) => {
    const columns = await Promise.all([
      ...plan.keyIndexes.map((i) => batch.columns[i]!),
      ...useArgs.map((a) => a.evaluate(batch, context)),
    ]);
    return withoutDropped({ numRows: batch.numRows, columns }, context.dropped, preparedTypes);
  };
  const prepared: CompiledPlan = {
    schema: preparedTypes.map((type, i) => ({ name: `c${i}`, type })),
    source: input.source,
    operators: [...input.operators, prepare],
  };
  return {
    schema: plan.schema,
    source: (options, pool) => groupRows(plan, prepared, options, pool),
    operators: [projectOperator(plan.output.map(compileExpr))],
  };
}

async function* groupRows(plan: AggregatePlan, prepared: CompiledPlan, options: RunOptions, pool: WorkerPool | null): AsyncGenerator<Batch> {
  const grouping = new Grouping(plan, pool, options);
  await runPlan(prepared, pool, grouping, options);
  const columns = await grouping.results();
  for (let start = 0; start < grouping.groups; start += options.batchSize) {
    const end = Math.min(grouping.groups, start + options.batchSize);
    yield { numRows: end - start, columns: columns.map((c) => c.slice(start, end)) };
  }
}

/** Numbers groups by their keys, in order of first appearance; NULL keys group together. */
class GroupIndex {
  readonly keyValues: SqlValue[][];
  readonly #root = new Map<unknown, unknown>();
  #size: number;

  constructor(width: number) {
    this.keyValues = Array.from({ length: width }, () => []);
    this.#size = width === 0 ? 1 : 0; // no keys: the whole input is group 0, rows or not
  }

  get size(): number {
    return this.#size;
  }

  assign(columns: readonly arrow.Vector[], numRows: number): Uint32Array {
    const groups = new Uint32Array(numRows);
    const width = this.keyValues.length;
    if (width === 0) return groups;
    const values = columns.map(valuesOf);
    for (let row = 0; row < numRows; row++) {
      let level = this.#root;
      for (let c = 0; c < width - 1; c++) {
        const key = mapKey(values[c]![row]!);
        let next = level.get(key) as Map<unknown, unknown> | undefined;
        if (next === undefined) level.set(key, next = new Map());
        level = next;
      }
      const key = mapKey(values[width - 1]![row]!);
      let group = level.get(key) as number | undefined;
      if (group === undefined) {
        group = this.#size++;
        level.set(key, group);
        for (let c = 0; c < width; c++) this.keyValues[c]!.push(values[c]![row]!);
      }
      groups[row] = group;
    }
    return groups;
  }
}

/** Map keys compare numbers, strings and bigints by value (0 and -0, NaN and NaN alike), bytes by reference: bytes go as text. */
function mapKey(value: SqlValue): unknown {
  return value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1') : value;
}

/** Where the rows of a batch go: worker slot, and the batch's rows for it (null: all of them). */
type Route = readonly (readonly [slot: number, rows: number[] | null])[];

/** The sink the input runs into: rows to their group's accumulators, in the workers. */
class Grouping implements Sink {
  readonly #plan: AggregatePlan;
  readonly #pool: WorkerPool | null;
  readonly #options: RunOptions;
  readonly #index: GroupIndex;
  readonly #workers: number;
  /** A select without keys whose every aggregate merges: batches go to all workers. */
  readonly #merging: boolean;
  readonly #slotsUsed = new Set<number>();
  #inFlight: Promise<void>[] = [];
  #failure: { error: unknown } | null = null;
  #batches = 0;
  #rows = 0;

  constructor(plan: AggregatePlan, pool: WorkerPool | null, options: RunOptions) {
    this.#plan = plan;
    this.#pool = pool;
    this.#options = options;
    this.#index = new GroupIndex(plan.keys.length);
    this.#workers = pool?.size ?? 1;
    this.#merging = plan.keys.length === 0 && this.#workers > 1
      && plan.uses.every((u) => u.signature.hasMerge && u.signature.kind === 'general');
  }

  get groups(): number {
    return this.#index.size;
  }

  async write(batch: Batch): Promise<void> {
    const width = this.#plan.keys.length;
    const groups = this.#index.assign(batch.columns.slice(0, width), batch.numRows);
    const route = this.#route(groups, this.#batches++);
    let offset = width;
    this.#plan.uses.forEach((use, u) => {
      const args = batch.columns.slice(offset, offset += use.args.length);
      for (const [slot, rows] of route) {
        const part = rows === null ? args : takeRows({ numRows: batch.numRows, columns: args }, rows, use.args.map((a) => a.type)).columns;
        const partGroups = rows === null ? Array.from(groups) : rows.map((r) => groups[r]!);
        this.#track(this.#accumulate(use, u, slot, part, partGroups));
      }
    });
    this.#rows += batch.numRows;
    await this.#settle(this.#options.maxInFlight);
  }

  async finish(): Promise<number> {
    await this.#settle(0);
    return this.#rows;
  }

  publish(): void {}

  async abort(): Promise<void> {
    // The accumulators live in the workers, which the failed job stops.
  }

  #slotOf(group: number): number {
    return group % this.#workers;
  }

  #route(groups: Uint32Array, batch: number): Route {
    if (this.#workers === 1) return [[0, null]];
    if (this.#plan.keys.length === 0) return [[this.#merging ? batch % this.#workers : 0, null]];
    const rowsBySlot = new Map<number, number[]>();
    groups.forEach((group, row) => {
      const slot = this.#slotOf(group);
      let rows = rowsBySlot.get(slot);
      if (rows === undefined) rowsBySlot.set(slot, rows = []);
      rows.push(row);
    });
    if (rowsBySlot.size === 1) return [[rowsBySlot.keys().next().value!, null]];
    return [...rowsBySlot];
  }

  #track(call: Promise<void>): void {
    this.#inFlight.push(call.catch((error: unknown) => { this.#failure ??= { error }; }));
  }

  async #settle(limit: number): Promise<void> {
    while (this.#inFlight.length > limit && this.#failure === null) await this.#inFlight.shift();
    if (this.#failure) throw this.#failure.error;
  }

  #call(slot: number, use: AggregateUse, args: readonly arrow.Vector[], numRows: number, step: AggregateStepMessage) {
    if (this.#pool === null) throw new PyUdfError('UNKNOWN_FUNCTION', `function "${use.signature.name}" is not loaded in any worker`);
    return this.#pool.callAggregate(slot, use.signature.name, args, numRows, step, readArgumentRow);
  }

  async #accumulate(use: AggregateUse, u: number, slot: number, args: readonly arrow.Vector[], groups: number[]): Promise<void> {
    this.#slotsUsed.add(slot);
    const name = use.signature.name;
    await callUdf(this.#pool, {
      name,
      args,
      send: (pool) => pool.callAggregate(slot, name, args, groups.length, { use: u, step: 'accumulate', groups }, readArgumentRow),
      failure: (error) => aggregateFailure(name, error, (row) => {
        const values = readArgumentRow(args, row);
        return { row: values, where: `row: ${name}(${values.map(describe).join(', ')})${this.#describeGroup(groups[row]!, ' in ')}` };
      }),
      // The worker left the rows that raised out of their groups; the policy counts (or dead-letters) them.
      dropRows: () => undefined,
    }, this.#options);
  }

  #describeGroup(group: number, prefix: string): string {
    const keys = this.#plan.keys;
    if (keys.length === 0) return '';
    return `${prefix}group ${keys.map((k: Field, c) => `${k.name} = ${describe(this.#index.keyValues[c]![group]!)}`).join(', ')}`;
  }

  /** After the input: each group's keys, then each use's value, as whole columns in group order. */
  async results(): Promise<arrow.Vector[]> {
    const groupCount = this.#index.size;
    const uses = this.#plan.uses;
    if (this.#rows === 0 && this.#plan.keys.length === 0) {
      // No row at all: group 0 still has a value. An empty batch tells each function its argument types.
      for (const [u, use] of uses.entries()) {
        this.#track(this.#accumulate(use, u, 0, use.args.map((a) => vectorOf([], a.type)), []));
      }
      await this.#settle(0);
    }
    if (this.#merging) await this.#mergeIntoFirst();
    const slots = Array.from({ length: this.#workers }, (_, slot) => slot);
    const values = await Promise.all(uses.map(async (use, u) => {
      const out = new Array<SqlValue>(groupCount).fill(null);
      await Promise.all(slots.map(async (slot) => {
        const groups: number[] = [];
        for (let g = 0; g < groupCount; g++) if (this.#keysSlot(g) === slot) groups.push(g);
        if (groups.length === 0) return;
        const got = await this.#values(use, u, slot, groups);
        groups.forEach((group, i) => { out[group] = valueAt(got, i); });
      }));
      return vectorOf(out, use.signature.resultType!);
    }));
    const keyColumns = this.#plan.keys.map((key, c) => vectorOf(this.#index.keyValues[c]!, key.type));
    return [...keyColumns, ...values];
  }

  /** Which worker holds a group's accumulators once merging is done. */
  #keysSlot(group: number): number {
    return this.#plan.keys.length === 0 ? 0 : this.#slotOf(group);
  }

  async #values(use: AggregateUse, u: number, slot: number, groups: number[]): Promise<arrow.Vector> {
    const name = use.signature.name;
    const outcome = await this.#call(slot, use, [], groups.length, { use: u, step: 'get_value', groups });
    if (!outcome.ok) throw aggregateFailure(name, outcome.error, (i) => ({ where: this.#describeGroup(groups[i]!, '') || 'over all rows' }));
    const result = outcome.columns[0];
    if (result?.length !== groups.length) {
      throw new WorkerError('WORKER_CRASHED', `worker broke the protocol: it returned ${result?.length ?? 0} values for ${groups.length} groups of "${name}"`, {});
    }
    return result;
  }

  /** Partial accumulators of the other workers into worker 0's, with the functions' merge(). */
  async #mergeIntoFirst(): Promise<void> {
    const groups = [0];
    for (const [u, use] of this.#plan.uses.entries()) {
      for (const slot of [...this.#slotsUsed].filter((s) => s !== 0).sort((a, b) => a - b)) {
        const exported = await this.#call(slot, use, [], groups.length, { use: u, step: 'export', groups });
        if (!exported.ok) throw aggregateFailure(use.signature.name, exported.error, () => ({ where: 'over all rows' }));
        const merged = await this.#call(0, use, [], groups.length, { use: u, step: 'merge', groups, accumulators: exported.accumulators });
        if (!merged.ok) throw aggregateFailure(use.signature.name, merged.error, () => ({ where: 'over all rows' }));
      }
    }
  }
}

/** An aggregate function's failure, named with its phase and the row or group it failed on. */
function aggregateFailure(
  name: string,
  e: UdfErrorMessage,
  where: (rowIndex: number) => { row?: readonly SqlValue[]; where: string },
): UdfError | WorkerError {
  if (e.exceptionType === 'pyudf.InternalError') {
    return new WorkerError('WORKER_CRASHED', `Python worker failed while running "${name}": ${e.message}`, {});
  }
  const place = e.rowIndex >= 0 ? where(e.rowIndex) : { where: '' };
  const at = e.sourceLocation ? ` at ${e.sourceLocation}` : '';
  const suffix = place.where ? `; ${place.where}` : '';
  const details = {
    functionName: name, pythonType: e.exceptionType, pythonMessage: e.message,
    pythonTraceback: e.traceback, sourceLocation: e.sourceLocation, row: place.row,
  };
  if (e.phase === 'result') {
    return new UdfError('UDF_RESULT_TYPE', `Python function "${name}" ${e.message}${at}${suffix}`, { ...details, phase: 'result' });
  }
  const phase = e.phase as UdfPhase;
  return new UdfError('UDF_FAILED', `Python function "${name}" raised ${e.exceptionType} in ${phase}: ${e.message}${at}${suffix}\n${e.traceback}`, { ...details, phase });
}

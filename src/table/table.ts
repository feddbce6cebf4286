import type * as arrow from 'apache-arrow';
import { ExpressionError, PyUdfError } from '../errors.js';
import type { SelectItem } from '../expressions/nodes.js';
import { parsePredicate, parseSelectList } from '../expressions/parse.js';
import { parseTableFunctionCall } from '../expressions/table-function-call.js';
import type { PlanNode } from '../planning/plan.js';
import type { TableSchema } from './schema.js';
import { validateNames } from '../planning/validate.js';
import type { PythonFunction } from './python-function.js';
import type { Row } from '../types/values.js';
import type { UdfErrorCount } from '../execution/udf-errors.js';
import type { FunctionMetrics } from '../execution/job-metrics.js';
import {
  asField, columnList, distinctNode, filterNode, joinNode, selectNode, setNode, sortNode, type JoinKind, type SetOperation, type SortSpec,
} from './relational.js';
import {
  aggregatePlan, flatMapPlan, mapPlan, wholeRowCall, withWholeRow, withoutWholeRow, type RowBasedInput,
} from './row-based-operations.js';
import { calledNames, cutPythonCalls, unknownFunctions, selectItem, splitTopLevel, usesBuiltinSql } from '../engine/flink-sql.js';

/** The order, offset and fetch of a table made by orderBy, for offset/fetch/limit to extend. */
const sorts = new WeakMap<PlanNode, { input: PlanNode; spec: SortSpec }>();

export interface ExecuteOptions {
  /** Cancels the job: workers are stopped and the promise rejects with code CLOSED. */
  readonly signal?: AbortSignal;
}

export interface SinkResult {
  readonly table: string;
  readonly rows: number;
}

/** The environment built for setPythonRequirements. */
export interface PythonEnvironmentInfo {
  readonly key: string;
  readonly dir: string;
  /** False when it came from the cache: pip did not run for this job. */
  readonly built: boolean;
}

export interface JobResult {
  readonly jobName: string;
  readonly sinks: readonly SinkResult[];
  readonly durationMs: number;
  /** null when the job has no Python requirements (or calls no Python function). */
  readonly pythonEnvironment: PythonEnvironmentInfo | null;
  /** Per function: rows whose error the function's policy (null, skip, deadLetter) absorbed. */
  readonly udfErrors: Readonly<Record<string, UdfErrorCount>>;
  /** Per CSV table read with ignoreParseErrors: the input lines skipped. */
  readonly skippedInputLines: Readonly<Record<string, number>>;
  /** Per Python function the job called: rows, batches, time inside it, and the metrics it registered. */
  readonly metrics: Readonly<Record<string, FunctionMetrics>>;
}

/** What a Table needs from its TableEnvironment. */
export interface TableHost {
  functionNames(): string[];
  /** The registered function a call names, as TypeScript declared it. */
  functionDeclaration(name: string): PythonFunction | undefined;
  queueInsert(plan: PlanNode, tableName: string): void;
  runInsert(plan: PlanNode, tableName: string, jobName: string, options?: ExecuteOptions): Promise<JobResult>;
  runCollect(plan: PlanNode, options?: ExecuteOptions): Promise<CollectedRows>;
  runCount(plan: PlanNode, options?: ExecuteOptions): Promise<CountedRows>;
  runStream(plan: PlanNode, options?: ExecuteOptions): AsyncGenerator<Row>;
  runArrow(plan: PlanNode, options?: ExecuteOptions): Promise<arrow.Table>;
  describePlan(plan: PlanNode): Promise<TableSchema | null>;
}

export interface CollectedRows {
  readonly rows: Row[];
  readonly udfErrors: Readonly<Record<string, UdfErrorCount>>;
  readonly skippedInputLines: Readonly<Record<string, number>>;
  readonly metrics: Readonly<Record<string, FunctionMetrics>>;
}

export interface CountedRows {
  readonly rows: number;
  readonly metrics: Readonly<Record<string, FunctionMetrics>>;
}

/**
 * The result of `table.execute()`: the job runs when its rows are asked for,
 * all at once (`collect()`), one by one as they come (`for await`), or only
 * counted (`count()`).
 */
export class TableResult<R = Row> {
  readonly #run: () => Promise<CollectedRows>;
  readonly #count: () => Promise<CountedRows>;
  readonly #stream: () => AsyncGenerator<Row>;
  #result: Promise<CollectedRows> | undefined;
  #udfErrors: Readonly<Record<string, UdfErrorCount>> | undefined;
  #skippedInputLines: Readonly<Record<string, number>> | undefined;
  #metrics: Readonly<Record<string, FunctionMetrics>> | undefined;

  readonly #arrow: () => Promise<arrow.Table>;

  constructor(run: () => Promise<CollectedRows>, count: () => Promise<CountedRows>, stream: () => AsyncGenerator<Row>, toArrow: () => Promise<arrow.Table>) {
    this.#arrow = toArrow;
    this.#run = run;
    this.#count = count;
    this.#stream = stream;
  }

  /** Runs the job, keeping no rows: how many it produced. */
  async count(): Promise<number> {
    const counted = await this.#count();
    this.#metrics = counted.metrics;
    return counted.rows;
  }

  /** Runs the job and returns its rows as an apache-arrow Table, column by column, with no JavaScript object per row. */
  toArrow(): Promise<arrow.Table> {
    return this.#arrow();
  }

  /**
   * Runs the job and returns its rows, BIGINT as bigint. `collect<MyRow>()` names the rows'
   * type where the table's own is not known (e.g. after `select`).
   */
  async collect<T = R>(): Promise<T[]> {
    this.#result ??= this.#run().then((result) => {
      this.#udfErrors = result.udfErrors;
      this.#skippedInputLines = result.skippedInputLines;
      this.#metrics = result.metrics;
      return result;
    });
    return (await this.#result).rows as T[];
  }

  /** After collect() or count(): per Python function the job called, its figures and metrics. */
  get metrics(): Readonly<Record<string, FunctionMetrics>> | undefined {
    return this.#metrics;
  }

  /** After collect(): per function, the rows whose error its policy (null, skip, deadLetter) absorbed. */
  get udfErrors(): Readonly<Record<string, UdfErrorCount>> | undefined {
    return this.#udfErrors;
  }

  /** After collect(): per CSV table read with ignoreParseErrors, the input lines skipped. */
  get skippedInputLines(): Readonly<Record<string, number>> | undefined {
    return this.#skippedInputLines;
  }

  /** Runs the job and yields rows as their batches finish; breaking out of the loop cancels the job. */
  [Symbol.asyncIterator](): AsyncGenerator<R> {
    return this.#stream() as AsyncGenerator<R>;
  }
}

/**
 * A table: an immutable plan. `select` and `where` return new tables and check
 * every column and function they name at once, before any worker starts.
 *
 * @example
 * const rows = await tEnv.fromPath('mySource').where('a > 0').select('add(a, b) AS s').execute().collect();
 */
export class Table<R = Row> {
  readonly #host: TableHost;
  readonly #plan: PlanNode;

  constructor(host: TableHost, plan: PlanNode) {
    this.#host = host;
    this.#plan = plan;
    Object.freeze(this);
  }

  /** Output column names, in order. */
  get columns(): readonly string[] {
    return this.#plan.columns;
  }

  /**
   * @internal
   * The result's columns with their types, found without running the table;
   * null when a Python function it calls declares its types in Python only.
   */
  describeSchema(): Promise<TableSchema | null> {
    return this.#host.describePlan(this.#plan);
  }

  /**
   * A comma-separated list of expressions, each optionally `AS alias`. With
   * an aggregate function in it (`select('my_avg(v) AS m')`) the whole table
   * is one group: the result is one row, also over no rows at all. `*`
   * stands for every column of the table, in order (`select('*, f(a) AS b')`).
   */
  select(fields: string): Table {
    if (typeof fields === 'string' && splitTopLevel(fields).some((item) => item.trim() === '*')) {
      const all = this.#plan.columns.map(asField).join(', ');
      fields = splitTopLevel(fields).map((item) => (item.trim() === '*' ? all : item)).join(', ');
    }
    return this.#hostOrEngine(fields, 'select', () => {
      const items = parseSelectList(fields);
      const columns = checkedSelect(items, fields, this.#plan.columns, this.#host.functionNames());
      return Object.freeze({ kind: 'project', input: this.#plan, items, text: fields, columns });
    }, () => selectNode(this.#plan, fields, this.#host.functionNames(), null));
  }

  /**
   * An expression the host evaluator reads (arithmetic, comparisons, Python
   * calls) runs there; one with built-in functions runs in the engine; one
   * mixing both is split (splitPythonCalls).
   */
  #hostOrEngine<T = Row>(text: string, method: 'select' | 'where', onHost: () => PlanNode, inEngine: () => PlanNode): Table<T> {
    let plan: PlanNode;
    // Over a relation already in the engine, an expression calling no Python function stays there.
    if (this.#plan.kind === 'engine' && typeof text === 'string' && !callsPython(text, this.#host.functionNames())) {
      return new Table<T>(this.#host, inEngine());
    }
    try {
      plan = onHost();
    } catch (error) {
      if (!(error instanceof ExpressionError) || (error.code !== 'EXPRESSION_SYNTAX' && error.code !== 'UNKNOWN_FUNCTION')) throw error;
      // Only built-in SQL goes to the engine; any other error stays the host's, naming what it could not read.
      if (typeof text !== 'string' || !usesBuiltinSql(text, this.#host.functionNames())) throw error;
      const python = this.#host.functionNames().map((f) => f.toLowerCase());
      const mixed = typeof text === 'string' ? calledNames(text).filter((n) => python.includes(n.toLowerCase())) : [];
      if (mixed.length > 0 && unknownFunctions(text, this.#host.functionNames()).length > 0) throw error;
      if (mixed.length > 0) return splitPythonCalls(this as unknown as Table, text, method, this.#host.functionNames()) as unknown as Table<T>;
      plan = inEngine();
    }
    return new Table<T>(this.#host, plan);
  }

  /** Inner join with `right` (column names must differ) on `predicate`; without one, every pair of rows. */
  join(right: Table, predicate?: string): Table {
    return this.#join(right, 'INNER', predicate);
  }

  leftOuterJoin(right: Table, predicate: string): Table {
    return this.#join(right, 'LEFT', predicate);
  }

  rightOuterJoin(right: Table, predicate: string): Table {
    return this.#join(right, 'RIGHT', predicate);
  }

  fullOuterJoin(right: Table, predicate: string): Table {
    return this.#join(right, 'FULL', predicate);
  }

  #join(right: Table, kind: JoinKind, predicate: string | undefined): Table {
    if (!(right instanceof Table)) throw new PyUdfError('INVALID_ARGUMENT', 'join: the right side must be a Table');
    return new Table(this.#host, joinNode(this.#plan, right.#plan, kind, predicate, this.#host.functionNames()));
  }

  /** Sorts by `fields`: "a.desc, b" (Flink's Table API) or "a DESC, b" (SQL); NULLs first ascending, last descending. */
  orderBy(fields: string): Table {
    return this.#sorted(this.#plan, { keys: fields, offset: 0, fetch: null }, `orderBy ${fields}`);
  }

  #sorted(input: PlanNode, spec: SortSpec, text: string): Table {
    const plan = sortNode(input, spec.keys === '' ? null : spec, spec.offset, spec.fetch, this.#host.functionNames(), text);
    sorts.set(plan, { input, spec });
    return new Table(this.#host, plan);
  }

  #limited(offset: number | null, fetch: number | null, what: string): Table {
    for (const n of [offset, fetch]) {
      if (n !== null && (!Number.isSafeInteger(n) || n < 0)) throw new PyUdfError('INVALID_ARGUMENT', `${what}: ${n} is not a row count (a non-negative integer)`);
    }
    const sorted = sorts.get(this.#plan);
    const base = sorted ?? { input: this.#plan, spec: { keys: '', offset: 0, fetch: null } };
    const spec = {
      keys: base.spec.keys,
      offset: base.spec.offset + (offset ?? 0),
      fetch: fetch ?? (base.spec.fetch === null ? null : Math.max(0, base.spec.fetch - (offset ?? 0))),
    };
    return this.#sorted(base.input, spec, what);
  }

  /** Skips the first `n` rows (of the order orderBy gave). */
  offset(n: number): Table {
    return this.#limited(n, null, `offset(${n})`);
  }

  /** Keeps the first `n` rows (after any offset). */
  fetch(n: number): Table {
    return this.#limited(null, n, `fetch(${n})`);
  }

  /** PyFlink's limit(fetch, offset = 0). */
  limit(fetch: number, offset = 0): Table {
    return this.#limited(offset, null, `limit(${fetch}, ${offset})`).fetch(fetch);
  }

  /** Removes duplicate rows. */
  distinct(): Table {
    return new Table(this.#host, distinctNode(this.#plan));
  }

  /** The rows of both tables, duplicates removed. */
  union(right: Table): Table { return this.#setOp(right, 'UNION'); }
  /** The rows of both tables. */
  unionAll(right: Table): Table { return this.#setOp(right, 'UNION ALL'); }
  /** The distinct rows in both tables. */
  intersect(right: Table): Table { return this.#setOp(right, 'INTERSECT'); }
  /** The rows in both tables, as many times as they are in both. */
  intersectAll(right: Table): Table { return this.#setOp(right, 'INTERSECT ALL'); }
  /** The distinct rows of this table not in `right`. */
  minus(right: Table): Table { return this.#setOp(right, 'EXCEPT'); }
  /** The rows of this table not in `right`, as many times as they are more often here. */
  minusAll(right: Table): Table { return this.#setOp(right, 'EXCEPT ALL'); }

  #setOp(right: Table, operation: SetOperation): Table {
    if (!(right instanceof Table)) throw new PyUdfError('INVALID_ARGUMENT', `${operation.toLowerCase()}: the other side must be a Table`);
    return new Table(this.#host, setNode(this.#plan, right.#plan, operation));
  }

  /** Adds columns computed by `fields` ("expr AS name, ...") after the existing ones. */
  addColumns(fields: string): Table {
    return this.select(`${this.#plan.columns.map(asField).join(', ')}, ${fields}`);
  }

  /** As addColumns, but a new column named like an existing one replaces it in place. */
  addOrReplaceColumns(fields: string): Table {
    const added = splitFields(fields);
    const replaced = new Map(added.map((f) => [f.name, f.text]));
    const kept = this.#plan.columns.map((c) => replaced.get(c) ?? asField(c));
    const extra = added.filter((f) => !this.#plan.columns.includes(f.name)).map((f) => f.text);
    return this.select([...kept, ...extra].join(', '));
  }

  /** Leaves out the named columns. */
  dropColumns(fields: string): Table {
    const dropped = columnList(fields, this.#plan.columns, `dropColumns("${fields}")`);
    const kept = this.#plan.columns.filter((c) => !dropped.includes(c));
    if (kept.length === 0) throw new PyUdfError('INVALID_ARGUMENT', `dropColumns("${fields}") would leave no column`);
    return this.select(kept.map(asField).join(', '));
  }

  /** Renames columns: "a AS x, b AS y". */
  renameColumns(fields: string): Table {
    const renames = new Map(splitFields(fields).map((f) => {
      const [from] = columnList(f.text.replace(/\s+AS\s+.*$/is, ''), this.#plan.columns, `renameColumns("${fields}")`);
      return [from!, f.name];
    }));
    return this.select(this.#plan.columns.map((c) => `${asField(c)} AS ${asField(renames.get(c) ?? c)}`).join(', '));
  }

  /** Names all columns anew, in order: alias("x, y, z"). */
  alias(fields: string): Table {
    const names = splitFields(fields).map((f) => f.text.trim().replace(/^`|`$/g, ''));
    if (names.length !== this.#plan.columns.length) {
      throw new PyUdfError('INVALID_ARGUMENT', `alias("${fields}") names ${names.length} columns; the table has ${this.#plan.columns.length}: ${this.#plan.columns.join(', ')}`);
    }
    return this.select(this.#plan.columns.map((c, i) => `${asField(c)} AS ${asField(names[i]!)}`).join(', '));
  }

  /** PyFlink's `as` for renaming a table's columns. */
  as(fields: string): Table {
    return this.alias(fields);
  }

  /**
   * Joins each row with each row that a table function produces for it, in
   * input order and then in the order the function produced them; a row it
   * produces none for is left out. `joinPredicate` keeps only the joined
   * rows for which it is TRUE.
   *
   * @example
   * tEnv.fromPath('lines').joinLateral('split(line) AS (word, length)').select('word, length')
   */
  joinLateral(tableFunctionCall: string, joinPredicate?: string): Table {
    return this.#lateral(tableFunctionCall, joinPredicate, false);
  }

  /** As joinLateral, but a row that gets no row from the function (or none passing `joinPredicate`) is kept once, with NULLs in the function's columns. */
  leftOuterJoinLateral(tableFunctionCall: string, joinPredicate?: string): Table {
    return this.#lateral(tableFunctionCall, joinPredicate, true);
  }

  #lateral(text: string, predicateText: string | undefined, outer: boolean): Table {
    const method = outer ? 'leftOuterJoinLateral' : 'joinLateral';
    // PyFlink's join_lateral(f): a function named alone gets the whole row.
    const wholeRow = wholeRowCall(text, this.#host.functionNames());
    const { call, aliases } = wholeRow ?? parseTableFunctionCall(text);
    const input = wholeRow === null ? this.#plan : withWholeRow(this.#plan, text);
    validateNames(call, text, input.columns, this.#host.functionNames());
    const declared = this.#host.functionDeclaration(call.name)?.resultTypes;
    const names = aliases ?? declared?.map((_, i) => `f${i}`);
    if (names === undefined) {
      throw new PyUdfError('INVALID_ARGUMENT', `${method}("${text}"): name the function's result columns, e.g. "${call.name}(...) AS (a, b)"`);
    }
    const columns = [...this.#plan.columns, ...names];
    const duplicate = columns.find((c, i) => columns.indexOf(c) !== i);
    if (duplicate !== undefined) {
      throw new PyUdfError('INVALID_ARGUMENT', `${method}("${text}"): column "${duplicate}" would appear twice; name the function's columns differently with AS (...)`);
    }
    let predicate = null;
    if (predicateText !== undefined) {
      predicate = parsePredicate(predicateText);
      validateNames(predicate, predicateText, columns, this.#host.functionNames());
    }
    const joined: PlanNode = Object.freeze({
      kind: 'lateralJoin', input, call, aliases: Object.freeze([...names]), outer, predicate,
      text, columns: Object.freeze(wholeRow === null ? columns : [...input.columns, ...names]),
    });
    return new Table(this.#host, wholeRow === null ? joined : withoutWholeRow(joined, text));
  }

  get #rowBased(): RowBasedInput {
    return { plan: this.#plan, functions: this.#host.functionNames(), declaration: (name) => this.#host.functionDeclaration(name) };
  }

  /**
   * PyFlink's `map`: a scalar function returning a ROW, whose fields become
   * the columns. Named alone (`map('f')`) it gets the whole row as a `Row`
   * with the columns' names; `map('f(a, b)')` passes those columns.
   * `AS (x, y)` names the columns, else the ROW's field names do.
   *
   * @example
   * table.map('split_name AS (first, last)')
   */
  map(functionCall: string): Table {
    return new Table(this.#host, mapPlan(functionCall, this.#rowBased));
  }

  /**
   * PyFlink's `flat_map`: the rows a table function produces for each row,
   * alone, named by `AS (x, y)` or f0, f1, ... Named alone (`flatMap('split')`)
   * it gets the whole row as a `Row`.
   */
  flatMap(tableFunctionCall: string): Table {
    return new Table(this.#host, flatMapPlan(tableFunctionCall, this.#rowBased));
  }

  /**
   * PyFlink's keyless `aggregate`: the whole table is one group, and the
   * aggregate function's ROW result its one row, the ROW's fields as the
   * columns (or `AS (x, y)`). Follow it with `select`, as in PyFlink.
   */
  aggregate(aggregateFunctionCall: string): Table {
    return new Table(this.#host, aggregatePlan('aggregate', aggregateFunctionCall, [], this.#rowBased));
  }

  /**
   * PyFlink's keyless `flat_aggregate`: a table aggregate function (udtaf)
   * over the whole table, its emitted rows the result.
   */
  flatAggregate(tableAggregateFunctionCall: string): Table {
    return new Table(this.#host, aggregatePlan('flatAggregate', tableAggregateFunctionCall, [], this.#rowBased));
  }

  /**
   * Groups rows by columns, for `select` with aggregate functions: one row
   * per distinct combination of key values (NULL keys group together), in
   * the order each first appears in the input.
   *
   * @example
   * table.groupBy('k').select('k, my_avg(v) AS m')
   */
  groupBy(fields: string): GroupedTable {
    const items = parseSelectList(fields);
    const keys = items.map((item) => {
      if (item.expr.kind !== 'column' || item.alias !== null) {
        throw new ExpressionError('EXPRESSION_SYNTAX', `groupBy "${fields}" takes column names, comma-separated`, { expression: fields });
      }
      validateNames(item.expr, fields, this.#plan.columns, []);
      return item.expr.name;
    });
    const duplicate = keys.find((k, i) => keys.indexOf(k) !== i);
    if (duplicate !== undefined) throw new PyUdfError('INVALID_ARGUMENT', `groupBy "${fields}": column "${duplicate}" appears twice`);
    return new GroupedTable(this.#host, this.#plan, Object.freeze(keys));
  }

  /** Keeps the rows for which `predicate` is TRUE (not FALSE, not NULL). */
  where(predicate: string): Table<R> {
    return this.#hostOrEngine<R>(predicate, 'where', () => {
      const expr = parsePredicate(predicate);
      validateNames(expr, predicate, this.#plan.columns, this.#host.functionNames());
      return Object.freeze({ kind: 'filter', input: this.#plan, predicate: expr, text: predicate, columns: this.#plan.columns });
    }, () => filterNode(this.#plan, predicate, this.#host.functionNames()));
  }

  filter(predicate: string): Table<R> {
    return this.where(predicate);
  }

  /** Queues writing this table into a registered sink; `tEnv.execute(jobName)` runs it. */
  insertInto(tableName: string): void {
    this.#host.queueInsert(this.#plan, tableName);
  }

  /** Writes this table into a registered sink now. */
  executeInsert(tableName: string, options?: ExecuteOptions): Promise<JobResult> {
    return this.#host.runInsert(this.#plan, tableName, `insert into ${tableName}`, options);
  }

  /** Runs this table as a job whose rows come back to TypeScript. */
  execute(options?: ExecuteOptions): TableResult<R> {
    return new TableResult<R>(
      () => this.#host.runCollect(this.#plan, options),
      () => this.#host.runCount(this.#plan, options),
      () => this.#host.runStream(this.#plan, options),
      () => this.#host.runArrow(this.#plan, options),
    );
  }
}

/** A table grouped by key columns (`table.groupBy(keys)`): `select` aggregates each group. */
export class GroupedTable {
  readonly #host: TableHost;
  readonly #plan: PlanNode;
  readonly #keys: readonly string[];

  constructor(host: TableHost, plan: PlanNode, keys: readonly string[]) {
    this.#host = host;
    this.#plan = plan;
    this.#keys = keys;
    Object.freeze(this);
  }

  /**
   * A select list with both Python and built-in aggregates: each kind runs
   * as its own aggregation over the same groups (the Python one on the
   * workers, the built-in one in the engine), joined on the keys (NULL keys
   * matching), then put back in the list's order. Each item may use one kind.
   */
  #mixedAggregates(fields: string, functions: readonly string[]): Table {
    const python = functions.map((f) => f.toLowerCase());
    const items = splitTopLevel(fields).map((text, i) => ({ ...selectItem(text, i), text, i }));
    const usesPython = (text: string) => calledNames(text).some((n) => python.includes(n.toLowerCase()));
    const input = new Table(this.#host, this.#plan);
    const keys = this.#keys.map(asField);
    const hostItems = items.filter((item) => usesPython(item.expr));
    const engineItems = items.filter((item) => !usesPython(item.expr) && !this.#keys.includes(item.name));
    for (const item of hostItems) {
      if (usesBuiltinSql(item.expr, functions)) {
        throw new ExpressionError('EXPRESSION_SYNTAX', `"${item.text}" mixes a Python aggregate with built-in SQL in one item of "${fields}"; give each its own item`, { expression: fields });
      }
    }
    const onHost = input.groupBy(this.#keys.join(', ')).select([...keys, ...hostItems.map((item) => `${item.expr} AS \`__pa${item.i}\``)].join(', '));
    const inEngine = new Table(this.#host, selectNode(this.#plan, [
      ...this.#keys.map((k, j) => `${asField(k)} AS \`__k${j}\``), ...engineItems.map((item) => `${item.expr} AS \`__pb${item.i}\``),
    ].join(', '), functions, this.#keys));
    const on = this.#keys.length === 0 ? undefined : this.#keys.map((k, j) => `${asField(k)} IS NOT DISTINCT FROM \`__k${j}\``).join(' AND ');
    const joined = onHost.join(inEngine, on);
    return joined.select(items.map((item) => {
      const source = hostItems.includes(item) ? `__pa${item.i}` : engineItems.includes(item) ? `__pb${item.i}` : item.name;
      return `${asField(source)} AS ${asField(item.name)}`;
    }).join(', '));
  }

  /** The key columns. */
  get keys(): readonly string[] {
    return this.#keys;
  }

  /**
   * PyFlink's `group_by(...).aggregate(f)`: per group, the keys and then the
   * fields of the aggregate function's ROW result (or `AS (x, y)`). Named
   * alone (`aggregate('f')`) it gets each row whole, as a `Row`.
   *
   * @example
   * table.groupBy('a').aggregate('count_and_sum AS (c, d)').select('a, c, d')
   */
  aggregate(aggregateFunctionCall: string): Table {
    return new Table(this.#host, aggregatePlan('aggregate', aggregateFunctionCall, this.#keys, this.#rowBased));
  }

  /**
   * PyFlink's `group_by(...).flat_aggregate(f)`: per group, the keys with
   * each row the table aggregate function (udtaf) emits.
   *
   * @example
   * table.groupBy('c').flatAggregate('top2(a)').select('c, a')
   */
  flatAggregate(tableAggregateFunctionCall: string): Table {
    return new Table(this.#host, aggregatePlan('flatAggregate', tableAggregateFunctionCall, this.#keys, this.#rowBased));
  }

  get #rowBased(): RowBasedInput {
    return { plan: this.#plan, functions: this.#host.functionNames(), declaration: (name) => this.#host.functionDeclaration(name) };
  }

  /**
   * Expressions over the group keys and aggregate function calls, e.g.
   * `k, my_avg(v) AS m, my_sum(a + b) * 2 AS s`: one row per group. A
   * column outside an aggregate must be a key.
   */
  select(fields: string): Table {
    const functions = this.#host.functionNames();
    let plan: PlanNode;
    try {
      const items = parseSelectList(fields);
      const columns = checkedSelect(items, fields, this.#plan.columns, functions);
      plan = Object.freeze({ kind: 'aggregate', input: this.#plan, keys: this.#keys, items, text: fields, columns });
    } catch (error) {
      if (!(error instanceof ExpressionError) || (error.code !== 'EXPRESSION_SYNTAX' && error.code !== 'UNKNOWN_FUNCTION')) throw error;
      if (!usesBuiltinSql(fields, functions)) throw error;
      const python = functions.map((f) => f.toLowerCase());
      const mixed = calledNames(fields).filter((n) => python.includes(n.toLowerCase()));
      if (mixed.length > 0 && unknownFunctions(fields, functions).length > 0) throw error;
      if (mixed.length > 0) return this.#mixedAggregates(fields, functions);
      plan = selectNode(this.#plan, fields, functions, this.#keys);
    }
    return new Table(this.#host, plan);
  }
}

/** The output column names of a select list, every name it uses checked. */
function checkedSelect(items: readonly SelectItem[], fields: string, columns: readonly string[], functions: readonly string[]): readonly string[] {
  items.forEach((item) => validateNames(item.expr, fields, columns, functions));
  const names = items.map((item, i) => item.alias ?? (item.expr.kind === 'column' ? item.expr.name : `_c${i}`));
  const duplicate = names.find((c, i) => names.indexOf(c) !== i);
  if (duplicate !== undefined) {
    throw new PyUdfError('INVALID_ARGUMENT', `select "${fields}": output column "${duplicate}" appears twice; give one an alias with AS`);
  }
  return Object.freeze(names);
}

/** The items of a field list with the name each gives its column. */
function splitFields(fields: string): { text: string; name: string }[] {
  return splitTopLevel(fields).map((text, i) => ({ text, name: selectItem(text, i).name }));
}

let pythonColumns = 0;

/**
 * A select or where whose expression mixes Python calls and built-in SQL,
 * split as Flink's planner splits PythonCalc from Calc: the arguments of
 * the innermost Python calls are computed first (in the engine when they use
 * built-ins), the calls run on the workers as their own stage, and the
 * expression around them goes on over their results, until none is left.
 */
function splitPythonCalls(table: Table, text: string, method: 'select' | 'where', functions: readonly string[]): Table {
  // Each result keeps the name it would have had unsplit.
  const named = method === 'where' ? text : splitTopLevel(text).map((item, i) => {
    const { name } = selectItem(item, i);
    return name === `_c${i}` ? `${item} AS \`_c${i}\`` : item;
  }).join(', ');
  const { calls, rest } = cutPythonCalls(named, functions, () => `__py${++pythonColumns}`);
  const columns = table.columns.map(asField);
  const args = calls.flatMap((call) => call.args.map((arg, j) => ({ text: arg, name: `${call.column}_${j}` })));
  const withArgs = args.length === 0 ? table : table.select([...columns, ...args.map((a) => `${a.text} AS \`${a.name}\``)].join(', '));
  const withCalls = withArgs.select([
    ...columns,
    ...calls.map((call) => `${call.name}(${call.args.map((_, j) => `\`${call.column}_${j}\``).join(', ')}) AS \`${call.column}\``),
  ].join(', '));
  if (method === 'select') return withCalls.select(rest);
  return withCalls.where(rest).select(columns.join(', '));
}

function callsPython(text: string, functions: readonly string[]): boolean {
  const python = functions.map((f) => f.toLowerCase());
  try {
    return calledNames(text).some((n) => python.includes(n.toLowerCase()));
  } catch {
    return true;
  }
}

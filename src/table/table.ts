import { ExpressionError, PyUdfError } from '../errors.js';
import type { SelectItem } from '../expressions/nodes.js';
import { parsePredicate, parseSelectList } from '../expressions/parse.js';
import { parseTableFunctionCall } from '../expressions/table-function-call.js';
import type { PlanNode } from '../planning/plan.js';
import { validateNames } from '../planning/validate.js';
import type { PythonFunction } from './python-function.js';
import type { Row } from '../types/values.js';
import type { UdfErrorCount } from '../execution/udf-errors.js';
import type { FunctionMetrics } from '../execution/job-metrics.js';

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

  constructor(run: () => Promise<CollectedRows>, count: () => Promise<CountedRows>, stream: () => AsyncGenerator<Row>) {
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
   * A comma-separated list of expressions, each optionally `AS alias`. With
   * an aggregate function in it (`select('my_avg(v) AS m')`) the whole table
   * is one group: the result is one row, also over no rows at all.
   */
  select(fields: string): Table {
    const items = parseSelectList(fields);
    const columns = checkedSelect(items, fields, this.#plan.columns, this.#host.functionNames());
    return new Table(this.#host, Object.freeze({
      kind: 'project', input: this.#plan, items, text: fields, columns,
    }));
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
    const { call, aliases } = parseTableFunctionCall(text);
    validateNames(call, text, this.#plan.columns, this.#host.functionNames());
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
    return new Table(this.#host, Object.freeze({
      kind: 'lateralJoin', input: this.#plan, call, aliases: Object.freeze([...names]), outer, predicate,
      text, columns: Object.freeze(columns),
    }));
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
    const expr = parsePredicate(predicate);
    validateNames(expr, predicate, this.#plan.columns, this.#host.functionNames());
    return new Table<R>(this.#host, Object.freeze({
      kind: 'filter', input: this.#plan, predicate: expr, text: predicate, columns: this.#plan.columns,
    }));
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

  /** The key columns. */
  get keys(): readonly string[] {
    return this.#keys;
  }

  /**
   * Expressions over the group keys and aggregate function calls, e.g.
   * `k, my_avg(v) AS m, my_sum(a + b) * 2 AS s`: one row per group. A
   * column outside an aggregate must be a key.
   */
  select(fields: string): Table {
    const items = parseSelectList(fields);
    const columns = checkedSelect(items, fields, this.#plan.columns, this.#host.functionNames());
    return new Table(this.#host, Object.freeze({
      kind: 'aggregate', input: this.#plan, keys: this.#keys, items, text: fields, columns,
    }));
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

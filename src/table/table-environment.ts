import type * as arrow from 'apache-arrow';
import { PyUdfError } from '../errors.js';
import type { QueuedInsert } from '../execution/job-runner.js';
import { arrowTable, columnsTable, elementsTable, type ColumnData } from '../io/columns-table.js';
import { fileScanNode } from '../engine/file-tables.js';
import type { PlanNode, TableDefinition } from '../planning/plan.js';
import type { Row, SchemaRow } from '../types/values.js';
import type { DataType } from '../types/data-types.js';
import { ConnectTableDescriptor, FileSystem, fileTableDefinition, type CsvOptions } from './descriptors.js';
import type { PythonFunction } from './python-function.js';
import { Schema, columnNames, toTableSchema, type TableSchema } from './schema.js';
import { elementsSchema, type ElementsSchema } from './element-schema.js';
import { Table, type CollectedRows, type CountedRows, type ExecuteOptions, type JobResult } from './table.js';
import { Catalog } from './catalog.js';
import { EnvironmentOptions, type TableEnvironmentOptions } from './environment-options.js';
import { JobLease } from './job-lease.js';
import { executeSql, sqlQuery } from '../sql/execute-sql.js';
import type { SqlTableResult } from '../sql/sql-result.js';

export type { TableEnvironmentOptions } from './environment-options.js';

/**
 * The entry point of a pyudf job, as PyFlink's TableEnvironment: registers
 * tables and Python functions, and runs jobs on managed Python workers.
 *
 * @example
 * const tEnv = TableEnvironment.create({ parallelism: 1 });
 * tEnv.registerFunction('add', udf('lambda i, j: i + j', [DataTypes.BIGINT(), DataTypes.BIGINT()], DataTypes.BIGINT()));
 * const rows = await tEnv.fromElements([[1n, 2n]], { a: DataTypes.BIGINT(), b: DataTypes.BIGINT() })
 *   .select('add(a, b) AS s').execute().collect();
 * await tEnv.close();
 */
export class TableEnvironment {
  readonly #catalog = new Catalog();
  readonly #options: EnvironmentOptions;
  /** Runs this environment's jobs: loaded, with everything jobs need, by the first job. */
  readonly #jobs: JobLease;
  /** insertInto()s waiting for execute(). */
  readonly #queued: QueuedInsert[] = [];
  #closed = false;

  private constructor(options: EnvironmentOptions) {
    this.#options = options;
    const catalog = this.#catalog;
    this.#jobs = new JobLease({
      get options() { return options.resolved; },
      get functions() { return catalog.functions; },
      get pythonFiles() { return options.pythonFiles; },
      get archives() { return options.archives; },
      get requirements() { return options.requirements; },
      functionNames: () => catalog.functionNames(),
      sinkTable: (name) => catalog.sinkTable(name),
    });
  }

  static create(options: TableEnvironmentOptions = {}): TableEnvironment {
    return new TableEnvironment(new EnvironmentOptions(options));
  }

  #checkOpen(what: string): void {
    if (this.#closed) throw new PyUdfError('CLOSED', `${what}: the TableEnvironment is closed`);
  }

  /** Registers a Python function (udf, udtf or udaf) under `name` for use in expressions. */
  registerFunction(name: string, fn: PythonFunction): void {
    this.#checkOpen('registerFunction');
    this.#catalog.registerFunction(name, fn);
  }

  /** The modern name of registerFunction. */
  createTemporarySystemFunction(name: string, fn: PythonFunction): void {
    this.registerFunction(name, fn);
  }

  /** Ships a Python module (.py file) or package directory to the workers, importable by its name. */
  addPythonFile(filePath: string): void {
    this.#checkOpen('addPythonFile');
    this.#options.addPythonFile(filePath);
  }

  /**
   * Third-party packages the functions import: installed from `cachedDir`
   * alone, offline (pip --no-index --find-links), or from the package index
   * when no cached dir is given; built once into a cached environment.
   */
  setPythonRequirements(requirementsFile: string, cachedDir?: string): void {
    this.#checkOpen('setPythonRequirements');
    this.#options.setPythonRequirements(requirementsFile, cachedDir);
  }

  /** Ships an archive (.zip, .tar, .tar.gz), extracted into the workers' working directory as `./targetDir`. */
  addPythonArchive(archivePath: string, targetDir?: string): void {
    this.#checkOpen('addPythonArchive');
    this.#options.addPythonArchive(archivePath, targetDir);
  }

  /** The Python interpreter the workers' environment is built from. */
  setPythonExecutable(executable: string): void {
    this.#checkOpen('setPythonExecutable');
    this.#options.setPythonExecutable(executable);
  }

  /** Sets a parameter every function's open() can read. */
  setJobParameter(key: string, value: string): void {
    this.#options.setJobParameter(key, value);
  }

  /** `tEnv.connect(new FileSystem().path(p)).withFormat(...).withSchema(...).createTemporaryTable(name)` */
  connect(fileSystem: FileSystem): ConnectTableDescriptor {
    this.#checkOpen('connect');
    if (!(fileSystem instanceof FileSystem)) {
      throw new PyUdfError('INVALID_ARGUMENT', 'connect: expected a FileSystem descriptor');
    }
    return new ConnectTableDescriptor((name, definition) => this.#catalog.registerTable(name, definition), fileSystem);
  }

  /**
   * Registers a file table from its path, format ("csv", "parquet", "json"),
   * CSV options and columns: what `CREATE TABLE ... WITH ('connector' = 'filesystem', ...)` declares.
   */
  registerFileTable(name: string, filePath: string, format: 'csv' | 'parquet' | 'json', options: Partial<CsvOptions>, schema: Schema | Readonly<Record<string, DataType>>): void {
    this.#checkOpen('registerFileTable');
    this.#catalog.registerTable(name, fileTableDefinition(filePath, format, options, toTableSchema(schema, 'registerFileTable'), `registerFileTable("${name}")`));
  }

  /**
   * A table of an apache-arrow Table's columns, used without copying: Bool,
   * Int8-64, Float32/64, Utf8 and Binary as BOOLEAN ... BYTES; 128-bit Decimal
   * as DECIMAL(p, s); Date as DATE; Time and Timestamp (seconds to
   * microseconds) as TIME(p) and TIMESTAMP(p), a zoned Timestamp as
   * TIMESTAMP_LTZ(p). Other columns are an INVALID_ARGUMENT error naming them.
   */
  fromArrow(table: arrow.Table): Table {
    return this.#scan('(arrow)', arrowTable(table));
  }

  /** The table or view registered under `name` (with the Table API, or by SQL DDL). */
  fromPath(name: string): Table {
    const table = this.lookup(name);
    if (!table) {
      throw new PyUdfError('UNKNOWN_TABLE', `unknown table "${name}"; tables and views: ${this.tableNames().join(', ') || '(none)'}`);
    }
    return table;
  }

  /** PyFlink's `from_path`: the table or view registered under `name`. */
  from(name: string): Table {
    return this.fromPath(name);
  }

  /** Registers a table under `name` as a view, for SQL queries and `from(name)`. */
  createTemporaryView(name: string, table: Table): void {
    this.#checkOpen('createTemporaryView');
    this.#catalog.createView(name, table);
  }

  /**
   * Runs one SQL statement in Flink's dialect: CREATE TABLE / VIEW / FUNCTION,
   * DROP, SHOW, DESCRIBE, EXPLAIN, INSERT INTO (resolves once the job has
   * finished and its sink is published) or a SELECT (its rows are read from
   * the result). Errors in the statement are raised before anything runs.
   */
  executeSql(statement: string, options?: ExecuteOptions): Promise<SqlTableResult> {
    this.#checkOpen('executeSql');
    return executeSql(this, statement, options);
  }

  /** A SELECT query as a Table the Table API goes on with. */
  sqlQuery(query: string): Table {
    this.#checkOpen('sqlQuery');
    return sqlQuery(this, query);
  }

  // SqlSession: one catalog for tables and views, whichever API made them.

  lookup(name: string): Table | undefined {
    const view = this.#catalog.view(name);
    if (view) return view;
    const table = this.#catalog.table(name);
    return table ? this.#scan(name, table) : undefined;
  }

  /** Names of every table and view. */
  tableNames(): string[] {
    return this.#catalog.tableNames();
  }

  /** PyFlink's `list_tables`: tables and views. */
  listTables(): string[] {
    return this.tableNames();
  }

  listViews(): string[] {
    return this.#catalog.viewNames();
  }

  listTemporaryTables(): string[] {
    return this.#catalog.declaredTableNames();
  }

  /** PyFlink's `list_user_defined_functions`. */
  listUserDefinedFunctions(): string[] {
    return this.functionNames();
  }

  tableSchema(name: string): TableSchema | null {
    return this.#catalog.tableSchema(name);
  }

  dropTemporaryTable(name: string): boolean {
    return this.#catalog.dropTable(name);
  }

  dropTemporaryView(name: string): boolean {
    return this.#catalog.dropView(name);
  }

  dropTemporarySystemFunction(name: string): boolean {
    return this.#catalog.dropFunction(name);
  }

  /**
   * A table of in-memory rows: each row an array in schema order or an object
   * keyed by column name. Values are checked against the schema now. The
   * schema, as PyFlink's `from_elements` takes it: a Schema, `{ column:
   * DataType }`, a `DataTypes.ROW([...])`, a list of column names (types
   * inferred from the values), or nothing (columns `_1`, `_2`, ..., inferred).
   */
  fromElements<S extends Readonly<Record<string, DataType>>>(rows: ReadonlyArray<readonly unknown[] | Readonly<Record<string, unknown>>>, schema: S): Table<SchemaRow<S>>;
  fromElements(rows: ReadonlyArray<readonly unknown[] | Readonly<Record<string, unknown>>>, schema?: ElementsSchema): Table;
  fromElements(rows: ReadonlyArray<readonly unknown[] | Readonly<Record<string, unknown>>>, schema?: ElementsSchema): Table {
    if (!Array.isArray(rows)) throw new PyUdfError('INVALID_ARGUMENT', 'fromElements: rows must be an array');
    const fields = elementsSchema(rows, schema);
    return this.#scan('(elements)', elementsTable(rows, fields));
  }

  /**
   * A table of whole columns, e.g. `{ a: BigInt64Array, b: Float64Array }`:
   * typed arrays of a column's exact type are used without copying.
   */
  fromColumns<S extends Readonly<Record<string, DataType>>>(columns: Readonly<Record<string, ColumnData>>, schema: Schema | S): Table<SchemaRow<S>> {
    return this.#scan('(columns)', columnsTable(columns, toTableSchema(schema, 'fromColumns'))) as Table<SchemaRow<S>>;
  }

  /**
   * A table of rows arriving over time: each row an array in schema order.
   * Batches go to the workers when full or `bundleTimeMs` after their first
   * row. The stream is read by the first job that runs on it.
   */
  fromStream(rows: AsyncIterable<readonly unknown[]> | Iterable<readonly unknown[]>, schema: Schema | Readonly<Record<string, DataType>>): Table {
    if (rows === null || typeof rows !== 'object' || !(Symbol.asyncIterator in rows || Symbol.iterator in rows)) {
      throw new PyUdfError('INVALID_ARGUMENT', 'fromStream: rows must be an iterable or async iterable of arrays');
    }
    return this.#scan('(stream)', Object.freeze({ kind: 'stream', rows, schema: toTableSchema(schema, 'fromStream') }));
  }

  #scan(name: string, table: TableDefinition): Table {
    if (table.kind === 'file') return new Table(this, fileScanNode(table));
    return new Table(this, Object.freeze({ kind: 'scan', tableName: name, table, columns: Object.freeze(columnNames(table.schema)) }));
  }

  /** Runs every insertInto queued since the last execute, as one job. */
  async execute(jobName: string, options?: ExecuteOptions): Promise<JobResult> {
    this.#checkOpen('execute');
    const queued = this.#queued.splice(0);
    if (queued.length === 0) {
      throw new PyUdfError('INVALID_ARGUMENT', `execute("${jobName}"): nothing to run; call table.insertInto(sink) first`);
    }
    return (await this.#jobs.runner()).runInserts(queued, jobName, options);
  }

  /** Stops running jobs' workers; the environment cannot be used afterwards. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#jobs.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // What Table asks of its environment (TableHost). Marked internal: the published
  // declarations leave them out, so they are not part of TableEnvironment's public type.

  /** @internal */
  functionNames(): string[] {
    return this.#catalog.functionNames();
  }

  /** @internal */
  functionDeclaration(name: string): PythonFunction | undefined {
    return this.#catalog.functionDeclaration(name);
  }

  /** @internal */
  queueInsert(plan: PlanNode, tableName: string): void {
    this.#checkOpen('insertInto');
    this.#catalog.sinkTable(tableName);
    this.#queued.push({ plan, tableName });
  }

  /** @internal */
  async runInsert(plan: PlanNode, tableName: string, jobName: string, options?: ExecuteOptions): Promise<JobResult> {
    this.#checkOpen('executeInsert');
    this.#catalog.sinkTable(tableName);
    return (await this.#jobs.runner()).runInserts([{ plan, tableName }], jobName, options);
  }

  /** @internal */
  async runCollect(plan: PlanNode, options?: ExecuteOptions): Promise<CollectedRows> {
    this.#checkOpen('execute');
    return (await this.#jobs.runner()).runCollect(plan, options);
  }

  /** @internal */
  async runArrow(plan: PlanNode, options?: ExecuteOptions): Promise<arrow.Table> {
    this.#checkOpen('execute');
    return (await this.#jobs.runner()).runArrow(plan, options);
  }

  /**
   * @internal
   * A plan's result schema without running it or starting a worker; null when
   * a Python function it calls takes its types from its Python declaration,
   * which only a worker reads.
   */
  async describePlan(plan: PlanNode): Promise<TableSchema | null> {
    this.#checkOpen('describe');
    return (await this.#jobs.runner()).describePlan(plan);
  }

  /** @internal */
  async runCount(plan: PlanNode, options?: ExecuteOptions): Promise<CountedRows> {
    this.#checkOpen('execute');
    return (await this.#jobs.runner()).runCount(plan, options);
  }

  /** @internal */
  async *runStream(plan: PlanNode, options?: ExecuteOptions): AsyncGenerator<Row> {
    this.#checkOpen('execute');
    yield* (await this.#jobs.runner()).runStream(plan, options);
  }
}

import fs from 'node:fs';
import path from 'node:path';
import type * as arrow from 'apache-arrow';
import { PyUdfError } from '../errors.js';
import type { PythonRequirements } from '../environments/job-environment.js';
import { checkArchive, type PythonArchive } from '../workers/archives.js';
import { ERROR_POLICIES, type ErrorPolicy } from '../execution/udf-errors.js';
import type { JobRunner, QueuedInsert } from '../execution/job-runner.js';
import { arrowTable, columnsTable, elementsTable, type ColumnData } from '../io/columns-table.js';
import { defaultLogger, type Logger } from '../logging.js';
import { fileScanNode, type FileTableDefinition } from '../engine/file-tables.js';
import type { PlanNode, TableDefinition } from '../planning/plan.js';
import { resolveFunctionName } from '../planning/validate.js';
import type { Row, SchemaRow } from '../types/values.js';
import type { DataType } from '../types/data-types.js';
import { ConnectTableDescriptor, FileSystem, fileTableDefinition, type CsvOptions, type CsvTableDefinition } from './descriptors.js';
import { isPythonFunction, type PythonFunction } from './python-function.js';
import { Schema, columnNames, toTableSchema, type TableSchema } from './schema.js';
import { elementsSchema, type ElementsSchema } from './element-schema.js';
import { Table, type CollectedRows, type CountedRows, type ExecuteOptions, type JobResult } from './table.js';
import { executeSql, sqlQuery } from '../sql/execute-sql.js';
import type { SqlTableResult } from '../sql/sql-result.js';

export interface TableEnvironmentOptions {
  /** Python workers per job; batches are spread across them. Default 1. */
  readonly parallelism?: number;
  /**
   * Rows per batch sent to a worker (PyFlink's bundle size). Default 4096, and
   * 65,536 for a job whose Python functions are all vectorized (pandas): each
   * call of one has a fixed cost of its own, which bigger batches spread.
   */
  readonly bundleSize?: number;
  /** A batch goes to a worker once its first row is this old, full or not (PyFlink's bundle time). Default 5 ms: a trickle of rows is answered within milliseconds, a fast source fills whole batches long before. */
  readonly bundleTimeMs?: number;
  /** Batches in flight per worker. Default 4. */
  readonly batchesInFlightPerWorker?: number;
  /** The Python interpreter; default PYUDF_PYTHON, else python3 on PATH. */
  readonly pythonExecutable?: string;
  /** Where built Python environments are cached; default PYUDF_CACHE_DIR or ~/.cache/pyudf. */
  readonly cacheDir?: string;
  /** Receives UDF output (print, logging) and pyudf's own messages. Default: stderr. */
  readonly logger?: Logger;
  /**
   * How often one batch may crash its worker (the worker is replaced and the
   * batch sent again) before the job fails naming the row that does it. Default 3.
   */
  readonly maxWorkerRestarts?: number;
  /**
   * A call of a Python function on one batch that takes longer fails the job
   * (UDF_TIMEOUT) and its worker is killed. Default 10 minutes: long enough for
   * any sane batch, short enough that a hung UDF cannot hang CI. 0 turns it off;
   * at most 2147483647 (about 24.8 days, the longest a timer waits).
   */
  readonly udfTimeoutMs?: number;
  /**
   * Loading a job's functions in a worker, their modules' imports and their
   * open(), that takes longer fails the job (UDF_TIMEOUT naming the import or
   * open() it was stuck in) and the worker is killed. Default 10 minutes
   * (open() may load a model); 0 turns it off; at most 2147483647.
   */
  readonly functionLoadTimeoutMs?: number;
  /**
   * How long the functions' close() hooks get at a job's end before their
   * worker is stopped (the job keeps its rows; a warning names the functions
   * whose close() may not have run to its end). Default: 5 s, multiplied by
   * the host's live workers per core when there are more workers than cores.
   * Given, it is used as it is: at least 1, at most 2147483647.
   */
  readonly functionCloseTimeoutMs?: number;
  /**
   * Each worker's memory limit in MiB: the writable memory (heap, arrays,
   * thread stacks) it may use, set before any function loads. A function
   * that asks for more gets MemoryError, and the job fails with
   * UDF_OUT_OF_MEMORY. A worker uses about 250 MiB before loading anything,
   * so limits below 512 leave little. Default: no limit of pyudf's own (0).
   */
  readonly workerMemoryLimitMb?: number;
  /**
   * What a row on which a Python function raises does, for functions without
   * their own `onError`: "fail" the job (default), make the result "null",
   * "skip" the row, or "deadLetter" it (to `deadLetterPath`) and go on.
   * Counts appear in the job's result.
   */
  readonly onUdfError?: ErrorPolicy;
  /** A JSON Lines file that dead-lettered rows are appended to. */
  readonly deadLetterPath?: string;
  /** Passed to every function's open(): FunctionContext.get_job_parameter(key). */
  readonly jobParameters?: Readonly<Record<string, string>>;
  /**
   * How long the workers of a finished job stay, idle, for the next job of
   * this TableEnvironment with the same Python setup (interpreter,
   * requirements, files, parallelism): that job starts without new processes.
   * Module-level state of the functions' modules lives on with them, as in
   * any long-running Python process. Idle workers never keep Node running;
   * close() stops them. Default 60 s; 0 stops a job's workers when it ends;
   * at most 2147483647 (about 24.8 days, the longest a timer waits).
   */
  readonly workerIdleTimeoutMs?: number;
}

/** The options of a TableEnvironment, checked and with their defaults. */
export interface ResolvedOptions {
  parallelism: number;
  /** null: the default for the job's kind of functions. */
  bundleSize: number | null;
  bundleTimeMs: number;
  maxWorkerRestarts: number;
  udfTimeoutMs: number;
  functionLoadTimeoutMs: number;
  /** null: the default, scaled with load. */
  functionCloseTimeoutMs: number | null;
  /** 0: none. */
  workerMemoryLimitMb: number;
  onUdfError: ErrorPolicy;
  deadLetterPath: string | null;
  batchesInFlightPerWorker: number;
  pythonExecutable: string | null;
  cacheDir: string | undefined;
  logger: Logger;
  jobParameters: Record<string, string>;
  workerIdleTimeoutMs: number;
}

const DEFAULTS = Object.freeze({
  parallelism: 1, bundleSize: 4096, bundleTimeMs: 5, batchesInFlightPerWorker: 4, maxWorkerRestarts: 3, udfTimeoutMs: 10 * 60_000,
  functionLoadTimeoutMs: 10 * 60_000, workerIdleTimeoutMs: 60_000,
});

function errorPolicy(value: unknown): ErrorPolicy {
  if (value === undefined) return 'fail';
  if (!ERROR_POLICIES.includes(value as ErrorPolicy)) {
    throw new PyUdfError('INVALID_ARGUMENT', `TableEnvironment option "onUdfError" must be one of ${ERROR_POLICIES.join(', ')}, got ${String(value)}`);
  }
  return value as ErrorPolicy;
}

function nonNegativeInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new PyUdfError('INVALID_ARGUMENT', `TableEnvironment option "${name}" must be an integer >= 0, got ${String(value)}`);
  }
  return value;
}

/** The longest a Node timer waits: a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function timerDuration(value: unknown, name: string, fallback: number): number {
  const ms = nonNegativeInteger(value, name, fallback);
  if (ms > MAX_TIMER_MS) {
    throw new PyUdfError('INVALID_ARGUMENT', `TableEnvironment option "${name}" must be at most ${MAX_TIMER_MS} (about 24.8 days), got ${ms}`);
  }
  return ms;
}

function positiveInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new PyUdfError('INVALID_ARGUMENT', `TableEnvironment option "${name}" must be a positive integer, got ${String(value)}`);
  }
  return value;
}

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
  readonly #options: ResolvedOptions;
  readonly #functions = new Map<string, PythonFunction>();
  readonly #tables = new Map<string, TableDefinition>();
  readonly #views = new Map<string, Table>();
  readonly #pythonFiles: string[] = [];
  readonly #archives: PythonArchive[] = [];
  #requirements: PythonRequirements | null = null;
  readonly #queued: QueuedInsert[] = [];
  #closed = false;
  /** Runs this environment's jobs: loaded, with everything jobs need, by the first job. */
  #jobRunner: Promise<JobRunner> | null = null;

  private constructor(options: ResolvedOptions) {
    this.#options = options;
  }

  #jobs(): Promise<JobRunner> {
    this.#jobRunner ??= import('../execution/job-runner.js').then(({ JobRunner }) => {
      const environment = this;
      return new JobRunner({
        get options() { return environment.#options; },
        get functions() { return environment.#functions; },
        get pythonFiles() { return environment.#pythonFiles; },
        get archives() { return environment.#archives; },
        get requirements() { return environment.#requirements; },
        functionNames: () => this.functionNames(),
        sinkTable: (name) => this.#sinkTable(name),
      });
    });
    return this.#jobRunner;
  }

  static create(options: TableEnvironmentOptions = {}): TableEnvironment {
    if (options === null || typeof options !== 'object') {
      throw new PyUdfError('INVALID_ARGUMENT', 'TableEnvironment.create: options must be an object');
    }
    return new TableEnvironment({
      parallelism: positiveInteger(options.parallelism, 'parallelism', DEFAULTS.parallelism),
      bundleSize: options.bundleSize === undefined ? null : positiveInteger(options.bundleSize, 'bundleSize', DEFAULTS.bundleSize),
      bundleTimeMs: positiveInteger(options.bundleTimeMs, 'bundleTimeMs', DEFAULTS.bundleTimeMs),
      maxWorkerRestarts: nonNegativeInteger(options.maxWorkerRestarts, 'maxWorkerRestarts', DEFAULTS.maxWorkerRestarts),
      udfTimeoutMs: timerDuration(options.udfTimeoutMs, 'udfTimeoutMs', DEFAULTS.udfTimeoutMs),
      functionLoadTimeoutMs: timerDuration(options.functionLoadTimeoutMs, 'functionLoadTimeoutMs', DEFAULTS.functionLoadTimeoutMs),
      functionCloseTimeoutMs: options.functionCloseTimeoutMs === undefined
        ? null : positiveInteger(timerDuration(options.functionCloseTimeoutMs, 'functionCloseTimeoutMs', 0), 'functionCloseTimeoutMs', 0),
      workerMemoryLimitMb: nonNegativeInteger(options.workerMemoryLimitMb, 'workerMemoryLimitMb', 0),
      onUdfError: errorPolicy(options.onUdfError),
      deadLetterPath: options.deadLetterPath === undefined ? null : path.resolve(options.deadLetterPath),
      batchesInFlightPerWorker: positiveInteger(options.batchesInFlightPerWorker, 'batchesInFlightPerWorker', DEFAULTS.batchesInFlightPerWorker),
      pythonExecutable: options.pythonExecutable ?? null,
      cacheDir: options.cacheDir,
      logger: options.logger ?? defaultLogger(),
      jobParameters: { ...options.jobParameters },
      workerIdleTimeoutMs: timerDuration(options.workerIdleTimeoutMs, 'workerIdleTimeoutMs', DEFAULTS.workerIdleTimeoutMs),
    });
  }

  #checkOpen(what: string): void {
    if (this.#closed) throw new PyUdfError('CLOSED', `${what}: the TableEnvironment is closed`);
  }

  /** Registers a Python function (udf, udtf or udaf) under `name` for use in expressions. */
  registerFunction(name: string, fn: PythonFunction): void {
    this.#checkOpen('registerFunction');
    if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new PyUdfError('INVALID_ARGUMENT', `registerFunction: "${String(name)}" is not a valid function name (letters, digits, _)`);
    }
    if (!isPythonFunction(fn)) {
      throw new PyUdfError('INVALID_ARGUMENT', `registerFunction("${name}"): expected a function made with udf(...), udtf(...) or udaf(...), got ${String(fn)}`);
    }
    this.#functions.set(name, fn);
  }

  /** The modern name of registerFunction. */
  createTemporarySystemFunction(name: string, fn: PythonFunction): void {
    this.registerFunction(name, fn);
  }

  /** Ships a Python module (.py file) or package directory to the workers, importable by its name. */
  addPythonFile(filePath: string): void {
    this.#checkOpen('addPythonFile');
    const resolved = path.resolve(filePath);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(resolved);
    } catch {
      throw new PyUdfError('INVALID_ARGUMENT', `addPythonFile: ${filePath} does not exist`);
    }
    if (stat.isFile() && !resolved.endsWith('.py')) {
      throw new PyUdfError('INVALID_ARGUMENT', `addPythonFile: ${filePath} is neither a .py file nor a package directory`);
    }
    if (!this.#pythonFiles.includes(resolved)) this.#pythonFiles.push(resolved);
  }

  /**
   * Third-party packages the functions import: installed from `cachedDir`
   * alone, offline (pip --no-index --find-links), or from the package index
   * when no cached dir is given; built once into a cached environment.
   */
  setPythonRequirements(requirementsFile: string, cachedDir?: string): void {
    this.#checkOpen('setPythonRequirements');
    if (typeof requirementsFile !== 'string' || !fs.existsSync(requirementsFile)) {
      throw new PyUdfError('INVALID_ARGUMENT', `setPythonRequirements: requirements file ${String(requirementsFile)} does not exist`);
    }
    if (cachedDir !== undefined && (typeof cachedDir !== 'string' || !fs.existsSync(cachedDir) || !fs.statSync(cachedDir).isDirectory())) {
      throw new PyUdfError('INVALID_ARGUMENT', `setPythonRequirements: cached dir ${String(cachedDir)} is not a directory`);
    }
    this.#requirements = Object.freeze({
      requirementsFile: path.resolve(requirementsFile),
      cachedDir: cachedDir === undefined ? null : path.resolve(cachedDir),
    });
  }

  /** Ships an archive (.zip, .tar, .tar.gz), extracted into the workers' working directory as `./targetDir`. */
  addPythonArchive(archivePath: string, targetDir?: string): void {
    this.#checkOpen('addPythonArchive');
    this.#archives.push(checkArchive(archivePath, targetDir));
  }

  /** The Python interpreter the workers' environment is built from. */
  setPythonExecutable(executable: string): void {
    this.#checkOpen('setPythonExecutable');
    if (typeof executable !== 'string' || executable === '') {
      throw new PyUdfError('INVALID_ARGUMENT', 'setPythonExecutable: expected a path or command name');
    }
    this.#options.pythonExecutable = executable;
  }

  /** Sets a parameter every function's open() can read. */
  setJobParameter(key: string, value: string): void {
    this.#options.jobParameters[key] = String(value);
  }

  /** `tEnv.connect(new FileSystem().path(p)).withFormat(...).withSchema(...).createTemporaryTable(name)` */
  connect(fileSystem: FileSystem): ConnectTableDescriptor {
    this.#checkOpen('connect');
    if (!(fileSystem instanceof FileSystem)) {
      throw new PyUdfError('INVALID_ARGUMENT', 'connect: expected a FileSystem descriptor');
    }
    return new ConnectTableDescriptor((name, definition) => this.#registerTable(name, definition), fileSystem);
  }

  /**
   * Registers a file table from its path, format ("csv", "parquet", "json"),
   * CSV options and columns: what `CREATE TABLE ... WITH ('connector' = 'filesystem', ...)` declares.
   */
  registerFileTable(name: string, filePath: string, format: 'csv' | 'parquet' | 'json', options: Partial<CsvOptions>, schema: Schema | Readonly<Record<string, DataType>>): void {
    this.#checkOpen('registerFileTable');
    this.#registerTable(name, fileTableDefinition(filePath, format, options, toTableSchema(schema, 'registerFileTable'), `registerFileTable("${name}")`));
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

  #registerTable(name: string, definition: TableDefinition): void {
    if (typeof name !== 'string' || name === '') throw new PyUdfError('INVALID_ARGUMENT', 'a table name must be a non-empty string');
    this.#tables.set(name, definition);
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
    if (typeof name !== 'string' || name === '') throw new PyUdfError('INVALID_ARGUMENT', 'createTemporaryView: a view name must be a non-empty string');
    if (!(table instanceof Table)) throw new PyUdfError('INVALID_ARGUMENT', `createTemporaryView("${name}"): expected a Table`);
    if (this.#tables.has(name)) throw new PyUdfError('INVALID_ARGUMENT', `createTemporaryView("${name}"): a table of that name exists; drop it first`);
    this.#views.set(name, table);
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
    const view = this.#views.get(name);
    if (view) return view;
    const table = this.#tables.get(name);
    return table ? this.#scan(name, table) : undefined;
  }

  /** Names of every table and view. */
  tableNames(): string[] {
    return [...this.#tables.keys(), ...this.#views.keys()];
  }

  /** PyFlink's `list_tables`: tables and views. */
  listTables(): string[] {
    return this.tableNames();
  }

  listViews(): string[] {
    return [...this.#views.keys()];
  }

  listTemporaryTables(): string[] {
    return [...this.#tables.keys()];
  }

  /** PyFlink's `list_user_defined_functions`. */
  listUserDefinedFunctions(): string[] {
    return this.functionNames();
  }

  tableSchema(name: string): TableSchema | null {
    return this.#tables.get(name)?.schema ?? null;
  }

  dropTemporaryTable(name: string): boolean {
    return this.#tables.delete(name);
  }

  dropTemporaryView(name: string): boolean {
    return this.#views.delete(name);
  }

  dropTemporarySystemFunction(name: string): boolean {
    return this.#functions.delete(name);
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
    return (await this.#jobs()).runInserts(queued, jobName, options);
  }

  /** Stops running jobs' workers; the environment cannot be used afterwards. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await (await this.#jobRunner)?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // What Table asks of its environment (TableHost). Marked internal: the published
  // declarations leave them out, so they are not part of TableEnvironment's public type.

  /** @internal */
  functionNames(): string[] {
    return [...this.#functions.keys()];
  }

  /** @internal */
  functionDeclaration(name: string): PythonFunction | undefined {
    const registered = resolveFunctionName(name, this.functionNames());
    return registered === undefined ? undefined : this.#functions.get(registered);
  }

  /** @internal */
  queueInsert(plan: PlanNode, tableName: string): void {
    this.#checkOpen('insertInto');
    this.#sinkTable(tableName);
    this.#queued.push({ plan, tableName });
  }

  /** @internal */
  async runInsert(plan: PlanNode, tableName: string, jobName: string, options?: ExecuteOptions): Promise<JobResult> {
    this.#checkOpen('executeInsert');
    this.#sinkTable(tableName);
    return (await this.#jobs()).runInserts([{ plan, tableName }], jobName, options);
  }

  /** @internal */
  async runCollect(plan: PlanNode, options?: ExecuteOptions): Promise<CollectedRows> {
    this.#checkOpen('execute');
    return (await this.#jobs()).runCollect(plan, options);
  }

  /** @internal */
  async runArrow(plan: PlanNode, options?: ExecuteOptions): Promise<arrow.Table> {
    this.#checkOpen('execute');
    return (await this.#jobs()).runArrow(plan, options);
  }

  /**
   * @internal
   * A plan's result schema without running it or starting a worker; null when
   * a Python function it calls takes its types from its Python declaration,
   * which only a worker reads.
   */
  async describePlan(plan: PlanNode): Promise<TableSchema | null> {
    this.#checkOpen('describe');
    return (await this.#jobs()).describePlan(plan);
  }

  /** @internal */
  async runCount(plan: PlanNode, options?: ExecuteOptions): Promise<CountedRows> {
    this.#checkOpen('execute');
    return (await this.#jobs()).runCount(plan, options);
  }

  /** @internal */
  async *runStream(plan: PlanNode, options?: ExecuteOptions): AsyncGenerator<Row> {
    this.#checkOpen('execute');
    yield* (await this.#jobs()).runStream(plan, options);
  }

  #sinkTable(name: string): CsvTableDefinition | FileTableDefinition {
    const table = this.#tables.get(name);
    if (!table) throw new PyUdfError('UNKNOWN_TABLE', `unknown sink table "${name}"; registered tables: ${[...this.#tables.keys()].join(', ') || '(none)'}`);
    if (table.kind !== 'csv' && table.kind !== 'file') throw new PyUdfError('INVALID_ARGUMENT', `table "${name}" cannot be written to`);
    return table;
  }
}

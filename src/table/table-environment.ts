import fs from 'node:fs';
import path from 'node:path';
import { PyUdfError, WorkerError } from '../errors.js';
import { ensureWorkerRuntime, holdsRuntimeWheels } from '../environments/worker-runtime.js';
import { chooseInterpreter } from '../environments/interpreter.js';
import { ensureJobEnvironment, type PythonRequirements } from '../environments/job-environment.js';
import { checkArchive, type PythonArchive } from '../workers/archives.js';
import { SkippedInput } from '../execution/skipped-input.js';
import { ERROR_POLICIES, UdfErrorHandling, type ErrorPolicy, type UdfErrorCount } from '../execution/udf-errors.js';
import { JobMetrics, type FunctionMetrics } from '../execution/job-metrics.js';
import { collectSink } from '../io/collect-sink.js';
import { ChannelSink, countingSink } from '../io/channel-sink.js';
import { columnsTable, type ColumnData } from '../io/columns-source.js';
import { csvSink } from '../io/csv-sink.js';
import { checkOutputTarget, sameFile } from '../io/output-target.js';
import type { Sink } from '../io/sink.js';
import { defaultLogger, type Logger } from '../logging.js';
import { compilePlan, rowObject, runPlan, type CompiledPlan } from '../execution/run-plan.js';
import { DuckdbEngine } from '../engine/duckdb-engine.js';
import { countNode, hasEngineStage, resolveStages } from '../engine/engine-stages.js';
import { describePlan as describeEnginePlan } from '../engine/engine-schema.js';
import { functionsUsed, type PlanNode, type ScanNode, type TableDefinition } from '../planning/plan.js';
import type { FunctionSignature } from '../planning/compile.js';
import { resolveFunctionName } from '../planning/validate.js';
import { widensTo } from '../types/data-types.js';
import { coerceValue, type Row, type SchemaRow, type SqlValue } from '../types/values.js';
import { WorkerPool, type WorkersReport } from '../workers/worker-pool.js';
import { IdleWorkers, setupKey } from '../workers/idle-workers.js';
import { ConnectTableDescriptor, FileSystem, fileTableDefinition, type CsvOptions, type CsvTableDefinition } from './descriptors.js';
import { fileScanNode, fileSink, type FileTableDefinition } from '../engine/file-tables.js';
import { arrowSink, arrowTable } from '../io/arrow-tables.js';
import type * as arrow from 'apache-arrow';
import { isPythonFunction, type PythonFunction } from './python-function.js';
import { Schema, columnNames, toTableSchema, type TableSchema } from './schema.js';
import { elementsSchema, type ElementsSchema } from './element-schema.js';
import { Table, type CollectedRows, type CountedRows, type ExecuteOptions, type JobResult, type PythonEnvironmentInfo, type SinkResult } from './table.js';
import type { DataType } from '../types/data-types.js';
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

interface ResolvedOptions {
  parallelism: number;
  /** null: the default for the job's kind of functions. */
  bundleSize: number | null;
  bundleTimeMs: number;
  maxWorkerRestarts: number;
  udfTimeoutMs: number;
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
  parallelism: 1, bundleSize: 4096, vectorizedBundleSize: 65_536, bundleTimeMs: 5, batchesInFlightPerWorker: 4, maxWorkerRestarts: 3, udfTimeoutMs: 10 * 60_000,
  workerIdleTimeoutMs: 60_000,
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

/** How long a failed job's workers get to finish and hand over their last output before they are killed. */
const FAILED_JOB_SHUTDOWN_MS = 1_000;

/** Batches a streaming reader may fall behind by before the job waits for it. */
const STREAM_BATCHES_BUFFERED = 4;

interface JobOutcome {
  readonly pythonEnvironment: PythonEnvironmentInfo | null;
  readonly udfErrors: Readonly<Record<string, UdfErrorCount>>;
  readonly skippedInputLines: Readonly<Record<string, number>>;
  readonly metrics: Readonly<Record<string, FunctionMetrics>>;
}

interface QueuedInsert {
  readonly plan: PlanNode;
  readonly tableName: string;
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
  readonly #activePools = new Set<WorkerPool>();
  readonly #idleWorkers: IdleWorkers;
  readonly #activeJobs = new Set<AbortController>();
  #closed = false;
  /** Runs the relational stages of this environment's jobs; opened by the first job that has one. */
  readonly #engine = new DuckdbEngine();

  private constructor(options: ResolvedOptions) {
    this.#options = options;
    this.#idleWorkers = new IdleWorkers(options.workerIdleTimeoutMs, options.logger);
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
    const checked = rows.map((row, r) => {
      const values = Array.isArray(row) ? row : fields.map((f) => (row as Record<string, unknown>)[f.name]);
      if (Array.isArray(row) && row.length !== fields.length) {
        throw new PyUdfError('INVALID_ARGUMENT', `fromElements: row ${r} has ${row.length} value(s), the schema ${fields.length}`);
      }
      return Object.freeze(fields.map((f, c) => coerceValue(values[c], f.type, `fromElements: row ${r}, column "${f.name}"`))) as readonly SqlValue[];
    });
    return this.#scan('(elements)', Object.freeze({ kind: 'elements', rows: Object.freeze(checked), schema: fields }));
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
    return this.#runInserts(queued, jobName, options);
  }

  /** Stops running jobs' workers; the environment cannot be used afterwards. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const job of this.#activeJobs) job.abort(new PyUdfError('CLOSED', 'the TableEnvironment was closed'));
    await Promise.all([...[...this.#activePools].map((p) => p.destroy()), this.#idleWorkers.close()]);
    await this.#engine.close();
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
  runInsert(plan: PlanNode, tableName: string, jobName: string, options?: ExecuteOptions): Promise<JobResult> {
    this.#checkOpen('executeInsert');
    this.#sinkTable(tableName);
    return this.#runInserts([{ plan, tableName }], jobName, options);
  }

  /** @internal */
  async runCollect(plan: PlanNode, options?: ExecuteOptions): Promise<CollectedRows> {
    this.#checkOpen('execute');
    const rows: Row[] = [];
    const { udfErrors, skippedInputLines, metrics } = await this.#withWorkers([plan], options, async (compile, run) => {
      const compiled = await compile(plan);
      await run(compiled, collectSink(compiled.schema, rows));
    });
    return { rows, udfErrors, skippedInputLines, metrics };
  }

  /** @internal */
  async runArrow(plan: PlanNode, options?: ExecuteOptions): Promise<arrow.Table> {
    this.#checkOpen('execute');
    let result: arrow.Table | null = null;
    await this.#withWorkers([plan], options, async (compile, run) => {
      const compiled = await compile(plan);
      const sink = arrowSink(compiled.schema);
      await run(compiled, sink);
      result = sink.table();
    });
    return result!;
  }

  /**
   * @internal
   * A plan's result schema without running it or starting a worker; null when
   * a Python function it calls takes its types from its Python declaration,
   * which only a worker reads.
   */
  async describePlan(plan: PlanNode): Promise<TableSchema | null> {
    this.#checkOpen('describe');
    const signatures = new Map<string, FunctionSignature>();
    for (const name of functionsUsed(plan)) {
      const fn = this.functionDeclaration(name);
      if (!fn) continue;
      const category = fn.category ?? 'scalar';
      const declared = category === 'table' ? Boolean(fn.resultTypes) : fn.resultType !== null;
      if (!declared || (fn.category === undefined && fn.inputTypes === null)) return null;
      signatures.set(name, {
        name, inputTypes: fn.inputTypes, resultType: fn.resultType, category, kind: fn.funcType ?? 'general',
        resultTypes: fn.resultTypes ?? null, hasMerge: false,
      } as FunctionSignature);
    }
    if (!hasEngineStage(plan)) return compilePlan(plan, signatures).schema;
    return describeEnginePlan(plan, this.#engine, (p) => compilePlan(p, signatures));
  }

  /** @internal */
  async runCount(plan: PlanNode, options?: ExecuteOptions): Promise<CountedRows> {
    this.#checkOpen('execute');
    if (plan.kind === 'engine') {
      // Counted where the rows are: none of them crosses into JavaScript.
      const counted = await this.runCollect(countNode(plan), options);
      return { rows: Number(counted.rows[0]!.n), metrics: counted.metrics };
    }
    let rows = 0;
    const { metrics } = await this.#withWorkers([plan], options, async (compile, run) => {
      rows = await run(await compile(plan), countingSink());
    });
    return { rows, metrics };
  }

  /** @internal */
  async *runStream(plan: PlanNode, options?: ExecuteOptions): AsyncGenerator<Row> {
    this.#checkOpen('execute');
    // The job runs beside the reader; a reader that stops early cancels it.
    const stop = new AbortController();
    const signal = options?.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    const channel = new ChannelSink(STREAM_BATCHES_BUFFERED);
    let schema: TableSchema = [];
    const job = this.#withWorkers([plan], { signal }, async (compile, run) => {
      const compiled = await compile(plan);
      schema = compiled.schema;
      await run(compiled, channel);
    });
    job.catch(() => channel.abort());
    try {
      for (;;) {
        const batch = await channel.take();
        if (batch === null) break;
        for (let i = 0; i < batch.numRows; i++) yield rowObject(schema, batch, i);
      }
      await job;
    } finally {
      if (!stop.signal.aborted) stop.abort();
      await channel.abort(); // a job blocked on a full channel must see the reader is gone
      await job.catch(() => undefined);
    }
  }

  /** Before any worker starts: each sink can be written, and overwrites no file a source of the job reads. */
  #checkSinkTargets(inserts: readonly QueuedInsert[]): void {
    const sources = inserts.flatMap((insert) => scannedTables(insert.plan));
    for (const insert of inserts) {
      const sink = this.#sinkTable(insert.tableName);
      checkOutputTarget(sink.path, `sink table "${insert.tableName}"`);
      const source = sources.find((s) => (s.table.kind === 'csv' || s.table.kind === 'file') && sameFile(s.table.path, sink.path));
      if (source) {
        throw new PyUdfError('INVALID_ARGUMENT', `sink table "${insert.tableName}" (${path.resolve(sink.path)}) is the file source table "${source.tableName}" reads: ` +
          'the job would overwrite its own input; write to another file');
      }
    }
  }

  #sinkTable(name: string): CsvTableDefinition | FileTableDefinition {
    const table = this.#tables.get(name);
    if (!table) throw new PyUdfError('UNKNOWN_TABLE', `unknown sink table "${name}"; registered tables: ${[...this.#tables.keys()].join(', ') || '(none)'}`);
    if (table.kind !== 'csv' && table.kind !== 'file') throw new PyUdfError('INVALID_ARGUMENT', `table "${name}" cannot be written to`);
    return table;
  }

  async #runInserts(inserts: readonly QueuedInsert[], jobName: string, options?: ExecuteOptions): Promise<JobResult> {
    const started = Date.now();
    this.#checkSinkTargets(inserts);
    const sinks: SinkResult[] = [];
    const { pythonEnvironment, udfErrors, skippedInputLines, metrics } = await this.#withWorkers(inserts.map((i) => i.plan), options, async (compile, run) => {
      const compiled: CompiledPlan[] = [];
      for (const insert of inserts) {
        const plan = await compile(insert.plan);
        checkSinkSchema(plan.schema, this.#sinkTable(insert.tableName).schema, insert.tableName);
        compiled.push(plan);
      }
      // All sinks are published together, and only when every insert succeeded.
      const finished: Sink[] = [];
      try {
        for (const [i, insert] of inserts.entries()) {
          const table = this.#sinkTable(insert.tableName);
          const sink = table.kind === 'csv' ? csvSink(table) : fileSink(this.#engine, table);
          const rows = await run(compiled[i]!, sink);
          finished.push(sink);
          sinks.push(Object.freeze({ table: insert.tableName, rows }));
        }
      } catch (error) {
        await Promise.all(finished.map((sink) => sink.abort()));
        throw error;
      }
      for (const [i, sink] of finished.entries()) {
        try {
          sink.publish();
        } catch (error) {
          // The one that could not be put in place and those after it leave no part file.
          await Promise.all(finished.slice(i).map((s) => s.abort()));
          throw error;
        }
      }
    });
    return Object.freeze({ jobName, sinks: Object.freeze(sinks), durationMs: Date.now() - started, pythonEnvironment, udfErrors, skippedInputLines, metrics });
  }

  /**
   * Starts workers with the functions the plans call (none when they call
   * none), runs `body`, and always stops the workers afterwards.
   */
  async #withWorkers(
    plans: readonly PlanNode[],
    options: ExecuteOptions | undefined,
    body: (compile: (plan: PlanNode) => Promise<CompiledPlan>, run: (compiled: CompiledPlan, sink: Sink) => Promise<number>) => Promise<void>,
  ): Promise<JobOutcome> {
    if (options?.signal?.aborted) throw new PyUdfError('CLOSED', 'the job was cancelled before it started', { cause: options.signal.reason });
    const names = new Set<string>();
    plans.forEach((p) => functionsUsed(p, names));
    const specs = [...names].map((name) => {
      const registered = resolveFunctionName(name, this.functionNames());
      if (registered === undefined) {
        throw new PyUdfError('UNKNOWN_FUNCTION', `unknown function "${name}"; registered functions: ${this.functionNames().join(', ') || '(none)'}`);
      }
      const fn = this.#functions.get(registered)!;
      return {
        name: registered,
        callable: fn.callable,
        inputTypes: fn.inputTypes?.map(String) ?? [],
        hasInputTypes: fn.inputTypes !== null,
        resultType: fn.resultType ? String(fn.resultType) : '',
        continueOnError: (fn.onError ?? this.#options.onUdfError) !== 'fail',
        category: fn.category ?? '',
        resultTypes: fn.resultTypes?.map(String) ?? [],
        funcType: fn.funcType ?? '',
        concurrency: fn.concurrency ?? 0,
        ioThreads: fn.ioThreads ?? 0,
      };
    });
    const metrics = new JobMetrics(specs.map((spec) => spec.name));
    const inputErrors = new SkippedInput(this.#options.logger);
    const udfErrors = new UdfErrorHandling(
      new Map(specs.map((spec) => [spec.name, this.#functions.get(spec.name)!.onError ?? this.#options.onUdfError])),
      this.#options.deadLetterPath,
    );

    let pool: WorkerPool | null = null;
    const engineRelations: string[] = [];
    let workerSetup = '';
    let jobEnvironment: PythonEnvironmentInfo | null = null;
    let signatures: ReadonlyMap<string, FunctionSignature> = new Map();
    // One signal stops the job, whether the caller aborts or close() is called.
    const job = new AbortController();
    const userSignal = options?.signal;
    const onUserAbort = () => job.abort(userSignal?.reason);
    userSignal?.addEventListener('abort', onUserAbort, { once: true });
    const signal = job.signal;
    const onAbort = () => { pool?.destroy().catch(() => undefined); };
    signal.addEventListener('abort', onAbort, { once: true });
    this.#activeJobs.add(job);
    const stopped = (cause?: unknown) => new PyUdfError(
      'CLOSED',
      userSignal?.aborted ? 'the job was cancelled' : 'the TableEnvironment was closed during the job',
      { cause: cause ?? signal.reason },
    );
    try {
      if (specs.length > 0) {
        const logger = this.#options.logger;
        const cachedDir = this.#requirements?.cachedDir;
        const runtime = await ensureWorkerRuntime(chooseInterpreter(this.#options.pythonExecutable), {
          cacheDir: this.#options.cacheDir, logger, signal,
          findLinks: cachedDir && holdsRuntimeWheels(cachedDir) ? cachedDir : undefined,
        });
        const environment = this.#requirements
          ? await ensureJobEnvironment(runtime, this.#requirements, { cacheDir: this.#options.cacheDir, logger, signal })
          : null;
        jobEnvironment = environment && Object.freeze({ key: environment.key, dir: environment.dir, built: environment.built });
        if (signal.aborted) throw stopped();
        const setup = {
          python: runtime.python,
          parallelism: this.#options.parallelism,
          pythonFiles: this.#pythonFiles,
          extraPythonPaths: environment ? [environment.sitePackages] : [],
          archives: this.#archives,
        };
        workerSetup = setupKey(setup);
        pool = this.#idleWorkers.take(workerSetup);
        if (pool) {
          this.#activePools.add(pool);
          try {
            await pool.beginJob(specs, this.#options.jobParameters);
          } catch (error) {
            if (!(error instanceof WorkerError)) throw error;
            // A warm worker died while idle, and its exit was not seen yet: start afresh.
            this.#activePools.delete(pool);
            await pool.destroy();
            pool = null;
          }
        }
        if (!pool) {
          pool = await WorkerPool.start({
            ...setup,
            logger,
            functions: specs,
            jobParameters: this.#options.jobParameters,
            maxRestarts: this.#options.maxWorkerRestarts,
            callTimeoutMs: this.#options.udfTimeoutMs === 0 ? Infinity : this.#options.udfTimeoutMs,
            signal,
          });
          this.#activePools.add(pool);
        }
        if (signal.aborted) throw stopped();
        signatures = pool.signatures;
      }
      const activePool = pool;
      const run = (compiled: CompiledPlan, sink: Sink) => runPlan(compiled, activePool, sink, {
        batchSize: this.#options.bundleSize ?? defaultBundleSize(activePool),
        batchTimeMs: this.#options.bundleTimeMs,
        maxInFlight: this.#options.parallelism * this.#options.batchesInFlightPerWorker,
        signal,
        udfErrors,
        inputErrors,
        metrics,
      });
      const compile = async (plan: PlanNode) => {
        if (!hasEngineStage(plan)) return compilePlan(plan, signatures);
        const staged = await resolveStages(plan, { engine: this.#engine, compile: (p) => compilePlan(p, signatures), run, created: engineRelations });
        return compilePlan(staged, signatures);
      };
      try {
        await body(compile, run);
      } finally {
        await this.#engine.drop(engineRelations);
      }
      if (pool) {
        const ending = pool;
        // Every row is out by now: a worker that dies or hangs in close() costs the workers, not the job.
        const report = await ending.endJob().catch(async (error: unknown): Promise<WorkersReport> => {
          if (signal.aborted) throw error;
          this.#options.logger.log({ level: 'warn', source: 'pyudf', message: `ending the job on its workers failed: ${(error as Error).message}; they are stopped` });
          await ending.destroy();
          return { errors: [], metrics: [], workersLost: ending.size };
        });
        for (const e of report.errors) {
          const what = e.phase === 'metrics' ? 'reading the metrics' : 'close()';
          this.#options.logger.log({ level: 'warn', source: 'pyudf', message: `${what} of "${e.functionName}" raised ${e.exceptionType}: ${e.message}` });
        }
        report.metrics.forEach((worker) => metrics.addWorkerReport(worker));
        metrics.recordWorkersLost(report.workersLost);
        this.#activePools.delete(pool);
        await this.#idleWorkers.keep(pool, workerSetup);
      }
      return { pythonEnvironment: jobEnvironment, udfErrors: udfErrors.counts(), skippedInputLines: inputErrors.counts(), metrics: metrics.result() };
    } catch (error) {
      if (signal.aborted) await pool?.destroy();
      // A failed job's workers are still healthy: stopping them in order delivers
      // what the UDFs printed just before the failure (close() runs too).
      else await pool?.close(FAILED_JOB_SHUTDOWN_MS).catch(() => pool?.destroy());
      // Whatever broke because the job was stopped (a killed worker, a closed pool) is reported as the stop.
      if (signal.aborted) throw stopped(error);
      throw error;
    } finally {
      userSignal?.removeEventListener('abort', onUserAbort);
      this.#activeJobs.delete(job);
      if (pool) this.#activePools.delete(pool);
    }
  }
}

function defaultBundleSize(pool: WorkerPool | null): number {
  return pool?.onlyVectorized ? DEFAULTS.vectorizedBundleSize : DEFAULTS.bundleSize;
}

function checkSinkSchema(produced: TableSchema, sink: TableSchema, sinkName: string): void {
  const show = (s: TableSchema) => s.map((f) => `${f.name} ${f.type.sqlText}`).join(', ');
  if (produced.length !== sink.length || produced.some((f, i) => !widensTo(f.type, sink[i]!.type))) {
    throw new PyUdfError('SINK_SCHEMA_MISMATCH', `the query's columns (${show(produced)}) do not fit sink "${sinkName}" (${show(sink)})`);
  }
}

/** The table a plan reads. */
/** Every table a plan reads. */
function scannedTables(plan: PlanNode): ScanNode[] {
  if (plan.kind === 'scan') return [plan];
  if (plan.kind === 'engine') return plan.inputs.flatMap(scannedTables);
  return scannedTables(plan.input);
}

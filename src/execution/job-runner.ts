import path from 'node:path';
import type * as arrow from 'apache-arrow';
import { PyUdfError, WorkerError } from '../errors.js';
import { ensureWorkerRuntime, holdsRuntimeWheels, rememberedWorkerRuntime, type WorkerRuntime } from '../environments/worker-runtime.js';
import { chooseInterpreter, probedAlready } from '../environments/interpreter.js';
import { ensureJobEnvironment, type JobEnvironment, type PythonRequirements } from '../environments/job-environment.js';
import type { PythonArchive } from '../workers/archives.js';
import { SkippedInput } from './skipped-input.js';
import { RayJobs } from '../cluster/ray-jobs.js';
import { declaredSignatures, jobFunctions } from './function-specs.js';
import { UdfErrorHandling, type UdfErrorCount } from './udf-errors.js';
import { JobMetrics, type FunctionMetrics } from './job-metrics.js';
import { collectSink, columnValues, rowMaker } from '../io/collect-sink.js';
import { ChannelSink, countingSink } from '../io/channel-sink.js';
import { csvSink } from '../io/csv-sink.js';
import { checkOutputTarget, sameFile } from '../io/output-target.js';
import type { Sink } from '../io/sink.js';
import { arrowSink } from '../io/arrow-tables.js';
import type { CompiledPlan } from './operator.js';
import { runPlan } from './pipeline.js';
import { compilePlan } from './run-plan.js';
import { DuckdbEngine } from '../engine/duckdb-engine.js';
import { countNode, csvTablesFeedingPython, hasEngineStage, plansOpenEngine, resolveStages } from '../engine/engine-stages.js';
import { describePlan as describeEnginePlan } from '../engine/engine-schema.js';
import { offloadCalcs } from '../engine/host-calcs.js';
import { fileSink } from '../engine/file-sink.js';
import { CsvPreloads, engineReadsCsv } from '../engine/csv-tables.js';
import type { FileTableDefinition } from '../engine/file-tables.js';
import { functionsUsed, type EngineNode, type PlanNode, type ScanNode } from '../planning/plan.js';
import type { FunctionSignature } from '../protocol/function-signature.js';
import { widensTo } from '../types/data-types.js';
import type { Row } from '../types/values.js';
import { WorkerPool, type WorkersReport } from '../workers/worker-pool.js';
import { IdleWorkers, setupKey } from '../workers/idle-workers.js';
import type { CsvTableDefinition } from '../table/descriptors.js';
import type { PythonFunction } from '../table/python-function.js';
import type { TableSchema } from '../table/schema.js';
import type { CollectedRows, CountedRows, ExecuteOptions, JobResult, PythonEnvironmentInfo, SinkResult } from '../table/table.js';
import type { ResolvedOptions } from '../table/environment-options.js';

// The execution side of a TableEnvironment: Python environments, workers, the
// engine, sources and sinks. TableEnvironment loads this module with its first
// job, so that `import 'pyudf'` and declaring tables load none of it.

/** What a job reads from its TableEnvironment when it starts. */
export interface JobHost {
  readonly options: ResolvedOptions;
  readonly functions: ReadonlyMap<string, PythonFunction>;
  readonly pythonFiles: readonly string[];
  readonly archives: readonly PythonArchive[];
  readonly requirements: PythonRequirements | null;
  functionNames(): string[];
  sinkTable(name: string): CsvTableDefinition | FileTableDefinition;
}

const BUNDLE_SIZE = Object.freeze({ rows: 4096, vectorized: 65_536 });

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

export interface QueuedInsert {
  readonly plan: PlanNode;
  readonly tableName: string;
}

/** Runs a TableEnvironment's jobs, and owns what they leave for the next one: idle workers and the engine. */
export class JobRunner {
  readonly #host: JobHost;
  readonly #activePools = new Set<WorkerPool>();
  readonly #idleWorkers: IdleWorkers;
  readonly #activeJobs = new Set<AbortController>();
  /** Runs the relational stages of this environment's jobs; opened by the first job that has one. */
  readonly #engine = new DuckdbEngine();
  /** Runs the jobs instead when the environment names a cluster. */
  readonly #cluster: RayJobs | null;
  #closed = false;

  constructor(host: JobHost) {
    this.#host = host;
    this.#idleWorkers = new IdleWorkers(host.options.workerIdleTimeoutMs, host.options.logger);
    const cluster = host.options.cluster;
    this.#cluster = cluster === null ? null : new RayJobs({
      get options() { return host.options; },
      cluster,
      get functions() { return host.functions; },
      get pythonFiles() { return host.pythonFiles; },
      get archives() { return host.archives; },
      get requirements() { return host.requirements; },
      engine: this.#engine,
      functionNames: () => host.functionNames(),
      sinkTable: (name) => host.sinkTable(name),
      loadSignatures: (plan, options) => this.#loadSignatures(plan, options),
    });
  }

  /** The signatures of the functions a plan calls, as local workers load them. */
  async #loadSignatures(plan: PlanNode, options?: ExecuteOptions): Promise<ReadonlyMap<string, FunctionSignature>> {
    let loaded: ReadonlyMap<string, FunctionSignature> = new Map();
    await this.#withWorkers([plan], options, async (_compile, _run, signatures) => { loaded = signatures; });
    return loaded;
  }

  get #options(): ResolvedOptions { return this.#host.options; }
  get #functions(): ReadonlyMap<string, PythonFunction> { return this.#host.functions; }
  get #pythonFiles(): readonly string[] { return this.#host.pythonFiles; }
  get #archives(): readonly PythonArchive[] { return this.#host.archives; }
  get #requirements(): PythonRequirements | null { return this.#host.requirements; }
  #sinkTable(name: string): CsvTableDefinition | FileTableDefinition { return this.#host.sinkTable(name); }
  functionNames(): string[] { return this.#host.functionNames(); }

  /** A plan's result schema without running it or starting a worker; null when a function's types are declared in Python only. */
  async describePlan(plan: PlanNode): Promise<TableSchema | null> {
    const signatures = declaredSignatures(functionsUsed(plan), this.#functions, this.functionNames());
    if (signatures === null) return null;
    if (!hasEngineStage(plan)) return compilePlan(plan, signatures).schema;
    return describeEnginePlan(plan, this.#engine, (p) => compilePlan(p, signatures));
  }

  /** Stops running jobs and every worker; closes the engine. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#cluster?.close();
    for (const job of this.#activeJobs) job.abort(new PyUdfError('CLOSED', 'the TableEnvironment was closed'));
    await Promise.all([...[...this.#activePools].map((p) => p.destroy()), this.#idleWorkers.close()]);
    await this.#engine.close();
  }

  async runCollect(plan: PlanNode, options?: ExecuteOptions): Promise<CollectedRows> {
    if (this.#cluster) return this.#cluster.collect(plan, options);
    const rows: Row[] = [];
    const { udfErrors, skippedInputLines, metrics } = await this.#withWorkers([plan], options, async (compile, run) => {
      const compiled = await compile(plan);
      await run(compiled, collectSink(compiled.schema, rows));
    });
    return { rows, udfErrors, skippedInputLines, metrics };
  }

  async runArrow(plan: PlanNode, options?: ExecuteOptions): Promise<arrow.Table> {
    if (this.#cluster) return this.#cluster.arrow(plan, options);
    let result: arrow.Table | null = null;
    await this.#withWorkers([plan], options, async (compile, run) => {
      const compiled = await compile(plan);
      const sink = arrowSink(compiled.schema);
      await run(compiled, sink);
      result = sink.table();
    });
    return result!;
  }

  async runCount(plan: PlanNode, options?: ExecuteOptions): Promise<CountedRows> {
    if (this.#cluster) return this.#cluster.count(plan, options);
    // A plan calling no function may run in the engine whole.
    let offloaded = functionsUsed(plan).size === 0 ? offloadCalcs(plan, (p) => compilePlan(p, new Map()).schema) : plan;
    if (offloaded.kind === 'scan' && offloaded.table.kind === 'csv' && engineReadsCsv(offloaded.table, this.#engine)) offloaded = relationOfScan(offloaded);
    if (offloaded.kind === 'engine') {
      // Counted where the rows are: none of them crosses into JavaScript.
      const counted = await this.runCollect(countNode(offloaded), options);
      return { rows: Number(counted.rows[0]!.n), metrics: counted.metrics };
    }
    let rows = 0;
    const { metrics } = await this.#withWorkers([plan], options, async (compile, run) => {
      rows = await run(await compile(plan), countingSink());
    });
    return { rows, metrics };
  }

  async *runStream(plan: PlanNode, options?: ExecuteOptions): AsyncGenerator<Row> {
    if (this.#cluster) {
      yield* this.#cluster.stream(plan, options);
      return;
    }
    // The job runs beside the reader; a reader that stops early cancels it.
    const stop = new AbortController();
    const signal = options?.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    const channel = new ChannelSink(STREAM_BATCHES_BUFFERED);
    let schema: TableSchema = [];
    let makeRow: ReturnType<typeof rowMaker> | undefined;
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
        makeRow ??= rowMaker(schema.map((f) => f.name));
        const columns = batch.columns.map(columnValues);
        for (let i = 0; i < batch.numRows; i++) yield makeRow(columns, i);
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

  /** Runs the inserts as one job: every sink is published together, once all succeeded. */
  async runInserts(inserts: readonly QueuedInsert[], jobName: string, options?: ExecuteOptions): Promise<JobResult> {
    if (this.#cluster) {
      this.#checkSinkTargets(inserts);
      return this.#cluster.inserts(inserts, jobName, options);
    }
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
    body: (
      compile: (plan: PlanNode) => Promise<CompiledPlan>,
      run: (compiled: CompiledPlan, sink: Sink) => Promise<number>,
      signatures: ReadonlyMap<string, FunctionSignature>,
    ) => Promise<void>,
  ): Promise<JobOutcome> {
    if (options?.signal?.aborted) throw new PyUdfError('CLOSED', 'the job was cancelled before it started', { cause: options.signal.reason });
    // close() may have run while this module was loading for the job.
    if (this.#closed) throw new PyUdfError('CLOSED', 'execute: the TableEnvironment is closed');
    const names = new Set<string>();
    plans.forEach((p) => functionsUsed(p, names));
    const functions = jobFunctions(names, this.#functions, this.functionNames(), this.#options.onUdfError);
    const specs = functions.map((f) => f.spec);
    const metrics = new JobMetrics(specs.map((spec) => spec.name));
    const inputErrors = new SkippedInput(this.#options.logger);
    const udfErrors = new UdfErrorHandling(
      new Map(functions.map((f) => [f.spec.name, f.policy])),
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
    const csvPreloads = new CsvPreloads();
    // Workers started on a guessed runtime, until the probe confirms it; stopped when it does not.
    let speculativeStart: Promise<{ environment: JobEnvironment | null; pool: WorkerPool }> | null = null;
    // Its own stop: a wrong guess's pip run or worker start is stopped without stopping the job.
    const speculation = new AbortController();
    const stopSpeculation = () => speculation.abort(signal.reason);
    signal.addEventListener('abort', stopSpeculation, { once: true });
    const discardSpeculativeStart = () => {
      if (speculativeStart) speculation.abort(new PyUdfError('CLOSED', 'the interpreter was not the one guessed'));
      speculativeStart?.then(({ pool: unused }) => unused.destroy(), () => undefined).catch(() => undefined);
      speculativeStart = null;
    };
    try {
      if (specs.length > 0) {
        // DuckDB loads in about 0.4 s, and a CSV file of a million rows in 0.2 s: while the workers start, not after them.
        if (plans.some((plan) => plansOpenEngine(plan, this.#engine))) {
          this.#engine.startOpening();
          for (const table of plans.flatMap((plan) => csvTablesFeedingPython(plan, this.#engine))) csvPreloads.start(this.#engine, table);
        }
        const logger = this.#options.logger;
        const cachedDir = this.#requirements?.cachedDir;
        const command = chooseInterpreter(this.#options.pythonExecutable);
        const environmentFor = (runtime: WorkerRuntime, stop: AbortSignal) => this.#requirements
          ? ensureJobEnvironment(runtime, this.#requirements, { cacheDir: this.#options.cacheDir, logger, signal: stop })
          : Promise.resolve(null);
        const setupFor = (runtime: WorkerRuntime, environment: JobEnvironment | null) => ({
          python: runtime.python,
          parallelism: this.#options.parallelism,
          pythonFiles: this.#pythonFiles,
          extraPythonPaths: environment ? [environment.sitePackages] : [],
          archives: this.#archives,
        });
        const startPool = (setup: ReturnType<typeof setupFor>, stop: AbortSignal) => WorkerPool.start({
          ...setup,
          logger,
          functions: specs,
          jobParameters: this.#options.jobParameters,
          maxRestarts: this.#options.maxWorkerRestarts,
          callTimeoutMs: this.#options.udfTimeoutMs === 0 ? Infinity : this.#options.udfTimeoutMs,
          loadTimeoutMs: this.#options.functionLoadTimeoutMs === 0 ? Infinity : this.#options.functionLoadTimeoutMs,
          memoryLimitMb: this.#options.workerMemoryLimitMb === 0 ? null : this.#options.workerMemoryLimitMb,
          signal: stop,
        });
        // The first job in a process starts its workers on the runtime this
        // interpreter led to last time, while probing it again confirms it.
        const guess = probedAlready(command) ? null : rememberedWorkerRuntime(command, { cacheDir: this.#options.cacheDir });
        if (guess) {
          const stop = speculation.signal;
          speculativeStart = (async () => {
            const environment = await environmentFor(guess, stop);
            return { environment, pool: await startPool(setupFor(guess, environment), stop) };
          })();
          speculativeStart.catch(() => undefined);
        }
        const runtime = await ensureWorkerRuntime(command, {
          cacheDir: this.#options.cacheDir, logger, signal,
          findLinks: cachedDir && holdsRuntimeWheels(cachedDir) ? cachedDir : undefined,
        });
        let environment: JobEnvironment | null;
        if (speculativeStart && guess?.python === runtime.python) {
          const started = await speculativeStart;
          speculativeStart = null;
          environment = started.environment;
          pool = started.pool;
          this.#activePools.add(pool);
        } else {
          discardSpeculativeStart();
          environment = await environmentFor(runtime, signal);
        }
        jobEnvironment = environment && Object.freeze({ key: environment.key, dir: environment.dir, built: environment.built });
        if (signal.aborted) throw stopped();
        const setup = setupFor(runtime, environment);
        workerSetup = setupKey(setup);
        pool ??= this.#idleWorkers.take(workerSetup);
        if (pool && !this.#activePools.has(pool)) {
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
          pool = await startPool(setup, signal);
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
        engine: this.#engine,
        csvPreloads,
      });
      const compile = async (given: PlanNode) => {
        const plan = offloadCalcs(given, (p) => compilePlan(p, signatures).schema);
        if (!hasEngineStage(plan)) return compilePlan(plan, signatures);
        const staged = await resolveStages(plan, { engine: this.#engine, compile: (p) => compilePlan(p, signatures), run, created: engineRelations });
        return compilePlan(staged, signatures);
      };
      try {
        await body(compile, run, signatures);
      } finally {
        await csvPreloads.releaseAll();
        await this.#engine.drop(engineRelations);
      }
      if (pool) {
        const ending = pool;
        // Every row is out by now: a worker that dies or hangs in close() costs the workers, not the job.
        const report = await ending.endJob(this.#options.functionCloseTimeoutMs ?? undefined).catch(async (error: unknown): Promise<WorkersReport> => {
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
      discardSpeculativeStart();
      if (signal.aborted) await pool?.destroy();
      // A failed job's workers are still healthy: stopping them in order delivers
      // what the UDFs printed just before the failure (close() runs too).
      else await pool?.close(FAILED_JOB_SHUTDOWN_MS).catch(() => pool?.destroy());
      // Whatever broke because the job was stopped (a killed worker, a closed pool) is reported as the stop.
      if (signal.aborted) throw stopped(error);
      throw error;
    } finally {
      await csvPreloads.releaseAll(); // loads a job that failed early never took
      userSignal?.removeEventListener('abort', onUserAbort);
      this.#activeJobs.delete(job);
      if (pool) this.#activePools.delete(pool);
    }
  }}


function defaultBundleSize(pool: WorkerPool | null): number {
  return pool?.onlyVectorized ? BUNDLE_SIZE.vectorized : BUNDLE_SIZE.rows;
}

function checkSinkSchema(produced: TableSchema, sink: TableSchema, sinkName: string): void {
  const show = (s: TableSchema) => s.map((f) => `${f.name} ${f.type.sqlText}`).join(', ');
  if (produced.length !== sink.length || produced.some((f, i) => !widensTo(f.type, sink[i]!.type))) {
    throw new PyUdfError('SINK_SCHEMA_MISMATCH', `the query's columns (${show(produced)}) do not fit sink "${sinkName}" (${show(sink)})`);
  }
}

/** A scan as an engine stage of its rows, to be counted where DuckDB read them. */
function relationOfScan(scan: ScanNode): EngineNode {
  return Object.freeze({
    kind: 'engine', inputs: Object.freeze([scan]), text: `scan of ${scan.tableName}`, columns: scan.columns, schema: scan.table.schema,
    build: async ([relation]: readonly string[]) => `SELECT * FROM ${relation}`,
  });
}

/** Every table a plan reads. */
function scannedTables(plan: PlanNode): ScanNode[] {
  if (plan.kind === 'scan') return [plan];
  if (plan.kind === 'engine') return plan.inputs.flatMap(scannedTables);
  return scannedTables(plan.input);
}

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import tmp from 'tmp';
import type * as arrow from 'apache-arrow';
import { PyUdfError, UdfError } from '../errors.js';
import { isIntegerType } from '../types/data-types.js';
import { coerceValue } from '../types/values.js';
import type { Batch } from '../batches/vectors.js';
import type { DuckdbEngine } from '../engine/duckdb-engine.js';
import { offloadCalcs } from '../engine/host-calcs.js';
import type { FileTableDefinition } from '../engine/file-tables.js';
import type { PythonRequirements } from '../environments/job-environment.js';
import { jobFunctions, declaredSignatures, type JobFunction } from '../execution/function-specs.js';
import { compilePlan } from '../execution/run-plan.js';
import type { UdfErrorCount, ErrorPolicy } from '../execution/udf-errors.js';
import { JobMetrics, type FunctionMetrics, type WorkerFunctionMetrics } from '../execution/job-metrics.js';
import { arrowSink } from '../io/arrow-tables.js';
import { collectSink } from '../io/collect-sink.js';
import { checkOutputTarget } from '../io/output-target.js';
import { functionsUsed, type PlanNode } from '../planning/plan.js';
import type { FunctionSignature } from '../protocol/function-signature.js';
import type { CsvTableDefinition } from '../table/descriptors.js';
import type { ResolvedOptions } from '../table/environment-options.js';
import type { PythonFunction } from '../table/python-function.js';
import type { TableSchema } from '../table/schema.js';
import type { CollectedRows, CountedRows, ExecuteOptions, JobResult, SinkResult } from '../table/table.js';
import type { Row } from '../types/values.js';
import { trackDir, untrackDir } from '../workers/host-exit.js';
import type { PythonArchive } from '../workers/archives.js';
import type { ResolvedClusterOptions } from './cluster-options.js';
import { callArgumentTypes, CLUSTER_JOB_VERSION, engineSetup, fieldsJson, planJson, type NodeJson } from './job-plan.js';
import { parseDataType } from '../types/type-text.js';
import { runDriver, type DriverConnected, type DriverDone } from './ray-driver.js';
import { runSubmittedJob } from './ray-submitted-job.js';
import { ensureRayRuntime } from '../environments/ray-runtime.js';
import { chooseInterpreter } from '../environments/interpreter.js';

/** What jobs on a cluster read from their TableEnvironment. */
export interface ClusterJobHost {
  readonly options: ResolvedOptions;
  readonly cluster: ResolvedClusterOptions;
  readonly functions: ReadonlyMap<string, PythonFunction>;
  readonly pythonFiles: readonly string[];
  readonly archives: readonly PythonArchive[];
  readonly requirements: PythonRequirements | null;
  readonly engine: DuckdbEngine;
  functionNames(): string[];
  sinkTable(name: string): CsvTableDefinition | FileTableDefinition;
  /** The functions' signatures as local workers load them: for functions whose types only Python declares. */
  loadSignatures(plan: PlanNode, options?: ExecuteOptions): Promise<ReadonlyMap<string, FunctionSignature>>;
}

type SinkJson = { readonly kind: string; readonly [field: string]: unknown };

interface ClusterRun {
  readonly done: DriverDone;
  readonly schema: TableSchema;
  readonly udfErrors: Readonly<Record<string, UdfErrorCount>>;
  readonly metrics: Readonly<Record<string, FunctionMetrics>>;
}

/**
 * Runs a TableEnvironment's jobs on a Ray cluster: each job's plan, Python
 * files and requirements become a bundle directory, which a driver process
 * (ray-driver.ts) runs on the cluster, or which goes to the cluster through
 * Ray's Jobs API for the driver to run there (ray-submitted-job.ts). Rows reach this process only for a
 * collected result; sinks are written by the cluster's tasks.
 */
export class RayJobs {
  readonly #host: ClusterJobHost;
  readonly #active = new Set<AbortController>();
  #closed = false;

  constructor(host: ClusterJobHost) {
    this.#host = host;
  }

  async collect(plan: PlanNode, options?: ExecuteOptions): Promise<CollectedRows> {
    const rows: Row[] = [];
    let sink: ReturnType<typeof collectSink> | null = null;
    const run = await this.#run(plan, { kind: 'collect' }, options, (schema) => {
      sink = collectSink(schema, rows);
      return (batch) => sink!.write(batch);
    });
    return { rows, udfErrors: run.udfErrors, skippedInputLines: {}, metrics: run.metrics };
  }

  async arrow(plan: PlanNode, options?: ExecuteOptions): Promise<arrow.Table> {
    let sink: ReturnType<typeof arrowSink> | null = null;
    const run = await this.#run(plan, { kind: 'collect' }, options, (schema) => {
      sink = arrowSink(schema);
      return (batch) => sink!.write(batch);
    });
    return (sink ?? arrowSink(run.schema)).table();
  }

  async count(plan: PlanNode, options?: ExecuteOptions): Promise<CountedRows> {
    const run = await this.#run(plan, { kind: 'count' }, options, null);
    return { rows: run.done.rows, metrics: run.metrics };
  }

  async *stream(plan: PlanNode, options?: ExecuteOptions): AsyncGenerator<Row> {
    // The rows of a job on a cluster arrive all at the end of it, or in order as its last stage makes them.
    const { rows } = await this.collect(plan, options);
    yield* rows;
  }

  /** Runs the inserts one after another; each sink is written by the cluster's tasks and put in place by the driver as it succeeds. */
  async inserts(inserts: readonly { plan: PlanNode; tableName: string }[], jobName: string, options?: ExecuteOptions): Promise<JobResult> {
    const started = Date.now();
    const sinks: SinkResult[] = [];
    const udfErrors: Record<string, UdfErrorCount> = {};
    const metrics = new JobMetrics(inserts.flatMap((insert) => [...functionsUsed(insert.plan)]));
    for (const insert of inserts) {
      const table = this.#host.sinkTable(insert.tableName);
      checkOutputTarget(table.path, `sink table "${insert.tableName}"`);
      const sink: SinkJson = table.kind === 'csv'
        ? {
          kind: 'csv', path: path.resolve(table.path), schema: fieldsJson(table.schema),
          fieldDelimiter: table.format.options.fieldDelimiter, quoteCharacter: table.format.options.quoteCharacter,
          nullLiteral: table.format.options.nullLiteral, writeHeader: false,
        }
        : { kind: table.format, path: path.resolve(table.path), schema: fieldsJson(table.schema) };
      const run = await this.#run(insert.plan, sink, { ...options, jobName }, null);
      sinks.push(Object.freeze({ table: insert.tableName, rows: run.done.rows }));
      Object.assign(udfErrors, run.udfErrors);
      recordMetrics(run.done, metrics);
    }
    return Object.freeze({
      jobName, sinks: Object.freeze(sinks), durationMs: Date.now() - started, pythonEnvironment: null, udfErrors, skippedInputLines: {}, metrics: metrics.result(),
    });
  }

  /** Stops the running jobs: their drivers stop their Ray jobs, whose tasks and actors end with them. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#active) job.abort(new PyUdfError('CLOSED', 'the TableEnvironment was closed during the job'));
  }

  async #run(
    plan: PlanNode,
    sink: SinkJson,
    options: (ExecuteOptions & { jobName?: string }) | undefined,
    onSchema: ((schema: TableSchema) => (batch: Batch) => Promise<void>) | null,
  ): Promise<ClusterRun> {
    if (this.#closed) throw new PyUdfError('CLOSED', 'execute: the TableEnvironment is closed');
    if (options?.signal?.aborted) throw new PyUdfError('CLOSED', 'the job was cancelled before it started', { cause: options.signal.reason });
    if (this.#host.archives.length > 0) {
      throw new PyUdfError('INVALID_ARGUMENT', 'addPythonArchive: archives are not shipped to a cluster yet; ship their files with addPythonFile, or run the job locally');
    }
    const job = new AbortController();
    const onUserAbort = () => job.abort(new PyUdfError('CLOSED', 'the job was cancelled', { cause: options?.signal?.reason }));
    options?.signal?.addEventListener('abort', onUserAbort, { once: true });
    this.#active.add(job);
    const bundle = tmp.dirSync({ prefix: 'pyudf-ray-job-', unsafeCleanup: true });
    let argumentTypes = new Map<string, string[]>();
    trackDir(bundle.name);
    try {
      const host = this.#host;
      const names = functionsUsed(plan);
      const functions = jobFunctions(names, host.functions, host.functionNames(), host.options.onUdfError);
      const signatures = declaredSignatures(names, host.functions, host.functionNames()) ?? await host.loadSignatures(plan, { signal: job.signal });
      const planned = offloadCalcs(plan, (p) => compilePlan(p, signatures).schema);
      const { node, schema } = await planJson(planned, { functions: signatures, engine: host.engine, bundleDir: bundle.name });
      argumentTypes = callArgumentTypes(node);
      const jobId = crypto.randomBytes(8).toString('hex');
      writeBundle(bundle.name, {
        jobId, jobName: options?.jobName ?? 'job', functions, node, sink, options: host.options, cluster: host.cluster,
        pythonFiles: host.pythonFiles, requirements: host.requirements,
      });
      const onBatch = onSchema ? onSchema(schema) : undefined;
      const onConnected = (c: DriverConnected) => host.options.logger.log({
        level: 'debug', source: 'pyudf', message: `connected to the Ray cluster at ${host.cluster.address}: Ray ${c.rayVersion}, ${c.nodes} node(s), ${c.cpus} CPU(s)`,
      });
      let done: DriverDone;
      if (host.cluster.submission === 'jobs-api') {
        done = await runSubmittedJob({
          url: host.cluster.address, token: host.cluster.token ?? undefined, reportHost: host.cluster.reportHost ?? undefined,
          bundleDir: bundle.name, jobId, jobName: options?.jobName ?? 'job', connectTimeoutMs: host.cluster.connectTimeoutMs,
          logger: host.options.logger, signal: job.signal, onBatch, onConnected,
        });
      } else {
        const python = host.cluster.python ?? (await ensureRayRuntime(chooseInterpreter(host.options.pythonExecutable), {
          cacheDir: host.options.cacheDir, logger: host.options.logger, signal: job.signal,
        })).python;
        done = await runDriver({
          python, bundleDir: bundle.name, address: host.cluster.address, logger: host.options.logger, signal: job.signal, onBatch, onConnected,
          env: { PYUDF_CONNECT_TIMEOUT_MS: String(host.cluster.connectTimeoutMs) },
        });
      }
      const metrics = new JobMetrics(names);
      recordMetrics(done, metrics);
      return { done, schema, udfErrors: errorCounts(done, functions), metrics: metrics.result() };
    } catch (error) {
      throw error instanceof UdfError ? forUser(error, argumentTypes, this.#host.pythonFiles) : error;
    } finally {
      options?.signal?.removeEventListener('abort', onUserAbort);
      this.#active.delete(job);
      bundle.removeCallback();
      untrackDir(bundle.name);
    }
  }
}

/**
 * A function's failure as the driver reported it, as a local job reports it:
 * its row's values (JSON on the way) in the argument types, and the job's
 * Python files named where the user keeps them, not where the cluster put them.
 */
function forUser(error: UdfError, argumentTypes: ReadonlyMap<string, readonly string[]>, pythonFiles: readonly string[]): UdfError {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const byName = new Map(pythonFiles.map((file) => [path.basename(file), path.resolve(file)]));
  const pattern = byName.size === 0 ? null
    : new RegExp(`[^\\s"'(]*/modules/(${[...byName.keys()].map(escape).join('|')})(?![\\w-]|\\.\\w)`, 'g');
  const rewrite = (text: string) => (pattern ? text.replace(pattern, (_whole, name: string) => byName.get(name)!) : text);
  const types = argumentTypes.get(error.functionName);
  const row = !error.row || !types || types.length !== error.row.length ? error.row : error.row.map((value, i) => {
    try {
      const type = parseDataType(types[i]!);
      return coerceValue(typeof value === 'string' && /^-?\d+$/.test(value) && isIntegerType(type) ? BigInt(value) : value, type, 'row');
    } catch {
      return value; // a value JSON cannot carry in its type stays as JSON gave it
    }
  });
  return new UdfError(error.code as ConstructorParameters<typeof UdfError>[0], rewrite(error.message), {
    functionName: error.functionName, phase: error.phase, pythonType: error.pythonType, pythonMessage: rewrite(error.pythonMessage),
    pythonTraceback: rewrite(error.pythonTraceback), sourceLocation: rewrite(error.sourceLocation), row,
  });
}

/** The functions' figures and registered metrics as the cluster's tasks reported them (pyudf.cluster's BatchLedger). */
function recordMetrics(done: DriverDone, into: JobMetrics): void {
  type Figures = { batches: number; rowsIn: number; rowsOut: number; rowsFailed: number; functionNanos: number };
  const functions = (done.metrics.functions ?? {}) as Readonly<Record<string, Figures>>;
  for (const [name, figures] of Object.entries(functions)) into.recordCalls(name, figures.batches, figures);
  // Each Ray worker process's functions' registered metrics, as it last reported them.
  for (const report of (done.metrics.workers ?? []) as readonly (readonly WorkerFunctionMetrics[])[]) into.addWorkerReport(report);
}

function errorCounts(done: DriverDone, functions: readonly JobFunction[]): Record<string, UdfErrorCount> {
  const counts: Record<string, UdfErrorCount> = {};
  for (const f of functions) {
    const reported = done.errorCounts[f.spec.name];
    if (reported && reported.rows > 0) counts[f.spec.name] = Object.freeze({ policy: reported.policy as ErrorPolicy, rows: reported.rows });
  }
  return counts;
}

interface BundleContents {
  readonly jobId: string;
  readonly jobName: string;
  readonly functions: readonly JobFunction[];
  readonly node: NodeJson;
  readonly sink: SinkJson;
  readonly options: ResolvedOptions;
  readonly cluster: ResolvedClusterOptions;
  readonly pythonFiles: readonly string[];
  readonly requirements: PythonRequirements | null;
}

/** The bundle a driver ships to the cluster as its job's working directory: job.json, modules/, requirements and wheels. */
function writeBundle(dir: string, contents: BundleContents): void {
  const modules = path.join(dir, 'modules');
  fs.mkdirSync(modules);
  for (const file of contents.pythonFiles) {
    const target = path.join(modules, path.basename(file));
    if (fs.existsSync(target)) throw new PyUdfError('INVALID_ARGUMENT', `addPythonFile: two files named "${path.basename(file)}" would shadow each other`);
    fs.cpSync(file, target, { recursive: true, dereference: true, filter: (source) => !source.includes(`${path.sep}__pycache__`) });
  }
  if (contents.requirements) {
    fs.copyFileSync(contents.requirements.requirementsFile, path.join(dir, 'requirements.txt'));
    if (contents.requirements.cachedDir) fs.cpSync(contents.requirements.cachedDir, path.join(dir, 'wheels'), { recursive: true, dereference: true });
  }
  const { options } = contents;
  const job = {
    format: 'pyudf-ray-job',
    version: CLUSTER_JOB_VERSION,
    jobId: contents.jobId,
    jobName: contents.jobName,
    functions: contents.functions.map((f) => ({ ...f.spec, policy: f.policy })),
    jobParameters: options.jobParameters,
    batchSize: options.bundleSize ?? 4096,
    udfTimeoutMs: options.udfTimeoutMs,
    maxTaskRetries: contents.cluster.maxTaskRetries,
    deadLetterPath: options.deadLetterPath,
    engineSetup: engineSetup(),
    plan: contents.node,
    sink: contents.sink,
  };
  fs.writeFileSync(path.join(dir, 'job.json'), JSON.stringify(job));
}

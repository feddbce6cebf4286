import { PyUdfError } from '../errors.js';

/**
 * Where a TableEnvironment's jobs run when not on this machine's own
 * workers: a Ray cluster. The same job, Table API or SQL, runs there
 * unchanged; see docs/ray.md.
 */
export interface RayClusterOptions {
  readonly kind: 'ray';
  /** The cluster's GCS address, as `ray start --head` prints it: "host:6379". */
  readonly address: string;
  /**
   * The Python interpreter the job's driver runs on, with the cluster's Ray
   * version installed (and pyudf's `requirements/ray.txt`). Default: a
   * virtualenv pyudf builds and caches from `requirements/ray.txt`.
   */
  readonly python?: string;
  /** How long connecting to the cluster may take before the job fails (CLUSTER_UNREACHABLE). Default 30 s. */
  readonly connectTimeoutMs?: number;
  /**
   * How often a batch may be started on the cluster (its task or node lost
   * and retried) before it is searched for the row that kills its worker. Default 3.
   */
  readonly maxTaskRetries?: number;
}

export type ClusterOptions = RayClusterOptions;

export interface ResolvedClusterOptions {
  readonly kind: 'ray';
  readonly address: string;
  readonly python: string | null;
  readonly connectTimeoutMs: number;
  readonly maxTaskRetries: number;
}

/** Checks the `cluster` option of TableEnvironment.create; null: jobs run on local workers. */
export function resolveClusterOptions(value: unknown): ResolvedClusterOptions | null {
  if (value === undefined || value === null) return null;
  const fail = (message: string): never => {
    throw new PyUdfError('INVALID_ARGUMENT', `TableEnvironment option "cluster": ${message}`);
  };
  if (typeof value !== 'object') fail(`expected { kind: 'ray', address }, got ${String(value)}`);
  const options = value as Partial<RayClusterOptions>;
  if (options.kind !== 'ray') fail(`"kind" must be 'ray', got ${String(options.kind)}`);
  if (typeof options.address !== 'string' || !/^[^\s:/]+:\d{1,5}$/.test(options.address)) {
    fail(`"address" must be the cluster's "host:port" (as \`ray start --head\` prints it), got ${String(options.address)}`);
  }
  if (options.python !== undefined && (typeof options.python !== 'string' || options.python === '')) fail('"python" must be a path or command name');
  const connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
  if (!Number.isInteger(connectTimeoutMs) || connectTimeoutMs < 1) fail(`"connectTimeoutMs" must be a positive integer, got ${String(connectTimeoutMs)}`);
  const maxTaskRetries = options.maxTaskRetries ?? 3;
  if (!Number.isInteger(maxTaskRetries) || maxTaskRetries < 0) fail(`"maxTaskRetries" must be an integer >= 0, got ${String(maxTaskRetries)}`);
  return Object.freeze({ kind: 'ray', address: options.address!, python: options.python ?? null, connectTimeoutMs, maxTaskRetries });
}

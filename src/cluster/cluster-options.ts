import { PyUdfError } from '../errors.js';

/**
 * Where a TableEnvironment's jobs run when not on this machine's own
 * workers: a Ray cluster. The same job, Table API or SQL, runs there
 * unchanged; see docs/ray.md.
 */
export interface RayClusterOptions {
  readonly kind: 'ray';
  /**
   * Where the cluster is. Its GCS address, as `ray start --head` prints it
   * ("host:6379"): a driver process on this host runs the job. Or its
   * dashboard's URL ("http://host:8265"): the job is submitted through Ray's
   * Jobs REST API and its driver runs on the head node.
   */
  readonly address: string;
  /** For a URL address on a cluster with token authentication: sent as `Authorization: Bearer`. Default: RAY_AUTH_TOKEN. */
  readonly token?: string;
  /**
   * For a URL address: the address of this host the job's driver connects
   * back to with its results. Default: this host's address on its
   * connection to the dashboard (set it when a NAT is between them).
   */
  readonly reportHost?: string;
  /**
   * For a GCS address: the Python interpreter the job's driver runs on, with
   * the cluster's Ray version installed (and pyudf's `requirements/ray.txt`).
   * Default: a virtualenv pyudf builds and caches from `requirements/ray.txt`.
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
  /** How jobs reach the cluster: a driver process here (GCS address), or Ray's Jobs REST API (dashboard URL). */
  readonly submission: 'driver' | 'jobs-api';
  readonly token: string | null;
  readonly reportHost: string | null;
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
  const address = typeof options.address === 'string' ? options.address : '';
  const submission = /^https?:\/\//.test(address) ? 'jobs-api' : 'driver';
  if (submission === 'driver' ? !/^[^\s:/]+:\d{1,5}$/.test(address) : !isUrl(address)) {
    fail(`"address" must be the cluster's "host:port" (as \`ray start --head\` prints it) or its dashboard's "http://host:8265", got ${String(options.address)}`);
  }
  const token = options.token ?? (submission === 'jobs-api' ? process.env.RAY_AUTH_TOKEN : undefined) ?? null;
  if (token !== null && (typeof token !== 'string' || token === '')) fail('"token" must be a non-empty string');
  if (options.reportHost !== undefined && (typeof options.reportHost !== 'string' || options.reportHost === '')) fail('"reportHost" must be a host name or address');
  if (options.python !== undefined && (typeof options.python !== 'string' || options.python === '')) fail('"python" must be a path or command name');
  const connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
  if (!Number.isInteger(connectTimeoutMs) || connectTimeoutMs < 1) fail(`"connectTimeoutMs" must be a positive integer, got ${String(connectTimeoutMs)}`);
  const maxTaskRetries = options.maxTaskRetries ?? 3;
  if (!Number.isInteger(maxTaskRetries) || maxTaskRetries < 0) fail(`"maxTaskRetries" must be an integer >= 0, got ${String(maxTaskRetries)}`);
  return Object.freeze({
    kind: 'ray', address, submission, token, reportHost: options.reportHost ?? null, python: options.python ?? null, connectTimeoutMs, maxTaskRetries,
  } as const);
}

function isUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.hostname !== '' && (url.pathname === '/' || url.pathname === '');
  } catch {
    return false;
  }
}

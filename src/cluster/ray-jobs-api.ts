import http from 'node:http';
import https from 'node:https';
import { ClusterError } from '../errors.js';
import type { JobPackage } from './job-packages.js';

/*
 * A client of Ray's Jobs REST API, the one the dashboard serves on the head
 * node (`ray job submit` talks to it too). Requests go through node:http:
 * Ray turns away requests that look like a browser's, as Node's global fetch
 * does with its `Sec-Fetch-Mode` header.
 */

/** A submitted job's state, as GET /api/jobs/{id} reports it. */
export interface RayJobState {
  readonly status: 'PENDING' | 'RUNNING' | 'STOPPED' | 'SUCCEEDED' | 'FAILED' | string;
  readonly message: string;
}

export interface RayJobSubmission {
  readonly submissionId: string;
  readonly entrypoint: string;
  readonly runtimeEnv: Readonly<Record<string, unknown>>;
  readonly metadata?: Readonly<Record<string, string>>;
}

interface Answer {
  readonly status: number;
  readonly body: string;
  /** This host's address on the connection: where the cluster can reach it back. */
  readonly localAddress: string;
}

const TERMINAL = new Set(['STOPPED', 'SUCCEEDED', 'FAILED']);

export function isTerminal(state: RayJobState): boolean {
  return TERMINAL.has(state.status);
}

export class RayJobsApi {
  readonly url: URL;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;

  /** `url`: the dashboard's, "http://head:8265"; `token`: sent as `Authorization: Bearer` for a cluster with token auth. */
  constructor(url: string, options: { token?: string; timeoutMs: number }) {
    this.url = new URL(url);
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs;
  }

  /** The cluster's Ray version, and this host's address as the cluster sees the connection. */
  async version(): Promise<{ rayVersion: string; localAddress: string }> {
    const answer = await this.#expect('GET', '/api/version', undefined, 'CLUSTER_UNREACHABLE');
    const body = parseJson(answer.body);
    return { rayVersion: String(body.ray_version ?? 'unknown'), localAddress: answer.localAddress };
  }

  /** Uploads a zip package unless the cluster holds it (by its content-derived name); its URI for a runtime_env. */
  async ensurePackage(jobPackage: JobPackage): Promise<string> {
    const where = `/api/packages/gcs/${encodeURIComponent(jobPackage.name)}`;
    const held = await this.#request('GET', where);
    if (held.status !== 200) await this.#expect('PUT', where, jobPackage.zip, 'CLUSTER_JOB_REFUSED');
    return `gcs://${jobPackage.name}`;
  }

  async submit(job: RayJobSubmission): Promise<void> {
    await this.#expect('POST', '/api/jobs/', JSON.stringify({
      entrypoint: job.entrypoint,
      submission_id: job.submissionId,
      runtime_env: job.runtimeEnv,
      metadata: job.metadata ?? {},
      // The driver only coordinates: the cluster's CPUs are for the job's tasks.
      entrypoint_num_cpus: 0,
    }), 'CLUSTER_JOB_REFUSED');
  }

  async state(submissionId: string): Promise<RayJobState> {
    const answer = await this.#expect('GET', `/api/jobs/${encodeURIComponent(submissionId)}`, undefined, 'CLUSTER_JOB_FAILED');
    const body = parseJson(answer.body);
    return { status: String(body.status ?? 'UNKNOWN'), message: String(body.message ?? '') };
  }

  async logs(submissionId: string): Promise<string> {
    const answer = await this.#expect('GET', `/api/jobs/${encodeURIComponent(submissionId)}/logs`, undefined, 'CLUSTER_JOB_FAILED');
    return String(parseJson(answer.body).logs ?? '');
  }

  /** Asks the cluster to stop the job; true when it had one to stop. */
  async stop(submissionId: string): Promise<boolean> {
    const answer = await this.#request('POST', `/api/jobs/${encodeURIComponent(submissionId)}/stop`);
    return answer.status === 200 && parseJson(answer.body).stopped === true;
  }

  async #expect(method: string, where: string, body: string | Uint8Array | undefined, code: ClusterCode): Promise<Answer> {
    const answer = await this.#request(method, where, body);
    if (answer.status >= 200 && answer.status < 300) return answer;
    const said = answer.body.trim().split('\n').slice(-5).join('\n');
    const why = answer.status === 401 || answer.status === 403
      ? 'refused the request (is the cluster\'s token set in the cluster option "token"?)'
      : `answered ${answer.status} to ${method} ${where}`;
    // Refused is refused, whatever was asked; an answer other than the API's says the address is not a dashboard.
    throw new ClusterError(answer.status === 401 || answer.status === 403 ? 'CLUSTER_JOB_REFUSED' : code,
      `the Ray Jobs API at ${this.url.origin} ${why}: ${said}`, { address: this.url.origin, clusterMessage: answer.body });
  }

  #request(method: string, where: string, body?: string | Uint8Array): Promise<Answer> {
    const client = this.url.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.#token) headers.Authorization = `Bearer ${this.#token}`;
    if (body !== undefined) {
      headers['Content-Type'] = typeof body === 'string' ? 'application/json' : 'application/octet-stream';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    return new Promise((resolve, reject) => {
      const request = client.request(new URL(where, this.url), { method, headers, timeout: this.#timeoutMs, agent: false }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          localAddress: request.socket?.localAddress ?? '',
        }));
      });
      request.on('timeout', () => request.destroy(Object.assign(new Error(`no answer within ${this.#timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      request.on('error', (error: NodeJS.ErrnoException) => reject(new ClusterError('CLUSTER_UNREACHABLE',
        `cannot reach the Ray Jobs API at ${this.url.origin}: ${error.code ?? ''} ${error.message}`.replace(/\s+/g, ' ').trim(),
        { address: this.url.origin, clusterMessage: error.message, cause: error })));
      request.end(body);
    });
  }
}

type ClusterCode = 'CLUSTER_UNREACHABLE' | 'CLUSTER_JOB_REFUSED' | 'CLUSTER_JOB_FAILED';

function parseJson(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? value as Record<string, unknown> : {};
  } catch {
    return {};
  }
}

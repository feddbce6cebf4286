import type { JobHost, JobRunner } from '../execution/job-runner.js';

/**
 * A TableEnvironment's hold on what its jobs run on: the JobRunner, with the
 * Python environments, worker pools and engine it keeps between jobs. The
 * runner's module is loaded by the first job (a dynamic import), so that
 * `import 'pyudf'` and declaring tables load none of it; close() releases
 * whatever the jobs left.
 */
export class JobLease {
  readonly #host: JobHost;
  #runner: Promise<JobRunner> | null = null;

  constructor(host: JobHost) {
    this.#host = host;
  }

  /** The runner, loaded and made on the first call. */
  runner(): Promise<JobRunner> {
    this.#runner ??= import('../execution/job-runner.js').then(({ JobRunner }) => new JobRunner(this.#host));
    return this.#runner;
  }

  /** Closes the runner, if a job made one: its workers stop and its engine closes. */
  async close(): Promise<void> {
    await (await this.#runner)?.close();
  }
}

import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterError, EnvironmentError, PyUdfError } from '../errors.js';
import type { Logger } from '../logging.js';
import { packagePaths } from '../paths.js';
import { DriverReports, stoppedError, type DriverDone, type DriverReportOptions } from './driver-reports.js';
import { packageDirectory } from './job-packages.js';
import { isTerminal, RayJobsApi, type RayJobState } from './ray-jobs-api.js';
import { ReportListener } from './report-listener.js';

/*
 * A job submitted through Ray's Jobs REST API: its bundle and pyudf's Python
 * package go to the cluster as zip packages, and the driver
 * (`python -m pyudf.cluster`) runs on the head node as the job's entrypoint.
 * It connects back to this host to report, as a local driver does on its
 * descriptors: rows of a collected result come here, file sinks do not.
 */

export interface SubmittedJobOptions extends DriverReportOptions {
  readonly url: string;
  readonly token?: string;
  /** The address the cluster connects back to; default: this host's address on its connection to the dashboard. */
  readonly reportHost?: string;
  readonly bundleDir: string;
  readonly jobId: string;
  readonly jobName: string;
  readonly connectTimeoutMs: number;
}

/** How often the job's state is asked while it runs. */
const POLL_MS = 500;
/** How long the driver's reports may still take to end once Ray says the job ended. */
const REPORTS_GRACE_MS = 5_000;

export async function runSubmittedJob(options: SubmittedJobOptions): Promise<DriverDone> {
  if (options.signal.aborted) throw stoppedError(options.signal);
  const api = new RayJobsApi(options.url, { token: options.token, timeoutMs: options.connectTimeoutMs });
  const address = api.url.origin;
  const { rayVersion, localAddress } = await api.version();
  options.logger.log({ level: 'debug', source: 'pyudf', message: `Ray Jobs API at ${address}: Ray ${rayVersion}` });
  const listener = await ReportListener.listen(options.reportHost ? '0.0.0.0' : localAddress);
  const submissionId = `pyudf-${options.jobId}`;
  let submitted = false;
  let finished = false;
  const stop = () => listener.close();
  options.signal.addEventListener('abort', stop, { once: true });
  try {
    const workingDir = await api.ensurePackage(packageDirectory(options.bundleDir));
    const pyudf = await api.ensurePackage(packageDirectory(path.join(packagePaths.pythonWorker, 'pyudf'), 'pyudf/'));
    if (options.signal.aborted) throw stoppedError(options.signal);
    const reportHost = options.reportHost ?? localAddress;
    await api.submit({
      submissionId,
      entrypoint: `python -u -m pyudf.cluster --bundle . --address auto --report ${reportHost.includes(':') ? `[${reportHost}]` : reportHost}:${listener.port}:${listener.token}`,
      runtimeEnv: { working_dir: workingDir, py_modules: [pyudf] },
      metadata: { job_name: options.jobName, submitted_by: 'pyudf' },
    });
    submitted = true;
    if (options.signal.aborted) throw stoppedError(options.signal);

    const reports = new DriverReports(address, options);
    const read = Promise.all([listener.events.then((s) => reports.readEvents(s)), listener.results.then((s) => reports.readResults(s))]);
    const ended = await untilEnded(api, submissionId, options.signal);
    if (options.signal.aborted) throw stoppedError(options.signal);
    finished = true;
    // Ray may call the job ended a moment before its driver's connections drain.
    await Promise.race([read, sleep(REPORTS_GRACE_MS, undefined, { ref: false })]);
    if (reports.failure) throw reports.failure;
    if (reports.done !== null && ended.status === 'SUCCEEDED') return reports.done;
    throw await endedError(api, submissionId, ended, address);
  } finally {
    options.signal.removeEventListener('abort', stop);
    listener.close();
    // A job cancelled, closed or failed here is stopped there: its driver, tasks and actors end with it.
    if (submitted && !finished) await api.stop(submissionId).catch(() => undefined);
    if (submitted) await forwardLogs(api, submissionId, options.logger);
  }
}

async function untilEnded(api: RayJobsApi, submissionId: string, signal: AbortSignal): Promise<RayJobState> {
  for (;;) {
    const state = await api.state(submissionId);
    if (isTerminal(state) || signal.aborted) return state;
    await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
  }
}

/** Why a job ended without its driver's result: a runtime_env that could not be built, or the entrypoint's failure, with its last output. */
async function endedError(api: RayJobsApi, submissionId: string, state: RayJobState, address: string): Promise<PyUdfError> {
  const logs = await api.logs(submissionId).catch(() => '');
  const tail = logs.trim().split('\n').slice(-40).join('\n');
  if (/runtime.?env/i.test(state.message) && /pip|No matching distribution/i.test(state.message)) {
    return new EnvironmentError('ENVIRONMENT_BUILD_FAILED', `the job's requirements could not be installed on the cluster at ${address}: ${state.message.trim().split('\n').slice(-3).join(' ')}`,
      { output: state.message });
  }
  return new ClusterError('CLUSTER_JOB_FAILED', `the job ${submissionId} on ${address} ended ${state.status} without a result: ${state.message}${tail ? `\nits last output:\n${tail}` : ''}`,
    { address, clusterMessage: `${state.message}\n${tail}`.trim() });
}

/** What the job printed (its functions' output among it), once it ended: the Jobs API keeps it on the cluster. */
async function forwardLogs(api: RayJobsApi, submissionId: string, logger: Logger): Promise<void> {
  const logs = await api.logs(submissionId).catch(() => '');
  for (const line of logs.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('(')) logger.log({ level: 'info', source: 'udf', pythonLogger: 'stdout', functionName: '', message: line });
    else logger.log({ level: 'debug', source: 'pyudf', message: `ray: ${line}` });
  }
}

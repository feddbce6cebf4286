import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable } from 'node:stream';
import { ClusterError } from '../errors.js';
import { packagePaths } from '../paths.js';
import { killGroup, trackGroup, untrackGroup } from '../workers/host-exit.js';
import { DriverReports, LastLines, stoppedError, type DriverDone, type DriverReportOptions } from './driver-reports.js';

export type { DriverConnected, DriverDone } from './driver-reports.js';

/*
 * The driver of one job on a Ray cluster: a Python process
 * (`python -m pyudf.cluster`) that connects to the cluster and runs the
 * job's bundle there. It reports on file descriptor 4 (JSON lines), streams
 * a collected result on descriptor 3 (an Arrow IPC stream), and its own and
 * the cluster tasks' output on stdout and stderr.
 */

export interface DriverRunOptions extends DriverReportOptions {
  readonly python: string;
  readonly bundleDir: string;
  readonly address: string;
  readonly env?: Readonly<Record<string, string>>;
}

/** How long a driver asked to stop gets to stop its job on the cluster before it is killed. */
const STOP_GRACE_MS = 10_000;

/** Runs the job in `bundleDir` on the cluster; resolves when the driver reports it done, rejects with its typed error. */
export async function runDriver(options: DriverRunOptions): Promise<DriverDone> {
  if (options.signal.aborted) throw stoppedError(options.signal);
  let child: ChildProcess;
  try {
    child = spawn(options.python, ['-u', '-m', 'pyudf.cluster', '--bundle', options.bundleDir, '--address', options.address], {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
      // Its own group: stopping it reaches whatever it started; Ctrl-C at a terminal stays the host's.
      detached: true,
      env: {
        ...process.env,
        ...options.env,
        PYTHONPATH: [packagePaths.pythonWorker, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
        PYTHONDONTWRITEBYTECODE: '1',
      },
    });
  } catch (error) {
    throw new ClusterError('CLUSTER_JOB_FAILED', `cannot start the Ray driver "${options.python}": ${(error as Error).message}`, { address: options.address, cause: error });
  }
  const pid = child.pid;
  if (pid !== undefined) trackGroup(pid);
  const stderrTail = new LastLines(40);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, spawnError: error }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  // Ray forwards what the functions print in its tasks as "(task pid=..., ip=...) line"; the rest is Ray's and the driver's own.
  forwardLines(child.stdout!, (line) => options.logger.log({ level: 'info', source: 'udf', pythonLogger: 'stdout', functionName: '', message: line }));
  forwardLines(child.stderr!, (line) => {
    stderrTail.push(line);
    if (line.startsWith('(')) options.logger.log({ level: 'warn', source: 'udf', pythonLogger: 'stderr', functionName: '', message: line });
    else options.logger.log({ level: 'debug', source: 'pyudf', message: `ray: ${line}` });
  });

  const reports = new DriverReports(options.address, options);
  const events = reports.readEvents(child.stdio[4] as Readable);
  const results = reports.readResults(child.stdio[3] as Readable);

  let stopping = false;
  const stop = () => {
    if (stopping || pid === undefined) return;
    stopping = true;
    killGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), STOP_GRACE_MS);
    timer.unref();
    void exited.then(() => clearTimeout(timer));
  };
  options.signal.addEventListener('abort', stop, { once: true });
  try {
    const exit = await exited;
    await Promise.all([events, results]);
    if (options.signal.aborted) throw stoppedError(options.signal);
    if (reports.failure) throw reports.failure;
    if (exit.spawnError) {
      throw new ClusterError('CLUSTER_JOB_FAILED', `cannot start the Ray driver "${options.python}": ${exit.spawnError.message}`, { address: options.address, cause: exit.spawnError });
    }
    if (exit.code !== 0 || reports.done === null) {
      const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
      throw new ClusterError('CLUSTER_JOB_FAILED', `the Ray driver of the job on ${options.address} ${how} without a result; its last output:\n${stderrTail.text()}`,
        { address: options.address, clusterMessage: stderrTail.text() });
    }
    return reports.done;
  } finally {
    options.signal.removeEventListener('abort', stop);
    if (pid !== undefined) {
      // Whatever the driver left in its group (it never should) goes with it.
      killGroup(pid, 'SIGKILL');
      untrackGroup(pid);
    }
    child.stdin?.destroy();
  }
}

function forwardLines(stream: Readable, onLine: (line: string) => void): void {
  const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
  lines.on('line', onLine);
  stream.on('error', () => undefined);
}

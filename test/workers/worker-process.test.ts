// One worker process's start and its sockets, with real processes: wrapper
// scripts stand in for the runtime's Python to make a worker that speaks
// another protocol, dies at once, or never becomes ready.
import fs from 'node:fs';
import path from 'node:path';
import { WorkerError } from '../../src/index.js';
import { chooseInterpreter } from '../../src/environments/interpreter.js';
import { ensureWorkerRuntime } from '../../src/environments/worker-runtime.js';
import { WorkerPool } from '../../src/workers/worker-pool.js';
import { WorkerProcess } from '../../src/workers/worker-process.js';
import { QueuedBehindCrash, WorkerClient } from '../../src/workers/worker-client.js';
import * as arrow from 'apache-arrow';
import { PYUDF_VERSION } from '../../src/paths.js';
import { PROTOCOL_VERSION, type FunctionSpecMessage } from '../../src/protocol/contract.js';
import { childProcesses, isolateTempRoot, leftoverPyudfDirs, pythonWorkers, recordingLogger, tempDir, isGone } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();
let runtimePython = '';

beforeAll(async () => {
  runtimePython = (await ensureWorkerRuntime(chooseInterpreter(), { logger: recordingLogger() })).python;
});

afterEach(() => {
  // Every test leaves nothing running and no private directory behind.
  expect(childProcesses()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
});

const IDENTITY: FunctionSpecMessage = {
  name: 'identity', callable: 'lambda x: x', inputTypes: ['BIGINT'], hasInputTypes: true, resultType: 'BIGINT', continueOnError: false,
};


let scripts = 0;

/**
 * An executable shell script to use as the worker's `python`. It records its
 * pid (kept by `exec`) in the returned pid file, checks the host passed
 * `-u -m pyudf.worker`, and runs `body` with the remaining arguments in "$@".
 */
function wrapper(body: string): { python: string; pidFile: string } {
  const name = `python-${++scripts}`;
  const python = path.join(dir, name);
  const pidFile = path.join(dir, `${name}.pid`);
  fs.writeFileSync(python, [
    '#!/bin/sh',
    `echo $$ > '${pidFile}'`,
    '[ "$1 $2 $3" = "-u -m pyudf.worker" ] || { echo "unexpected arguments: $*" >&2; exit 64; }',
    'shift 3',
    body,
    '',
  ].join('\n'), { mode: 0o755 });
  return { python, pidFile };
}

function pidOf(pidFile: string): number {
  return Number(fs.readFileSync(pidFile, 'utf8').trim());
}

/** Runs the real worker's main in the real runtime, after `patch` (Python) has run. */
function patchedWorker(patch: string): { python: string; pidFile: string } {
  const code = ['import pyudf.worker.server as server', patch, 'from pyudf.worker.__main__ import main', 'main()'].join('\n');
  return wrapper(`exec '${runtimePython}' -u -c '${code}' "$@"`);
}

async function startFailure(start: Promise<unknown>): Promise<WorkerError> {
  const error = await start.then(() => new Error('expected the start to fail'), (e: unknown) => e);
  expect(error).toBeInstanceOf(WorkerError);
  return error as WorkerError;
}

function socketDir(): string {
  return fs.mkdtempSync(path.join(dir, 'sockets-'));
}

describe('a worker speaking another protocol', () => {
  test('announcing it in its ready line is refused with PROTOCOL_MISMATCH and killed', async () => {
    const { python, pidFile } = patchedWorker('server.PROTOCOL_VERSION = 99');
    const error = await startFailure(WorkerProcess.start({ python, socketDir: socketDir(), index: 0 }));
    expect(error.code).toBe('PROTOCOL_MISMATCH');
    expect(error.message).toBe(`Python worker speaks protocol 99, this host speaks ${PROTOCOL_VERSION}: install matching versions of pyudf`);
    expect(isGone(pidOf(pidFile))).toBe(true);
  });

  test('refusing the host in the handshake fails the pool with PROTOCOL_MISMATCH; its workers and directory are gone', async () => {
    // The ready line still says 1: only the Handshake call finds out.
    const { python, pidFile } = patchedWorker([
      'handshake = server.WorkerService.Handshake',
      'def refusing(self, request, context):',
      '    server.PROTOCOL_VERSION = 99',
      '    return handshake(self, request, context)',
      'server.WorkerService.Handshake = refusing',
    ].join('\n'));
    const error = await startFailure(WorkerPool.start({
      python, parallelism: 1, logger: recordingLogger(), functions: [IDENTITY], pythonFiles: [], jobParameters: {},
    }));
    expect(error.code).toBe('PROTOCOL_MISMATCH');
    expect(error.message).toBe(
      `worker refused the handshake: pyudf worker ${PYUDF_VERSION} speaks protocol 99, host ${PYUDF_VERSION} speaks protocol ${PROTOCOL_VERSION}`,
    );
    expect(isGone(pidOf(pidFile))).toBe(true);
  });
});

test('a worker that exits before it is ready fails the start with its exit code and stderr', async () => {
  const { python, pidFile } = wrapper('echo "wrapper: no worker here today" >&2\nexit 3');
  const error = await startFailure(WorkerProcess.start({ python, socketDir: socketDir(), index: 0 }));
  expect(error.code).toBe('WORKER_START_FAILED');
  expect(error.exitCode).toBe(3);
  expect(error.signal).toBeNull();
  expect(error.stderr).toBe('wrapper: no worker here today');
  expect(error.message).toBe(`Python worker (${python}) exited before it was ready (exit code 3, signal null):\nwrapper: no worker here today`);
  expect(isGone(pidOf(pidFile))).toBe(true);
});

test('a python that cannot be run at all fails the start saying why', async () => {
  const missing = path.join(dir, 'no-such-python');
  const error = await startFailure(WorkerProcess.start({ python: missing, socketDir: socketDir(), index: 0 }));
  expect(error.code).toBe('WORKER_START_FAILED');
  expect(error.exitCode).toBeNull();
  expect(error.signal).toBeNull();
  expect(error.message).toBe(`Python worker (${missing}) could not be started: spawn ${missing} ENOENT`);
  expect((error.cause as { code?: string } | undefined)?.code).toBe('ENOENT');
});

test('a pool whose worker cannot start fails with WORKER_START_FAILED and stops the workers that did start', async () => {
  // Worker 0 starts for real; worker 1 and every replacement die (a start-up death costs a
  // restart, as a crash does), so the pool fails once the restarts are spent, leaving worker 0 not running.
  const { python } = wrapper([
    'case "$2" in *worker-0.sock) ;; *) echo "wrapper: only worker 0 starts" >&2; exit 3;; esac',
    `exec '${runtimePython}' -u -m pyudf.worker "$@"`,
  ].join('\n'));
  const error = await startFailure(WorkerPool.start({
    python, parallelism: 2, logger: recordingLogger(), functions: [IDENTITY], pythonFiles: [], jobParameters: {},
  }));
  expect(error.code).toBe('WORKER_START_FAILED');
  expect(error.exitCode).toBe(3);
  expect(error.stderr).toBe('wrapper: only worker 0 starts');
  expect(pythonWorkers()).toEqual([]);
});

describe('a worker that never becomes ready', () => {
  test('fails the start after readyTimeoutMs and is killed', async () => {
    const { python, pidFile } = wrapper('echo "wrapper: still thinking" >&2\nexec sleep 60');
    const error = await startFailure(WorkerProcess.start({ python, socketDir: socketDir(), index: 0, readyTimeoutMs: 500 }));
    expect(error.code).toBe('WORKER_START_FAILED');
    expect(error.message).toBe(`Python worker (${python}) was not ready within 500 ms:\nwrapper: still thinking`);
    expect(error.exitCode).toBeNull();
    expect(error.stderr).toBe('wrapper: still thinking');
    expect(isGone(pidOf(pidFile))).toBe(true);
  });

  test('is SIGKILLed when it ignores SIGTERM', async () => {
    const { python, pidFile } = wrapper("trap '' TERM\nexec sleep 60");
    const error = await startFailure(WorkerProcess.start({ python, socketDir: socketDir(), index: 0, readyTimeoutMs: 500 }));
    expect(error.code).toBe('WORKER_START_FAILED');
    expect(error.message).toBe(`Python worker (${python}) was not ready within 500 ms`);
    expect(isGone(pidOf(pidFile))).toBe(true);
  });
});

/** Socket inodes of /proc/net/<table>: `inodeField` is the inode's column, `pathField` the path's. */
function socketTable(table: string, inodeField: number, pathField?: number): Map<string, { path: string; flags: string }> {
  const file = `/proc/net/${table}`;
  const sockets = new Map<string, { path: string; flags: string }>();
  if (!fs.existsSync(file)) return sockets; // e.g. no IPv6 in this kernel: then no such sockets either
  for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length <= inodeField) continue;
    sockets.set(fields[inodeField]!, { path: pathField === undefined ? '' : (fields[pathField] ?? ''), flags: fields[3] ?? '' });
  }
  return sockets;
}

function socketInodes(pid: number): string[] {
  const fdDir = `/proc/${pid}/fd`;
  return fs.readdirSync(fdDir).flatMap((fd) => {
    let target: string;
    try {
      target = fs.readlinkSync(path.join(fdDir, fd));
    } catch {
      return []; // closed while we looked
    }
    const match = /^socket:\[(\d+)\]$/.exec(target);
    return match ? [match[1]!] : [];
  });
}

function ownerDirOf(pid: number): string {
  const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  return args[args.indexOf('--owner-dir') + 1]!;
}

test('workers listen on a Unix socket in the pool\'s 0700 private directory and on no TCP or UDP port', async () => {
  const pool = await WorkerPool.start({
    python: runtimePython, parallelism: 2, logger: recordingLogger(), functions: [IDENTITY], pythonFiles: [], jobParameters: {},
  });
  try {
    expect(pool.pids).toHaveLength(2);
    const inet = new Map([
      ...socketTable('tcp', 9), ...socketTable('tcp6', 9), ...socketTable('udp', 9), ...socketTable('udp6', 9),
    ]);
    const unix = socketTable('unix', 6, 7);
    const [privateDir] = leftoverPyudfDirs(tempRoot).map((d) => path.join(tempRoot, d));
    expect(leftoverPyudfDirs(tempRoot)).toHaveLength(1);
    expect(fs.statSync(privateDir!).mode & 0o777).toBe(0o700);

    for (const [index, pid] of pool.pids.entries()) {
      expect(ownerDirOf(pid)).toBe(privateDir);
      const inodes = socketInodes(pid);
      expect(inodes.length).toBeGreaterThan(0);
      expect(inodes.filter((inode) => inet.has(inode))).toEqual([]);
      const named = inodes.map((inode) => unix.get(inode)).filter((s) => s !== undefined && s.path !== '');
      // Its one listening socket (__SO_ACCEPTCON) is in the private directory; accepted
      // connections (the host's) carry the same address. No other named socket.
      const socketPath = path.join(privateDir!, `worker-${index}.sock`);
      expect(new Set(named.map((s) => s!.path))).toEqual(new Set([socketPath]));
      expect(named.filter((s) => s!.flags === '00010000')).toHaveLength(1);
    }
  } finally {
    await pool.close();
  }
  expect(pythonWorkers()).toEqual([]);
});

test('a dead worker names the call it was running: that call fails as the crash, later ones as queued behind it', async () => {
  const socketDir = fs.mkdtempSync(path.join(tempRoot, 'pyudf-calls-'));
  fs.chmodSync(socketDir, 0o700);
  const worker = await WorkerProcess.start({ python: runtimePython, socketDir, index: 0 });
  const client = new WorkerClient(worker, recordingLogger());
  try {
    await client.handshake();
    const loaded = await client.load([{ ...IDENTITY, name: 'dies_on_2', callable: 'lambda x: __import__("os")._exit(5) if x == 2 else x' }], [], [], {});
    expect(loaded.error).toBeNull();
    expect(worker.lastCall()).toBeUndefined(); // no call yet
    const batch = (value: bigint) => [arrow.makeVector(BigInt64Array.of(value))];
    const first = client.call('dies_on_2', batch(1n), 1);
    const second = client.call('dies_on_2', batch(2n), 1);
    const third = client.call('dies_on_2', batch(3n), 1);
    const [a, b, c] = await Promise.allSettled([first, second, third]);
    // The first call's reply may have died unsent with the worker: then it is
    // not blamed, only queued behind the crash (the pool sends it again).
    if (a.status === 'rejected') expect(a.reason).toBeInstanceOf(QueuedBehindCrash);
    else expect(a.value.ok).toBe(true);
    expect(b.status === 'rejected' && b.reason).toBeInstanceOf(WorkerError);
    expect(b.status === 'rejected' && b.reason).not.toBeInstanceOf(QueuedBehindCrash);
    expect(b.status === 'rejected' && (b.reason as WorkerError).exitCode).toBe(5);
    expect(c.status === 'rejected' && c.reason).toBeInstanceOf(QueuedBehindCrash);
    expect(worker.lastCall()).toEqual({ callId: 2, running: true }); // the second call: started, never finished
  } finally {
    await client.destroy();
    fs.rmSync(socketDir, { recursive: true, force: true });
  }
});

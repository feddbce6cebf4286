// The idle workers of a TableEnvironment, with real worker pools: close()
// returns only once every pool it was handed is stopped.
import { chooseInterpreter } from '../../src/environments/interpreter.js';
import { ensureWorkerRuntime } from '../../src/environments/worker-runtime.js';
import { IdleWorkers } from '../../src/workers/idle-workers.js';
import { WorkerPool } from '../../src/workers/worker-pool.js';
import type { FunctionSpecMessage } from '../../src/protocol/contract.js';
import { isGone, isolateTempRoot, leftoverPyudfDirs, pythonWorkers, recordingLogger } from '../support.js';

const tempRoot = isolateTempRoot();
let runtimePython = '';

beforeAll(async () => {
  runtimePython = (await ensureWorkerRuntime(chooseInterpreter(), { logger: recordingLogger() })).python;
});

afterEach(() => {
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
});

const IDENTITY: FunctionSpecMessage = {
  name: 'identity', callable: 'lambda x: x', inputTypes: ['BIGINT'], hasInputTypes: true, resultType: 'BIGINT', continueOnError: false,
};

function startPool(): Promise<WorkerPool> {
  return WorkerPool.start({ python: runtimePython, parallelism: 1, logger: recordingLogger(), functions: [IDENTITY], pythonFiles: [], jobParameters: {} });
}

test.each([
  ['an idle timeout of 0', 0, false],
  ['a pool that cannot be kept', 60_000, true],
] as const)('close() waits for a pool that keep() is stopping (%s)', async (_, idleTimeoutMs, unhealthy) => {
  const idle = new IdleWorkers(idleTimeoutMs, recordingLogger());
  const pool = await startPool();
  const pids = pool.pids;
  if (unhealthy) {
    // A worker that died: the pool is not healthy, and keep() stops it.
    process.kill(pids[0]!, 'SIGKILL');
    while (pool.healthy) await new Promise((r) => setTimeout(r, 10));
  }
  const kept = idle.keep(pool, 'setup');
  await idle.close();
  expect(pids.map(isGone)).toEqual(pids.map(() => true));
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
  await kept;
});

test('close() stops the idle pool, and a pool handed to keep() afterwards at once', async () => {
  const idle = new IdleWorkers(60_000, recordingLogger());
  const first = await startPool();
  const second = await startPool();
  await idle.keep(first, 'setup');
  expect(first.pids.map(isGone)).toEqual([false]);
  await idle.close();
  expect(first.pids.map(isGone)).toEqual([true]);
  await idle.keep(second, 'setup');
  expect(second.pids.map(isGone)).toEqual([true]);
});

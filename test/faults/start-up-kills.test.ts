// A worker killed while it starts (before its ready line) costs a restart,
// as a crash does: the job goes on with the next one instead of failing
// with WORKER_START_FAILED while its restart budget is unused.
import path from 'node:path';
import { DataTypes, TableEnvironment, udf } from '../../src/index.js';
import { isolateTempRoot, pythonWorkers, tempDir } from '../support.js';
import { checkNothingLeftAfterEach, restartWarnings, watchingLogger, writeFaultModule } from './fault-support.js';

const tempRoot = isolateTempRoot();
checkNothingLeftAfterEach(tempRoot);
const dir = tempDir('udf-faults-startup-');
const markers = path.join(dir, 'markers');
const faultModule = writeFaultModule(dir, markers);
const BIGINT = DataTypes.BIGINT();
const ROWS = Array.from({ length: 2000 }, (_, i) => [BigInt(i)]);
const EXPECTED = ROWS.map(([x]) => ({ y: (x as bigint) * 3n + 1n }));

/** SIGKILLs the workers this process starts, by order of appearance (1-based), as soon as each is seen. */
function killWorkersNumbered(numbers: readonly number[]): { stop(): number[] } {
  const seen: number[] = [];
  const killed: number[] = [];
  const timer = setInterval(() => {
    for (const { pid } of pythonWorkers()) {
      if (seen.includes(pid)) continue;
      seen.push(pid);
      if (numbers.includes(seen.length)) {
        process.kill(pid, 'SIGKILL');
        killed.push(pid);
      }
    }
  }, 5);
  return { stop: () => { clearInterval(timer); return killed; } };
}

test.each([
  ['the initial worker', [1], `lambda x: __import__('faults').slow_reporting_pid(x, -1)`],
  ['the replacement of a crashed worker', [2], `lambda x: __import__('faults').exit_once(x, 700, 'startup-exit')`],
])('%s killed before it is ready: replaced, and the job has every row', async (_what, numbers, fn) => {
  const logger = watchingLogger();
  const tEnv = TableEnvironment.create({ bundleSize: 100, logger });
  const killer = killWorkersNumbered(numbers);
  let killed: number[] = [];
  try {
    tEnv.addPythonFile(faultModule);
    tEnv.registerFunction('f', udf(fn, [BIGINT], BIGINT));
    const rows = await tEnv.fromElements(ROWS, { x: BIGINT }).select('f(x) AS y').execute().collect();
    killed = killer.stop();
    expect(rows).toEqual(EXPECTED);
  } finally {
    killer.stop();
    await tEnv.close();
  }
  expect(killed).toHaveLength(1);
  const startFailures = restartWarnings(logger.entries).filter((m) => m.includes('exited before it was ready'));
  expect(startFailures).toEqual([expect.stringContaining('signal SIGKILL')]);
}, 120_000);

test('a worker that dies at every start fails the job once the restart budget is spent', async () => {
  const logger = watchingLogger();
  const tEnv = TableEnvironment.create({ logger, maxWorkerRestarts: 2 });
  const killer = killWorkersNumbered([1, 2, 3, 4, 5, 6]);
  try {
    tEnv.registerFunction('f', udf('lambda x: x', [BIGINT], BIGINT));
    await expect(tEnv.fromElements(ROWS, { x: BIGINT }).select('f(x) AS y').execute().collect())
      .rejects.toMatchObject({ code: 'WORKER_START_FAILED' });
  } finally {
    killer.stop();
    await tEnv.close();
  }
  expect(restartWarnings(logger.entries)).toHaveLength(2);
}, 120_000);

// What a worker writes to its real stdout (C code, subprocesses) is drained
// and logged: a full pipe must never block a worker.
import { DataTypes, TableEnvironment, udf } from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, recordingLogger } from '../support.js';

const tempRoot = isolateTempRoot();

test('a UDF whose subprocess writes 1 MiB to stdout finishes, and the output reaches the logger', async () => {
  const logger = recordingLogger();
  const tEnv = TableEnvironment.create({ logger });
  // 65,536 lines of 15 bytes: far beyond a pipe's 64 KiB buffer.
  tEnv.registerFunction('shout', udf(
    'lambda n: __import__("os").system(f"yes 0123456789abcd | head -n {n}") or n',
    [DataTypes.BIGINT()], DataTypes.BIGINT(),
  ));
  const rows = await tEnv.fromElements([[65_536n]], { n: DataTypes.BIGINT() }).select('shout(n) AS n').execute().collect();
  await tEnv.close();
  expect(rows).toEqual([{ n: 65_536n }]);
  const stdout = logger.entries.filter((e) => e.source === 'udf' && e.pythonLogger === 'stdout' && e.message === '0123456789abcd');
  expect(stdout).toHaveLength(65_536);
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
});

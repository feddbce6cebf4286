// A function that closes the worker's gRPC sockets leaves the process alive
// and its connection dead: the job fails naming that, the function and the
// row, after no more than maxWorkerRestarts replacements, and no worker is left.
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, TableEnvironment, UdfError, udf } from '../../src/index.js';
import { isolateTempRoot, tempDir } from '../support.js';
import { checkNothingLeftAfterEach, restartWarnings, watchingLogger } from './fault-support.js';

const tempRoot = isolateTempRoot();
checkNothingLeftAfterEach(tempRoot);
const dir = tempDir('udf-faults-connection-');
const BIGINT = DataTypes.BIGINT();
fs.writeFileSync(path.join(dir, 'closes_sockets.py'), `import os
import stat


def on(x, at):
    """Closes every socket the process has (the gRPC server's among them) on row \`at\`."""
    if x == at:
        for name in os.listdir("/proc/self/fd"):
            try:
                if int(name) > 2 and stat.S_ISSOCK(os.fstat(int(name)).st_mode):
                    os.close(int(name))
            except OSError:
                pass
    return x
`);

test.each([
  ['one row a batch', 1, /broke its worker's gRPC connection, on the row f\(25n\)/],
  ['ten rows a batch', 10, /broke its worker's gRPC connection, on a batch of 10 row\(s\)/],
])('%s: UDF_CRASHED saying the connection was lost with the process alive, after maxWorkerRestarts replacements', async (_, bundleSize, where) => {
  const logger = watchingLogger();
  const tEnv = TableEnvironment.create({ bundleSize, maxWorkerRestarts: 2, logger });
  let error: unknown;
  try {
    tEnv.addPythonFile(path.join(dir, 'closes_sockets.py'));
    tEnv.registerFunction('f', udf(`lambda x: __import__('closes_sockets').on(x, 25)`, [BIGINT], BIGINT));
    await tEnv.fromElements(Array.from({ length: 40 }, (_, i) => [BigInt(i)]), { x: BIGINT }).select('f(x) AS y').execute().collect();
  } catch (e) {
    error = e;
  } finally {
    await tEnv.close();
  }
  expect(error).toBeInstanceOf(UdfError);
  const e = error as UdfError;
  expect(e.code).toBe('UDF_CRASHED');
  expect(e.functionName).toBe('f');
  expect(e.message).toMatch(where);
  expect(e.message).toMatch(/was lost while the process stayed alive/);
  expect(e.message).toMatch(/This happened 3 time\(s\) in the job/);
  if (bundleSize === 1) expect(e.row).toEqual([25n]);
  const restarts = restartWarnings(logger.entries);
  expect(restarts).toHaveLength(2);
  for (const warning of restarts) expect(warning).toMatch(/connection to Python worker \(pid \d+\) was lost while the process stayed alive/);
}, 60_000);

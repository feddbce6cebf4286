// A close() hook that outlasts the job's end deadline: the warning names the
// functions whose close() may not have run to its end.
import { DataTypes, TableEnvironment, udf } from '../../src/index.js';
import { isolateTempRoot, tempDir } from '../support.js';
import { checkNothingLeftAfterEach, watchingLogger } from './fault-support.js';
import fs from 'node:fs';
import path from 'node:path';

const tempRoot = isolateTempRoot();
checkNothingLeftAfterEach(tempRoot);
const dir = tempDir('udf-faults-close-');
const BIGINT = DataTypes.BIGINT();
const module = path.join(dir, 'slow_close.py');
fs.writeFileSync(module, `import time
from pyudf import DataTypes, ScalarFunction, udf


class SlowClose(ScalarFunction):
    def eval(self, x):
        return x

    def close(self):
        time.sleep(60)


slow_close = udf(SlowClose(), [DataTypes.BIGINT()], DataTypes.BIGINT())
`);

test('a close() past the deadline: the job keeps its rows and the warning names the function', async () => {
  const logger = watchingLogger();
  const tEnv = TableEnvironment.create({ logger });
  try {
    tEnv.addPythonFile(module);
    tEnv.registerFunction('slow', udf('slow_close.slow_close'));
    tEnv.registerFunction('quick', udf('lambda x: x + 1', [BIGINT], BIGINT));
    const rows = await tEnv.fromElements([[1n]], { x: BIGINT }).select('slow(x) AS a, quick(x) AS b').execute().collect();
    expect(rows).toEqual([{ a: 1n, b: 2n }]);
  } finally {
    await tEnv.close();
  }
  const warnings = logger.entries.filter((e) => e.source === 'pyudf' && e.level === 'warn').map((e) => e.message);
  expect(warnings).toEqual([expect.stringMatching(/close\(\) of "(slow", "quick|quick", "slow)" on worker \(pid \d+\) did not finish within \d+ ms/)]);
}, 120_000);

describe('functionCloseTimeoutMs', () => {
  const marker = path.join(dir, 'closed');
  fs.writeFileSync(path.join(dir, 'sleepy_close.py'), `import time
from pyudf import DataTypes, ScalarFunction, udf


class SleepyClose(ScalarFunction):
    """close() takes 2 s, then says it ran to its end."""

    def eval(self, x):
        return x

    def close(self):
        time.sleep(2)
        with open(${JSON.stringify(marker)}, "w") as f:
            f.write("closed")


sleepy_close = udf(SleepyClose(), [DataTypes.BIGINT()], DataTypes.BIGINT())
`);

  async function run(functionCloseTimeoutMs: number): Promise<string[]> {
    fs.rmSync(marker, { force: true });
    const logger = watchingLogger();
    const tEnv = TableEnvironment.create({ logger, functionCloseTimeoutMs });
    try {
      tEnv.addPythonFile(path.join(dir, 'sleepy_close.py'));
      tEnv.registerFunction('sleepy', udf('sleepy_close.sleepy_close'));
      const rows = await tEnv.fromElements([[1n], [2n]], { x: BIGINT }).select('sleepy(x) AS a').execute().collect();
      expect(rows).toEqual([{ a: 1n }, { a: 2n }]);
    } finally {
      await tEnv.close();
    }
    return logger.entries.filter((e) => e.source === 'pyudf' && e.level === 'warn').map((e) => e.message);
  }

  test('shorter than a close(): the job keeps its rows, the warning names the function and the option value', async () => {
    const warnings = await run(300);
    expect(warnings).toEqual([expect.stringMatching(/close\(\) of "sleepy" on worker \(pid \d+\) did not finish within 300 ms/)]);
    expect(fs.existsSync(marker)).toBe(false);
  }, 60_000);

  test('longer than a close(): close() runs to its end', async () => {
    expect(await run(20_000)).toEqual([]);
    expect(fs.readFileSync(marker, 'utf8')).toBe('closed');
  }, 60_000);
});

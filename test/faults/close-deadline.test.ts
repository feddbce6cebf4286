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

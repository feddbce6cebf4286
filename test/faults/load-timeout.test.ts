// functionLoadTimeoutMs bounds what udfTimeoutMs does not: a module whose
// import hangs and an open() that hangs fail the job with UDF_TIMEOUT naming
// the import or open(), and the stuck worker goes with what it started.
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, TableEnvironment, UdfError, udf } from '../../src/index.js';
import { isolateTempRoot, tempDir, within } from '../support.js';
import { checkNothingLeftAfterEach, isGone, markerPid } from './fault-support.js';

const tempRoot = isolateTempRoot();
checkNothingLeftAfterEach(tempRoot);
const dir = tempDir('udf-faults-load-timeout-');
const markers = path.join(dir, 'markers');
fs.mkdirSync(markers);
const BIGINT = DataTypes.BIGINT();

// Starts a child that would outlive a worker killed alone, then hangs at import.
fs.writeFileSync(path.join(dir, 'hangs_at_import.py'), `import os
import subprocess
import time

child = subprocess.Popen(["sleep", "600"])
with open(os.path.join(${JSON.stringify(markers)}, "import-child"), "w") as f:
    f.write(str(child.pid))
time.sleep(600)


def twice(x):
    return x * 2
`);
fs.writeFileSync(path.join(dir, 'hangs_in_open.py'), `import time
from pyudf import DataTypes, ScalarFunction, udf


class HangsInOpen(ScalarFunction):
    def open(self, function_context):
        time.sleep(600)

    def eval(self, x):
        return x


hangs_in_open = udf(HangsInOpen(), [DataTypes.BIGINT()], DataTypes.BIGINT())
`);

async function failingJob(register: (tEnv: TableEnvironment) => void): Promise<unknown> {
  const tEnv = TableEnvironment.create({ functionLoadTimeoutMs: 1500, udfTimeoutMs: 60_000 });
  try {
    register(tEnv);
    await tEnv.fromElements([[1n]], { x: BIGINT }).select('f(x) AS y').execute().collect();
  } catch (error) {
    return error;
  } finally {
    await tEnv.close();
  }
  throw new Error('the job did not fail');
}

test('a module whose import hangs: UDF_TIMEOUT naming the import, the worker and its child killed', async () => {
  const error = await failingJob((tEnv) => {
    tEnv.addPythonFile(path.join(dir, 'hangs_at_import.py'));
    tEnv.registerFunction('f', udf('hangs_at_import.twice', [BIGINT], BIGINT));
  });
  expect(error).toBeInstanceOf(UdfError);
  const e = error as UdfError;
  expect(e.code).toBe('UDF_TIMEOUT');
  expect(e.functionName).toBe('f');
  expect(e.phase).toBe('load');
  expect(e.message).toMatch(/import of module 'hangs_at_import' did not finish within 1500 ms; the worker \(pid \d+\) was killed/);
  expect(e.message).toContain('functionLoadTimeoutMs');
  const child = await markerPid(markers, 'import-child');
  expect(await within(5_000, () => isGone(child))).toBe(true);
}, 30_000);

test('an open() that hangs: UDF_TIMEOUT naming open() of the function', async () => {
  const error = await failingJob((tEnv) => {
    tEnv.addPythonFile(path.join(dir, 'hangs_in_open.py'));
    tEnv.registerFunction('f', udf('hangs_in_open.hangs_in_open'));
  });
  expect(error).toBeInstanceOf(UdfError);
  const e = error as UdfError;
  expect(e.code).toBe('UDF_TIMEOUT');
  expect(e.functionName).toBe('f');
  expect(e.phase).toBe('open');
  expect(e.message).toMatch(/open\(\) of function 'f' did not finish within 1500 ms; the worker \(pid \d+\) was killed/);
}, 30_000);

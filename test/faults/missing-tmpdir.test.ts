// A missing or unusable TMPDIR, where the workers' private directory goes, is
// a PyUdfError (IO) naming it, not a plain Error from the file system.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataTypes, PyUdfError, TableEnvironment, udf } from '../../src/index.js';
import { pythonWorkers, recordingLogger, tempDir } from '../support.js';

const dir = tempDir('missing-tmpdir-');
const BIGINT = DataTypes.BIGINT();

test.each([
  ['missing', () => path.join(dir, 'no-such-dir')],
  ['a regular file', () => { const file = path.join(dir, 'a-file'); fs.writeFileSync(file, ''); return file; }],
])('a TMPDIR that is %s: the job fails with IO naming TMPDIR', async (_what, tmpdir) => {
  const root = tmpdir();
  const previous = os.tmpdir;
  const previousEnv = process.env.TMPDIR;
  os.tmpdir = () => root;
  process.env.TMPDIR = root;
  const tEnv = TableEnvironment.create({ logger: recordingLogger() });
  try {
    tEnv.registerFunction('f', udf('lambda x: x', [BIGINT], BIGINT));
    const error = await tEnv.fromElements([[1n]], { x: BIGINT }).select('f(x)').execute().collect().then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(PyUdfError);
    expect((error as PyUdfError).code).toBe('IO');
    expect((error as Error).message).toContain(`cannot make the workers' private directory in ${root} (TMPDIR)`);
  } finally {
    await tEnv.close();
    os.tmpdir = previous;
    if (previousEnv === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previousEnv;
  }
  expect(pythonWorkers()).toEqual([]);
});

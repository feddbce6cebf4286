// Choosing the Python interpreter: the pythonExecutable option, setPythonExecutable,
// PYUDF_PYTHON, and what a missing interpreter reports.
import { execFileSync } from 'node:child_process';
import { DataTypes, EnvironmentError, TableEnvironment, udf } from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, recordingLogger } from '../support.js';

const tempRoot = isolateTempRoot();
const MISSING = '/nonexistent/python3';
/** The real interpreter's absolute path (python3 on PATH may be a shim). */
const REAL_PYTHON = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();

const savedPython = process.env.PYUDF_PYTHON;
afterEach(() => {
  if (savedPython === undefined) delete process.env.PYUDF_PYTHON;
  else process.env.PYUDF_PYTHON = savedPython;
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
});

/** Runs a one-row job through a UDF; resolves to its result. */
async function runJob(tEnv: TableEnvironment): Promise<unknown> {
  try {
    tEnv.registerFunction('twice', udf('lambda x: x * 2', [DataTypes.BIGINT()], DataTypes.BIGINT()));
    const rows = await tEnv.fromElements([[21n]], { x: DataTypes.BIGINT() }).select('twice(x) AS y').execute().collect();
    return rows;
  } finally {
    await tEnv.close();
  }
}

async function expectPythonNotFound(job: Promise<unknown>, command: string): Promise<void> {
  const error = await job.then(() => new Error('expected the job to fail'), (e: unknown) => e);
  expect(error).toBeInstanceOf(EnvironmentError);
  const e = error as EnvironmentError;
  expect(e.code).toBe('PYTHON_NOT_FOUND');
  expect(e.command).toEqual([command]);
  expect(e.exitCode).toBeNull();
  expect(e.message).toContain(`Python interpreter "${command}" not found`);
  // It says how to choose another one.
  expect(e.message).toContain('tEnv.setPythonExecutable(path)');
  expect(e.message).toContain('PYUDF_PYTHON');
}

test('a pythonExecutable that does not exist fails the job with PYTHON_NOT_FOUND', async () => {
  delete process.env.PYUDF_PYTHON;
  await expectPythonNotFound(runJob(TableEnvironment.create({ pythonExecutable: MISSING, logger: recordingLogger() })), MISSING);
});

test('setPythonExecutable to a missing interpreter fails the job with PYTHON_NOT_FOUND', async () => {
  delete process.env.PYUDF_PYTHON;
  const tEnv = TableEnvironment.create({ logger: recordingLogger() });
  tEnv.setPythonExecutable(MISSING);
  await expectPythonNotFound(runJob(tEnv), MISSING);
});

test('a job without Python functions needs no interpreter', async () => {
  const tEnv = TableEnvironment.create({ pythonExecutable: MISSING, logger: recordingLogger() });
  const rows = await tEnv.fromElements([[1n]], { x: DataTypes.BIGINT() }).select('x + 1 AS y').execute().collect();
  await tEnv.close();
  expect(rows).toEqual([{ y: 2n }]);
});

describe('PYUDF_PYTHON', () => {
  test('names the interpreter when no pythonExecutable is given', async () => {
    process.env.PYUDF_PYTHON = MISSING;
    await expectPythonNotFound(runJob(TableEnvironment.create({ logger: recordingLogger() })), MISSING);

    process.env.PYUDF_PYTHON = REAL_PYTHON;
    await expect(runJob(TableEnvironment.create({ logger: recordingLogger() }))).resolves.toEqual([{ y: 42n }]);
  });

  test('gives way to the pythonExecutable option', async () => {
    process.env.PYUDF_PYTHON = MISSING;
    await expect(runJob(TableEnvironment.create({ pythonExecutable: REAL_PYTHON, logger: recordingLogger() })))
      .resolves.toEqual([{ y: 42n }]);
  });
});

test('a program that is not a Python interpreter fails the job with PYTHON_NOT_FOUND, not a parse error', async () => {
  delete process.env.PYUDF_PYTHON;
  const error = await runJob(TableEnvironment.create({ pythonExecutable: '/bin/echo', logger: recordingLogger() }))
    .then(() => new Error('expected the job to fail'), (e: unknown) => e);
  expect(error).toBeInstanceOf(EnvironmentError);
  expect(error).toMatchObject({ code: 'PYTHON_NOT_FOUND', command: ['/bin/echo'] });
  expect((error as Error).message).toContain('did not answer as a Python interpreter');
  expect((error as Error).message).toContain('pythonExecutable option');
});

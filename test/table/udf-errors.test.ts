// Python functions that fail: on one row among many, to load, to open. Each
// failing job leaves no worker, no private directory and no partial sink file.
import fs from 'node:fs';
import path from 'node:path';
import {
  DataTypes, FileSystem, OldCsv, TableEnvironment, UdfError, udf, type PythonFunction,
} from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();
const BIGINT = DataTypes.BIGINT();

const failingPath = path.join(dir, 'failing.py');
fs.writeFileSync(failingPath, `from pyudf import DataTypes, ScalarFunction, udf


def helper(a, b):
    return a // b


@udf(input_types=[DataTypes.BIGINT(), DataTypes.BIGINT()], result_type=DataTypes.BIGINT())
def ratio(a, b):
    return helper(a, b) + 1


class BadInput(ValueError):
    pass


@udf(input_types=[DataTypes.STRING()], result_type=DataTypes.STRING())
def checked(s):
    if s == 'bad':
        raise BadInput('refusing %r' % s)
    return s


class OpensBadly(ScalarFunction):
    def open(self, function_context):
        raise RuntimeError('cannot open: ' + function_context.get_job_parameter('why', '?'))

    def eval(self, x):
        return x


opens_badly = udf(OpensBadly(), [DataTypes.BIGINT()], DataTypes.BIGINT())
`);

const missingPath = path.join(dir, 'needs_missing.py');
fs.writeFileSync(missingPath, `import definitely_not_installed_pkg_xyz

from pyudf import DataTypes, udf

f = udf(lambda x: x, [DataTypes.BIGINT()], DataTypes.BIGINT())
`);

const raisesOnImportPath = path.join(dir, 'raises_on_import.py');
fs.writeFileSync(raisesOnImportPath, `from pyudf import DataTypes, udf

f = udf(lambda x: x, [DataTypes.BIGINT()], DataTypes.BIGINT())
SETTINGS = {}
LIMIT = SETTINGS['limit']
`);

const N = 5000;
const BAD_ROW = 3456;
const outDir = path.join(dir, 'out');
const output = path.join(outDir, 'result.csv');

/** Runs `select` over the rows (a, b) into a CSV sink; returns the job's error. */
async function failingJob(
  functions: Record<string, PythonFunction>,
  build: (tEnv: TableEnvironment) => void,
  options: { parallelism?: number; files?: string[]; jobParameters?: Record<string, string>; bundleSize?: number } = {},
): Promise<unknown> {
  const tEnv = TableEnvironment.create({ parallelism: options.parallelism ?? 1, bundleSize: options.bundleSize ?? 500, jobParameters: options.jobParameters });
  for (const file of options.files ?? [failingPath]) tEnv.addPythonFile(file);
  for (const [name, fn] of Object.entries(functions)) tEnv.registerFunction(name, fn);
  tEnv.connect(new FileSystem().path(output))
    .withFormat(new OldCsv().field('r', BIGINT))
    .createTemporaryTable('sink');
  let error: unknown;
  try {
    build(tEnv);
    await tEnv.execute('failing job');
  } catch (e) {
    error = e;
  } finally {
    await tEnv.close();
  }
  expect(error).toBeDefined();
  // Nothing is left behind.
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
  expect(fs.existsSync(output)).toBe(false);
  if (fs.existsSync(outDir)) expect(fs.readdirSync(outDir)).toEqual([]);
  return error;
}

const rows = Array.from({ length: N }, (_, i) => [BigInt(i), i === BAD_ROW ? 0n : 7n]);
const schema = { a: BIGINT, b: BIGINT };

describe('a UDF that raises on one row', () => {
  test.each([1, 2])('ZeroDivisionError on one row of many: UDF_FAILED with the row, the user\'s file and line (parallelism %s)', async (parallelism) => {
    const error = await failingJob({ ratio: udf('failing.ratio') }, (tEnv) => {
      tEnv.fromElements(rows, schema).select('ratio(a, b) AS r').insertInto('sink');
    }, { parallelism });
    expect(error).toBeInstanceOf(UdfError);
    const e = error as UdfError;
    expect(e.code).toBe('UDF_FAILED');
    expect(e.functionName).toBe('ratio');
    expect(e.phase).toBe('eval');
    expect(e.pythonType).toBe('ZeroDivisionError');
    expect(e.pythonMessage).toBe('integer division or modulo by zero');
    expect(e.row).toEqual([BigInt(BAD_ROW), 0n]);
    expect(e.sourceLocation).toBe(`${failingPath}:5`);
    expect(e.pythonTraceback).toContain(`File "${failingPath}", line 10, in ratio`);
    expect(e.pythonTraceback).toContain(`File "${failingPath}", line 5, in helper`);
    expect(e.pythonTraceback).toContain('return a // b');
    expect(e.pythonTraceback).toContain('ZeroDivisionError: integer division or modulo by zero');
    expect(e.pythonTraceback).not.toContain('pyudf/worker');
    expect(e.message).toContain(`ratio(${BAD_ROW}n, 0n)`);
    expect(e.message).toContain(`${failingPath}:5`);
  });

  test('in a where clause, from a lambda: the location is the lambda', async () => {
    const error = await failingJob({ inv: udf('lambda a, b: 100 // b > 1', [BIGINT, BIGINT], DataTypes.BOOLEAN()) }, (tEnv) => {
      tEnv.fromElements(rows, schema).where('inv(a, b)').select('a AS r').insertInto('sink');
    });
    expect(error).toBeInstanceOf(UdfError);
    const e = error as UdfError;
    expect(e.code).toBe('UDF_FAILED');
    expect(e.functionName).toBe('inv');
    expect(e.pythonType).toBe('ZeroDivisionError');
    expect(e.row).toEqual([BigInt(BAD_ROW), 0n]);
    expect(e.sourceLocation).toBe('<udf inv>:1');
    expect(e.pythonTraceback).toContain('File "<udf inv>", line 1, in <lambda>');
  });

  test("a user's own exception class carries its qualified name", async () => {
    const raised = await failingJob({ checked: udf('failing.checked'), len_: udf('lambda s: len(s)', [DataTypes.STRING()], BIGINT) }, (tEnv) => {
      tEnv.fromElements([['ok'], ['fine'], ['bad'], ['ok']], { s: DataTypes.STRING() })
        .select('len_(checked(s)) AS r').insertInto('sink');
    });
    expect(raised).toBeInstanceOf(UdfError);
    const e = raised as UdfError;
    expect(e.code).toBe('UDF_FAILED');
    expect(e.functionName).toBe('checked');
    expect(e.pythonType).toBe('failing.BadInput');
    expect(e.pythonMessage).toBe("refusing 'bad'");
    expect(e.row).toEqual(['bad']);
    expect(e.sourceLocation).toBe(`${failingPath}:20`);
  });
});

describe('functions that fail to load', () => {
  test('a syntax error in a lambda: UDF_LOAD_FAILED from execute, before any data flows', async () => {
    const error = await failingJob({ broken: udf('lambda x: x +', [BIGINT], BIGINT) }, (tEnv) => {
      // The source file does not exist: reading it would fail with IO, so the load error proves no data flowed.
      tEnv.connect(new FileSystem().path(path.join(dir, 'never-read.csv')))
        .withFormat(new OldCsv().field('x', BIGINT)).createTemporaryTable('src');
      tEnv.fromPath('src').select('broken(x) AS r').insertInto('sink');
    });
    expect(error).toBeInstanceOf(UdfError);
    const e = error as UdfError;
    expect(e.code).toBe('UDF_LOAD_FAILED');
    expect(e.functionName).toBe('broken');
    expect(e.phase).toBe('load');
    expect(e.pythonType).toBe('SyntaxError');
    expect(e.sourceLocation).toBe('<udf broken>:1');
    expect(e.pythonTraceback).toContain('lambda x: x +');
    expect(e.row).toBeUndefined();
  });

  test('a module that imports a missing package: UDF_LOAD_FAILED with ModuleNotFoundError', async () => {
    const error = await failingJob({ f: udf('needs_missing.f') }, (tEnv) => {
      tEnv.fromElements([[1n]], { x: BIGINT }).select('f(x) AS r').insertInto('sink');
    }, { files: [missingPath] });
    expect(error).toBeInstanceOf(UdfError);
    const e = error as UdfError;
    expect(e.code).toBe('UDF_LOAD_FAILED');
    expect(e.functionName).toBe('f');
    expect(e.phase).toBe('load');
    expect(e.pythonType).toBe('ModuleNotFoundError');
    expect(e.pythonMessage).toBe("No module named 'definitely_not_installed_pkg_xyz'");
    expect(e.sourceLocation).toBe(`${missingPath}:1`);
    expect(e.pythonTraceback).toContain(`File "${missingPath}", line 1`);
  });

  test('a module that raises while it is imported', async () => {
    const error = await failingJob({ f: udf('raises_on_import.f') }, (tEnv) => {
      tEnv.fromElements([[1n]], { x: BIGINT }).select('f(x) AS r').insertInto('sink');
    }, { files: [raisesOnImportPath], parallelism: 2 });
    expect(error).toBeInstanceOf(UdfError);
    const e = error as UdfError;
    expect(e.code).toBe('UDF_LOAD_FAILED');
    expect(e.pythonType).toBe('KeyError');
    expect(e.sourceLocation).toBe(`${raisesOnImportPath}:5`);
  });

  test('a name the module does not define', async () => {
    const error = await failingJob({ f: udf('failing.no_such_function') }, (tEnv) => {
      tEnv.fromElements([[1n]], { x: BIGINT }).select('f(x) AS r').insertInto('sink');
    });
    expect(error).toBeInstanceOf(UdfError);
    const e = error as UdfError;
    expect(e.code).toBe('UDF_LOAD_FAILED');
    expect(e.pythonType).toBe('AttributeError');
    expect(e.pythonMessage).toContain("'no_such_function'");
  });

  test('open() that raises: UDF_LOAD_FAILED in phase open', async () => {
    const error = await failingJob({ ob: udf('failing.opens_badly') }, (tEnv) => {
      tEnv.fromElements([[1n]], { x: BIGINT }).select('ob(x) AS r').insertInto('sink');
    }, { jobParameters: { why: 'no database' } });
    expect(error).toBeInstanceOf(UdfError);
    const e = error as UdfError;
    expect(e.code).toBe('UDF_LOAD_FAILED');
    expect(e.phase).toBe('open');
    expect(e.functionName).toBe('ob');
    expect(e.pythonType).toBe('RuntimeError');
    expect(e.pythonMessage).toBe('cannot open: no database');
    expect(e.sourceLocation).toBe(`${failingPath}:26`);
  });
});

test('a row that kills its worker every time: UDF_CRASHED naming the function, the row and the exit code', async () => {
  const error = await failingJob({ die: udf("lambda a, b: __import__('os')._exit(3) if a == 777 else a", [BIGINT, BIGINT], BIGINT) }, (tEnv) => {
    tEnv.fromElements(rows, schema).select('die(a, b) AS r').insertInto('sink');
  }, { parallelism: 2, bundleSize: 100 }); // each halving of the batch down to the row costs a worker
  expect(error).toBeInstanceOf(UdfError);
  const e = error as UdfError;
  expect(e.code).toBe('UDF_CRASHED');
  expect(e.functionName).toBe('die');
  expect(e.row?.[0]).toBe(777n);
  expect(e.message).toContain('exit code 3');
  expect(e.message).toContain('killed its worker 4 time(s)');
});

test('after failed jobs, the same TableEnvironment runs a good job', async () => {
  const tEnv = TableEnvironment.create();
  try {
    tEnv.addPythonFile(failingPath);
    tEnv.registerFunction('ratio', udf('failing.ratio'));
    const bad = await tEnv.fromElements([[1n, 0n]], schema).select('ratio(a, b) AS r').execute().collect().catch((e: unknown) => e);
    expect((bad as UdfError).code).toBe('UDF_FAILED');
    expect(await tEnv.fromElements([[14n, 7n]], schema).select('ratio(a, b) AS r').execute().collect()).toEqual([{ r: 3n }]);
  } finally {
    await tEnv.close();
  }
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
});

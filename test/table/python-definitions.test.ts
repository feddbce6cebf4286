// The five PyFlink ways of defining a Python scalar function, shipped in a real
// module with addPythonFile and run in real workers; plus packages, lambdas
// declared only in TypeScript, and TS/Python signature mismatches.
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, PyUdfError, TableEnvironment, UdfError, udf } from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();
const BIGINT = DataTypes.BIGINT();

const MODULE = `import functools

from pyudf import DataTypes, ScalarFunction, udf


class Add(ScalarFunction):
    def open(self, function_context):
        self.offset = int(function_context.get_job_parameter('offset', '0'))
        self.marker = function_context.get_job_parameter('close_marker', None)
        self.calls = 0

    def eval(self, i, j):
        self.calls += 1
        return i + j + self.offset

    def close(self):
        if self.marker:
            with open(self.marker, 'w') as f:
                f.write('closed after %d call(s), offset %d' % (self.calls, self.offset))


# 1. a ScalarFunction subclass
add = udf(Add(), [DataTypes.BIGINT(), DataTypes.BIGINT()], DataTypes.BIGINT())


# 2. the decorator
@udf(input_types=[DataTypes.BIGINT(), DataTypes.BIGINT()], result_type=DataTypes.BIGINT())
def add_decorated(i, j):
    return i + j


# 3. a lambda
add_lambda = udf(lambda i, j: i + j, [DataTypes.BIGINT(), DataTypes.BIGINT()], DataTypes.BIGINT())


# 4. a callable object
class CallableAdd(object):
    def __call__(self, i, j):
        return i + j


add_callable = udf(CallableAdd(), [DataTypes.BIGINT(), DataTypes.BIGINT()], DataTypes.BIGINT())


# 5. functools.partial
def partial_add(i, j, k):
    return i + j + k


add_partial = udf(functools.partial(partial_add, k=1), [DataTypes.BIGINT(), DataTypes.BIGINT()], DataTypes.BIGINT())


# types other than BIGINT, declared in Python only
@udf(input_types=[DataTypes.STRING(), DataTypes.INT()], result_type=DataTypes.STRING())
def repeat(s, n):
    return None if s is None or n is None else s * n
`;

const modulePath = path.join(dir, 'my_udfs.py');
fs.writeFileSync(modulePath, MODULE);

// A package directory: my_pkg/__init__.py imports its own submodule.
const packageDir = path.join(dir, 'my_pkg');
fs.mkdirSync(packageDir);
fs.writeFileSync(path.join(packageDir, '__init__.py'), 'from my_pkg.scaling import times_ten\n');
fs.writeFileSync(path.join(packageDir, 'scaling.py'), `from pyudf import DataTypes, udf


@udf(input_types=[DataTypes.BIGINT()], result_type=DataTypes.BIGINT())
def times_ten(x):
    return x * 10
`);

const ROWS = [[1n, 2n], [10n, 20n], [-5n, 5n], [2n ** 40n, 1n]];
const SCHEMA = { a: BIGINT, b: BIGINT };

describe('the five definition forms, shipped with addPythonFile', () => {
  let tEnv: TableEnvironment;
  const marker = path.join(dir, 'close-marker.txt');

  beforeAll(() => {
    tEnv = TableEnvironment.create({ parallelism: 1 });
    tEnv.addPythonFile(modulePath);
    tEnv.addPythonFile(packageDir);
    tEnv.setJobParameter('offset', '100');
    tEnv.setJobParameter('close_marker', marker);
    tEnv.registerFunction('add', udf('my_udfs.add'));
    tEnv.registerFunction('add_decorated', udf('my_udfs.add_decorated'));
    tEnv.registerFunction('add_lambda', udf('my_udfs.add_lambda'));
    tEnv.registerFunction('add_callable', udf('my_udfs.add_callable'));
    tEnv.registerFunction('add_partial', udf('my_udfs.add_partial'));
    tEnv.registerFunction('repeat', udf('my_udfs.repeat'));
    tEnv.registerFunction('times_ten', udf('my_pkg.times_ten'));
    tEnv.registerFunction('ts_add', udf('lambda i, j: i + j', [BIGINT, BIGINT], BIGINT));
  });

  afterAll(async () => {
    await tEnv.close();
    expect(pythonWorkers()).toEqual([]);
    expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
  });

  test('ScalarFunction subclass: open() reads the job parameter, eval runs per row, close() runs at the end', async () => {
    fs.rmSync(marker, { force: true });
    const rows = await tEnv.fromElements(ROWS, SCHEMA).select('add(a, b) AS s').execute().collect();
    expect(rows).toEqual([{ s: 103n }, { s: 130n }, { s: 100n }, { s: 2n ** 40n + 101n }]);
    expect(fs.readFileSync(marker, 'utf8')).toBe('closed after 4 call(s), offset 100');
    // close() ran at the job's end; the worker itself stays, idle, for the next job.
    expect(pythonWorkers()).toHaveLength(1);
  });

  test('@udf decorator', async () => {
    const rows = await tEnv.fromElements(ROWS, SCHEMA).select('add_decorated(a, b) AS s').execute().collect();
    expect(rows).toEqual([{ s: 3n }, { s: 30n }, { s: 0n }, { s: 2n ** 40n + 1n }]);
  });

  test('lambda', async () => {
    const rows = await tEnv.fromElements(ROWS, SCHEMA).select('add_lambda(a, b) AS s').execute().collect();
    expect(rows).toEqual([{ s: 3n }, { s: 30n }, { s: 0n }, { s: 2n ** 40n + 1n }]);
  });

  test('callable object', async () => {
    const rows = await tEnv.fromElements(ROWS, SCHEMA).select('add_callable(a, b) AS s').execute().collect();
    expect(rows).toEqual([{ s: 3n }, { s: 30n }, { s: 0n }, { s: 2n ** 40n + 1n }]);
  });

  test('functools.partial', async () => {
    const rows = await tEnv.fromElements(ROWS, SCHEMA).select('add_partial(a, b) AS s').execute().collect();
    expect(rows).toEqual([{ s: 4n }, { s: 31n }, { s: 1n }, { s: 2n ** 40n + 2n }]);
  });

  test('all five forms in one job, in one worker', async () => {
    fs.rmSync(marker, { force: true });
    const rows = await tEnv.fromElements([[1n, 2n]], SCHEMA)
      .select('add(a, b) AS f1, add_decorated(a, b) AS f2, add_lambda(a, b) AS f3, add_callable(a, b) AS f4, add_partial(a, b) AS f5')
      .execute().collect();
    expect(rows).toEqual([{ f1: 103n, f2: 3n, f3: 3n, f4: 3n, f5: 4n }]);
    expect(fs.readFileSync(marker, 'utf8')).toBe('closed after 1 call(s), offset 100');
  });

  test('types other than BIGINT come from the Python declaration, NULLs included', async () => {
    const rows = await tEnv.fromElements([['ab', 3], ['x', 0], [null, 2], ['é', null]], { s: DataTypes.STRING(), n: DataTypes.INT() })
      .select('repeat(s, n) AS r, repeat(s, 2) AS r2').execute().collect();
    expect(rows).toEqual([
      { r: 'ababab', r2: 'abab' },
      { r: '', r2: 'xx' },
      { r: null, r2: null },
      { r: null, r2: 'éé' },
    ]);
  });

  test('a package directory shipped with addPythonFile', async () => {
    const rows = await tEnv.fromElements(ROWS, SCHEMA).select('times_ten(add_decorated(a, b)) AS t').execute().collect();
    expect(rows).toEqual([{ t: 30n }, { t: 300n }, { t: 0n }, { t: (2n ** 40n + 1n) * 10n }]);
  });

  test('a ScalarFunction class referenced by name is instantiated, with types from TypeScript', async () => {
    const other = TableEnvironment.create();
    try {
      other.addPythonFile(modulePath);
      other.registerFunction('add_class', udf('my_udfs.Add', [BIGINT, BIGINT], BIGINT));
      const rows = await other.fromElements(ROWS, SCHEMA).select('add_class(a, b) AS s').execute().collect();
      expect(rows).toEqual([{ s: 3n }, { s: 30n }, { s: 0n }, { s: 2n ** 40n + 1n }]); // no job parameter: offset 0
    } finally {
      await other.close();
    }
  });

  test('a lambda declared only in TypeScript', async () => {
    const rows = await tEnv.fromElements(ROWS, SCHEMA).select('ts_add(a, b) AS s').execute().collect();
    expect(rows).toEqual([{ s: 3n }, { s: 30n }, { s: 0n }, { s: 2n ** 40n + 1n }]);
  });

  test('the Python-declared types type the expression: an argument that does not fit is refused before any data flows', async () => {
    const table = tEnv.fromElements([['x', 1n]], { s: DataTypes.STRING(), n: BIGINT }).select('add(s, n) AS bad');
    const error = await table.execute().collect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PyUdfError);
    expect((error as PyUdfError).code).toBe('EXPRESSION_TYPE');
    expect((error as Error).message).toContain('argument 1 of "add" must be BIGINT, got STRING');
    expect(pythonWorkers()).toEqual([]);
    expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
  });
});

describe('TypeScript and Python declarations that disagree', () => {
  async function runMismatch(fn: ReturnType<typeof udf>): Promise<UdfError> {
    const tEnv = TableEnvironment.create();
    try {
      tEnv.addPythonFile(modulePath);
      tEnv.registerFunction('f', fn);
      const error = await tEnv.fromElements([[1n, 2n]], SCHEMA).select('f(a, b)').execute().collect()
        .then(() => { throw new Error('expected the job to fail'); }, (e: unknown) => e);
      expect(error).toBeInstanceOf(UdfError);
      return error as UdfError;
    } finally {
      await tEnv.close();
      expect(pythonWorkers()).toEqual([]);
      expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
    }
  }

  test('input types differ -> UDF_SIGNATURE_MISMATCH', async () => {
    const error = await runMismatch(udf('my_udfs.add_decorated', [DataTypes.INT(), DataTypes.INT()], BIGINT));
    expect(error.code).toBe('UDF_SIGNATURE_MISMATCH');
    expect(error.functionName).toBe('f');
    expect(error.phase).toBe('load');
    expect(error.pythonMessage).toContain('TypeScript declares [INT, INT], Python declares [BIGINT, BIGINT]');
    expect(error.sourceLocation).toBe(`${modulePath}:27`);
  });

  test('result types differ -> UDF_SIGNATURE_MISMATCH', async () => {
    const error = await runMismatch(udf('my_udfs.add_lambda', [BIGINT, BIGINT], DataTypes.STRING()));
    expect(error.code).toBe('UDF_SIGNATURE_MISMATCH');
    expect(error.functionName).toBe('f');
    expect(error.pythonMessage).toContain('TypeScript declares STRING, Python declares BIGINT');
  });

  test('arity differs from the callable -> UDF_SIGNATURE_MISMATCH', async () => {
    const error = await runMismatch(udf('lambda i: i', [BIGINT, BIGINT], BIGINT));
    expect(error.code).toBe('UDF_SIGNATURE_MISMATCH');
    expect(error.functionName).toBe('f');
    expect(error.pythonMessage).toContain('cannot take 2 argument(s)');
  });

  test('no result type on either side -> UDF_SIGNATURE_MISMATCH', async () => {
    const error = await runMismatch(udf('lambda i, j: i + j'));
    expect(error.code).toBe('UDF_SIGNATURE_MISMATCH');
    expect(error.pythonMessage).toContain('has no result type');
  });
});

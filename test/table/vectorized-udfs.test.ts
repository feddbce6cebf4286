// Vectorized functions (func_type="pandas") in real workers: every way to
// declare one, NULLs both ways, empty input, and the ways one can fail —
// raising, a Series of the wrong length or dtype — with each error policy.
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, TableEnvironment, UdfError, udf, type DeadLetter, type ErrorPolicy } from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();
const DOUBLE = DataTypes.DOUBLE();
const BIGINT = DataTypes.BIGINT();
const STRING = DataTypes.STRING();

const modulePath = path.join(dir, 'vectorized_udfs.py');
fs.writeFileSync(modulePath, `import pandas as pd
from pyudf import udf, ScalarFunction, DataTypes


@udf(result_type=DataTypes.DOUBLE(), func_type="pandas")
def vadd(a, b):
    assert isinstance(a, pd.Series) and isinstance(b, pd.Series)
    return a + b


def scaled(x, factor):
    return x * factor


vscaled = udf(scaled, [DataTypes.BIGINT(), DataTypes.BIGINT()], DataTypes.BIGINT(), func_type="pandas")


class Label(ScalarFunction):
    def open(self, function_context):
        self.prefix = function_context.get_job_parameter("prefix", "?")

    def eval(self, s, n):
        # One call per batch: the batch sizes are what the function saw.
        return self.prefix + s.str.upper() + ":" + n.astype(str) + "/" + str(len(s))


label = udf(Label(), [DataTypes.STRING(), DataTypes.BIGINT()], DataTypes.STRING(), func_type="pandas")


@udf(result_type=DataTypes.BIGINT(), func_type="pandas")
def fails_on_batch_with_13(x):
    if (x == 13).any():
        raise ValueError("13 in this batch")
    return x


@udf(result_type=DataTypes.BIGINT(), func_type="pandas")
def drops_a_row(x):
    return x.iloc[1:]


@udf(result_type=DataTypes.BIGINT(), func_type="pandas")
def halves(x):
    return x / 2


@udf(result_type=DataTypes.BIGINT(), func_type="pandas")
def evens_or_null(x):
    return x.astype("Int64").where(x % 2 == 0)
`);

function environment(bundleSize = 4096, onUdfError?: ErrorPolicy): TableEnvironment {
  const tEnv = TableEnvironment.create({ bundleSize, onUdfError, deadLetterPath: path.join(dir, 'dead.jsonl') });
  tEnv.addPythonFile(modulePath);
  return tEnv;
}

function expectNothingLeft(): void {
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
}

describe('declaring and calling vectorized functions', () => {
  const tEnv = environment(3);
  beforeAll(() => {
    tEnv.setJobParameter('prefix', '#');
    tEnv.registerFunction('vadd', udf('vectorized_udfs.vadd', [DOUBLE, DOUBLE]));
    tEnv.registerFunction('vscaled', udf('vectorized_udfs.vscaled'));
    tEnv.registerFunction('label', udf('vectorized_udfs.label'));
    tEnv.registerFunction('ts_vadd', udf('lambda a, b: a * 10 + b', [DOUBLE, DOUBLE], DOUBLE, { funcType: 'pandas' }));
    tEnv.registerFunction('ts_label', udf('vectorized_udfs.Label', [STRING, BIGINT], STRING, { funcType: 'pandas' }));
  });
  afterAll(async () => {
    await tEnv.close();
    expectNothingLeft();
  });

  test('the decorator: a Series per argument, NULLs as NaN in and out', async () => {
    const rows = await tEnv.fromElements([[1.5, 2], [null, 3], [4, null], [0.25, 0.5]], { a: DOUBLE, b: DOUBLE })
      .select('vadd(a, b) AS s').execute().collect();
    expect(rows).toEqual([{ s: 3.5 }, { s: null }, { s: null }, { s: 0.75 }]);
  });

  test('udf(f, input_types, result_type, func_type="pandas"): integers with NULLs stay exact (pandas Int64)', async () => {
    const big = 2n ** 60n + 1n;
    const rows = await tEnv.fromElements([[big, 1n], [null, 2n], [3n, null], [-4n, 5n]], { x: BIGINT, f: BIGINT })
      .select('vscaled(x, f) AS y').execute().collect();
    expect(rows).toEqual([{ y: big }, { y: null }, { y: null }, { y: -20n }]);
  });

  test('a ScalarFunction subclass: open() reads job parameters, eval gets whole batches', async () => {
    const rows = await tEnv.fromElements([['ab', 1n], ['c', 2n], [null, 3n], ['d', 4n]], { s: STRING, n: BIGINT })
      .select('label(s, n) AS l').execute().collect();
    // bundleSize 3: a batch of 3 rows, then one of 1; a NULL string stays NULL.
    expect(rows).toEqual([{ l: '#AB:1/3' }, { l: '#C:2/3' }, { l: null }, { l: '#D:4/1' }]);
  });

  test('declared in TypeScript: a lambda, and a ScalarFunction class by name', async () => {
    const rows = await tEnv.fromElements([[1, 2, 'x', 7n]], { a: DOUBLE, b: DOUBLE, s: STRING, n: BIGINT })
      .select('ts_vadd(a, b) AS v, ts_label(s, n) AS l').execute().collect();
    expect(rows).toEqual([{ v: 12, l: '#X:7/1' }]);
  });

  test('empty input: an empty table, and a batch the filter emptied, are both fine', async () => {
    const none = await tEnv.fromElements([], { a: DOUBLE, b: DOUBLE }).select('vadd(a, b) AS s').execute().collect();
    expect(none).toEqual([]);
    const filtered = await tEnv.fromElements([[1, 2], [3, 4], [5, 6]], { a: DOUBLE, b: DOUBLE })
      .where('a > 100').select('vadd(a, b) AS s').execute().collect();
    expect(filtered).toEqual([]);
  });

  test('the whole batch reaches the function: 10,000 rows in batches of 4096', async () => {
    const other = environment();
    try {
      other.registerFunction('vadd', udf('vectorized_udfs.vadd', [DOUBLE, DOUBLE]));
      const n = 10_000;
      const a = Float64Array.from({ length: n }, (_, i) => i);
      const b = Float64Array.from({ length: n }, (_, i) => i / 2);
      const result = other.fromColumns({ a, b }, { a: DOUBLE, b: DOUBLE }).select('vadd(a, b) AS s').execute();
      const rows = await result.collect();
      expect(rows.map((r) => r.s)).toEqual(Array.from({ length: n }, (_, i) => i * 1.5));
      expect(result.metrics?.vadd).toMatchObject({ rowsIn: n, rowsOut: n, rowsFailed: 0, batches: 3 });
    } finally {
      await other.close();
    }
    expect(pythonWorkers()).toHaveLength(1); // tEnv's, idle
  });
});

test('a job whose functions are all vectorized gets batches of 65,536 rows unless bundleSize is set', async () => {
  const tEnv = TableEnvironment.create();
  try {
    tEnv.addPythonFile(modulePath);
    tEnv.registerFunction('vadd', udf('vectorized_udfs.vadd', [DOUBLE, DOUBLE]));
    tEnv.registerFunction('plus', udf('lambda a, b: a + b', [DOUBLE, DOUBLE], DOUBLE));
    const n = 100_000;
    const columns = { a: new Float64Array(n), b: new Float64Array(n) };
    const vectorizedOnly = tEnv.fromColumns(columns, { a: DOUBLE, b: DOUBLE }).select('vadd(a, b) AS s').execute();
    expect(await vectorizedOnly.count()).toBe(n);
    expect(vectorizedOnly.metrics?.vadd?.batches).toBe(2);
    const mixed = tEnv.fromColumns(columns, { a: DOUBLE, b: DOUBLE }).select('vadd(a, b) AS s, plus(a, b) AS p').execute();
    expect(await mixed.count()).toBe(n);
    expect(mixed.metrics?.vadd?.batches).toBe(Math.ceil(n / 4096));
  } finally {
    await tEnv.close();
  }
  expectNothingLeft();
});

describe('vectorized functions that fail', () => {
  const ROWS = Array.from({ length: 20 }, (_, i) => [BigInt(i)]);
  const SCHEMA = { x: BIGINT };

  async function run(fn: string, onUdfError?: ErrorPolicy) {
    const tEnv = environment(5, onUdfError);
    try {
      tEnv.registerFunction('f', udf(`vectorized_udfs.${fn}`, [BIGINT]));
      const result = tEnv.fromElements(ROWS, SCHEMA).select('x, f(x) AS y').execute();
      const rows = await result.collect();
      return { rows, result };
    } finally {
      await tEnv.close();
      expectNothingLeft();
    }
  }

  const failure = (fn: string) => run(fn).then(() => { throw new Error('expected the job to fail'); }, (e: unknown) => e as UdfError);

  test('a raising function fails the job with UDF_FAILED, its traceback, and the batch it failed on', async () => {
    const error = await failure('fails_on_batch_with_13');
    expect(error).toBeInstanceOf(UdfError);
    expect(error.code).toBe('UDF_FAILED');
    expect(error.pythonType).toBe('ValueError');
    expect(error.pythonMessage).toBe('13 in this batch');
    expect(error.pythonTraceback).toContain('raise ValueError("13 in this batch")');
    expect(error.sourceLocation).toBe(`${modulePath}:33`);
    expect(error.row).toBeUndefined();
    expect(error.message).toContain('call: f on a batch of 5 row(s)');
  });

  test('under "null", "skip" and "deadLetter" every row of the failing batch is the policy\'s', async () => {
    const nulled = await run('fails_on_batch_with_13', 'null');
    expect(nulled.rows.map((r) => r.y)).toEqual(ROWS.map(([x]) => (x! >= 10n && x! < 15n ? null : x)));
    expect(nulled.result.udfErrors).toEqual({ f: { policy: 'null', rows: 5 } });
    expect(nulled.result.metrics?.f).toMatchObject({ rowsIn: 20, rowsOut: 15, rowsFailed: 5, batches: 4 });

    const skipped = await run('fails_on_batch_with_13', 'skip');
    expect(skipped.rows.map((r) => r.x)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 15n, 16n, 17n, 18n, 19n]);

    const deadLetters = path.join(dir, 'dead.jsonl');
    fs.rmSync(deadLetters, { force: true });
    const lettered = await run('fails_on_batch_with_13', 'deadLetter');
    expect(lettered.rows).toHaveLength(15);
    const letters = fs.readFileSync(deadLetters, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as DeadLetter);
    expect(letters.map((l) => l.arguments)).toEqual([['10'], ['11'], ['12'], ['13'], ['14']]);
    expect(new Set(letters.map((l) => `${l.function} ${l.exceptionType}: ${l.message}`))).toEqual(new Set(['f ValueError: 13 in this batch']));
  });

  test('a Series of the wrong length is UDF_RESULT_TYPE naming both lengths, whatever the policy', async () => {
    for (const policy of [undefined, 'null'] as const) {
      const error = await run('drops_a_row', policy).then(() => null, (e: unknown) => e as UdfError);
      expect(error?.code).toBe('UDF_RESULT_TYPE');
      expect(error?.pythonMessage).toBe('returned a Series of 4 value(s) for a batch of 5 row(s); a vectorized function returns one value per row');
    }
  });

  test('a float Series for BIGINT is UDF_RESULT_TYPE: no silent rounding', async () => {
    const error = await failure('halves');
    expect(error.code).toBe('UDF_RESULT_TYPE');
    expect(error.pythonMessage).toContain('returned a Series of dtype float64, which is not a BIGINT');
    expect(error.pythonMessage).toContain("convert explicitly, e.g. .round().astype('Int64')");
  });

  test('NULLs out of an integer function come as pandas\' nullable Int64', async () => {
    const { rows } = await run('evens_or_null');
    expect(rows.map((r) => r.y)).toEqual(ROWS.map(([x]) => (x! % 2n === 0n ? x : null)));
  });
});

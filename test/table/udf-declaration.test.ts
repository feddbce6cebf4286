// udf()'s options-object form, and errors that JSON.stringify can write.
import { DataTypes, PyUdfError, TableEnvironment, UdfError, udf } from '../../src/index.js';
import { closedAfterAll, isolateTempRoot } from '../support.js';

const tempRoot = isolateTempRoot();
const BIGINT = DataTypes.BIGINT();

test('the options object declares the same function as the positional form', () => {
  const positional = udf('lambda a: a', [BIGINT], BIGINT, { concurrency: 8, onError: 'null' });
  const declared = udf('lambda a: a', { inputTypes: [BIGINT], resultType: BIGINT, concurrency: 8, onError: 'null' });
  expect(declared).toEqual(positional);
  expect(udf('m.f', {})).toEqual(udf('m.f'));
});

test('the options object is checked as the positional options are', () => {
  expect(() => udf('m.f', { concurrency: 0 })).toThrow(/concurrency must be an integer from 1/);
  expect(() => udf('m.f', { inputTypes: [42 as never] })).toThrow(/inputTypes\[0\] is not a DataType/);
  expect(() => udf('m.f', { resultType: 'BIGINT' as never })).toThrow(/resultType is not a DataType/);
  const after = () => (udf as (...args: unknown[]) => unknown)('m.f', { concurrency: 2 }, BIGINT);
  expect(after).toThrow(PyUdfError);
  expect(after).toThrow(/pass the result type and options in it/);
});

describe('a job with a function declared by an options object', () => {
  const tEnv = closedAfterAll(TableEnvironment.create({ parallelism: 1 }), tempRoot);

  test('runs it, and its failure serializes with JSON.stringify, bigints as strings', async () => {
    tEnv.registerFunction('half', udf('lambda a: a // 2 if a < 10 else 1 // 0', { inputTypes: [BIGINT], resultType: BIGINT }));
    const table = tEnv.fromElements([[4n], [9007199254740993n]], { a: BIGINT }).select('half(a) AS h');
    const error = await table.execute().collect().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(UdfError);
    const json = JSON.parse(JSON.stringify(error));
    expect(json).toEqual(expect.objectContaining({
      name: 'UdfError',
      code: 'UDF_FAILED',
      message: (error as Error).message,
      functionName: 'half',
      pythonType: 'ZeroDivisionError',
      row: ['9007199254740993'],
    }));
    const rows = await tEnv.fromElements([[4n]], { a: BIGINT }).select('half(a) AS h').execute().collect();
    expect(rows).toEqual([{ h: 2n }]);
  });
});

test('an error with a cause writes the cause\'s message', () => {
  const error = new PyUdfError('IO', 'cannot read x.csv', { cause: new Error('ENOENT: no such file') });
  expect(JSON.parse(JSON.stringify(error))).toEqual({ name: 'PyUdfError', code: 'IO', message: 'cannot read x.csv', cause: 'ENOENT: no such file' });
});

// I/O-bound functions in real workers: `async def` functions run the rows of
// a batch concurrently on the worker's event loop, plain functions with
// io_threads on threads. Concurrency is measured inside Python (calls running
// at once), never by wall time.
import fs from 'node:fs';
import path from 'node:path';
import {
  DataTypes, PyUdfError, TableEnvironment, UdfError, udf, type DeadLetter, type ErrorPolicy, type FuncType, type TableEnvironmentOptions,
} from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();
const BIGINT = DataTypes.BIGINT();

const modulePath = path.join(dir, 'io_udfs.py');
fs.writeFileSync(modulePath, `import asyncio
import threading
import time

from pyudf import udf, ScalarFunction, DataTypes


class Running:
    """Calls of a function running at once, and the most seen: reported as gauges."""

    def __init__(self, function_context):
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        group = function_context.get_metric_group()
        group.gauge("most_running", lambda: self.most)

    def __enter__(self):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *exc):
        with self.lock:
            self.now -= 1


class Fetch(ScalarFunction):
    def open(self, function_context):
        self.running = Running(function_context)

    async def eval(self, x):
        with self.running:
            # Later rows finish first: results must still come in row order.
            await asyncio.sleep(0.01 if x % 2 else 0.02)
        if x == 666:
            raise LookupError("no record %d" % x)
        return x * 3


fetch = udf(Fetch(), [DataTypes.BIGINT()], DataTypes.BIGINT())
fetch_limited = udf(Fetch(), [DataTypes.BIGINT()], DataTypes.BIGINT(), concurrency=5)


@udf(input_types=[DataTypes.BIGINT()], result_type=DataTypes.BIGINT())
async def hangs(x):
    await asyncio.sleep(3600)


class Blocking(ScalarFunction):
    def open(self, function_context):
        self.running = Running(function_context)

    def eval(self, x):
        with self.running:
            time.sleep(0.01)
        if x == 7:
            raise OSError("connection refused for %d" % x)
        return x + 1


blocking = udf(Blocking(), [DataTypes.BIGINT()], DataTypes.BIGINT(), io_threads=16)
`);
const RAISE_LINE = 37; // raise LookupError(...)

const N = 1000;
const column = (n: number) => ({ x: BigInt64Array.from({ length: n }, (_, i) => BigInt(i)) });

function environment(options: TableEnvironmentOptions = {}): TableEnvironment {
  const tEnv = TableEnvironment.create({ deadLetterPath: path.join(dir, 'dead.jsonl'), ...options });
  tEnv.addPythonFile(modulePath);
  tEnv.registerFunction('fetch', udf('io_udfs.fetch'));
  tEnv.registerFunction('fetch_limited', udf('io_udfs.fetch_limited'));
  tEnv.registerFunction('fetch_ts_limited', udf('io_udfs.fetch', null, null, { concurrency: 8 }));
  tEnv.registerFunction('hangs', udf('io_udfs.hangs'));
  tEnv.registerFunction('blocking', udf('io_udfs.blocking'));
  tEnv.registerFunction('ts_sleeper', udf('lambda x: __import__("time").sleep(0.01) or x', [BIGINT], BIGINT, { ioThreads: 10 }));
  return tEnv;
}

async function withEnvironment<T>(options: TableEnvironmentOptions, body: (tEnv: TableEnvironment) => Promise<T>): Promise<T> {
  const tEnv = environment(options);
  try {
    return await body(tEnv);
  } finally {
    await tEnv.close();
    expect(pythonWorkers()).toEqual([]);
    expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
  }
}

test('1,000 rows of an async function sleeping 10 ms run 64 at a time (the default), results in row order', async () => {
  await withEnvironment({ parallelism: 1 }, async (tEnv) => {
    const result = tEnv.fromColumns(column(N), { x: BIGINT }).where('x <> 666').select('fetch(x) AS y').execute();
    const rows = await result.collect();
    expect(rows.map((r) => r.y)).toEqual(Array.from({ length: N }, (_, i) => BigInt(i * 3)).filter((y) => y !== 1998n));
    expect(result.metrics?.fetch?.gauges).toEqual({ most_running: [64] });
    expect(result.metrics?.fetch).toMatchObject({ rowsIn: N - 1, rowsOut: N - 1, batches: 1 });
  });
});

test('concurrency caps calls in flight, declared in Python or in TypeScript', async () => {
  await withEnvironment({}, async (tEnv) => {
    const result = tEnv.fromColumns(column(100), { x: BIGINT }).select('fetch_limited(x) AS a, fetch_ts_limited(x) AS b').execute();
    const rows = await result.collect();
    expect(rows.map((r) => r.a)).toEqual(rows.map((r) => r.b));
    expect(result.metrics?.fetch_limited?.gauges).toEqual({ most_running: [5] });
    expect(result.metrics?.fetch_ts_limited?.gauges).toEqual({ most_running: [8] });
  });
});

test('a raising row fails the job naming that row; its traceback points at the user\'s line', async () => {
  await withEnvironment({}, async (tEnv) => {
    const error = await tEnv.fromColumns(column(N), { x: BIGINT }).select('fetch(x) AS y').execute().collect()
      .then(() => null, (e: unknown) => e as UdfError);
    expect(error).toBeInstanceOf(UdfError);
    expect(error?.code).toBe('UDF_FAILED');
    expect(error?.pythonType).toBe('LookupError');
    expect(error?.pythonMessage).toBe('no record 666');
    expect(error?.row).toEqual([666n]);
    expect(error?.sourceLocation).toBe(`${modulePath}:${RAISE_LINE}`);
  });
});

test.each(['null', 'skip', 'deadLetter'] as ErrorPolicy[])('error policy %s applies to the raising row only', async (policy) => {
  const deadLetters = path.join(dir, 'dead.jsonl');
  fs.rmSync(deadLetters, { force: true });
  await withEnvironment({ onUdfError: policy, bundleSize: 300 }, async (tEnv) => {
    const result = tEnv.fromColumns(column(N), { x: BIGINT }).select('x, fetch(x) AS y').execute();
    const rows = await result.collect();
    const expected = Array.from({ length: N }, (_, i): { x: bigint; y: bigint | null } => ({ x: BigInt(i), y: BigInt(i * 3) }))
      .flatMap((row) => (row.x !== 666n ? [row] : policy === 'null' ? [{ x: 666n, y: null }] : []));
    expect(rows).toEqual(expected);
    expect(result.udfErrors).toEqual({ fetch: { policy, rows: 1 } });
    expect(result.metrics?.fetch).toMatchObject({ rowsIn: N, rowsOut: N - 1, rowsFailed: 1, batches: 4 });
    if (policy === 'deadLetter') {
      const letters = fs.readFileSync(deadLetters, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as DeadLetter);
      expect(letters.map((l) => [l.arguments, l.exceptionType, l.message])).toEqual([[['666'], 'LookupError', 'no record 666']]);
    }
  });
});

test('udfTimeoutMs still bounds a batch: a hanging async function fails with UDF_TIMEOUT and its worker is killed', async () => {
  await withEnvironment({ udfTimeoutMs: 500 }, async (tEnv) => {
    const error = await tEnv.fromColumns(column(10), { x: BIGINT }).select('hangs(x)').execute().collect()
      .then(() => null, (e: unknown) => e as UdfError);
    expect(error?.code).toBe('UDF_TIMEOUT');
    expect(error?.functionName).toBe('hangs');
  });
});

test('io_threads: a blocking function\'s rows run on threads, in order, with error policies', async () => {
  await withEnvironment({ onUdfError: 'null' }, async (tEnv) => {
    const result = tEnv.fromColumns(column(200), { x: BIGINT }).select('blocking(x) AS y, ts_sleeper(x) AS z').execute();
    const rows = await result.collect();
    expect(rows.map((r) => r.y)).toEqual(Array.from({ length: 200 }, (_, i) => (i === 7 ? null : BigInt(i + 1))));
    expect(rows.map((r) => r.z)).toEqual(Array.from({ length: 200 }, (_, i) => BigInt(i)));
    expect(result.metrics?.blocking?.gauges).toEqual({ most_running: [16] });
    expect(result.metrics?.blocking).toMatchObject({ rowsIn: 200, rowsFailed: 1 });
    expect(result.udfErrors).toEqual({ blocking: { policy: 'null', rows: 1 } });
  });
});

test('udf() options are checked where they are given, naming the option and the value', () => {
  const invalid = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(PyUdfError);
      expect((error as PyUdfError).code).toBe('INVALID_ARGUMENT');
      return (error as Error).message;
    }
    throw new Error('expected INVALID_ARGUMENT');
  };
  expect(invalid(() => udf('f', null, null, { concurrency: 0 }))).toBe('udf("f"): concurrency must be an integer from 1 to 1000000, got 0');
  expect(invalid(() => udf('f', null, null, { ioThreads: 2.5 }))).toBe('udf("f"): ioThreads must be an integer from 1 to 1000000, got 2.5');
  expect(invalid(() => udf('f', null, null, { funcType: 'arrow' as FuncType }))).toBe('udf("f"): funcType must be one of general, pandas, got arrow');
});

test('an option that does not fit the function fails the job before any data flows', async () => {
  await withEnvironment({}, async (tEnv) => {
    tEnv.registerFunction('wrong', udf('io_udfs.hangs', null, null, { ioThreads: 4 }));
    const error = await tEnv.fromColumns(column(3), { x: BIGINT }).select('wrong(x)').execute().collect()
      .then(() => null, (e: unknown) => e as UdfError);
    expect(error?.code).toBe('UDF_SIGNATURE_MISMATCH');
    expect(error?.pythonMessage).toBe("function 'wrong': io_threads applies to plain row functions, not to an async function");
  });
});

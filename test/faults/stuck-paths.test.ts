// Paths where a job could wait forever: every one must settle promptly and
// leave no worker behind.
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, TableEnvironment, UdfError, udf } from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, recordingLogger, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();
const BIGINT = DataTypes.BIGINT();

/** Resolves 'settled' when the promise settles within `ms`, else 'stuck' (the job's own promise is left to the afterEach checks). */
function within(promise: Promise<unknown>, ms: number): Promise<'settled' | 'stuck'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(() => 'settled' as const, () => 'settled' as const),
    new Promise<'stuck'>((resolve) => { timer = setTimeout(() => resolve('stuck'), ms); }),
  ]).finally(() => clearTimeout(timer));
}

afterEach(() => {
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
});

test('cancelling a job whose open() is still running kills the loading worker', async () => {
  fs.writeFileSync(path.join(dir, 'slow_open.py'), [
    'import time',
    'from pyudf import ScalarFunction, udf, DataTypes',
    'class Slow(ScalarFunction):',
    '    def open(self, ctx):',
    '        print("opening", flush=True)',
    '        time.sleep(60)',
    '    def eval(self, x):',
    '        return x',
    'slow = udf(Slow(), [DataTypes.BIGINT()], DataTypes.BIGINT())',
  ].join('\n'));
  const logger = recordingLogger();
  const tEnv = TableEnvironment.create({ logger });
  tEnv.addPythonFile(path.join(dir, 'slow_open.py'));
  tEnv.registerFunction('slow', udf('slow_open.slow'));
  const controller = new AbortController();
  const job = tEnv.fromElements([[1n]], { x: BIGINT }).select('slow(x)').execute({ signal: controller.signal }).collect();
  job.catch(() => undefined);
  while (!logger.entries.some((e) => e.message === 'opening')) await new Promise((r) => setTimeout(r, 20));
  controller.abort();
  expect(await within(job, 2_000)).toBe('settled');
  await expect(job).rejects.toMatchObject({ code: 'CLOSED' });
  await tEnv.close();
});

test('breaking out of a result while the job waits on a full channel returns at once', async () => {
  const tEnv = TableEnvironment.create({ bundleSize: 10 });
  tEnv.registerFunction('id', udf('lambda x: x', [BIGINT], BIGINT));
  const rows = Array.from({ length: 1_000 }, (_, i) => [BigInt(i)]);
  let breaking!: () => void;
  const broke = new Promise<void>((resolve) => { breaking = resolve; });
  const reading = (async () => {
    for await (const row of tEnv.fromElements(rows, { x: BIGINT }).where('x >= 0').select('id(x) AS y').execute()) {
      expect(row.y).toBe(0n);
      await new Promise((r) => setTimeout(r, 200)); // a slow reader: the job fills the channel meanwhile
      breaking();
      break;
    }
  })();
  await Promise.race([broke, reading]); // the workers' start is not what is timed
  expect(await within(reading, 3_000)).toBe('settled');
  await reading;
  await tEnv.close();
});

test('cancelling a job reading a quiet stream settles at once', async () => {
  const tEnv = TableEnvironment.create();
  tEnv.registerFunction('id', udf('lambda x: x', [BIGINT], BIGINT));
  async function* quiet() {
    yield [1n];
    await new Promise(() => undefined); // never another row, never the end
  }
  const controller = new AbortController();
  const job = tEnv.fromStream(quiet(), { x: BIGINT }).select('id(x)').execute({ signal: controller.signal }).count();
  job.catch(() => undefined);
  setTimeout(() => controller.abort(), 300);
  expect(await within(job, 2_000)).toBe('settled');
  await expect(job).rejects.toMatchObject({ code: 'CLOSED' });
  await tEnv.close();
});

test('a source that fails while a UDF is busy fails the job without waiting for the UDF', async () => {
  const tEnv = TableEnvironment.create({ udfTimeoutMs: 0 });
  tEnv.registerFunction('nap', udf('lambda x: __import__("time").sleep(60) or x', [BIGINT], BIGINT));
  async function* breaks() {
    yield [1n];
    await new Promise((r) => setTimeout(r, 300));
    throw new Error('the source broke');
  }
  const job = tEnv.fromStream(breaks(), { x: BIGINT }).select('nap(x)').execute().count();
  job.catch(() => undefined);
  expect(await within(job, 3_000)).toBe('settled');
  await expect(job).rejects.toThrow('the source broke');
  await tEnv.close();
});

test('sys.exit() in a UDF is that UDF\'s failure, not a dead worker stream', async () => {
  const tEnv = TableEnvironment.create();
  tEnv.registerFunction('bye', udf('lambda x: __import__("sys").exit(3) if x == 2 else x', [BIGINT], BIGINT));
  const job = tEnv.fromElements([[1n], [2n]], { x: BIGINT }).select('bye(x)').execute().collect();
  expect(await within(job, 5_000)).toBe('settled');
  const error = await job.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(UdfError);
  expect(error).toMatchObject({ code: 'UDF_FAILED', pythonType: 'SystemExit', row: [2n] });
  await tEnv.close();
});

test('a row skipped on the left of OR is neither evaluated again nor counted twice', async () => {
  const deadLetterPath = path.join(dir, 'letters.jsonl');
  const tEnv = TableEnvironment.create({ deadLetterPath });
  tEnv.registerFunction('f', udf('lambda x: 1 // (x - 2)', [BIGINT], BIGINT, { onError: 'deadLetter' }));
  const result = tEnv.fromElements([[1n], [2n], [3n]], { x: BIGINT }).where('f(x) > 0 OR f(x) < 0').select('x').execute();
  expect(await result.collect()).toEqual([{ x: 1n }, { x: 3n }]);
  expect(result.udfErrors).toEqual({ f: { policy: 'deadLetter', rows: 1 } });
  expect(fs.readFileSync(deadLetterPath, 'utf8').trim().split('\n')).toHaveLength(1);
  await tEnv.close();
});

test('columns over overlapping memory reach the worker intact', async () => {
  const tEnv = TableEnvironment.create();
  tEnv.registerFunction('add', udf('lambda i, j: i + j', [BIGINT, BIGINT], BIGINT));
  const base = BigInt64Array.from([1n, 2n, 3n, 4n, 5n]);
  const rows = await tEnv.fromColumns({ a: base.subarray(0, 4), b: base.subarray(1, 5) }, { a: BIGINT, b: BIGINT })
    .select('add(a, b) AS s').execute().collect();
  expect(rows.map((r) => r.s)).toEqual([3n, 5n, 7n, 9n]);
  await tEnv.close();
});

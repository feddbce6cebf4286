// A row that kills its worker every time fails the job as UDF_CRASHED naming
// that one row; a UDF that hangs fails it as UDF_TIMEOUT and its worker is
// killed. Either way: no worker, private directory or sink file is left.
import fs from 'node:fs';
import path from 'node:path';
import {
  DataTypes, FileSystem, OldCsv, PyUdfError, TableEnvironment, UdfError, udf, type TableEnvironmentOptions,
} from '../../src/index.js';
import { isolateTempRoot, pythonWorkers, tempDir } from '../support.js';
import { checkNothingLeftAfterEach, expectNothingLeft, isGone, markerPid, partFiles, restartWarnings, watchingLogger, writeFaultModule } from './fault-support.js';

const tempRoot = isolateTempRoot();
checkNothingLeftAfterEach(tempRoot);
const dir = tempDir('udf-faults-poison-');
const markers = path.join(dir, 'markers');
const faultModule = writeFaultModule(dir, markers);
const BIGINT = DataTypes.BIGINT();
const STRING = DataTypes.STRING();
const DOUBLE = DataTypes.DOUBLE();

const N = 1000;
/** Rows a batch: each halving of a poisoned batch costs a worker, so batches are small. */
const BUNDLE = 20;
const ROWS = Array.from({ length: N }, (_, i) => [BigInt(i), `row-${i}`, i / 2]);
const SCHEMA = { a: BIGINT, s: STRING, d: DOUBLE };

/** How many halvings (each a crash) take a batch of `size` rows down to row `row`: the first half is ceil(size / 2). */
function halvings(size: number, row: number): number {
  let count = 0;
  for (let n = size, r = row; n > 1; count++) {
    const half = Math.ceil(n / 2);
    if (r < half) n = half;
    else {
      r -= half;
      n -= half;
    }
  }
  return count;
}

/** Runs `select <expr>` over ROWS into a CSV sink, expecting it to fail; checks nothing is left. */
async function failingInsert(
  name: string,
  options: TableEnvironmentOptions,
  functions: Record<string, ReturnType<typeof udf>>,
  select: string,
): Promise<{ error: unknown; tookMs: number; logger: ReturnType<typeof watchingLogger> }> {
  const outDir = path.join(dir, name);
  const output = path.join(outDir, 'out.csv');
  const logger = watchingLogger();
  const tEnv = TableEnvironment.create({ bundleSize: BUNDLE, ...options, logger });
  let error: unknown;
  const started = Date.now();
  let tookMs = 0;
  try {
    tEnv.addPythonFile(faultModule);
    for (const [fname, fn] of Object.entries(functions)) tEnv.registerFunction(fname, fn);
    tEnv.connect(new FileSystem().path(output)).withFormat(new OldCsv().field('r', BIGINT)).createTemporaryTable('sink');
    await tEnv.fromElements(ROWS, SCHEMA).select(select).executeInsert('sink');
  } catch (e) {
    error = e;
  } finally {
    tookMs = Date.now() - started;
    await tEnv.close();
  }
  expect(error).toBeDefined();
  expect(fs.existsSync(output)).toBe(false);
  expect(partFiles(outDir)).toEqual([]);
  if (fs.existsSync(outDir)) expect(fs.readdirSync(outDir)).toEqual([]);
  expectNothingLeft(tempRoot);
  return { error, tookMs, logger };
}

describe('poison input: a row that kills its worker every time', () => {
  test.each([1, 2])('os._exit(3) on one row, maxWorkerRestarts 1 (parallelism %i): UDF_CRASHED with exactly that row', async (parallelism) => {
    const poison = udf(`lambda a, s, d: __import__('faults').exit_on(a, s, d, 777, 3)`, [BIGINT, STRING, DOUBLE], BIGINT);
    const { error, logger } = await failingInsert(`exit3-p${parallelism}`, { parallelism, maxWorkerRestarts: 1 }, { poison }, 'poison(a, s, d) AS r');
    expect(error).toBeInstanceOf(UdfError);
    const e = error as UdfError;
    expect(e.code).toBe('UDF_CRASHED');
    expect(e.functionName).toBe('poison');
    expect(e.phase).toBe('eval');
    expect(e.row).toEqual([777n, 'row-777', 388.5]);
    expect(e.message).toMatch(/^Python function "poison" killed its worker 2 time\(s\) \(exit code 3\); the row that does it: poison\(777n, "row-777", 388\.5\)$/);
    // Two crashes of the whole batch, then one per halving of its rows down to the row.
    expect(restartWarnings(logger.entries)).toHaveLength(2 + halvings(BUNDLE, 777 % BUNDLE));
    for (const warning of restartWarnings(logger.entries)) expect(warning).toContain('(exit code 3, signal null)');
  }, 60_000);

  test('SIGKILL on one row, default maxWorkerRestarts: killed its worker 4 time(s), signal SIGKILL', async () => {
    const poison = udf(`lambda a: __import__('faults').sigkill_on(a, 421)`, [BIGINT], BIGINT);
    const { error } = await failingInsert('sigkill', { parallelism: 2 }, { poison }, 'poison(a) AS r');
    expect(error).toBeInstanceOf(UdfError);
    const e = error as UdfError;
    expect(e.code).toBe('UDF_CRASHED');
    expect(e.functionName).toBe('poison');
    expect(e.row).toEqual([421n]);
    expect(e.message).toBe('Python function "poison" killed its worker 4 time(s) (signal SIGKILL); the row that does it: poison(421n)');
  }, 60_000);

  test('maxWorkerRestarts 0: the first crash is searched for its row at once', async () => {
    const poison = udf(`lambda a: __import__('faults').sigkill_on(a, 0)`, [BIGINT], BIGINT);
    const { error } = await failingInsert('restarts0', { maxWorkerRestarts: 0 }, { poison }, 'poison(a) AS r');
    expect(error).toMatchObject({ code: 'UDF_CRASHED', functionName: 'poison', row: [0n] });
    expect((error as Error).message).toContain('killed its worker 1 time(s) (signal SIGKILL)');
  }, 60_000);

  test('a crash no single row reproduces (the worker dies after 300 rows, whichever): UDF_CRASHED without a row', async () => {
    // One batch of 500 rows and one batch in flight: the halving is not confounded by other batches.
    const leaky = udf(`lambda a: __import__('faults').crash_after_rows(a, 300)`, [BIGINT], BIGINT);
    const { error } = await failingInsert('leaky', { maxWorkerRestarts: 1, batchesInFlightPerWorker: 1, bundleSize: 500 }, { leaky }, 'leaky(a) AS r');
    expect(error).toBeInstanceOf(UdfError);
    const e = error as UdfError;
    expect(e.code).toBe('UDF_CRASHED');
    expect(e.functionName).toBe('leaky');
    expect(e.row).toBeUndefined();
    expect(e.message).toBe('Python function "leaky" killed its worker 2 time(s) (exit code 9), but no single row of the batch does it alone (the last death: exit code 9): the cause lies outside any one row, such as memory exhaustion, a signal from outside, or state built up over many rows');
  }, 60_000);

  test('a row whose call finishes but whose worker dies before the reply is sent: UDF_CRASHED with that row, not endless restarts', async () => {
    // What an OOM kill while a large reply is being sent does: the worker has recorded the
    // call as finished, and the reply dies with it. Each new worker dies the same way on the row.
    const module = path.join(dir, 'lost_reply.py');
    fs.writeFileSync(module, [
      'import os',
      'from pyudf.worker import server',
      'def dies_before_replying(a, at):',
      '    if a == at:',
      '        finished = server.CallRecord.finished',
      '        def finished_then_die(self, call_id):',
      '            finished(self, call_id)',
      '            os._exit(3)',
      '        server.CallRecord.finished = finished_then_die',
      '    return a',
      '',
    ].join('\n'));
    // Far more restarts than maxWorkerRestarts allows mean the crash is blamed on no call: stop the job.
    const endless = new AbortController();
    const logger = watchingLogger(() => {
      if (restartWarnings(logger.entries).length > 20) setImmediate(() => endless.abort());
    });
    const tEnv = TableEnvironment.create({ bundleSize: BUNDLE, maxWorkerRestarts: 1, logger });
    let error: unknown;
    try {
      tEnv.addPythonFile(module);
      tEnv.registerFunction('poison', udf('lambda a: __import__("lost_reply").dies_before_replying(a, 222)', [BIGINT], BIGINT));
      await tEnv.fromElements(ROWS, SCHEMA).select('poison(a) AS r').execute({ signal: endless.signal }).collect();
    } catch (e) {
      error = e;
    } finally {
      await tEnv.close();
    }
    expect(endless.signal.aborted).toBe(false);
    expect(error).toBeInstanceOf(UdfError);
    expect(error).toMatchObject({ code: 'UDF_CRASHED', functionName: 'poison', row: [222n] });
    expect((error as Error).message).toMatch(/^Python function "poison" killed its worker 2 time\(s\) \(exit code 3\); the row that does it: poison\(222n\)$/);
    expectNothingLeft(tempRoot);
  }, 60_000);

  test('a replacement worker that cannot open the function: UDF_LOAD_FAILED in phase open, nothing left', async () => {
    const tEnv = TableEnvironment.create({ bundleSize: 500, logger: watchingLogger(), jobParameters: { open_marker: 'opens-once' } });
    let error: unknown;
    try {
      tEnv.addPythonFile(faultModule);
      tEnv.registerFunction('licensed', udf('faults.opens_once'));
      await tEnv.fromElements(ROWS, SCHEMA).select('licensed(a) AS r').execute().collect();
    } catch (e) {
      error = e;
    } finally {
      await tEnv.close();
    }
    expect(error).toBeInstanceOf(UdfError);
    expect(error).toMatchObject({
      code: 'UDF_LOAD_FAILED', functionName: 'licensed', phase: 'open', pythonType: 'RuntimeError',
      pythonMessage: 'the licence is held by a worker that died',
    });
    expectNothingLeft(tempRoot);
  }, 60_000);

  test('a poison row behind a guard the filter never lets through is never called', async () => {
    const logger = watchingLogger();
    const tEnv = TableEnvironment.create({ bundleSize: BUNDLE, maxWorkerRestarts: 0, logger });
    try {
      tEnv.addPythonFile(faultModule);
      tEnv.registerFunction('poison', udf(`lambda a: __import__('faults').sigkill_on(a, 500)`, [BIGINT], BIGINT));
      const rows = await tEnv.fromElements(ROWS, SCHEMA).where('a <> 500 AND poison(a) >= 0').select('a').execute().collect();
      expect(rows).toHaveLength(N - 1);
      expect(rows.some((r) => r.a === 500n)).toBe(false);
    } finally {
      await tEnv.close();
    }
    expect(restartWarnings(logger.entries)).toEqual([]);
    expectNothingLeft(tempRoot);
  });
});

describe('a UDF that hangs', () => {
  test.each([1, 2])('udfTimeoutMs 500 (parallelism %i): UDF_TIMEOUT naming the function; the hung worker is killed, the job fails in seconds', async (parallelism) => {
    const marker = `hang-p${parallelism}`;
    const hang = udf(`lambda a: __import__('faults').hang_on(a, 234, '${marker}')`, [BIGINT], BIGINT);
    let hungPid = 0;
    let hungAt = 0;
    void markerPid(markers, marker).then((pid) => { hungPid = pid; hungAt = Date.now(); }, () => undefined);
    const { error, tookMs } = await failingInsert(`hang-p${parallelism}`, { parallelism, udfTimeoutMs: 500 }, { hang }, 'hang(a) AS r');
    const failedAt = Date.now();
    expect(hungPid).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(UdfError);
    const e = error as UdfError;
    expect(e.code).toBe('UDF_TIMEOUT');
    expect(e.functionName).toBe('hang');
    expect(e.phase).toBe('eval');
    expect(e.message).toBe(`Python function "hang" on ${BUNDLE} row(s) did not finish within 500 ms; the worker (pid ${hungPid}) was killed`);
    // The hung process is gone, and so is every other worker (checked in failingInsert).
    expect(isGone(hungPid)).toBe(true);
    expect(pythonWorkers()).toEqual([]);
    // Within a few seconds: the timeout plus stopping, not the UDF's hour of sleep.
    expect(failedAt - hungAt).toBeLessThan(3000);
    expect(tookMs).toBeLessThan(10_000);
  }, 60_000);

  test('batches queued behind slow ones are not timed out: the clock starts when the worker can start on them', async () => {
    // 5 batches of 100 rows, 3 ms a row: each call takes ~300 ms, under the 500 ms limit, but
    // with 4 batches in flight the fourth waits ~900 ms behind the others before it runs.
    const tEnv = TableEnvironment.create({ bundleSize: 100, udfTimeoutMs: 500, logger: watchingLogger() });
    try {
      tEnv.registerFunction('slow', udf(`lambda a: __import__('time').sleep(0.003) or a + 1`, [BIGINT], BIGINT));
      const rows = await tEnv.fromElements(ROWS.slice(0, 500), SCHEMA).select('slow(a) AS r').execute().collect();
      expect(rows).toEqual(ROWS.slice(0, 500).map(([a]) => ({ r: (a as bigint) + 1n })));
    } finally {
      await tEnv.close();
    }
    expectNothingLeft(tempRoot);
  });
});

describe('invalid fault-handling options', () => {
  test.each([
    [{ udfTimeoutMs: -1 }, 'TableEnvironment option "udfTimeoutMs" must be an integer >= 0, got -1'],
    [{ udfTimeoutMs: 2.5 }, 'TableEnvironment option "udfTimeoutMs" must be an integer >= 0, got 2.5'],
    [{ udfTimeoutMs: Infinity }, 'TableEnvironment option "udfTimeoutMs" must be an integer >= 0, got Infinity'],
    // Node's timer would fire after 1 ms and time out every call.
    [{ udfTimeoutMs: 2 ** 31 }, 'TableEnvironment option "udfTimeoutMs" must be at most 2147483647 (about 24.8 days), got 2147483648'],
    [{ functionLoadTimeoutMs: -1 }, 'TableEnvironment option "functionLoadTimeoutMs" must be an integer >= 0, got -1'],
    [{ functionLoadTimeoutMs: 2 ** 31 }, 'TableEnvironment option "functionLoadTimeoutMs" must be at most 2147483647 (about 24.8 days), got 2147483648'],
    [{ functionCloseTimeoutMs: 0 }, 'TableEnvironment option "functionCloseTimeoutMs" must be a positive integer, got 0'],
    [{ functionCloseTimeoutMs: Infinity }, 'TableEnvironment option "functionCloseTimeoutMs" must be an integer >= 0, got Infinity'],
    [{ functionCloseTimeoutMs: 2 ** 31 }, 'TableEnvironment option "functionCloseTimeoutMs" must be at most 2147483647 (about 24.8 days), got 2147483648'],
    [{ workerMemoryLimitMb: 512.5 }, 'TableEnvironment option "workerMemoryLimitMb" must be an integer >= 0, got 512.5'],
    [{ maxWorkerRestarts: 1.5 }, 'TableEnvironment option "maxWorkerRestarts" must be an integer >= 0, got 1.5'],
    [{ maxWorkerRestarts: -1 }, 'TableEnvironment option "maxWorkerRestarts" must be an integer >= 0, got -1'],
    [{ maxWorkerRestarts: '3' as unknown as number }, 'TableEnvironment option "maxWorkerRestarts" must be an integer >= 0, got 3'],
    [{ onUdfError: 'ignore' as unknown as 'null' }, 'TableEnvironment option "onUdfError" must be one of fail, null, skip, deadLetter, got ignore'],
  ])('%o: INVALID_ARGUMENT', (options, message) => {
    let error: unknown;
    try {
      TableEnvironment.create(options);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PyUdfError);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', message });
    expect(pythonWorkers()).toEqual([]);
  });

  test('udf(..., { onError }) with an unknown policy: INVALID_ARGUMENT', () => {
    expect(() => udf('lambda a: a', [BIGINT], BIGINT, { onError: 'retry' as unknown as 'null' }))
      .toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

// Cancelling a job with an AbortSignal while a slow UDF runs: the job rejects
// with CLOSED promptly, and by then no worker, private directory or partial output is left.
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, FileSystem, OldCsv, PyUdfError, TableEnvironment, udf, type LogEntry, type Logger } from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();
const BIGINT = DataTypes.BIGINT();

/** A logger that resolves `sleeping` once the slow UDF says it has started sleeping. */
function sleepWatcher(): Logger & { sleeping: Promise<void> } {
  let wake: () => void = () => undefined;
  const sleeping = new Promise<void>((resolve) => { wake = resolve; });
  return {
    sleeping,
    log(entry: LogEntry) {
      if (entry.source === 'udf' && entry.message.startsWith('sleeping')) wake();
    },
  };
}

const SLOW = udf("lambda x: print('sleeping', x, flush=True) or __import__('time').sleep(60) or x", [BIGINT], BIGINT);
const ROWS = Array.from({ length: 100 }, (_, i) => [BigInt(i)]);

/** The job's outcome, observed at once (so a rejection is never unhandled) and timed when it settles. */
function watch(job: Promise<unknown>): Promise<{ error: unknown; settledAt: number }> {
  return job.then(
    () => ({ error: new Error('expected the job to be cancelled'), settledAt: Date.now() }),
    (error: unknown) => ({ error, settledAt: Date.now() }),
  );
}

async function expectClosedPromptly(job: Promise<unknown>, abortedAt: () => number): Promise<PyUdfError> {
  const { error, settledAt } = await watch(job);
  const took = settledAt - abortedAt();
  expect(error).toBeInstanceOf(PyUdfError);
  expect((error as PyUdfError).code).toBe('CLOSED');
  expect(took).toBeLessThan(1000); // "within a second"; about 10 ms measured
  // Nothing outlives the rejected promise.
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
  return error as PyUdfError;
}

describe('cancellation', () => {
  test('abort while a slow UDF sleeps: CLOSED within a couple of seconds, no workers left', async () => {
    const logger = sleepWatcher();
    const tEnv = TableEnvironment.create({ logger, parallelism: 2, bundleSize: 10 });
    try {
      tEnv.registerFunction('slow', SLOW);
      const controller = new AbortController();
      let abortedAt = 0;
      const job = tEnv.fromElements(ROWS, { x: BIGINT }).select('slow(x) AS y').execute({ signal: controller.signal }).collect();
      await logger.sleeping;
      expect(pythonWorkers()).toHaveLength(2);
      abortedAt = Date.now();
      controller.abort();
      await expectClosedPromptly(job, () => abortedAt);

      // The environment still works after a cancelled job.
      tEnv.registerFunction('fast', udf('lambda x: x + 1', [BIGINT], BIGINT));
      expect(await tEnv.fromElements([[1n]], { x: BIGINT }).select('fast(x) AS y').execute().collect()).toEqual([{ y: 2n }]);
    } finally {
      await tEnv.close();
    }
    expect(pythonWorkers()).toEqual([]);
  });

  test('abort while writing a CSV sink: no partial output', async () => {
    const logger = sleepWatcher();
    const output = path.join(dir, 'out', 'slow.csv');
    const tEnv = TableEnvironment.create({ logger, bundleSize: 10 });
    try {
      tEnv.registerFunction('slow', udf("lambda x: x if x < 30 else (print('sleeping', x, flush=True) or __import__('time').sleep(60) or x)", [BIGINT], BIGINT));
      tEnv.connect(new FileSystem().path(output)).withFormat(new OldCsv().field('y', BIGINT)).createTemporaryTable('sink');
      const controller = new AbortController();
      let abortedAt = 0;
      const job = tEnv.fromElements(ROWS, { x: BIGINT }).select('slow(x) AS y').executeInsert('sink', { signal: controller.signal });
      await logger.sleeping;
      abortedAt = Date.now();
      controller.abort(new Error('user pressed stop'));
      const error = await expectClosedPromptly(job, () => abortedAt);
      expect(error.message).toContain('cancelled');
    } finally {
      await tEnv.close();
    }
    expect(fs.existsSync(output)).toBe(false);
    if (fs.existsSync(path.dirname(output))) expect(fs.readdirSync(path.dirname(output))).toEqual([]);
  });

  test('closing the TableEnvironment during a job: CLOSED, no workers left', async () => {
    const logger = sleepWatcher();
    const tEnv = TableEnvironment.create({ logger });
    tEnv.registerFunction('slow', SLOW);
    const job = watch(tEnv.fromElements(ROWS, { x: BIGINT }).select('slow(x) AS y').execute().collect());
    await logger.sleeping;
    const closedAt = Date.now();
    await tEnv.close();
    const { error, settledAt } = await job;
    expect(error).toBeInstanceOf(PyUdfError);
    expect((error as PyUdfError).code).toBe('CLOSED');
    expect(settledAt - closedAt).toBeLessThan(3000);
    expect(pythonWorkers()).toEqual([]);
    expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
    expect(() => tEnv.fromElements([[1n]], { x: BIGINT }).select('slow(x)').insertInto('x')).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });

  test('a signal aborted before execute: CLOSED, no worker is started', async () => {
    const tEnv = TableEnvironment.create();
    try {
      tEnv.registerFunction('slow', SLOW);
      const controller = new AbortController();
      controller.abort();
      await expect(tEnv.fromElements(ROWS, { x: BIGINT }).select('slow(x) AS y').execute({ signal: controller.signal }).collect())
        .rejects.toMatchObject({ code: 'CLOSED' });
      expect(pythonWorkers()).toEqual([]);
    } finally {
      await tEnv.close();
    }
    expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
  });
});

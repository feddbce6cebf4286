// Real signals sent to a worker from outside while its job runs, and a crash
// in C code: SIGTERM (the worker stops on its own), SIGINT (ignored: Ctrl-C
// is the host's), SIGSTOP (frozen: the call timeout kills it), SIGSEGV.
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, TableEnvironment, UdfError, udf, type LogEntry, type Row } from '../../src/index.js';
import { isolateTempRoot, tempDir } from '../support.js';
import { checkNothingLeftAfterEach, expectNothingLeft, isGone, restartWarnings, watchingLogger, writeFaultModule } from './fault-support.js';

const tempRoot = isolateTempRoot();
checkNothingLeftAfterEach(tempRoot);
const dir = tempDir('udf-faults-signals-');
const markers = path.join(dir, 'markers');
const faultModule = writeFaultModule(dir, markers);
const BIGINT = DataTypes.BIGINT();
const N = 6000;
const ROWS = Array.from({ length: N }, (_, i) => [BigInt(i)]);
const EXPECTED = ROWS.map(([x]) => ({ y: (x as bigint) * 3n + 1n }));

/** Runs slow_reporting_pid over ROWS; sends `signal` to the worker that reports reaching row 1000 (and pauses there `pause` seconds). */
async function signalMidJob(signal: NodeJS.Signals, pause: number, options: { udfTimeoutMs?: number } = {}): Promise<{ rows: Row[] | null; error: unknown; pid: number; entries: LogEntry[] }> {
  let pid = 0;
  const logger = watchingLogger((entry) => {
    const match = /^pid (\d+)$/.exec(entry.message);
    if (entry.source !== 'udf' || !match || pid !== 0) return;
    pid = Number(match[1]);
    process.kill(pid, signal);
  });
  const tEnv = TableEnvironment.create({ bundleSize: 500, logger, ...options });
  let rows: Row[] | null = null;
  let error: unknown;
  try {
    tEnv.addPythonFile(faultModule);
    tEnv.registerFunction('f', udf(`lambda x: __import__('faults').slow_reporting_pid(x, 1000, ${pause})`, [BIGINT], BIGINT));
    rows = await tEnv.fromElements(ROWS, { x: BIGINT }).select('f(x) AS y').execute().collect();
  } catch (e) {
    error = e;
  } finally {
    await tEnv.close();
  }
  expect(pid).toBeGreaterThan(0);
  expect(isGone(pid)).toBe(true);
  expectNothingLeft(tempRoot);
  return { rows, error, pid, entries: logger.entries };
}

test('SIGTERM: the worker stops in order, is replaced, and every row comes back once, in order', async () => {
  const { rows, error, pid, entries } = await signalMidJob('SIGTERM', 2);
  expect(error).toBeUndefined();
  expect(rows).toEqual(EXPECTED);
  const warnings = restartWarnings(entries);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toContain(`(pid ${pid})`);
}, 60_000);

test('SIGINT: ignored by the worker (Ctrl-C is for the host): no restart, every row', async () => {
  let pid = 0;
  const logger = watchingLogger((entry) => {
    const match = /^pid (\d+)$/.exec(entry.message);
    if (entry.source !== 'udf' || !match || pid !== 0) return;
    pid = Number(match[1]);
    process.kill(pid, 'SIGINT');
  });
  const tEnv = TableEnvironment.create({ bundleSize: 500, logger });
  try {
    tEnv.addPythonFile(faultModule);
    tEnv.registerFunction('f', udf(`lambda x: __import__('faults').slow_reporting_pid(x, 1000, 0.5)`, [BIGINT], BIGINT));
    tEnv.registerFunction('pid', udf(`lambda x: __import__('os').getpid()`, [BIGINT], BIGINT));
    const rows = await tEnv.fromElements(ROWS, { x: BIGINT }).select('f(x) AS y, pid(x) AS p').execute().collect();
    expect(rows.map((r) => ({ y: r.y }))).toEqual(EXPECTED);
    // One worker computed every row: the one that got SIGINT.
    expect(new Set(rows.map((r) => r.p))).toEqual(new Set([BigInt(pid)]));
  } finally {
    await tEnv.close();
  }
  expect(restartWarnings(logger.entries)).toEqual([]);
  expect(isGone(pid)).toBe(true);
  expectNothingLeft(tempRoot);
}, 60_000);

test('SIGSTOP: a frozen worker is a hung call: UDF_TIMEOUT, and the stopped process is killed', async () => {
  const started = Date.now();
  // Longer than the 0.5 s the reporting row pauses: only the stop makes the call time out.
  const { error, pid } = await signalMidJob('SIGSTOP', 0.5, { udfTimeoutMs: 1500 });
  expect(error).toBeInstanceOf(UdfError);
  expect(error).toMatchObject({ code: 'UDF_TIMEOUT', functionName: 'f' });
  expect((error as Error).message).toBe(`Python function "f" on 500 row(s) did not finish within 1500 ms; the worker (pid ${pid}) was killed`);
  expect(Date.now() - started).toBeLessThan(15_000);
}, 60_000);

test('SIGSEGV in C code, once: the worker is replaced, every row comes back once, in order', async () => {
  const logger = watchingLogger();
  const tEnv = TableEnvironment.create({ bundleSize: 500, parallelism: 2, logger });
  try {
    tEnv.addPythonFile(faultModule);
    tEnv.registerFunction('f', udf(`lambda x: __import__('faults').segfault_once(x, 4321, 'segv')`, [BIGINT], BIGINT));
    expect(await tEnv.fromElements(ROWS, { x: BIGINT }).select('f(x) AS y').execute().collect()).toEqual(EXPECTED);
  } finally {
    await tEnv.close();
  }
  const pid = Number(fs.readFileSync(path.join(markers, 'segv'), 'utf8'));
  const warnings = restartWarnings(logger.entries);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(new RegExp(`^Python worker \\(pid ${pid}\\) died during the job \\(exit code null, signal SIGSEGV\\)`));
  expect(isGone(pid)).toBe(true);
  expectNothingLeft(tempRoot);
}, 60_000);

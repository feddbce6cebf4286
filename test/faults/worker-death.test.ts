// A worker that dies mid-job (killed from outside, os._exit, an OOM-style
// SIGKILL of itself) is replaced and its batches re-sent: the job still
// writes every row exactly once, in order, and leaves nothing behind.
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, FileSystem, OldCsv, TableEnvironment, udf, type JobResult, type LogEntry } from '../../src/index.js';
import { isolateTempRoot, pythonWorkers, tempDir } from '../support.js';
import { checkNothingLeftAfterEach, expectNothingLeft, isGone, markerPid, partFiles, restartWarnings, watchingLogger, writeFaultModule } from './fault-support.js';

const tempRoot = isolateTempRoot();
checkNothingLeftAfterEach(tempRoot);
const dir = tempDir('udf-faults-death-');
const markers = path.join(dir, 'markers');
const faultModule = writeFaultModule(dir, markers);
const BIGINT = DataTypes.BIGINT();

const N = 20_000;
const BUNDLE = 500;
const ROWS = Array.from({ length: N }, (_, i) => [BigInt(i)]);
/** What every job below writes: x * 3 + 1 for x = 0 .. N-1, one line each, in order. */
const EXPECTED_LINES = Array.from({ length: N }, (_, i) => String(i * 3 + 1));

/**
 * Runs `select f(x)` over ROWS into a CSV sink and checks the complete output,
 * the sink directory (the file, no part file) and that nothing is left over.
 */
async function runToSink(
  name: string,
  parallelism: number,
  fn: string,
  onEntry: (entry: LogEntry) => void = () => undefined,
): Promise<{ result: JobResult; entries: LogEntry[] }> {
  const outDir = path.join(dir, name);
  const output = path.join(outDir, 'out.csv');
  const logger = watchingLogger(onEntry);
  const tEnv = TableEnvironment.create({ parallelism, bundleSize: BUNDLE, logger });
  let result: JobResult;
  try {
    tEnv.addPythonFile(faultModule);
    tEnv.registerFunction('f', udf(fn, [BIGINT], BIGINT));
    tEnv.connect(new FileSystem().path(output)).withFormat(new OldCsv().field('y', BIGINT)).createTemporaryTable('sink');
    result = await tEnv.fromElements(ROWS, { x: BIGINT }).select('f(x) AS y').executeInsert('sink');
  } finally {
    await tEnv.close();
  }
  expect(result.sinks).toEqual([{ table: 'sink', rows: N }]);
  // Every row exactly once, in order: the whole file against the whole expected list.
  expect(fs.readFileSync(output, 'utf8').split('\n')).toEqual([...EXPECTED_LINES, '']);
  expect(fs.readdirSync(outDir)).toEqual(['out.csv']);
  expect(partFiles(outDir)).toEqual([]);
  expectNothingLeft(tempRoot);
  return { result, entries: logger.entries };
}

describe.each([1, 2])('parallelism %i, bundleSize 500, 20,000 rows', (parallelism) => {
  test('SIGKILL of a worker from outside while the job runs', async () => {
    let killed: number | null = null;
    let workersAtKill: number[] = [];
    const { entries } = await runToSink(`outside-kill-p${parallelism}`, parallelism, `lambda x: __import__('faults').slow_reporting_pid(x, 3000, 1.0)`, (entry) => {
      const match = /^pid (\d+)$/.exec(entry.message);
      if (entry.source !== 'udf' || entry.functionName !== 'f' || !match || killed !== null) return;
      killed = Number(match[1]);
      workersAtKill = pythonWorkers().map((p) => p.pid);
      process.kill(killed, 'SIGKILL'); // once: the re-sent batch says its (new) pid again
    });
    expect(killed).not.toBeNull();
    const pid = killed!;
    // The pid the UDF reported was one of this job's workers, and it is gone.
    expect(workersAtKill).toContain(pid);
    expect(workersAtKill).toHaveLength(parallelism);
    expect(isGone(pid)).toBe(true);
    expect(restartWarnings(entries)).toEqual([
      `Python worker (pid ${pid}) died during the job (exit code null, signal SIGKILL); starting a new worker`,
    ]);
    // The batch holding row 3000 ran again in the new worker, which said so.
    const reports = entries.filter((e) => e.source === 'udf' && /^pid \d+$/.test(e.message)).map((e) => Number(e.message.slice(4)));
    expect(reports).toHaveLength(2);
    expect(reports[0]).toBe(pid);
    expect(reports[1]).not.toBe(pid);
  }, 120_000);

  test('os._exit(1) inside a UDF, once', async () => {
    const marker = `exit-p${parallelism}`;
    const { entries } = await runToSink(`exit-once-p${parallelism}`, parallelism, `lambda x: __import__('faults').exit_once(x, 7000, '${marker}')`);
    const pid = Number(fs.readFileSync(path.join(markers, marker), 'utf8'));
    expect(isGone(pid)).toBe(true);
    expect(restartWarnings(entries)).toEqual([
      `Python worker (pid ${pid}) died during the job (exit code 1, signal null); starting a new worker`,
    ]);
  }, 120_000);

  test('an OOM-killer style SIGKILL of the worker by itself, once', async () => {
    const marker = `oom-p${parallelism}`;
    const { entries } = await runToSink(`oom-once-p${parallelism}`, parallelism, `lambda x: __import__('faults').oom_kill_once(x, 12845, '${marker}')`);
    const pid = await markerPid(markers, marker, 0);
    expect(isGone(pid)).toBe(true);
    expect(restartWarnings(entries)).toEqual([
      `Python worker (pid ${pid}) died during the job (exit code null, signal SIGKILL); starting a new worker`,
    ]);
  }, 120_000);
});

test('a worker killed in one job does not affect the next job of the same TableEnvironment', async () => {
  const logger = watchingLogger();
  const tEnv = TableEnvironment.create({ bundleSize: BUNDLE, logger });
  try {
    tEnv.addPythonFile(faultModule);
    tEnv.registerFunction('f', udf(`lambda x: __import__('faults').exit_once(x, 250, 'exit-then-next')`, [BIGINT], BIGINT));
    const first = await tEnv.fromElements(ROWS.slice(0, 1000), { x: BIGINT }).select('f(x) AS y').execute().collect();
    expect(first.map((r) => r.y)).toEqual(EXPECTED_LINES.slice(0, 1000).map(BigInt));
    const second = await tEnv.fromElements(ROWS.slice(0, 1000), { x: BIGINT }).select('f(x) AS y').execute().collect();
    expect(second).toEqual(first);
  } finally {
    await tEnv.close();
  }
  expect(restartWarnings(logger.entries)).toHaveLength(1);
  expectNothingLeft(tempRoot);
});

// open()/close() and FunctionContext for row, vectorized and async functions;
// every metric kind reaching TypeScript at parallelism 1 and 2; the built-in
// per-function figures; and what a worker that dies does to them.
import fs from 'node:fs';
import path from 'node:path';
import {
  DataTypes, FileSystem, OldCsv, TableEnvironment, udf, type FunctionMetrics, type TableEnvironmentOptions,
} from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, recordingLogger, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();
const BIGINT = DataTypes.BIGINT();

const modulePath = path.join(dir, 'measured_udfs.py');
fs.writeFileSync(modulePath, `import asyncio
import os
import time

from pyudf import udf, udtf, udaf, AggregateFunction, ScalarFunction, DataTypes


class Lifecycle(ScalarFunction):
    """Writes "open <kind> <pid> <parameter>" and "close <kind> <pid>" lines to the job's log file."""

    kind = "row"

    def open(self, function_context):
        self.log = function_context.get_job_parameter("lifecycle_log")
        self.tag = function_context.get_job_parameter("tag", "-")
        self.write("open %s %d %s" % (self.kind, os.getpid(), self.tag))

    def close(self):
        self.write("close %s %d" % (self.kind, os.getpid()))

    def write(self, line):
        with open(self.log, "a") as f:
            f.write(line + "\\n")

    def eval(self, x):
        return x


class VectorizedLifecycle(Lifecycle):
    kind = "pandas"


class AsyncLifecycle(Lifecycle):
    kind = "async"

    async def eval(self, x):
        await asyncio.sleep(0)
        return x


row_lifecycle = udf(Lifecycle(), [DataTypes.BIGINT()], DataTypes.BIGINT())
pandas_lifecycle = udf(VectorizedLifecycle(), [DataTypes.BIGINT()], DataTypes.BIGINT(), func_type="pandas")
async_lifecycle = udf(AsyncLifecycle(), [DataTypes.BIGINT()], DataTypes.BIGINT())


class Measured(ScalarFunction):
    def open(self, function_context):
        group = function_context.get_metric_group()
        self.rows = group.counter("rows")
        self.calls = group.add_group("io").counter("calls")
        self.odd = group.add_group("parity", "odd").meter("seen", time_span_in_seconds=10)
        self.values = group.distribution("values")
        self.seen = 0
        group.gauge("seen_here", lambda: self.seen)
        group.gauge("state", lambda: "ready")

    def eval(self, x):
        self.rows.inc()
        self.calls.inc(2)
        self.calls.dec()
        if x % 2:
            self.odd.mark_event()
        self.values.update(x)
        self.seen += 1
        time.sleep(0.001)
        if x % 100 == 42:
            raise ValueError("forty-two")
        return x


measured = udf(Measured(), [DataTypes.BIGINT()], DataTypes.BIGINT())


class DiesOnce(ScalarFunction):
    def open(self, function_context):
        self.marker = function_context.get_job_parameter("marker")
        self.rows = function_context.get_metric_group().counter("rows")

    def eval(self, x):
        self.rows.inc()
        if x == 250:
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                os._exit(1)
            except FileExistsError:
                pass
        return x


dies_once = udf(DiesOnce(), [DataTypes.BIGINT()], DataTypes.BIGINT())


class BadGauge(ScalarFunction):
    def open(self, function_context):
        function_context.get_metric_group().gauge("ratio", lambda: 1 / 0)
        function_context.get_metric_group().counter("fine").inc()

    def eval(self, x):
        return x


bad_gauge = udf(BadGauge(), [DataTypes.BIGINT()], DataTypes.BIGINT())


@udtf(result_types=[DataTypes.BIGINT()])
def copies(x):
    for _ in range(x % 3):
        yield x


class Total(AggregateFunction):
    def open(self, function_context):
        self.seen = function_context.get_metric_group().counter("seen")

    def create_accumulator(self):
        return [0]

    def accumulate(self, acc, x):
        self.seen.inc()
        acc[0] += x

    def get_value(self, acc):
        return acc[0]


total = udaf(Total(), result_type=DataTypes.BIGINT())
`);

const column = (n: number) => ({ x: BigInt64Array.from({ length: n }, (_, i) => BigInt(i)) });

async function withEnvironment<T>(options: TableEnvironmentOptions, body: (tEnv: TableEnvironment) => Promise<T>): Promise<T> {
  const tEnv = TableEnvironment.create({ logger: recordingLogger(), ...options });
  tEnv.addPythonFile(modulePath);
  try {
    return await body(tEnv);
  } finally {
    await tEnv.close();
    expect(pythonWorkers()).toEqual([]);
    expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
  }
}

describe.each([1, 2])('lifecycle at parallelism %i', (parallelism) => {
  test('open() and close() run once per job per worker for row, vectorized and async functions; job parameters reach each', async () => {
    const log = path.join(dir, `lifecycle-${parallelism}.log`);
    fs.rmSync(log, { force: true });
    await withEnvironment({ parallelism, bundleSize: 10 }, async (tEnv) => {
      tEnv.setJobParameter('lifecycle_log', log);
      tEnv.registerFunction('row_f', udf('measured_udfs.row_lifecycle'));
      tEnv.registerFunction('pandas_f', udf('measured_udfs.pandas_lifecycle'));
      tEnv.registerFunction('async_f', udf('measured_udfs.async_lifecycle'));
      for (const tag of ['first', 'second']) {
        tEnv.setJobParameter('tag', tag);
        const rows = await tEnv.fromColumns(column(100), { x: BIGINT })
          .select('row_f(x) AS a, pandas_f(x) AS b, async_f(x) AS c').execute().collect();
        expect(rows.every((r) => r.a === r.b && r.b === r.c)).toBe(true);
      }
    });
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' '));
    const pids = [...new Set(lines.map((l) => l[2]))];
    expect(pids).toHaveLength(parallelism); // warm workers: the second job ran on the same ones
    for (const kind of ['row', 'pandas', 'async']) {
      for (const pid of pids) {
        const mine = lines.filter((l) => l[1] === kind && l[2] === pid).map((l) => (l[0] === 'open' ? `open ${l[3]}` : 'close'));
        expect(mine).toEqual(['open first', 'close', 'open second', 'close']);
      }
    }
  });
});

describe.each([1, 2])('metrics at parallelism %i', (parallelism) => {
  const N = 1000;
  let metrics: FunctionMetrics;

  beforeAll(async () => {
    await withEnvironment({ parallelism, bundleSize: 100, onUdfError: 'skip' }, async (tEnv) => {
      tEnv.registerFunction('measured', udf('measured_udfs.measured'));
      const result = tEnv.fromColumns(column(N), { x: BIGINT }).select('measured(x) AS y').execute();
      expect(await result.count()).toBe(N - 10);
      metrics = result.metrics!.measured!;
    });
  });

  test('built-in figures: rows in, out and failed, batches, time inside the function', () => {
    expect(metrics).toMatchObject({ rowsIn: N, rowsOut: N - 10, rowsFailed: 10, batches: 10 });
    // Each row sleeps 1 ms inside the function.
    expect(metrics.timeInFunctionMs).toBeGreaterThanOrEqual(N);
    expect(metrics.timeInFunctionMs).toBeLessThan(N * 20);
  });

  test('counters are summed over the workers, identifiers name their groups', () => {
    expect(metrics.counters).toEqual({ 'rows': N, 'io.calls': N });
  });

  test('meters: events summed, a rate per second', () => {
    expect(Object.keys(metrics.meters)).toEqual(['parity.odd.seen']);
    expect(metrics.meters['parity.odd.seen']!.count).toBe(N / 2);
    expect(metrics.meters['parity.odd.seen']!.rate).toBeGreaterThan(0);
  });

  test('distributions are merged', () => {
    expect(metrics.distributions).toEqual({
      values: { count: N, sum: (N * (N - 1)) / 2, min: 0, max: N - 1, mean: (N - 1) / 2 },
    });
  });

  test('gauges: one reading per worker', () => {
    expect(metrics.gauges.state).toEqual(Array(parallelism).fill('ready'));
    const seen = metrics.gauges.seen_here as number[];
    expect(seen).toHaveLength(parallelism);
    expect(seen.reduce((a, b) => a + b, 0)).toBe(N);
    expect(metrics).toMatchObject({ workersReported: parallelism, workersLost: 0 });
  });
});

test('JobResult of executeInsert and execute carries the metrics; a job without Python functions has none', async () => {
  await withEnvironment({}, async (tEnv) => {
    tEnv.registerFunction('measured', udf('measured_udfs.measured', null, null, { onError: 'null' }));
    const out = path.join(dir, 'out.csv');
    tEnv.connect(new FileSystem().path(out)).withFormat(new OldCsv().field('y', BIGINT)).createTemporaryTable('sink');
    const inserted = await tEnv.fromColumns(column(50), { x: BIGINT }).select('measured(x)').executeInsert('sink');
    expect(inserted.metrics.measured).toMatchObject({ rowsIn: 50, rowsFailed: 1, counters: { 'rows': 50, 'io.calls': 50 } });
    tEnv.fromColumns(column(7), { x: BIGINT }).select('measured(x)').insertInto('sink');
    const executed = await tEnv.execute('job');
    expect(executed.metrics.measured).toMatchObject({ rowsIn: 7, batches: 1 });
    const plain = tEnv.fromColumns(column(3), { x: BIGINT }).select('x + 1 AS y').execute();
    await plain.collect();
    expect(plain.metrics).toEqual({});
  });
});

test('a worker that dies mid-job: built-in figures stay exact, its own metrics are lost and counted as such', async () => {
  const marker = path.join(dir, 'died');
  fs.rmSync(marker, { force: true });
  await withEnvironment({ bundleSize: 100 }, async (tEnv) => {
    tEnv.setJobParameter('marker', marker);
    tEnv.registerFunction('dies_once', udf('measured_udfs.dies_once'));
    const result = tEnv.fromColumns(column(500), { x: BIGINT }).select('dies_once(x) AS y').execute();
    expect(await result.count()).toBe(500);
    const metrics = result.metrics!.dies_once!;
    // Every batch counted once, the one sent again included.
    expect(metrics).toMatchObject({ rowsIn: 500, rowsOut: 500, batches: 5, workersReported: 1, workersLost: 1 });
    // Only the replacement's count, from its own open(): the batch that killed its predecessor
    // and those after (and any whose reply died with it). The dead worker had counted 251 rows.
    expect(metrics.counters.rows).toBeGreaterThanOrEqual(300);
    expect(metrics.counters.rows).toBeLessThanOrEqual(500);
    expect((metrics.counters.rows ?? 0) % 100).toBe(0);
  });
});

test('a gauge that raises is logged as a warning; the job and the other metrics are not affected', async () => {
  const logger = recordingLogger();
  await withEnvironment({ logger }, async (tEnv) => {
    tEnv.registerFunction('bad_gauge', udf('measured_udfs.bad_gauge'));
    const result = tEnv.fromColumns(column(5), { x: BIGINT }).select('bad_gauge(x) AS y').execute();
    expect(await result.count()).toBe(5);
    expect(result.metrics?.bad_gauge).toMatchObject({ counters: { fine: 1 }, gauges: {} });
  });
  const warnings = logger.entries.filter((e) => e.level === 'warn').map((e) => e.message);
  expect(warnings).toContain('reading the metrics of "bad_gauge" raised ZeroDivisionError: gauge \'ratio\' raised: division by zero');
});

test('table and aggregate functions: rows in, rows produced or accumulated, batches, and their registered metrics', async () => {
  await withEnvironment({ bundleSize: 100 }, async (tEnv) => {
    tEnv.registerFunction('copies', udf('measured_udfs.copies'));
    tEnv.registerFunction('total', udf('measured_udfs.total'));
    const joined = tEnv.fromColumns(column(300), { x: BIGINT }).joinLateral('copies(x) AS c').execute();
    expect(await joined.count()).toBe(300); // 100 rows give none, 100 one copy, 100 two
    expect(joined.metrics?.copies).toMatchObject({ rowsIn: 300, rowsOut: 300, rowsFailed: 0, batches: 3 });
    const summed = tEnv.fromColumns(column(300), { x: BIGINT }).select('total(x) AS t').execute();
    expect(await summed.collect()).toEqual([{ t: BigInt((299 * 300) / 2) }]);
    expect(summed.metrics?.total).toMatchObject({ rowsIn: 300, rowsOut: 300, batches: 3, counters: { seen: 300 } });
  });
});

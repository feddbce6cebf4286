// The benchmark cases: each returns { rows, seconds } (or extra figures) for one run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { TableEnvironment, DataTypes, FileSystem, OldCsv, udf } from '../dist/index.js';
import { ensureWorkerRuntime } from '../dist/environments/worker-runtime.js';
import { chooseInterpreter } from '../dist/environments/interpreter.js';

const BIGINT = DataTypes.BIGINT();
const quiet = { log: () => undefined };

export function bigintColumns(n) {
  const a = new BigInt64Array(n);
  const b = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = BigInt(i);
    b[i] = BigInt(n - i);
  }
  return { a, b };
}

/**
 * Throughput of one job on workers a first, one-row job of the same
 * TableEnvironment left warm: start-up is its own case (6), and a job of a
 * long-running program finds its workers waiting.
 */
async function timedCount(tEnv, table, expression, warmUp) {
  const cold = performance.now();
  await warmUp.select(expression).execute().count();
  const firstJobMs = performance.now() - cold;
  const t0 = performance.now();
  const rows = await table.select(expression).execute().count();
  return { rows, seconds: (performance.now() - t0) / 1000, firstJobMs };
}

/** 1. The seed's add(a, b) through the whole pipeline to a discarding sink. */
export async function scalarAdd({ n, parallelism, columns }) {
  const tEnv = TableEnvironment.create({ parallelism, bundleSize: 65536, logger: quiet });
  try {
    tEnv.registerFunction('add', udf('lambda i, j: i + j', [BIGINT, BIGINT], BIGINT));
    return await timedCount(tEnv, tEnv.fromColumns(columns, { a: BIGINT, b: BIGINT }), 'add(a, b) AS s',
      tEnv.fromElements([[1n, 2n]], { a: BIGINT, b: BIGINT }));
  } finally {
    await tEnv.close();
  }
}

/** 2. The same Python function over the same data in one Python process: the physical limit. */
export async function pythonBaseline({ n }) {
  const runtime = await ensureWorkerRuntime(chooseInterpreter(), { logger: quiet });
  const script = [
    'import time, sys',
    `n = ${n}`,
    'a = list(range(n)); b = list(range(n, 0, -1))',
    'f = lambda i, j: i + j',
    't = time.perf_counter(); r = list(map(f, a, b)); s = time.perf_counter() - t',
    'print(len(r), s)',
  ].join('\n');
  const [rows, seconds] = execFileSync(runtime.python, ['-c', script], { encoding: 'utf8' }).trim().split(' ').map(Number);
  return { rows, seconds };
}

/** 3. pythonia calling the same add once per row from Node, for about `seconds`. */
export async function pythoniaPeer({ seconds: budget }) {
  const { python } = await import('pythonia');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyudf-bench-'));
  try {
    fs.writeFileSync(path.join(dir, 'addmod.py'), 'def add(i, j):\n    return i + j\n');
    const mod = await python(path.join(dir, 'addmod.py'));
    await mod.add(1, 2);
    const t0 = performance.now();
    let rows = 0;
    while (performance.now() - t0 < budget * 1000) {
      await mod.add(rows, rows);
      rows++;
    }
    return { rows, seconds: (performance.now() - t0) / 1000 };
  } finally {
    python.exit();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** 4a. upper(s) over short strings. */
export async function stringUpper({ n }) {
  const tEnv = TableEnvironment.create({ bundleSize: 65536, logger: quiet });
  try {
    tEnv.registerFunction('upper', udf('lambda s: s.upper()', [DataTypes.STRING()], DataTypes.STRING()));
    const s = Array.from({ length: n }, (_, i) => `word${i % 1000}`);
    return await timedCount(tEnv, tEnv.fromColumns({ s }, { s: DataTypes.STRING() }), 'upper(s) AS u',
      tEnv.fromElements([['a']], { s: DataTypes.STRING() }));
  } finally {
    await tEnv.close();
  }
}

/** 4b. A DOUBLE UDF. */
export async function doubleScale({ n }) {
  const tEnv = TableEnvironment.create({ bundleSize: 65536, logger: quiet });
  try {
    tEnv.registerFunction('scale', udf('lambda x: x * 1.5', [DataTypes.DOUBLE()], DataTypes.DOUBLE()));
    const x = Float64Array.from({ length: n }, (_, i) => i / 7);
    return await timedCount(tEnv, tEnv.fromColumns({ x }, { x: DataTypes.DOUBLE() }), 'scale(x) AS y',
      tEnv.fromElements([[1.5]], { x: DataTypes.DOUBLE() }));
  } finally {
    await tEnv.close();
  }
}

/** 5. The seed's job over an n-row CSV file to a CSV file, with the Node process's peak RSS. */
export async function csvEndToEnd({ n }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyudf-bench-'));
  const input = path.join(dir, 'input.csv');
  const out = fs.createWriteStream(input);
  for (let i = 0; i < n; i += 10_000) {
    let chunk = '';
    for (let j = i; j < Math.min(n, i + 10_000); j++) chunk += `${j},${n - j}\n`;
    if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
  const tEnv = TableEnvironment.create({ logger: quiet });
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
  try {
    tEnv.registerFunction('add', udf('lambda i, j: i + j', [BIGINT, BIGINT], BIGINT));
    tEnv.connect(new FileSystem().path(input)).withFormat(new OldCsv().field('a', BIGINT).field('b', BIGINT)).createTemporaryTable('src');
    tEnv.connect(new FileSystem().path(path.join(dir, 'output.csv'))).withFormat(new OldCsv().field('sum', BIGINT)).createTemporaryTable('sink');
    const t0 = performance.now();
    const result = await tEnv.fromPath('src').select('add(a, b)').executeInsert('sink');
    return { rows: result.sinks[0].rows, seconds: (performance.now() - t0) / 1000, peakRssMb: Math.round(Math.max(peak, process.memoryUsage().rss) / 1048576) };
  } finally {
    clearInterval(sampler);
    await tEnv.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * 6. From execute() to the first result row, with a warm environment: with
 * new workers (a fresh TableEnvironment), or with the workers a previous job
 * of the same TableEnvironment left warm.
 */
export async function startUp({ warm = false } = {}) {
  const tEnv = TableEnvironment.create({ logger: quiet });
  try {
    tEnv.registerFunction('add', udf('lambda i, j: i + j', [BIGINT, BIGINT], BIGINT));
    const table = tEnv.fromElements([[1n, 2n]], { a: BIGINT, b: BIGINT }).select('add(a, b) AS s');
    if (warm) await table.execute().collect();
    const t0 = performance.now();
    for await (const row of table.execute()) {
      if (row.s !== 3n) throw new Error('wrong result');
      return { rows: 1, seconds: (performance.now() - t0) / 1000 };
    }
    throw new Error('no row');
  } finally {
    await tEnv.close();
  }
}

/** 7. Rows arriving one at a time: per-row latency from arrival to the result, default bundle settings. */
export async function trickleLatency({ n, gapMs, warm = false }) {
  const tEnv = TableEnvironment.create({ logger: quiet });
  try {
    tEnv.registerFunction('add', udf('lambda i, j: i + j', [BIGINT, BIGINT], BIGINT));
    // Warm: the workers already ran a job, so the first rows do not pay a new worker's first call.
    if (warm) await tEnv.fromElements([[1n, 2n]], { a: BIGINT, b: BIGINT }).select('add(a, b) AS s').execute().count();
    const arrivals = new Map();
    async function* trickle() {
      for (let i = 0; i < n; i++) {
        await new Promise((r) => setTimeout(r, gapMs));
        arrivals.set(i, performance.now());
        yield [BigInt(i), 0n];
      }
    }
    const latencies = [];
    const t0 = performance.now();
    for await (const row of tEnv.fromStream(trickle(), { a: BIGINT, b: BIGINT }).select('add(a, b) AS s').execute()) {
      latencies.push(performance.now() - arrivals.get(Number(row.s)));
    }
    latencies.sort((x, y) => x - y);
    const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
    return { rows: latencies.length, seconds: (performance.now() - t0) / 1000, p50Ms: at(0.5), p99Ms: at(0.99) };
  } finally {
    await tEnv.close();
  }
}

const AGGREGATES_MODULE = `from pyudf import AggregateFunction, DataTypes, udaf


class Mean(AggregateFunction):
    def create_accumulator(self):
        return [0.0, 0]

    def accumulate(self, acc, v):
        if v is not None:
            acc[0] += v
            acc[1] += 1

    def get_value(self, acc):
        return acc[0] / acc[1] if acc[1] else None


mean = udaf(Mean(), result_type=DataTypes.DOUBLE())


@udaf(result_type=DataTypes.DOUBLE(), func_type="pandas")
def pandas_mean(v):
    return v.mean()
`;

/** 8. groupBy(k).select(k, mean(v)) over n DOUBLE rows in `groups` groups: an AggregateFunction or a pandas udaf. */
export async function groupedMean({ n, groups, pandas }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyudf-bench-'));
  const tEnv = TableEnvironment.create({ bundleSize: 65536, logger: quiet });
  try {
    fs.writeFileSync(path.join(dir, 'bench_aggregates.py'), AGGREGATES_MODULE);
    tEnv.addPythonFile(path.join(dir, 'bench_aggregates.py'));
    tEnv.registerFunction('mean', udf(pandas ? 'bench_aggregates.pandas_mean' : 'bench_aggregates.mean'));
    const k = new BigInt64Array(n);
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      k[i] = BigInt(i % groups);
      v[i] = i / 3;
    }
    const table = tEnv.fromColumns({ k, v }, { k: BIGINT, v: DataTypes.DOUBLE() });
    const t0 = performance.now();
    const out = await table.groupBy('k').select('k, mean(v) AS m').execute().count();
    const seconds = (performance.now() - t0) / 1000;
    if (out !== groups) throw new Error(`expected ${groups} groups, got ${out}`);
    return { rows: n, seconds, groups };
  } finally {
    await tEnv.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Rows a vectorized function gets per call: bigger batches, fewer per-batch costs. */
export const VECTORIZED_BUNDLE_SIZE = 262_144;

export function doubleColumns(n) {
  return {
    a: Float64Array.from({ length: n }, (_, i) => i / 7),
    b: Float64Array.from({ length: n }, (_, i) => n - i),
  };
}

/**
 * 9. A vectorized (pandas) a + b over DOUBLE columns on a warm worker, as a
 * TableEnvironment that runs jobs one after another has it; the first, tiny
 * job's time (worker start and pandas import) is reported beside it.
 */
export async function vectorizedAdd({ n, columns }) {
  const DOUBLE = DataTypes.DOUBLE();
  const tEnv = TableEnvironment.create({ bundleSize: VECTORIZED_BUNDLE_SIZE, logger: quiet });
  try {
    tEnv.registerFunction('vadd', udf('lambda a, b: a + b', [DOUBLE, DOUBLE], DOUBLE, { funcType: 'pandas' }));
    const cold = performance.now();
    await tEnv.fromElements([[1, 2]], { a: DOUBLE, b: DOUBLE }).select('vadd(a, b) AS s').execute().count();
    const coldStartMs = performance.now() - cold;
    const t0 = performance.now();
    const result = tEnv.fromColumns(columns, { a: DOUBLE, b: DOUBLE }).select('vadd(a, b) AS s').execute();
    const rows = await result.count();
    const seconds = (performance.now() - t0) / 1000;
    return { rows, seconds, inFunctionMs: result.metrics.vadd.timeInFunctionMs, coldStartMs };
  } finally {
    await tEnv.close();
  }
}

/** 10. The same pandas expression over the same data in one Python process. */
export async function pandasBaseline({ n }) {
  const runtime = await ensureWorkerRuntime(chooseInterpreter(), { logger: quiet });
  const script = [
    'import time, numpy as np, pandas as pd',
    `n = ${n}`,
    'a = pd.Series(np.arange(n) / 7); b = pd.Series(n - np.arange(n, dtype="float64"))',
    'f = lambda a, b: a + b',
    'f(a, b)',
    't = time.perf_counter(); r = f(a, b); s = time.perf_counter() - t',
    'print(len(r), s)',
  ].join('\n');
  const [rows, seconds] = execFileSync(runtime.python, ['-c', script], { encoding: 'utf8' }).trim().split(' ').map(Number);
  return { rows, seconds };
}

/** 11. An async function sleeping 10 ms per row, one worker: the wall time of the job. */
export async function asyncSleep({ n }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyudf-bench-'));
  const tEnv = TableEnvironment.create({ parallelism: 1, logger: quiet });
  try {
    fs.writeFileSync(path.join(dir, 'io_bench.py'), [
      'import asyncio',
      'from pyudf import udf, DataTypes',
      '',
      '@udf(input_types=[DataTypes.BIGINT()], result_type=DataTypes.BIGINT())',
      'async def lookup(x):',
      '    await asyncio.sleep(0.01)',
      '    return x',
      '',
    ].join('\n'));
    tEnv.addPythonFile(path.join(dir, 'io_bench.py'));
    tEnv.registerFunction('lookup', udf('io_bench.lookup'));
    const x = BigInt64Array.from({ length: n }, (_, i) => BigInt(i));
    const t0 = performance.now();
    const rows = await tEnv.fromColumns({ x }, { x: BIGINT }).select('lookup(x) AS y').execute().count();
    return { rows, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await tEnv.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** 12. The tutorial job's work in a plain Python script: the csv module and the same lambda, file to file. */
export async function pythonCsvBaseline({ n }) {
  const runtime = await ensureWorkerRuntime(chooseInterpreter(), { logger: quiet });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyudf-bench-'));
  try {
    const input = path.join(dir, 'input.csv');
    let text = '';
    const out = fs.openSync(input, 'w');
    for (let i = 0; i < n; i++) {
      text += `${i},${n - i}\n`;
      if (text.length > 1 << 20) { fs.writeSync(out, text); text = ''; }
    }
    fs.writeSync(out, text);
    fs.closeSync(out);
    const script = [
      'import csv, sys, time',
      'add = lambda i, j: i + j',
      't = time.perf_counter()',
      'rows = 0',
      "with open(sys.argv[1], newline='') as src, open(sys.argv[2], 'w', newline='') as dst:",
      '    w = csv.writer(dst)',
      '    for a, b in csv.reader(src):',
      '        w.writerow((add(int(a), int(b)),))',
      '        rows += 1',
      'print(rows, time.perf_counter() - t)',
    ].join('\n');
    const [rows, seconds] = execFileSync(runtime.python, ['-c', script, input, path.join(dir, 'output.csv')], { encoding: 'utf8' }).trim().split(' ').map(Number);
    return { rows, seconds };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** 13. fromElements → add(a, b) → collect(), at the default settings: rows in, row objects out. */
export async function elementsAddCollect({ n }) {
  const tEnv = TableEnvironment.create({ logger: quiet });
  try {
    tEnv.registerFunction('add', udf('lambda i, j: i + j', [BIGINT, BIGINT], BIGINT));
    await tEnv.fromElements([[1n, 2n]], { a: BIGINT, b: BIGINT }).select('add(a, b) AS s').execute().collect();
    const rows = Array.from({ length: n }, (_, i) => [BigInt(i), BigInt(n - i)]);
    const t0 = performance.now();
    const out = await tEnv.fromElements(rows, { a: BIGINT, b: BIGINT }).select('add(a, b) AS s').execute().collect();
    const seconds = (performance.now() - t0) / 1000;
    if (out.length !== n || out[1].s !== BigInt(n)) throw new Error('wrong result');
    return { rows: n, seconds };
  } finally {
    await tEnv.close();
  }
}

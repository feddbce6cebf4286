// Jobs on a real Ray cluster: a 0-CPU head on this host and three 1-CPU worker
// nodes, each in its own network namespace (test/support/ray-cluster.ts). Every
// job runs locally too, and its rows (or output file) must be the same; a node
// SIGKILLed mid-job changes nothing; stopping leaves nothing behind.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import type { TableEnvironment as TableEnvironmentType, TableEnvironmentOptions } from '../../src/index.js';
import { importPyudf, isolateTempRoot, recordingLogger, tempDir, WHEELHOUSE } from '../support.js';
import { piDigits, startJobHost, untilNone } from '../support/ray-job-cases.js';
import { startRayCluster, type RayTestCluster } from '../support/ray-cluster.js';


isolateTempRoot();
const dir = tempDir('ray-jobs-');
const logger = recordingLogger();
let pyudf: Awaited<ReturnType<typeof importPyudf>>;
let cluster: RayTestCluster;
let rayPython: string;

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const ROWS = 100_000;
const input = path.join(dir, 'input.csv');

beforeAll(async () => {
  pyudf = await importPyudf();
  const { ensureRayRuntime } = await import('../../src/environments/ray-runtime.js');
  const runtime = await ensureRayRuntime(pyudf.chooseInterpreter(), { logger: { log: () => undefined } });
  rayPython = runtime.python;
  cluster = await startRayCluster({ python: rayPython, workers: 3, workerCpus: 1 });
  const lines: string[] = [];
  for (let i = 0; i < ROWS; i++) lines.push(`${i},${(i * 7919) % 1000}`);
  fs.writeFileSync(input, `${lines.join('\n')}\n`);
  fs.writeFileSync(path.join(dir, 'udfs.py'), [
    'import os, time',
    'from pyudf import udf, udtf, udaf, ScalarFunction, AggregateFunction, DataTypes',
    '',
    'class Scale(ScalarFunction):',
    '    def open(self, context):',
    '        self.factor = int(context.get_job_parameter("factor", "1"))',
    '    def eval(self, x):',
    '        if x == 13:',
    '            raise ValueError("13 is unlucky")',
    '        return x * self.factor',
    '',
    'scale = udf(Scale(), result_type=DataTypes.BIGINT())',
    '',
    '@udtf(result_types=[DataTypes.BIGINT(), DataTypes.STRING()])',
    'def explode(n, s):',
    '    for i in range(n % 3):',
    '        yield i, f"{s}-{i}"',
    '',
    'class Spread(AggregateFunction):',
    '    def create_accumulator(self):',
    '        return [None, None]',
    '    def accumulate(self, acc, v):',
    '        acc[0] = v if acc[0] is None else min(acc[0], v)',
    '        acc[1] = v if acc[1] is None else max(acc[1], v)',
    '    def get_value(self, acc):',
    '        return None if acc[0] is None else acc[1] - acc[0]',
    '    def get_result_type(self):',
    '        return DataTypes.BIGINT()',
    '    def get_accumulator_type(self):',
    '        return DataTypes.ARRAY(DataTypes.BIGINT())',
    '',
    'spread = udaf(Spread())',
    '',
    'class Counted(ScalarFunction):',
    '    def open(self, context):',
    '        group = context.get_metric_group()',
    '        self.rows = group.counter("rows")',
    '        self.sizes = group.add_group("io").distribution("sizes")',
    '    def eval(self, x):',
    '        self.rows.inc()',
    '        self.sizes.update(x % 10)',
    '        return x',
    '',
    'counted = udf(Counted(), result_type=DataTypes.BIGINT())',
    '',
    '@udf(result_type=DataTypes.BIGINT())',
    'def slow(x):',
    '    time.sleep(0.001)',
    '    return x + 1',
    '',
    '@udf(result_type=DataTypes.BIGINT())',
    'def dies_on_7(x):',
    '    if x == 7:',
    '        os._exit(3)',
    '    return x',
    '',
    '@udf(result_type=DataTypes.BIGINT())',
    'def hangs_on_5(x):',
    '    if x == 5:',
    '        time.sleep(3600)',
    '    return x',
    '',
  ].join('\n'));
}, 300_000);

afterAll(async () => {
  if (cluster?.leftovers().pids.length) await cluster.stop();
}, 120_000);

/** The Ray worker processes of a node that are running a task now (Ray names an idle one "ray::IDLE"). */
function busyWorkers(pids: readonly number[]): number[] {
  return pids.filter((pid) => {
    try {
      const title = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return title.startsWith('ray::') && !title.startsWith('ray::IDLE') && !/^ray::_?\w*Actor\b|^ray::JobLedger/.test(title);
    } catch {
      return false;
    }
  });
}

/** Waits at least `afterMs`, then until a worker node is running a task of the job, and SIGKILLs every process of that node. */
async function killBusyNode(afterMs: number): Promise<{ index: number; pids: number[] }> {
  await new Promise((r) => setTimeout(r, afterMs));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const index = cluster.nodes.findIndex((node) => busyWorkers(node.pids()).length > 0);
    if (index >= 0) return { index, pids: await cluster.killNode(index) };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no worker node ran a task of the job within 60 s');
}

function environment(where: 'local' | 'cluster', options: TableEnvironmentOptions = {}, maxTaskRetries?: number): TableEnvironmentType {
  const tEnv = pyudf.TableEnvironment.create({
    ...options,
    logger,
    ...(where === 'cluster' ? { cluster: { kind: 'ray', address: cluster.address, python: rayPython, maxTaskRetries } } : {}),
  });
  tEnv.addPythonFile(path.join(dir, 'udfs.py'));
  tEnv.executeSql(`CREATE TABLE nums (a BIGINT, b BIGINT) WITH ('connector' = 'filesystem', 'path' = '${input}', 'format' = 'csv')`);
  return tEnv;
}

/** Runs `job` locally and on the cluster; both results. */
async function both<T>(job: (tEnv: TableEnvironmentType, where: 'local' | 'cluster') => Promise<T>, options?: TableEnvironmentOptions): Promise<{ local: T; remote: T }> {
  const results: Partial<Record<'local' | 'cluster', T>> = {};
  for (const where of ['local', 'cluster'] as const) {
    const tEnv = environment(where, options);
    try {
      results[where] = await job(tEnv, where);
    } finally {
      await tEnv.close();
    }
  }
  return { local: results.local!, remote: results.cluster! };
}

test('an unreachable cluster fails with CLUSTER_UNREACHABLE naming the address, before any row is read', async () => {
  const tEnv = pyudf.TableEnvironment.create({ logger, cluster: { kind: 'ray', address: '127.0.0.1:1', python: rayPython, connectTimeoutMs: 5_000 } });
  const started = Date.now();
  try {
    const error = await tEnv.fromElements([[1n]], { n: pyudf.DataTypes.BIGINT() }).select('n').execute().collect().then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(pyudf.ClusterError);
    expect(error).toMatchObject({ code: 'CLUSTER_UNREACHABLE', address: '127.0.0.1:1' });
    expect((error as Error).message).toContain('127.0.0.1:1');
  } finally {
    await tEnv.close();
  }
  expect(Date.now() - started).toBeLessThan(60_000);
}, 180_000);

test('the tutorial job writes the same file on the cluster as locally', async () => {
  const outputs = { local: path.join(dir, 'sum-local.csv'), cluster: path.join(dir, 'sum-cluster.csv') };
  const { local, remote } = await both(async (tEnv, where) => {
    tEnv.registerFunction('add', pyudf.udf('lambda i, j: i + j', [pyudf.DataTypes.BIGINT(), pyudf.DataTypes.BIGINT()], pyudf.DataTypes.BIGINT()));
    tEnv.executeSql(`CREATE TABLE sums (s BIGINT) WITH ('connector' = 'filesystem', 'path' = '${outputs[where]}', 'format' = 'csv')`);
    tEnv.fromPath('nums').select('add(a, b)').insertInto('sums');
    const result = await tEnv.execute('tutorial_job');
    const { rowsIn, rowsOut, rowsFailed } = result.metrics.add!;
    return { sinks: result.sinks, figures: { rowsIn, rowsOut, rowsFailed }, timed: result.metrics.add!.timeInFunctionMs > 0 && result.metrics.add!.batches > 0 };
  });
  expect(remote).toEqual(local);
  expect(remote.sinks).toEqual([{ table: 'sums', rows: ROWS }]);
  // The function's figures, counted by the cluster's tasks, are the local run's.
  expect(remote.figures).toEqual({ rowsIn: ROWS, rowsOut: ROWS, rowsFailed: 0 });
  expect(remote.timed).toBe(true);
  expect(fs.readFileSync(outputs.cluster, 'utf8')).toBe(fs.readFileSync(outputs.local, 'utf8'));
  // Nothing but the output: no part file or job directory beside it.
  expect(fs.readdirSync(dir).filter((n) => n.startsWith('.sum-cluster'))).toEqual([]);
}, 180_000);

test('a SQL job with a Python function under an error policy, built-in functions, a filter and ORDER BY gives the same rows', async () => {
  const { local, remote } = await both(async (tEnv) => {
    tEnv.createTemporarySystemFunction('scale', pyudf.udf('udfs.scale', null, null, { onError: 'null' }));
    return tEnv.sqlQuery(
      "SELECT a, scale(b) AS sb, upper(concat('x', CAST(b AS STRING))) AS t FROM nums WHERE (a % 1000 < 7 AND b > 10) OR b = 13 ORDER BY sb DESC, a",
    ).execute().collect();
  }, { jobParameters: { factor: '3' } });
  expect(remote.length).toBeGreaterThan(100);
  // scale raises on 13: the function's policy made those values NULL, on the cluster as locally.
  expect(remote.filter((r) => r.sb === null).length).toBe(ROWS / 1000);
  expect(remote).toEqual(local);
}, 180_000);

test('a table function feeding an aggregate function by group gives the same rows, groups in the same order', async () => {
  const { local, remote } = await both(async (tEnv) => {
    tEnv.createTemporarySystemFunction('explode', pyudf.udtf('udfs.explode'));
    tEnv.createTemporarySystemFunction('spread', pyudf.udaf('udfs.spread'));
    return tEnv.fromPath('nums').where('b < 40')
      .joinLateral('explode(a, b) AS (i, label)')
      .groupBy('b').select('b, spread(a * 10 + i) AS d').execute().collect();
  });
  expect(remote.length).toBe(40);
  expect(remote).toEqual(local);
}, 180_000);

test("the metrics a function registers come back summed over the cluster's worker processes, as locally", async () => {
  const { local, remote } = await both(async (tEnv) => {
    tEnv.createTemporarySystemFunction('counted', pyudf.udf('udfs.counted'));
    const result = tEnv.sqlQuery('SELECT counted(a) AS x FROM nums WHERE a < 5000').execute();
    await result.collect();
    const { counters, distributions, rowsIn } = result.metrics!.counted!;
    return { counters, distributions, rowsIn };
  });
  expect(remote).toEqual({ counters: { rows: 5000 }, distributions: { 'io.sizes': { count: 5000, sum: 22500, min: 0, max: 9, mean: 4.5 } }, rowsIn: 5000 });
  expect(remote).toEqual(local);
}, 180_000);

test('requirements install on the cluster offline, from the cached dir shipped with the job', async () => {
  if (!WHEELHOUSE) throw new Error('the test wheelhouse is missing');
  const tEnv = environment('cluster');
  try {
    const { rows, error } = await piDigits(tEnv, dir, 'mpmath==1.3.0\n');
    expect(error).toBeUndefined();
    expect(rows).toEqual([{ pi: '3.1' }, { pi: '3.1415' }]);
  } finally {
    await tEnv.close();
  }
}, 180_000);

test('a requirement missing from the cached dir fails the job within seconds, naming it, with pip\'s answer', async () => {
  const tEnv = environment('cluster');
  const started = Date.now();
  try {
    const { error } = await piDigits(tEnv, dir, 'mpmath==1.3.0\npyudf-absent-package==1.0\n');
    expect(error).toBeInstanceOf(pyudf.EnvironmentError);
    expect(error).toMatchObject({ code: 'ENVIRONMENT_BUILD_FAILED' });
    expect((error as Error).message).toMatch(/pyudf-absent-package==1\.0/);
    expect((error as { output: string }).output).toMatch(/No matching distribution found for pyudf-absent-package/);
  } finally {
    await tEnv.close();
  }
  expect(Date.now() - started).toBeLessThan(30_000);
}, 180_000);

test('a row that kills its worker every time fails the job naming the function and the row', async () => {
  const tEnv = environment('cluster', {}, 1);
  try {
    tEnv.createTemporarySystemFunction('dies_on_7', pyudf.udf('udfs.dies_on_7'));
    const error = await tEnv.fromPath('nums').where('a < 9').select('dies_on_7(a) AS x').execute().collect().then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(pyudf.UdfError);
    expect(error).toMatchObject({ code: 'UDF_CRASHED', functionName: 'dies_on_7', row: [7n] });
  } finally {
    await tEnv.close();
  }
}, 180_000);

test('a row that hangs fails the job with UDF_TIMEOUT naming it', async () => {
  const tEnv = environment('cluster', { udfTimeoutMs: 1_500 }, 1);
  try {
    tEnv.createTemporarySystemFunction('hangs_on_5', pyudf.udf('udfs.hangs_on_5'));
    const error = await tEnv.fromPath('nums').where('a < 7').select('hangs_on_5(a) AS x').execute().collect().then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(pyudf.UdfError);
    expect(error).toMatchObject({ code: 'UDF_TIMEOUT', functionName: 'hangs_on_5', row: [5n] });
  } finally {
    await tEnv.close();
  }
}, 180_000);

/** Waits (up to 30 s) until no task holds a CPU of the cluster; its available and total CPUs then. */
async function settledCpus(): Promise<{ available: number; total: number }> {
  const probe = await execa(rayPython, ['-c', [
    'import ray, time',
    `ray.init(address=${JSON.stringify(cluster.address)}, logging_level="ERROR", log_to_driver=False)`,
    'deadline = time.time() + 30',
    'while time.time() < deadline and ray.available_resources().get("CPU", 0) < ray.cluster_resources().get("CPU", 0):',
    '    time.sleep(0.5)',
    'print(ray.available_resources().get("CPU", 0), ray.cluster_resources().get("CPU", 0))',
  ].join('\n')]);
  const [available, total] = probe.stdout.trim().split('\n').pop()!.split(' ').map(Number);
  return { available: available!, total: total! };
}

async function driverProcesses(): Promise<string[]> {
  return (await execa('ps', ['-eo', 'pid=,stat=,args='])).stdout.split('\n')
    .filter((line) => line.includes('pyudf.cluster') && line.includes(cluster.address) && !/^\s*\d+\s+Z/.test(line));
}

test('close() during a job stops it on the cluster: its driver is gone and the cluster is idle again', async () => {
  const tEnv = environment('cluster');
  tEnv.createTemporarySystemFunction('slow', pyudf.udf('udfs.slow'));
  const job = tEnv.sqlQuery('SELECT slow(a) AS x FROM nums').execute().collect().then(() => null, (e: unknown) => e);
  await new Promise((r) => setTimeout(r, 3_000));
  await tEnv.close();
  expect(await job).toMatchObject({ code: 'CLOSED' });
  expect(await driverProcesses()).toEqual([]);
  const { available, total } = await settledCpus();
  expect(total).toBe(3);
  expect(available).toBe(total);
}, 180_000);

test('a host SIGKILLed mid-job leaves no driver behind, and the cluster is idle again', async () => {
  const { host } = await startJobHost(dir, { kind: 'ray', address: cluster.address, python: rayPython }, input);
  expect(await driverProcesses()).toHaveLength(1);
  host.kill('SIGKILL');
  await host;
  expect(await untilNone(driverProcesses)).toEqual([]);
  const { available, total } = await settledCpus();
  expect(available).toBe(total);
}, 180_000);

test("docs/ray.md's code runs as written against the cluster", async () => {
  const markdown = fs.readFileSync(path.join(REPO, 'docs', 'ray.md'), 'utf8');
  const js = [...markdown.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  expect(js.length).toBeGreaterThan(0);
  const built = path.join(REPO, 'dist', 'index.js');
  const script = js.join('\n').replaceAll("from 'pyudf'", `from ${JSON.stringify(pathToFileURL(built).href)}`);
  fs.writeFileSync(path.join(dir, 'ray-doc.mjs'), script);
  const run = await execa(process.execPath, ['ray-doc.mjs'], { cwd: dir, env: { RAY_ADDRESS: cluster.address }, timeout: 120_000 });
  expect(run.stdout).toContain("[ { s: 3n }, { s: 7n } ]");
}, 180_000);

// Last but the stop: the cluster has one worker node less after it.
test('a worker node killed mid-job (every process of it, with SIGKILL) costs no row and no duplicate', async () => {
  const output = path.join(dir, 'slow-cluster.csv');
  const tEnv = environment('cluster');
  let killed = -1;
  try {
    tEnv.createTemporarySystemFunction('slow', pyudf.udf('udfs.slow'));
    tEnv.executeSql(`CREATE TABLE out_slow (a BIGINT, x BIGINT) WITH ('connector' = 'filesystem', 'path' = '${output}', 'format' = 'csv')`);
    tEnv.sqlQuery('SELECT a, slow(b) AS x FROM nums WHERE a % 8 = 0').insertInto('out_slow');
    const job = tEnv.execute('survives_node_death');
    const victim = await killBusyNode(3_000);
    killed = victim.index;
    expect(victim.pids.length).toBeGreaterThanOrEqual(3); // its raylet, agents and workers
    expect(cluster.nodes[victim.index]!.pids()).toEqual([]);
    const result = await job;
    expect(result.sinks).toEqual([{ table: 'out_slow', rows: ROWS / 8 }]);
  } finally {
    await tEnv.close();
  }
  expect(killed).toBeGreaterThanOrEqual(0);
  const lines = fs.readFileSync(output, 'utf8').trimEnd().split('\n');
  expect(lines.length).toBe(ROWS / 8);
  const wrong = lines.filter((line, k) => line !== `${8 * k},${((8 * k * 7919) % 1000) + 1}`);
  expect(wrong).toEqual([]);
}, 180_000);

test('stopping the cluster leaves no Ray process, namespace or link of it', async () => {
  const { tempDir } = cluster;
  await cluster.stop();
  expect(cluster.leftovers()).toEqual({ pids: [], namespaces: [], links: [] });
  const processes = (await execa('ps', ['-eo', 'pid=,stat=,args='])).stdout.split('\n')
    .filter((line) => (line.includes(tempDir) || line.includes('pyudf.cluster')) && !/^\s*\d+\s+Z/.test(line));
  expect(processes).toEqual([]);
}, 60_000);

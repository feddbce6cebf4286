// Jobs submitted through Ray's Jobs REST API (a cluster option address
// "http://head:8265"): the driver runs on the head node as the job's
// entrypoint and reports back to this host over a connection of its own.
// Against a real cluster (a 0-CPU head with the dashboard, token auth on, and
// a 2-CPU worker node in a network namespace) when Ray's dashboard can be had
// (test/support/ray-dashboard.ts); the tests that need no cluster always run.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import type { TableEnvironment as TableEnvironmentType } from '../../src/index.js';
import { ReportListener } from '../../src/cluster/report-listener.js';
import { importPyudf, isolateTempRoot, recordingLogger, tempDir } from '../support.js';
import { piDigits, startJobHost, untilNone } from '../support/ray-job-cases.js';
import { namespacesAvailable, startRayCluster, type RayTestCluster } from '../support/ray-cluster.js';
import { dashboardPython } from '../support/ray-dashboard.js';

isolateTempRoot();
const dir = tempDir('ray-jobs-api-');
const logger = recordingLogger();
const pyudf = await importPyudf();
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const ROWS = 20_000;
const TOKEN = 'pyudf-test-token-0123456789abcdef';
const input = path.join(dir, 'input.csv');

/** Why the tests against a cluster cannot run here, or null when they can. */
async function withDashboard(): Promise<{ python: string } | { unavailable: string }> {
  if (!namespacesAvailable()) return { unavailable: 'network namespaces cannot be had (root and `ip netns` are needed)' };
  const { ensureRayRuntime } = await import('../../src/environments/ray-runtime.js');
  const runtime = await ensureRayRuntime(pyudf.chooseInterpreter(), { logger: { log: () => undefined } });
  return dashboardPython(runtime.python, dir);
}
const dashboard = await withDashboard();
if ('unavailable' in dashboard) {
  console.warn(`The Jobs REST API tests against a cluster do not run: ${dashboard.unavailable}. Set PYUDF_TEST_RAY_DASHBOARD_WHEELS to a directory of ray[default]'s missing wheels to run them.`);
}
const clusterTest = 'python' in dashboard ? test : test.skip;
let cluster: RayTestCluster;

beforeAll(async () => {
  const lines: string[] = [];
  for (let i = 0; i < ROWS; i++) lines.push(`${i},${(i * 7919) % 1000}`);
  fs.writeFileSync(input, `${lines.join('\n')}\n`);
  fs.writeFileSync(path.join(dir, 'udfs.py'), [
    'import time',
    'from pyudf import udf, DataTypes',
    '',
    '@udf(result_type=DataTypes.BIGINT())',
    'def picky(x):',
    '    if x == 13:',
    '        raise ValueError("13 is unlucky")',
    '    return x * 2',
    '',
    '@udf(result_type=DataTypes.BIGINT())',
    'def crawl(x):',
    '    time.sleep(0.01)',
    '    return x',
  ].join('\n'));
  if (!('python' in dashboard)) return;
  cluster = await startRayCluster({
    python: dashboard.python, workers: 1, workerCpus: 2, dashboard: true,
    // The entrypoint's `python` is the cluster's; Ray's token authentication guards the Jobs API.
    env: { PATH: `${path.dirname(dashboard.python)}${path.delimiter}${process.env.PATH}`, RAY_AUTH_MODE: 'token', RAY_AUTH_TOKEN: TOKEN },
  });
}, 300_000);

afterAll(async () => {
  if (cluster?.leftovers().pids.length) await cluster.stop();
}, 120_000);

/** `token`: the cluster's (default), another, or null for none. */
function environment(where: 'local' | 'cluster', token: string | null = TOKEN): TableEnvironmentType {
  const tEnv = pyudf.TableEnvironment.create({
    logger,
    ...(where === 'cluster' ? { cluster: { kind: 'ray', address: cluster.dashboardUrl!, token: token ?? undefined } } : {}),
  });
  tEnv.addPythonFile(path.join(dir, 'udfs.py'));
  tEnv.executeSql(`CREATE TABLE nums (a BIGINT, b BIGINT) WITH ('connector' = 'filesystem', 'path' = '${input}', 'format' = 'csv')`);
  return tEnv;
}

/** pyudf's jobs on the cluster, oldest first, as the Jobs API lists them. */
async function jobsOnCluster(): Promise<{ submission_id: string; status: string; start_time: number }[]> {
  const body = await new Promise<string>((resolve, reject) => {
    http.get(`${cluster.dashboardUrl}/api/jobs/`, { headers: { Authorization: `Bearer ${TOKEN}` }, agent: false }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      response.on('end', () => resolve(text));
    }).on('error', reject);
  });
  return (JSON.parse(body) as { submission_id: string | null; status: string; start_time: number }[])
    .filter((j): j is { submission_id: string; status: string; start_time: number } => j.submission_id?.startsWith('pyudf-') ?? false)
    .sort((a, b) => a.start_time - b.start_time);
}

/** The last job's status once Ray has it settled (within 30 s): a stopped driver's job is RUNNING a moment longer. */
async function lastJobStatus(): Promise<string | undefined> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = (await jobsOnCluster()).pop()?.status;
    if (status !== 'RUNNING' && status !== 'PENDING') return status;
    if (Date.now() > deadline) return status;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The drivers of jobs submitted through the Jobs API (their entrypoints report back with --report), not the shell Ray runs each in. */
async function driverProcesses(): Promise<string[]> {
  return (await execa('ps', ['-eo', 'pid=,stat=,args='])).stdout.split('\n')
    .filter((line) => /^\s*\d+\s+[^Z\s]\S*\s+python\S* -u -m pyudf\.cluster .*--report/.test(line));
}

test('a dashboard URL that does not answer fails with CLUSTER_UNREACHABLE naming it', async () => {
  const tEnv = pyudf.TableEnvironment.create({ logger, cluster: { kind: 'ray', address: 'http://127.0.0.1:1', connectTimeoutMs: 5_000 } });
  try {
    const error = await tEnv.fromElements([[1n]], { n: pyudf.DataTypes.BIGINT() }).select('n').execute().collect().then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(pyudf.ClusterError);
    expect(error).toMatchObject({ code: 'CLUSTER_UNREACHABLE', address: 'http://127.0.0.1:1' });
    expect((error as Error).message).toMatch(/Ray Jobs API at http:\/\/127\.0\.0\.1:1.*ECONNREFUSED/);
  } finally {
    await tEnv.close();
  }
}, 60_000);

test('the cluster option takes a dashboard URL, and rejects one with a path', () => {
  expect(() => pyudf.TableEnvironment.create({ cluster: { kind: 'ray', address: 'http://head:8265/api' } }))
    .toThrow(/"address" must be the cluster's "host:port".*or its dashboard's "http:\/\/host:8265", got http:\/\/head:8265\/api/);
  expect(() => pyudf.TableEnvironment.create({ cluster: { kind: 'ray', address: 'https://head:8265', token: '' } })).toThrow(/"token" must be a non-empty string/);
});

test("the host's report listener takes the driver's two streams with the job's token and drops any other connection", async () => {
  const listener = await ReportListener.listen('127.0.0.1');
  try {
    const send = (text: string) => new Promise<net.Socket>((resolve) => {
      const socket = net.connect(listener.port, '127.0.0.1', () => { socket.write(text); resolve(socket); });
      socket.on('error', () => undefined);
    });
    const closed = (socket: net.Socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const stranger = await send('not-the-token events\n');
    await closed(stranger);
    const sloppy = await send(`${listener.token} logs\n`);
    await closed(sloppy);
    const events = await send(`${listener.token} events\n{"event":"connected"}\n`);
    const results = await send(`${listener.token} results\n`);
    const eventStream = await listener.events;
    await listener.results;
    const first = await new Promise<string>((resolve) => eventStream.once('data', (chunk: Buffer) => resolve(chunk.toString())).resume());
    expect(first).toBe('{"event":"connected"}\n');
    listener.close();
    await Promise.all([closed(events), closed(results)]);
  } finally {
    listener.close();
  }
});

clusterTest('the tutorial job and a collected query give the same output through the Jobs API as locally', async () => {
  const outputs = { local: path.join(dir, 'sum-local.csv'), cluster: path.join(dir, 'sum-cluster.csv') };
  const results: Record<string, unknown> = {};
  for (const where of ['local', 'cluster'] as const) {
    const tEnv = environment(where);
    try {
      tEnv.registerFunction('add', pyudf.udf('lambda i, j: i + j', [pyudf.DataTypes.BIGINT(), pyudf.DataTypes.BIGINT()], pyudf.DataTypes.BIGINT()));
      tEnv.createTemporarySystemFunction('picky', pyudf.udf('udfs.picky', null, null, { onError: 'null' }));
      tEnv.executeSql(`CREATE TABLE sums (s BIGINT) WITH ('connector' = 'filesystem', 'path' = '${outputs[where]}', 'format' = 'csv')`);
      tEnv.fromPath('nums').select('add(a, b)').insertInto('sums');
      const job = await tEnv.execute('tutorial_job');
      const rows = await tEnv.sqlQuery('SELECT a, picky(b) AS p FROM nums WHERE a % 100 = 0 OR b = 13 ORDER BY a').execute().collect();
      results[where] = { sinks: job.sinks, rows };
    } finally {
      await tEnv.close();
    }
  }
  expect(results.cluster).toEqual(results.local);
  expect((results.cluster as { sinks: unknown }).sinks).toEqual([{ table: 'sums', rows: ROWS }]);
  expect(((results.cluster as { rows: { p: unknown }[] }).rows).filter((r) => r.p === null).length).toBe(ROWS / 1000);
  expect(fs.readFileSync(outputs.cluster, 'utf8')).toBe(fs.readFileSync(outputs.local, 'utf8'));
  // Every job of ours on the cluster ended, successfully.
  const ours = await jobsOnCluster();
  expect(ours.map((j) => j.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
}, 300_000);

clusterTest('requirements install on the cluster from the cached dir shipped with the job', async () => {
  const tEnv = environment('cluster');
  try {
    const { rows, error } = await piDigits(tEnv, dir, 'mpmath==1.3.0\n');
    expect(error).toBeUndefined();
    expect(rows).toEqual([{ pi: '3.1' }, { pi: '3.1415' }]);
  } finally {
    await tEnv.close();
  }
}, 300_000);

clusterTest('a requirement missing from the cached dir fails the job naming it, with pip\'s answer', async () => {
  const tEnv = environment('cluster');
  try {
    const { error } = await piDigits(tEnv, dir, 'mpmath==1.3.0\npyudf-absent-package==1.0\n');
    expect(error).toBeInstanceOf(pyudf.EnvironmentError);
    expect(error).toMatchObject({ code: 'ENVIRONMENT_BUILD_FAILED' });
    expect((error as { output: string }).output).toMatch(/No matching distribution found for pyudf-absent-package/);
  } finally {
    await tEnv.close();
  }
}, 300_000);

clusterTest("a function's error comes back typed, naming the function, the row and the user's file", async () => {
  const tEnv = environment('cluster');
  try {
    tEnv.createTemporarySystemFunction('picky', pyudf.udf('udfs.picky'));
    const error = await tEnv.sqlQuery('SELECT picky(b) AS p FROM nums WHERE a < 100 OR b = 13').execute().collect().then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(pyudf.UdfError);
    expect(error).toMatchObject({ code: 'UDF_FAILED', functionName: 'picky', row: [13n], pythonType: 'ValueError' });
    expect((error as { pythonTraceback: string }).pythonTraceback).toContain(path.join(dir, 'udfs.py'));
  } finally {
    await tEnv.close();
  }
}, 300_000);

clusterTest('without the cluster\'s token, or with a wrong one, the job is refused before it is submitted', async () => {
  for (const token of [null, 'wrong-token']) {
    const tEnv = environment('cluster', token);
    try {
      const error = await tEnv.fromPath('nums').select('a').execute().count().then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(pyudf.ClusterError);
      expect(error).toMatchObject({ code: 'CLUSTER_JOB_REFUSED', address: cluster.dashboardUrl });
      expect((error as Error).message).toMatch(/refused the request.*token/);
    } finally {
      await tEnv.close();
    }
  }
}, 120_000);

clusterTest('close() during a job stops it on the cluster: its driver is gone and Ray says STOPPED', async () => {
  const tEnv = environment('cluster');
  tEnv.createTemporarySystemFunction('crawl', pyudf.udf('udfs.crawl'));
  const job = tEnv.sqlQuery('SELECT crawl(a) AS x FROM nums').execute().collect().then(() => null, (e: unknown) => e);
  const deadline = Date.now() + 120_000;
  while ((await driverProcesses()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  await new Promise((r) => setTimeout(r, 2_000));
  await tEnv.close();
  expect(await job).toMatchObject({ code: 'CLOSED' });
  const settled = Date.now() + 30_000;
  while ((await driverProcesses()).length > 0 && Date.now() < settled) await new Promise((r) => setTimeout(r, 250));
  expect(await driverProcesses()).toEqual([]);
  expect(await lastJobStatus()).toBe('STOPPED');
}, 300_000);

clusterTest('a host SIGKILLed mid-job: its driver on the cluster sees it gone and ends the job', async () => {
  const { host } = await startJobHost(dir, { kind: 'ray', address: cluster.dashboardUrl, token: TOKEN }, input);
  expect(await driverProcesses()).toHaveLength(1);
  host.kill('SIGKILL');
  await host;
  expect(await untilNone(driverProcesses)).toEqual([]);
  expect(['FAILED', 'STOPPED']).toContain(await lastJobStatus());
}, 300_000);

clusterTest("docs/ray.md's Jobs REST API example runs as written against the cluster", async () => {
  const markdown = fs.readFileSync(path.join(REPO, 'docs', 'ray.md'), 'utf8');
  const blocks = [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  expect(blocks).toHaveLength(1);
  const built = pathToFileURL(path.join(REPO, 'dist', 'index.js')).href;
  fs.writeFileSync(path.join(dir, 'ray-rest-doc.mjs'), blocks[0]!.replaceAll("from 'pyudf'", `from ${JSON.stringify(built)}`));
  const run = await execa(process.execPath, ['ray-rest-doc.mjs'], {
    cwd: dir, env: { RAY_DASHBOARD_URL: cluster.dashboardUrl!, RAY_AUTH_TOKEN: TOKEN }, timeout: 120_000,
  });
  expect(run.stdout).toContain('[ { s: 3n }, { s: 7n } ]');
}, 180_000);

clusterTest('stopping the cluster leaves no Ray process, namespace or link of it', async () => {
  await cluster.stop();
  expect(cluster.leftovers()).toEqual({ pids: [], namespaces: [], links: [] });
}, 120_000);

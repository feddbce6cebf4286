// `npm run bench:ray`: jobs on a Ray cluster of this machine against the same
// jobs on local workers. Starts a 0-CPU head and 1, 2 or 3 one-CPU worker
// nodes (ray.cluster_utils: separate processes on this host), runs each case,
// stops the cluster, and writes bench/results/ray.json and ray.md.
// `--smoke` runs tiny sizes on one node once: it checks the benchmark works.
// PYUDF_BENCH_RAY_DASHBOARD_PYTHON, a Python with ray[default] (the
// dashboard), adds the one-row job and submission through the Jobs REST API.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { spawn, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TableEnvironment, DataTypes, FileSystem, OldCsv, udf } from '../dist/index.js';
import { ensureRayRuntime, rayRuntimeEnv } from '../dist/environments/ray-runtime.js';
import { chooseInterpreter } from '../dist/environments/interpreter.js';

const smoke = process.argv.includes('--smoke');
const SIZES = smoke
  ? { tutorial: 20_000, heavy: 200, nodes: [1], runs: 1 }
  : { tutorial: 5_000_000, heavy: 6_000, nodes: [1, 2, 3], runs: 1 };
const BIGINT = DataTypes.BIGINT();
const quiet = { log: () => undefined };
const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pyudf-bench-ray-'));

const runtime = await ensureRayRuntime(chooseInterpreter(), { logger: quiet });

const dashboardPython = process.env.PYUDF_BENCH_RAY_DASHBOARD_PYTHON;

/** A cluster of `workers` one-CPU nodes and a 0-CPU head, as processes of this host; with the dashboard, run by `dashboardPython`. */
async function startCluster(workers, { dashboard = false } = {}) {
  const script = [
    'import sys, ray',
    'from ray.cluster_utils import Cluster',
    `c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": ${dashboard ? 'True, "dashboard_host": "127.0.0.1"' : 'False'}, "object_store_memory": 300 * 2**20})`,
    `for _ in range(${workers}): c.add_node(num_cpus=1, object_store_memory=300 * 2**20)`,
    'c.wait_for_nodes()',
    'print(c.address, c.head_node.address_info.get("webui_url") or "", flush=True)',
    'sys.stdin.read()',
    'c.shutdown()',
  ].join('\n');
  const python = dashboard ? dashboardPython : runtime.python;
  // A job's entrypoint on the head runs the `python` on its PATH.
  const env = { ...process.env, ...rayRuntimeEnv(runtime), RAY_USAGE_STATS_ENABLED: '0', ...(dashboard ? { PATH: `${path.dirname(python)}:${process.env.PATH}` } : {}) };
  const child = spawn(python, ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'], env });
  const [address, webui] = await new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', (line) => resolve(line.split(' ')));
    child.once('exit', (code) => reject(new Error(`the cluster did not start (exit ${code})`)));
  });
  return {
    address: dashboard ? `http://${webui}` : address,
    async stop() {
      child.stdin.end();
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

function writeCsv(n) {
  const file = path.join(work, `input-${n}.csv`);
  if (fs.existsSync(file)) return file;
  const fd = fs.openSync(file, 'w');
  for (let start = 0; start < n; start += 100_000) {
    let chunk = '';
    for (let i = start; i < Math.min(n, start + 100_000); i++) chunk += `${i},${n - i}\n`;
    fs.writeSync(fd, chunk);
  }
  fs.closeSync(fd);
  return file;
}

function environment(cluster) {
  return TableEnvironment.create({ logger: quiet, ...(cluster ? { cluster: { kind: 'ray', address: cluster.address } } : {}) });
}

/** The tutorial job: add(a, b) over a CSV file into a CSV file. */
async function tutorial(cluster, n) {
  const input = writeCsv(n);
  const output = path.join(work, `out-${cluster ? 'ray' : 'local'}.csv`);
  const tEnv = environment(cluster);
  try {
    tEnv.registerFunction('add', udf('lambda i, j: i + j', [BIGINT, BIGINT], BIGINT));
    tEnv.connect(new FileSystem().path(input)).withFormat(new OldCsv().field('a', BIGINT).field('b', BIGINT)).createTemporaryTable('src');
    tEnv.connect(new FileSystem().path(output)).withFormat(new OldCsv().field('s', BIGINT)).createTemporaryTable('dst');
    const t0 = performance.now();
    tEnv.fromPath('src').select('add(a, b)').insertInto('dst');
    const result = await tEnv.execute('tutorial');
    return { rows: result.sinks[0].rows, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await tEnv.close();
    fs.rmSync(output, { force: true });
  }
}

/** The tutorial job as a plain Python script (csv module, one process): the baseline a user would write. */
function plainPython(n) {
  const input = writeCsv(n);
  const output = path.join(work, 'out-python.csv');
  const script = [
    'import csv, sys, time',
    't0 = time.perf_counter()',
    'with open(sys.argv[1], newline="") as src, open(sys.argv[2], "w", newline="") as dst:',
    '    add = lambda i, j: i + j',
    '    out = csv.writer(dst, lineterminator="\\n")',
    '    out.writerows([add(int(a), int(b))] for a, b in csv.reader(src))',
    'print(time.perf_counter() - t0)',
  ].join('\n');
  const seconds = Number(execFileSync(runtime.python, ['-c', script, input, output], { encoding: 'utf8' }).trim());
  const rows = Number(execFileSync('wc', ['-l', output], { encoding: 'utf8' }).trim().split(' ')[0]);
  fs.rmSync(output, { force: true });
  return { rows, seconds };
}

/** A row function that spends about 1 ms of CPU per row. */
async function heavy(cluster, n) {
  const tEnv = environment(cluster);
  try {
    tEnv.registerFunction('burn', udf('lambda x: sum(i * i for i in range(25_000)) * 0 + x', [BIGINT], BIGINT));
    const rows = Array.from({ length: n }, (_, i) => [BigInt(i)]);
    const t0 = performance.now();
    const count = await tEnv.fromElements(rows, { x: BIGINT }).select('burn(x) AS y').execute().count();
    return { rows: count, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await tEnv.close();
  }
}

/** A one-row job: what the remote path costs when there is no work. */
async function tiny(cluster) {
  const tEnv = environment(cluster);
  try {
    tEnv.registerFunction('add', udf('lambda i, j: i + j', [BIGINT, BIGINT], BIGINT));
    const t0 = performance.now();
    const rows = await tEnv.fromElements([[1n, 2n]], { a: BIGINT, b: BIGINT }).select('add(a, b) AS s').execute().collect();
    return { rows: rows.length, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await tEnv.close();
  }
}

/** Submission latency: from execute() to the driver's "connected" (the cluster accepted the job). */
async function submission(cluster) {
  const tEnv = TableEnvironment.create({
    logger: { log: (e) => { if (/connected to the Ray cluster/.test(e.message)) connectedAt ??= performance.now(); } },
    cluster: { kind: 'ray', address: cluster.address },
  });
  let connectedAt = null;
  try {
    const t0 = performance.now();
    await tEnv.fromElements([[1n]], { n: BIGINT }).select('n').execute().collect();
    return { rows: 1, seconds: ((connectedAt ?? performance.now()) - t0) / 1000 };
  } finally {
    await tEnv.close();
  }
}

const cases = [];
const record = (name, where, result) => {
  const entry = { name, where, ...result, rowsPerSecond: result.rows / result.seconds };
  cases.push(entry);
  process.stderr.write(`${name} [${where}]: ${entry.seconds.toFixed(2)} s, ${Math.round(entry.rowsPerSecond).toLocaleString('en')} rows/s\n`);
};

try {
  record('tutorial job, CSV to CSV', 'plain Python script', plainPython(SIZES.tutorial));
  record('tutorial job, CSV to CSV', 'local', await tutorial(null, SIZES.tutorial));
  record('heavy row function (~1 ms/row)', 'local', await heavy(null, SIZES.heavy));
  record('one-row job', 'local', await tiny(null));
  for (const nodes of SIZES.nodes) {
    const cluster = await startCluster(nodes);
    try {
      const where = `ray, ${nodes} node${nodes > 1 ? 's' : ''}`;
      if (nodes === SIZES.nodes[0]) {
        await tiny(cluster); // the first job on a new cluster also starts its worker processes
        record('one-row job', where, await tiny(cluster));
        record('submission to connected', where, await submission(cluster));
      }
      record('tutorial job, CSV to CSV', where, await tutorial(cluster, SIZES.tutorial));
      record('heavy row function (~1 ms/row)', where, await heavy(cluster, SIZES.heavy));
    } finally {
      await cluster.stop();
    }
  }
  if (dashboardPython && !smoke) {
    const cluster = await startCluster(1, { dashboard: true });
    try {
      const where = 'ray, 1 node, Jobs REST API';
      await tiny(cluster); // the first job also uploads pyudf's package and starts the worker processes
      record('one-row job', where, await tiny(cluster));
      record('submission to connected', where, await submission(cluster));
    } finally {
      await cluster.stop();
    }
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}

const machine = { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.versions.node,
  ray: execFileSync(runtime.python, ['-c', 'import ray; print(ray.__version__)'], { encoding: 'utf8', env: { ...process.env, ...rayRuntimeEnv(runtime) } }).trim() };
const prefix = smoke ? 'ray-smoke' : 'ray';
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, `${prefix}.json`), JSON.stringify({ smoke, machine, sizes: SIZES, cases }, null, 2));
const table = ['| Case | Where | Rows | Seconds | Rows/s |', '| --- | --- | ---: | ---: | ---: |',
  ...cases.map((c) => `| ${c.name} | ${c.where} | ${c.rows.toLocaleString('en')} | ${c.seconds.toFixed(2)} | ${Math.round(c.rowsPerSecond).toLocaleString('en')} |`)];
fs.writeFileSync(path.join(outDir, `${prefix}.md`), `# Ray benchmark\n\n${machine.cores} cores (${machine.cpu}), ${machine.memoryGb} GiB, Node ${machine.node}, Ray ${machine.ray}.\n` +
  'The cluster is on this machine: a 0-CPU head and 1-CPU worker nodes (ray.cluster_utils), so more nodes than cores only add contention.\n\n' +
  `${table.join('\n')}\n`);
process.stderr.write(`wrote bench/results/${prefix}.json and ${prefix}.md\n`);

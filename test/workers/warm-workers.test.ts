// Workers kept warm between the jobs of one TableEnvironment: reused while
// the Python setup is the same, replaced when it is not, never kept after a
// failure, stopped after their idle timeout, and never holding Node open.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { DataTypes, FileSystem, OldCsv, TableEnvironment, UdfError, udf, type TableEnvironmentOptions } from '../../src/index.js';
import { isGone, isolateTempRoot, leftoverPyudfDirs, pythonWorkers, recordingLogger, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir('udf-warm-');
const BIGINT = DataTypes.BIGINT();
const LEAVES_OPEN = fileURLToPath(new URL('../fixtures/host-leaves-env-open.mjs', import.meta.url));

afterEach(() => {
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
});

function environment(options: TableEnvironmentOptions = {}): TableEnvironment {
  const tEnv = TableEnvironment.create({ logger: recordingLogger(), ...options });
  tEnv.registerFunction('pid', udf('lambda x: __import__("os").getpid() + x * 0', [BIGINT], BIGINT));
  return tEnv;
}

async function workerPids(tEnv: TableEnvironment, rows = 1): Promise<bigint[]> {
  const input = Array.from({ length: rows }, () => [0n]);
  const out = await tEnv.fromElements(input, { x: BIGINT }).select('pid(x) AS p').execute().collect();
  return [...new Set(out.map((r) => r.p as bigint))];
}

async function waitUntil(condition: () => boolean, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return condition();
}

test('the next job of the same TableEnvironment runs on the same workers; close() stops them', async () => {
  const tEnv = environment({ parallelism: 2, bundleSize: 10 });
  try {
    const first = await workerPids(tEnv, 100);
    expect(first).toHaveLength(2);
    expect(pythonWorkers().map((w) => BigInt(w.pid)).sort()).toEqual([...first].sort());
    const second = await workerPids(tEnv, 100);
    expect(second.sort()).toEqual([...first].sort());
  } finally {
    await tEnv.close();
  }
});

test('each job opens and closes its functions and gets its own job parameters, on a reused worker', async () => {
  const marker = path.join(dir, 'lifecycle.txt');
  const module = path.join(dir, 'counting_udfs.py');
  fs.writeFileSync(module, [
    'from pyudf import ScalarFunction, udf, DataTypes',
    'class Tagged(ScalarFunction):',
    '    def open(self, context):',
    '        self.tag = context.get_job_parameter("tag", "none")',
    `        open(${JSON.stringify(marker)}, "a").write("open " + self.tag + "\\n")`,
    '    def eval(self, x):',
    '        return "%s-%d-%d" % (self.tag, x, __import__("os").getpid())',
    '    def close(self):',
    `        open(${JSON.stringify(marker)}, "a").write("close " + self.tag + "\\n")`,
    'tagged = udf(Tagged(), result_type=DataTypes.STRING())',
    '',
  ].join('\n'));
  const tEnv = environment();
  tEnv.addPythonFile(module);
  tEnv.registerFunction('tagged', udf('counting_udfs.tagged'));
  try {
    const values: string[] = [];
    for (const tag of ['first', 'second']) {
      tEnv.setJobParameter('tag', tag);
      const [row] = await tEnv.fromElements([[7n]], { x: BIGINT }).select('tagged(x) AS t').execute().collect();
      values.push(row!.t as string);
    }
    const [firstTag, , firstPid] = values[0]!.split('-');
    const [secondTag, , secondPid] = values[1]!.split('-');
    expect([firstTag, secondTag]).toEqual(['first', 'second']);
    expect(secondPid).toBe(firstPid);
    expect(fs.readFileSync(marker, 'utf8')).toBe('open first\nclose first\nopen second\nclose second\n');
  } finally {
    await tEnv.close();
  }
});

test('an edited Python file gets new workers that import it afresh', async () => {
  const module = path.join(dir, 'edited_udfs.py');
  fs.writeFileSync(module, 'def version(x):\n    return "v1-%d" % __import__("os").getpid()\n');
  const tEnv = environment();
  tEnv.addPythonFile(module);
  tEnv.registerFunction('version', udf('edited_udfs.version', [BIGINT], DataTypes.STRING()));
  const run = async () => (await tEnv.fromElements([[1n]], { x: BIGINT }).select('version(x) AS v').execute().collect())[0]!.v as string;
  try {
    const [v1, pid1] = (await run()).split('-');
    fs.writeFileSync(module, 'def version(x):\n    return "v2-%d" % __import__("os").getpid()\n');
    fs.utimesSync(module, new Date(), new Date(Date.now() + 5_000)); // a new mtime even within the clock's resolution
    const [v2, pid2] = (await run()).split('-');
    expect([v1, v2]).toEqual(['v1', 'v2']);
    expect(pid2).not.toBe(pid1);
    expect(isGone(Number(pid1))).toBe(true);
  } finally {
    await tEnv.close();
  }
});

test('a different parallelism or interpreter setup is not served by the idle workers', async () => {
  const tEnv = environment();
  const other = environment({ parallelism: 2 });
  try {
    const [pid] = await workerPids(tEnv);
    const otherPids = await workerPids(other, 50);
    expect(otherPids).not.toContain(pid);
  } finally {
    await Promise.all([tEnv.close(), other.close()]);
  }
});

test('workers idle longer than workerIdleTimeoutMs are stopped; the next job starts new ones', async () => {
  const tEnv = environment({ workerIdleTimeoutMs: 200 });
  try {
    const [pid] = await workerPids(tEnv);
    expect(await waitUntil(() => isGone(Number(pid)), 5_000)).toBe(true);
    expect(await waitUntil(() => leftoverPyudfDirs(tempRoot).length === 0, 2_000)).toBe(true);
    const [next] = await workerPids(tEnv);
    expect(next).not.toBe(pid);
  } finally {
    await tEnv.close();
  }
});

test('the longest workerIdleTimeoutMs a timer can wait keeps the workers; a longer one is refused, not turned into an immediate stop', async () => {
  const tEnv = environment({ workerIdleTimeoutMs: 2 ** 31 - 1 });
  try {
    const [first] = await workerPids(tEnv);
    await new Promise((r) => setTimeout(r, 50)); // past the 1 ms a timer that cannot wait this long would fire after
    const [second] = await workerPids(tEnv);
    expect(second).toBe(first);
  } finally {
    await tEnv.close();
  }
  for (const value of [2 ** 31, Number.MAX_SAFE_INTEGER]) {
    expect(() => TableEnvironment.create({ workerIdleTimeoutMs: value })).toThrow(expect.objectContaining({
      code: 'INVALID_ARGUMENT',
      message: `TableEnvironment option "workerIdleTimeoutMs" must be at most 2147483647 (about 24.8 days), got ${value}`,
    }));
  }
});

test('workerIdleTimeoutMs 0 stops a job\'s workers when it ends', async () => {
  const tEnv = environment({ workerIdleTimeoutMs: 0 });
  try {
    const [pid] = await workerPids(tEnv);
    expect(await waitUntil(() => isGone(Number(pid)), 5_000)).toBe(true);
    expect(pythonWorkers()).toEqual([]);
  } finally {
    await tEnv.close();
  }
});

test('workers of a failed job are not kept; the next job starts new ones and succeeds', async () => {
  const tEnv = environment();
  tEnv.registerFunction('fails', udf('lambda x: 1 // 0', [BIGINT], BIGINT));
  try {
    const [pid] = await workerPids(tEnv);
    const error = await tEnv.fromElements([[1n]], { x: BIGINT }).select('fails(x) AS f').execute().collect().catch((e) => e);
    expect(error).toBeInstanceOf(UdfError);
    expect(isGone(Number(pid))).toBe(true);
    const [next] = await workerPids(tEnv);
    expect(next).not.toBe(pid);
  } finally {
    await tEnv.close();
  }
});

test('a warm worker that died while idle is noticed: the next job starts new workers', async () => {
  const tEnv = environment();
  try {
    const [pid] = await workerPids(tEnv);
    process.kill(Number(pid), 'SIGKILL');
    expect(await waitUntil(() => isGone(Number(pid)), 2_000)).toBe(true);
    const [next] = await workerPids(tEnv);
    expect(next).not.toBe(pid);
  } finally {
    await tEnv.close();
  }
});

test('a program that never closes its TableEnvironment still exits, and its warm workers go with it', async () => {
  const host = await execa('node', [LEAVES_OPEN], { env: { TMPDIR: tempRoot }, timeout: 20_000, reject: false });
  expect(host.timedOut).toBe(false);
  expect(host.exitCode).toBe(0);
  const pids = host.stdout.split('\n').map((l) => Number(/^worker-pid (\d+)$/.exec(l)?.[1]));
  expect(pids).toHaveLength(2);
  expect(pids[1]).toBe(pids[0]); // the second job reused the warm worker
  expect(await waitUntil(() => isGone(pids[0]!), 2_000)).toBe(true);
  expect(await waitUntil(() => leftoverPyudfDirs(tempRoot).length === 0, 2_000)).toBe(true);
});

test('every line a job printed reaches the logger before it returns, and the next job on the warm worker gets all of its own', async () => {
  // More lines than the log stream carries in a second: the job's end waits for all of them.
  const LINES = 30_000;
  const logger = recordingLogger();
  const tEnv = environment({ logger });
  tEnv.registerFunction('chatty', udf(`lambda x: [print("line", i) for i in range(${LINES})] and x`, [BIGINT], BIGINT));
  tEnv.registerFunction('marked', udf('lambda x: print("second job", __import__("os").getpid()) or x', [BIGINT], BIGINT));
  const printed = (name: string) => logger.entries.filter((e) => e.functionName === name).map((e) => e.message);
  try {
    await tEnv.fromElements([[1n]], { x: BIGINT }).select('chatty(x) AS y').execute().collect();
    const lines = printed('chatty');
    expect(lines).toHaveLength(LINES);
    expect(lines.every((line, i) => line === `line ${i}`)).toBe(true);
    await tEnv.fromElements([[1n]], { x: BIGINT }).select('marked(x) AS y').execute().collect();
    expect(printed('marked')).toEqual([expect.stringMatching(/^second job \d+$/)]);
  } finally {
    await tEnv.close();
  }
}, 120_000);

test('a worker that dies in close() at the job\'s end: the job\'s output stands, a warning says so, the worker is not kept', async () => {
  const module = path.join(dir, 'dies_closing.py');
  fs.writeFileSync(module, [
    'import os',
    'from pyudf import ScalarFunction, udf, DataTypes',
    'class DiesClosing(ScalarFunction):',
    '    def eval(self, x):',
    '        return x * 2',
    '    def close(self):',
    '        os._exit(3)',
    'dies_closing = udf(DiesClosing(), [DataTypes.BIGINT()], DataTypes.BIGINT())',
    '',
  ].join('\n'));
  const output = path.join(dir, 'dies-closing-out', 'out.csv');
  const logger = recordingLogger();
  const tEnv = environment({ logger });
  tEnv.addPythonFile(module);
  tEnv.registerFunction('doubled', udf('dies_closing.dies_closing'));
  tEnv.connect(new FileSystem().path(output)).withFormat(new OldCsv().field('y', BIGINT)).createTemporaryTable('sink');
  try {
    const result = await tEnv.fromElements([[1n], [2n], [3n]], { x: BIGINT }).select('doubled(x) AS y').executeInsert('sink');
    expect(result.sinks).toEqual([{ table: 'sink', rows: 3 }]);
    expect(fs.readFileSync(output, 'utf8')).toBe('2\n4\n6\n');
    expect(logger.entries.filter((e) => e.source === 'pyudf' && e.level === 'warn').map((e) => e.message))
      .toEqual([expect.stringMatching(/^ending the job on its workers failed: .*Python worker \(pid \d+\).*; they are stopped$/s)]);
    expect(pythonWorkers()).toEqual([]);
    // The next job starts a worker of its own.
    expect(await workerPids(tEnv)).toHaveLength(1);
  } finally {
    await tEnv.close();
  }
});

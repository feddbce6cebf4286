import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { DataTypes, FileSystem, OldCsv, TableEnvironment, udf } from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, recordingLogger, tempDir, isGone, startHostFixture, within } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();
const HOST_DIES = fileURLToPath(new URL('../fixtures/host-dies.mjs', import.meta.url));


test.each(['SIGKILL', 'SIGINT', 'SIGTERM'] as const)(
  'when the host gets %s, its workers are gone within 2 s and so is its private directory',
  async (signal) => {
    const { host, workerPid } = await startHostFixture(HOST_DIES, [], tempRoot);
    expect(isGone(workerPid)).toBe(false);
    expect(leftoverPyudfDirs(tempRoot)).toHaveLength(1);
    host.kill(signal);
    const result = await host;
    expect(result.signal).toBe(signal);
    expect(await within(2_000, () => isGone(workerPid))).toBe(true);
    // After SIGKILL the host could not remove its private directory; its worker's guard did.
    await within(2_000, () => leftoverPyudfDirs(tempRoot).length === 0);
    expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
  },
);

test('each job has one private directory for its worker sockets, removed when the job ends', async () => {
  const logger = recordingLogger();
  const tEnv = TableEnvironment.create({ logger });
  tEnv.registerFunction('where_am_i', udf(
    'lambda x: __import__("json").dumps([__import__("os").getpid(), __import__("os").listdir(__import__("os").environ.get("TMPDIR", "/tmp"))])',
    [DataTypes.INT()], DataTypes.STRING(),
  ));
  const [row] = await tEnv.fromElements([[1]], { x: DataTypes.INT() }).select('where_am_i(x) AS info').execute().collect();
  const [pid, entries] = JSON.parse(row!.info as string) as [number, string[]];
  const privateDirs = entries.filter((e) => e.startsWith('pyudf-'));
  expect(privateDirs).toHaveLength(1);
  const privateDir = path.join(tempRoot, privateDirs[0]!);
  await tEnv.close();
  expect(fs.existsSync(privateDir)).toBe(false);
  expect(isGone(pid)).toBe(true);
  expect(pythonWorkers()).toEqual([]);
});

test('npm pack ships the built library, the proto and the Python worker package', async () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const { stdout } = await execa('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root });
  const files = (JSON.parse(stdout) as [{ files: { path: string }[] }])[0].files.map((f) => f.path);
  expect(files).toEqual(expect.arrayContaining([
    'dist/index.js', 'dist/index.d.ts', 'proto/worker.proto', 'requirements/runtime.txt',
    'python_worker/pyudf/__init__.py', 'python_worker/pyudf/worker/server.py', 'python_worker/pyudf/_proto/worker_pb2.py',
  ]));
  expect(files.some((f) => f.includes('__pycache__') || f.startsWith('python_worker/tests'))).toBe(false);
});

test('a batch goes to the worker when the bundle time passes, before the input ends', async () => {
  // A FIFO is a slow source: rows 1 and 2 must reach Python while the writer still holds it open.
  const fifo = path.join(dir, 'slow-input');
  await execa('mkfifo', [fifo]);
  const logger = recordingLogger();
  const tEnv = TableEnvironment.create({ logger, bundleSize: 1000, bundleTimeMs: 20 });
  tEnv.registerFunction('seen', udf('lambda a: print("row", a) or a', [DataTypes.BIGINT()], DataTypes.BIGINT()));
  tEnv.connect(new FileSystem().path(fifo))
    .withFormat(new OldCsv().field('a', DataTypes.BIGINT()))
    .createTemporaryTable('slow');
  const rows = tEnv.fromPath('slow').select('seen(a) AS a').execute().collect();
  const writer = fs.createWriteStream(fifo);
  // csv-parse releases a record once the next one has begun, so row 3 is started but unfinished:
  // a batch of 1000 rows can only go to the worker now because its bundle time passed.
  writer.write('1\n2\n3');
  // No timer decides the outcome: the test waits for the worker's own output about row 2.
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (logger.entries.some((e) => e.functionName === 'seen' && e.message === 'row 2')) {
        clearInterval(poll);
        resolve();
      }
    }, 10);
  });
  expect(logger.entries.some((e) => e.message === 'row 3')).toBe(false);
  writer.end('\n');
  await expect(rows).resolves.toEqual([{ a: 1n }, { a: 2n }, { a: 3n }]);
  await tEnv.close();
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
});

test.each(['abort', 'close'] as const)('a job waiting on a quiet input stops at once on %s', async (how) => {
  const fifo = path.join(dir, `quiet-${how}`);
  await execa('mkfifo', [fifo]);
  const tEnv = TableEnvironment.create({ logger: recordingLogger() });
  tEnv.registerFunction('inc', udf('lambda a: a + 1', [DataTypes.BIGINT()], DataTypes.BIGINT()));
  tEnv.connect(new FileSystem().path(fifo)).withFormat(new OldCsv().field('a', DataTypes.BIGINT())).createTemporaryTable('quiet');
  const controller = new AbortController();
  const job = tEnv.fromPath('quiet').select('inc(a) AS a').execute({ signal: controller.signal }).collect();
  const writer = fs.createWriteStream(fifo); // opened, never written: the job waits for input
  await new Promise((resolve) => writer.once('open', resolve));
  // The job is waiting when its worker is up: wait for the worker process, not for a timer.
  while (pythonWorkers().length === 0) await new Promise((r) => setTimeout(r, 20));
  if (how === 'abort') controller.abort();
  else void tEnv.close();
  const error = await job.catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'CLOSED' });
  expect((error as Error).message).toBe(how === 'abort' ? 'the job was cancelled' : 'the TableEnvironment was closed during the job');
  writer.destroy();
  await tEnv.close();
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
});

// Job environments across processes: two Node processes needing the same new
// environment build it once; a build killed half-way leaves nothing a later
// job trusts, and that job builds it afresh.
import fs from 'node:fs';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { fileURLToPath } from 'node:url';
import { freshCacheDir, importPyudf, pythonWorkers, recordingLogger, tempDir, wheelhouseCopy } from '../support.js';

// pyudf's values come through importPyudf (see there why).
const { DataTypes, FileSystem, OldCsv, TableEnvironment, listCachedEnvironments, udf } = await importPyudf();

const dir = tempDir('concurrency-');
const FIXTURE = fileURLToPath(new URL('../fixtures/requirements-job.mjs', import.meta.url));
const BIGINT = DataTypes.BIGINT();

// Uses every requirement, so that a half-built environment could not pass for a whole one.
const MODULE = path.join(dir, 'all_udfs.py');
fs.writeFileSync(MODULE, `from pyudf import DataTypes, udf


@udf(input_types=[DataTypes.BIGINT(), DataTypes.BIGINT()], result_type=DataTypes.BIGINT())
def add(i, j):
    from mpmath import fadd
    import dateutil.parser, six, sortedcontainers
    return int(fadd(i, j))
`);

const cachedDir = wheelhouseCopy(['mpmath-1.3.0-py3-none-any.whl', 'python_dateutil-2.9.0.post0-py2.py3-none-any.whl',
  'six-1.17.0-py2.py3-none-any.whl', 'sortedcontainers-2.4.0-py2.py3-none-any.whl']);

function requirementsFile(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

function startJob(cacheDir: string, requirements: string, name: string, options: { detached?: boolean } = {}): ResultPromise {
  return execa(process.execPath, [FIXTURE], {
    reject: false,
    detached: options.detached ?? false,
    env: {
      PYUDF_TEST_CACHE_DIR: cacheDir,
      PYUDF_TEST_REQUIREMENTS: requirements,
      PYUDF_TEST_CACHED_DIR: cachedDir,
      PYUDF_TEST_PYTHON_FILE: MODULE,
      PYUDF_TEST_OUTPUT: path.join(dir, `${name}.csv`),
    },
  });
}

function resultOf(run: { stdout: unknown; stderr: unknown; exitCode?: number }): { built: boolean; key: string; output: string } {
  const line = String(run.stdout).split('\n').find((l) => l.startsWith('result '));
  if (run.exitCode !== 0 || !line) throw new Error(`the job failed (exit ${run.exitCode}):\n${String(run.stderr)}`);
  return JSON.parse(line.slice('result '.length)) as { built: boolean; key: string; output: string };
}

test('two processes that need the same new environment at the same time build it once', async () => {
  const cacheDir = await freshCacheDir();
  const requirements = requirementsFile('concurrent.txt', 'mpmath==1.3.0\npython-dateutil==2.9.0.post0\nsortedcontainers\n');
  const [first, second] = await Promise.all([startJob(cacheDir, requirements, 'first'), startJob(cacheDir, requirements, 'second')]);
  const results = [resultOf(first), resultOf(second)];
  expect(results.map((r) => r.output)).toEqual(['3\n42\n', '3\n42\n']);
  expect(results.map((r) => r.built).sort()).toEqual([false, true]);
  expect(results[0]!.key).toBe(results[1]!.key);
  // Exactly one of them ran pip.
  const creators = [first, second].filter((run) => String(run.stderr).includes('creating Python environment'));
  expect(creators).toHaveLength(1);
  const envs = listCachedEnvironments(cacheDir).filter((e) => e.kind === 'env');
  expect(envs.map((e) => [e.name, e.incomplete])).toEqual([[results[0]!.key, false]]);
  expect(fs.readdirSync(path.join(cacheDir, 'envs')).filter((n) => n.includes('.staging-'))).toEqual([]);
});

test('a build killed half-way is never used; a later job builds the environment afresh once the lock goes stale', async () => {
  const cacheDir = await freshCacheDir();
  const envsDir = path.join(cacheDir, 'envs');
  const requirements = requirementsFile('killed.txt', 'mpmath==1.3.0\npython-dateutil==2.9.0.post0\nsix==1.17.0\nsortedcontainers\n');

  // Its own process group, so that the kill takes pip with it, as a crash of the whole job would.
  const victim = startJob(cacheDir, requirements, 'victim', { detached: true });
  let staging: string | undefined;
  const deadline = Date.now() + 20_000;
  while (!staging && Date.now() < deadline && victim.exitCode === null) {
    staging = fs.existsSync(envsDir) ? fs.readdirSync(envsDir).find((n) => /\.staging-\d+$/.test(n)) : undefined;
    if (!staging) await new Promise((r) => setTimeout(r, 5));
  }
  expect(staging).toBeDefined();
  process.kill(-victim.pid!, 'SIGKILL');
  const killed = await victim;
  expect(killed.signal).toBe('SIGKILL');
  const key = staging!.slice(0, staging!.indexOf('.staging-'));
  expect(staging).toBe(`${key}.staging-${victim.pid}`);

  // What the dead build left: an unfinished staging directory and its lock, and no environment.
  expect(fs.existsSync(path.join(envsDir, staging!))).toBe(true);
  expect(fs.existsSync(path.join(envsDir, key))).toBe(false);
  expect(listCachedEnvironments(cacheDir).filter((e) => e.kind === 'env').map((e) => [e.name, e.incomplete]))
    .toEqual([[staging, true]]);

  const logger = recordingLogger();
  const tEnv = TableEnvironment.create({ cacheDir, logger });
  try {
    tEnv.setPythonRequirements(requirements, cachedDir);
    tEnv.addPythonFile(MODULE);
    tEnv.registerFunction('add', udf('all_udfs.add'));
    const output = path.join(dir, 'retry.csv');
    tEnv.connect(new FileSystem().path(output)).withFormat(new OldCsv().field('s', BIGINT)).createTemporaryTable('sink');
    const started = Date.now();
    const result = await tEnv.fromElements([[1n, 2n], [40n, 2n]], { a: BIGINT, b: BIGINT }).select('add(a, b) AS s').executeInsert('sink');
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(result.pythonEnvironment).toEqual(expect.objectContaining({ key, built: true }));
    expect(fs.readFileSync(output, 'utf8')).toBe('3\n42\n');
    expect(fs.readdirSync(path.join(result.pythonEnvironment!.dir, 'site'))).toEqual(expect.arrayContaining(
      ['mpmath', 'dateutil', 'six.py', 'sortedcontainers']));
  } finally {
    await tEnv.close();
  }
  expect(fs.readdirSync(envsDir).filter((n) => n.includes('.staging-'))).toEqual([]);
  expect(listCachedEnvironments(cacheDir).filter((e) => e.kind === 'env').map((e) => [e.name, e.incomplete])).toEqual([[key, false]]);
  expect(pythonWorkers()).toEqual([]);
});

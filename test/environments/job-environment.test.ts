// setPythonRequirements end to end, with real pip, the real wheelhouse and
// real workers: the seed's mpmath UDF, a dependency resolved from the cached
// dir, a requirement the interpreter already has, the environment reused
// without pip, and the failures (a version the cached dir lacks, a malformed
// line) — all installed from the cached dir alone, never from the mirror.
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import type { DataType, JobResult } from '../../src/index.js';
import { freshCacheDir, importPyudf, isolateTempRoot, leftoverPyudfDirs, pythonWorkers, recordingLogger, tempDir, wheelhouseCopy } from '../support.js';

// pyudf's values come through importPyudf (see there why).
const { DataTypes, EnvironmentError, FileSystem, OldCsv, TableEnvironment, listCachedEnvironments, udf } = await importPyudf();
type TableEnvironment = import('../../src/index.js').TableEnvironment;
type EnvironmentError = import('../../src/index.js').EnvironmentError;

const tempRoot = isolateTempRoot();
const dir = tempDir('reqs-');
const FIXTURE = fileURLToPath(new URL('../fixtures/requirements-job.mjs', import.meta.url));
const BIGINT = DataTypes.BIGINT();

// The seed's example module, verbatim but for the import.
const MY_UDFS = path.join(dir, 'my_udfs.py');
fs.writeFileSync(MY_UDFS, `from pyudf import DataTypes, udf


@udf(input_types=[DataTypes.BIGINT(), DataTypes.BIGINT()], result_type=DataTypes.BIGINT())
def add(i, j):
    from mpmath import fadd
    return int(fadd(i, j))


@udf(input_types=[DataTypes.STRING()], result_type=DataTypes.BIGINT())
def year(s):
    from dateutil.parser import parse
    return parse(s).year


@udf(input_types=[DataTypes.BIGINT()], result_type=DataTypes.STRING())
def setuptools_version(x):
    import setuptools
    return setuptools.__version__ + ' ' + setuptools.__file__
`);

function requirements(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

let cacheDir: string;
let cachedDir: string;
beforeAll(async () => {
  cacheDir = await freshCacheDir();
  cachedDir = wheelhouseCopy();
});

afterEach(() => {
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
});

/** Runs `select` over `rows` into a CSV sink: the JobResult and the file's lines. */
async function runJob(
  setup: (tEnv: TableEnvironment) => void,
  rows: unknown[][],
  schema: Record<string, DataType>,
  select: string,
  resultType: DataType,
  logger = recordingLogger(),
): Promise<{ result: JobResult; lines: string[] }> {
  const tEnv = TableEnvironment.create({ cacheDir, logger });
  try {
    setup(tEnv);
    const output = path.join(fs.mkdtempSync(path.join(dir, 'out-')), 'out.csv');
    tEnv.connect(new FileSystem().path(output)).withFormat(new OldCsv().field('r', resultType)).createTemporaryTable('sink');
    const result = await tEnv.fromElements(rows, schema).select(`${select} AS r`).executeInsert('sink');
    return { result, lines: fs.readFileSync(output, 'utf8').trim().split('\n') };
  } finally {
    await tEnv.close();
  }
}

const mpmathRequirements = () => requirements('requirements.txt', 'mpmath==1.3.0\n');

function runSeedJob(logger = recordingLogger()) {
  return runJob((tEnv) => {
    tEnv.setPythonRequirements(mpmathRequirements(), cachedDir);
    tEnv.addPythonFile(MY_UDFS);
    tEnv.registerFunction('add', udf('my_udfs.add'));
  }, [[1n, 2n], [40n, 2n], [2n ** 40n, -1n]], { a: BIGINT, b: BIGINT }, 'add(a, b)', BIGINT, logger);
}

describe('the seed\'s mpmath UDF', () => {
  let firstKey = '';

  test('runs with mpmath installed from the cached dir, into a newly built environment', async () => {
    const logger = recordingLogger();
    const { result, lines } = await runSeedJob(logger);
    expect(lines).toEqual(['3', '42', String(2n ** 40n - 1n)]);
    expect(result.pythonEnvironment).not.toBeNull();
    const environment = result.pythonEnvironment!;
    expect(environment.built).toBe(true);
    expect(environment.key).toMatch(/^[0-9a-f]{16}$/);
    expect(environment.dir).toBe(path.join(cacheDir, 'envs', environment.key));
    expect(fs.readdirSync(path.join(environment.dir, 'site'))).toEqual(expect.arrayContaining(['mpmath', 'mpmath-1.3.0.dist-info']));
    expect(logger.entries.some((e) => e.message.startsWith(`creating Python environment ${environment.key}`))).toBe(true);
    firstKey = environment.key;
  });

  test('a second job (a new TableEnvironment, the same cache) reuses it: pip does not run', async () => {
    expect(firstKey).not.toBe('');
    const logger = recordingLogger();
    const { result, lines } = await runSeedJob(logger);
    expect(lines).toEqual(['3', '42', String(2n ** 40n - 1n)]);
    expect(result.pythonEnvironment).toEqual(expect.objectContaining({ key: firstKey, built: false }));
    expect(logger.entries.filter((e) => e.message.includes('creating Python environment'))).toEqual([]);
    expect(logger.entries.filter((e) => e.message.includes('installing'))).toEqual([]);
    const envs = listCachedEnvironments(cacheDir).filter((e) => e.kind === 'env');
    expect(envs.map((e) => [e.name, e.incomplete])).toEqual([[firstKey, false]]);
  });
});

test('python-dateutil pulls its dependency six from the cached dir into the environment', async () => {
  const { result, lines } = await runJob((tEnv) => {
    tEnv.setPythonRequirements(requirements('dateutil.txt', 'python-dateutil==2.9.0.post0\n'), cachedDir);
    tEnv.addPythonFile(MY_UDFS);
    tEnv.registerFunction('year', udf('my_udfs.year'));
  }, [['2024-02-29T10:00:00'], ['March 3rd, 1999']], { s: DataTypes.STRING() }, 'year(s)', BIGINT);
  expect(lines).toEqual(['2024', '1999']);
  expect(result.pythonEnvironment?.built).toBe(true);
  const site = fs.readdirSync(path.join(result.pythonEnvironment!.dir, 'site'));
  expect(site).toEqual(expect.arrayContaining(['dateutil', 'six.py', 'six-1.17.0.dist-info']));
});

test('a requirement is installed into the environment even when the interpreter already has the package', async () => {
  const base = await execa('python3', ['-c', 'import setuptools; print(setuptools.__version__)']);
  expect(base.stdout.trim()).not.toBe('80.9.0'); // the interpreter's own setuptools is another version
  const { result, lines } = await runJob((tEnv) => {
    tEnv.setPythonRequirements(requirements('setuptools.txt', 'setuptools==80.9.0\n'), cachedDir);
    tEnv.addPythonFile(MY_UDFS);
    tEnv.registerFunction('setuptools_version', udf('my_udfs.setuptools_version'));
  }, [[1n]], { x: BIGINT }, 'setuptools_version(x)', DataTypes.STRING());
  const [version, file] = lines[0]!.split(' ');
  expect(version).toBe('80.9.0');
  expect(file).toBe(path.join(result.pythonEnvironment!.dir, 'site', 'setuptools', '__init__.py'));
});

describe('failures name their cause', () => {
  let missingError: EnvironmentError;

  test('a version the cached dir lacks (but the mirror has): ENVIRONMENT_BUILD_FAILED naming it, what the dir holds, and nothing published', async () => {
    const requirementsFile = requirements('too-new.txt', 'mpmath==1.4.1\n');
    const logger = recordingLogger();
    const tEnv = TableEnvironment.create({ cacheDir, logger });
    try {
      tEnv.setPythonRequirements(requirementsFile, cachedDir);
      tEnv.addPythonFile(MY_UDFS);
      tEnv.registerFunction('add', udf('my_udfs.add'));
      const error = await tEnv.fromElements([[1n, 2n]], { a: BIGINT, b: BIGINT }).select('add(a, b) AS s').execute().collect()
        .then(() => new Error('expected the job to fail'), (e: unknown) => e);
      expect(error).toBeInstanceOf(EnvironmentError);
      missingError = error as EnvironmentError;
    } finally {
      await tEnv.close();
    }
    expect(missingError.code).toBe('ENVIRONMENT_BUILD_FAILED');
    const firstLine = missingError.message.split('\n')[0]!;
    expect(firstLine).toContain('mpmath==1.4.1');
    expect(firstLine).toContain(requirementsFile);
    expect(firstLine).toContain(cachedDir);
    expect(firstLine).toContain('versions there: 1.3.0');
    for (const file of fs.readdirSync(cachedDir)) expect(firstLine).toContain(file);
    expect(missingError.output).toContain('No matching distribution found for mpmath==1.4.1');
    expect(missingError.exitCode).not.toBe(0);
    // Nothing that looks like an environment: no finished one for it, no staging directory.
    const envs = listCachedEnvironments(cacheDir).filter((e) => e.kind === 'env');
    expect(envs.filter((e) => e.incomplete)).toEqual([]);
    expect(envs.some((e) => e.requirementsFile === requirementsFile)).toBe(false);
    expect(fs.readdirSync(path.join(cacheDir, 'envs')).filter((n) => n.includes('.staging-'))).toEqual([]);
    expect(pythonWorkers()).toEqual([]);
  });

  test('pip was told to use the cached dir only: --isolated --no-index --find-links DIR', () => {
    expect(missingError).toBeDefined();
    const command = missingError.command;
    expect(command).toEqual(expect.arrayContaining(['--isolated', '--no-index', '--find-links']));
    expect(command[command.indexOf('--find-links') + 1]).toBe(cachedDir);
    expect(command).not.toContain('--index-url');
    expect(command).not.toContain('--extra-index-url');
    expect(command).toContain('--target');
  });

  test('a malformed requirements line: the error names file:line and the text', async () => {
    const requirementsFile = requirements('malformed.txt', 'mpmath==1.3.0\nfoo bar==1\n');
    const tEnv = TableEnvironment.create({ cacheDir, logger: recordingLogger() });
    try {
      tEnv.setPythonRequirements(requirementsFile, cachedDir);
      tEnv.registerFunction('f', udf('lambda x: x', [BIGINT], BIGINT));
      const error = await tEnv.fromElements([[1n]], { x: BIGINT }).select('f(x)').execute().collect()
        .then(() => new Error('expected the job to fail'), (e: unknown) => e);
      expect(error).toBeInstanceOf(EnvironmentError);
      expect((error as EnvironmentError).code).toBe('ENVIRONMENT_BUILD_FAILED');
      expect((error as Error).message.split('\n')[0]).toBe(`${requirementsFile}:2: invalid requirement "foo bar==1"`);
    } finally {
      await tEnv.close();
    }
  });
});

test('the seed job runs in a process with no network at all (unshare -n)', async () => {
  const cache = await freshCacheDir('udf-cache-offline-');
  const output = path.join(dir, 'offline-out.csv');
  const run = await execa('unshare', ['-n', process.execPath, FIXTURE], {
    reject: false,
    env: {
      PYUDF_TEST_CACHE_DIR: cache,
      PYUDF_TEST_REQUIREMENTS: mpmathRequirements(),
      PYUDF_TEST_CACHED_DIR: cachedDir,
      PYUDF_TEST_PYTHON_FILE: MY_UDFS,
      PYUDF_TEST_OUTPUT: output,
    },
  });
  expect(run.stderr).not.toMatch(/^\[pyudf (warn|error)\]|Error/m);
  expect(run.exitCode).toBe(0);
  const line = run.stdout.split('\n').find((l) => l.startsWith('result '));
  expect(JSON.parse(line!.slice('result '.length))).toEqual({ built: true, key: expect.stringMatching(/^[0-9a-f]{16}$/), output: '3\n42\n' });
});

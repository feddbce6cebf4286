// A machine with no package index at all: `pyudf download --runtime` puts the
// worker runtime's wheels in the job's cached dir, and the first job builds
// the runtime from there (pip isolated from the machine's configuration).
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { isolateTempRoot, pythonWorkers, recordingLogger, tempDir, wheelhouseCopy } from '../support.js';

isolateTempRoot();
const cacheDir = tempDir('udf-empty-cache-');
const dir = tempDir('udf-job-');
const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

test('the worker runtime is built from a cached dir that holds its wheels', async () => {
  const { DataTypes, TableEnvironment, udf, listCachedEnvironments } = await import('../../src/index.js')
    .then(async (api) => ({ ...api, ...(await import('../../src/environments/catalog.js')) }));
  const cachedDir = wheelhouseCopy(['mpmath-1.3.0-py3-none-any.whl']);
  // Where there is network (here: the machine's package mirror).
  const download = await execa('node', [CLI, 'download', '--runtime', '-d', cachedDir], { reject: false });
  expect(download.exitCode).toBe(0);
  for (const name of ['grpcio', 'protobuf', 'pyarrow', 'pandas', 'numpy']) {
    expect(fs.readdirSync(cachedDir).some((n) => n.startsWith(`${name}-`) && n.endsWith('.whl'))).toBe(true);
  }

  fs.writeFileSync(path.join(dir, 'requirements.txt'), 'mpmath==1.3.0\n');
  const logger = recordingLogger();
  const tEnv = TableEnvironment.create({ cacheDir, logger });
  tEnv.setPythonRequirements(path.join(dir, 'requirements.txt'), cachedDir);
  tEnv.registerFunction('fadd', udf('lambda i, j: int(__import__("mpmath").fadd(i, j))', [DataTypes.BIGINT(), DataTypes.BIGINT()], DataTypes.BIGINT()));
  const rows = await tEnv.fromElements([[1n, 2n]], { a: DataTypes.BIGINT(), b: DataTypes.BIGINT() }).select('fadd(a, b) AS s').execute().collect();
  await tEnv.close();
  expect(rows).toEqual([{ s: 3n }]);
  const built = listCachedEnvironments(cacheDir);
  expect(built.filter((e) => e.kind === 'runtime' && !e.incomplete)).toHaveLength(1);
  expect(built.filter((e) => e.kind === 'env' && !e.incomplete)).toHaveLength(1);
  // The first run says what it builds and why, each step as pip takes it, and how long it took.
  const lines = logger.entries.filter((e) => e.source === 'pyudf' && e.level === 'info').map((e) => e.message);
  const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
  const order = [
    /^building the Python worker runtime \(grpcio, protobuf, pyarrow, pandas\) for Python .* — first run only; later jobs reuse it from /,
    /^creating the virtualenv /,
    /^installing .*runtime\.txt with pip from .* only$/,
    /^pip: Processing .*grpcio-.*\.whl$/,
    /^pip: Installing collected packages: .*pandas/,
    /^pip: Successfully installed .*grpcio-/,
    /^worker runtime ready in \d+\.\d s$/,
    /^creating Python environment [0-9a-f]{16} for .*requirements\.txt — first job with these requirements; later jobs reuse it$/,
    /^pip: Processing .*mpmath-1\.3\.0-py3-none-any\.whl$/,
    /^pip: Successfully installed mpmath-1\.3\.0$/,
    /^Python environment [0-9a-f]{16} ready in \d+\.\d s$/,
  ].map(at);
  expect({ lines, order }).toEqual({ lines, order: order.map(() => expect.any(Number)) });
  expect(order.every((index) => index >= 0)).toBe(true);
  expect([...order].sort((a, b) => a - b)).toEqual(order);
  for (const name of ['grpcio', 'protobuf', 'pyarrow', 'pandas', 'numpy']) {
    expect(lines.some((line) => new RegExp(`^pip: Processing ${name}-[^/ ]*\\.whl$`).test(line))).toBe(true);
  }
  expect(pythonWorkers()).toEqual([]);
}, 120_000);

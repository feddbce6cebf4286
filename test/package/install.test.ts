// Other projects install pyudf from the tarball `npm pack` makes, as from the registry:
// a plain Node ESM script and a CommonJS one run a job, and a strict TypeScript project
// type-checks against the published types.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const project = tempDir('consumer-');
const cjsProject = tempDir('consumer-cjs-');
const REPO_ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const TSC = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsc');

/**
 * The consumer's environment: ours, without what `npm test` and jest add (npm_config_local_prefix
 * would point npm back at this repository; NODE_OPTIONS would make node warn on stderr).
 */
const consumerEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) =>
  !/^npm_/i.test(name) && name !== 'INIT_CWD' && name !== 'NODE_OPTIONS')) as Record<string, string>;

function run(file: string, args: readonly string[], cwd = project) {
  return execa(file, args, { cwd, env: consumerEnv, extendEnv: false, reject: false, all: true, stdin: 'ignore' });
}

const CJS_JOB = `const { TableEnvironment, DataTypes, udf } = require('pyudf');

(async () => {
  const tEnv = TableEnvironment.create();
  tEnv.registerFunction('add', udf('lambda i, j: i + j', { inputTypes: [DataTypes.BIGINT(), DataTypes.BIGINT()], resultType: DataTypes.BIGINT() }));
  const rows = await tEnv.fromElements([[1n, 2n], [20n, 22n]], { a: DataTypes.BIGINT(), b: DataTypes.BIGINT() })
    .select('add(a, b) AS s').execute().collect();
  await tEnv.close();
  process.stdout.write(rows.map((row) => String(row.s)).join(',') + '\\n');
})();
`;

const JOB = `import { TableEnvironment, DataTypes, udf } from 'pyudf';

const tEnv = TableEnvironment.create();
tEnv.registerFunction('add', udf('lambda i, j: i + j', [DataTypes.BIGINT(), DataTypes.BIGINT()], DataTypes.BIGINT()));
const rows = await tEnv.fromElements([[1n, 2n], [20n, 22n]], { a: DataTypes.BIGINT(), b: DataTypes.BIGINT() })
  .select('add(a, b) AS s').execute().collect();
await tEnv.close();
process.stdout.write(rows.map((row) => String(row.s)).join(',') + '\\n');
`;

const TYPED = `import { TableEnvironment, DataTypes, udf, EnvironmentError, type Row, type PythonFunction } from 'pyudf';

const add: PythonFunction = udf('lambda i, j: i + j', [DataTypes.BIGINT(), DataTypes.BIGINT()], DataTypes.BIGINT());
const tEnv: TableEnvironment = TableEnvironment.create({ parallelism: 1 });
tEnv.registerFunction('add', add);
const rows: Row[] = await tEnv.fromElements([[1n, 2n]], { a: DataTypes.BIGINT(), b: DataTypes.BIGINT() })
  .select('add(a, b) AS s').execute().collect();
await tEnv.close();
export const sums: unknown[] = rows.map((row) => row.s);
export const missingPython = (e: unknown): boolean => e instanceof EnvironmentError && e.code === 'PYTHON_NOT_FOUND';
export const declared: PythonFunction = udf('m.f', { resultType: DataTypes.STRING(), concurrency: 100 });
export const serialized: string = JSON.stringify(new EnvironmentError('PYTHON_NOT_FOUND', 'no python', {}));
// Rows are typed from a schema object: a misspelt column does not compile.
const typedRows = await tEnv.fromElements([[1n, 2n]], { a: DataTypes.BIGINT(), b: DataTypes.BIGINT() }).execute().collect();
export const first = typedRows[0]?.a;
// @ts-expect-error misspelt
export const misspelt = typedRows[0]?.aa;
export const named = async () => (await tEnv.fromElements([[1n]], { a: DataTypes.BIGINT() }).select('a AS s').execute().collect<{ s: bigint }>())[0]?.s;
// The methods Table uses to run jobs are not part of TableEnvironment's public type.
// @ts-expect-error internal
tEnv.runCollect;
// @ts-expect-error internal
tEnv.queueInsert;
// @ts-expect-error internal
tEnv.functionNames;
`;

const UNTYPED = `import { DataTypes, udf } from 'pyudf';

export const wrong = udf(42, [DataTypes.BIGINT()], DataTypes.BIGINT());
`;

const typeCheck = (file: string, ...more: string[]) =>
  run(TSC, ['--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--strict', ...more, file]);

let typed: ReturnType<typeof typeCheck>;
let untyped: ReturnType<typeof typeCheck>;

let tarball: string;
let packed: string[];

async function newProject(dir: string, type: 'module' | 'commonjs') {
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: path.basename(dir), version: '1.0.0', private: true, type }, null, 2));
  // --prefer-offline: what `npm ci` already fetched comes from npm's cache, as on a developer's machine; the rest from the registry.
  const install = await run('npm', ['install', tarball, '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline'], dir);
  expect({ exitCode: install.exitCode, output: install.all }).toEqual({ exitCode: 0, output: expect.any(String) });
}

beforeAll(async () => {
  // dist is built by the test command; packing does not build again.
  const pack = await run('npm', ['pack', REPO_ROOT, '--ignore-scripts', '--json', '--pack-destination', project]);
  expect({ exitCode: pack.exitCode, stderr: pack.stderr }).toEqual({ exitCode: 0, stderr: expect.any(String) });
  const [report] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(project, report!.filename);
  packed = report!.files.map((file) => file.path);
  await Promise.all([newProject(project, 'module'), newProject(cjsProject, 'commonjs')]);

  fs.writeFileSync(path.join(project, 'job.mjs'), JOB);
  fs.writeFileSync(path.join(project, 'typed.ts'), TYPED);
  fs.writeFileSync(path.join(project, 'untyped.ts'), UNTYPED);
  // tsc takes seconds: both checks run side by side while the job runs. The typed file is checked
  // with everything its imports pull in (dist's .d.ts and theirs); the untyped one needs only
  // udf()'s signature, so it skips the libraries' own .d.ts files, which cost most of tsc's time.
  typed = typeCheck('typed.ts');
  untyped = typeCheck('untyped.ts', '--skipLibCheck');
});

afterAll(async () => {
  await Promise.all([typed, untyped]); // no tsc outlives the file
});

test('the tarball holds the library, its licence and changelog, and no development files', () => {
  expect(packed).toEqual(expect.arrayContaining([
    'LICENSE', 'README.md', 'CHANGELOG.md', 'package.json', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts',
    'requirements/runtime.txt', 'proto/worker.proto',
  ]));
  expect(packed.filter((file) => /\.map$|^test\/|^src\/|^bench\/|^scripts\/|dev\.txt$|__pycache__/.test(file))).toEqual([]);
  const installed = path.join(project, 'node_modules', 'pyudf');
  expect(fs.lstatSync(installed).isSymbolicLink()).toBe(false);
  expect(fs.readFileSync(path.join(installed, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
});

test('a CommonJS script requires pyudf and runs a job with a Python UDF', async () => {
  fs.writeFileSync(path.join(cjsProject, 'job.js'), CJS_JOB);
  const job = await run('node', ['job.js'], cjsProject);
  expect({ exitCode: job.exitCode, stdout: job.stdout, stderr: job.stderr }).toEqual({ exitCode: 0, stdout: '3,42', stderr: '' });
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
});

test('a plain Node ESM script imports pyudf and runs a job with a Python UDF', async () => {
  const job = await run('node', ['job.mjs']);
  expect({ exitCode: job.exitCode, stdout: job.stdout, stderr: job.stderr }).toEqual({ exitCode: 0, stdout: '3,42', stderr: '' });
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
});

test('TypeScript type-checks a strict NodeNext file that imports pyudf', async () => {
  const result = await typed;
  expect({ exitCode: result.exitCode, output: result.all }).toEqual({ exitCode: 0, output: '' });
});

test('TypeScript rejects a number where udf() takes its Python callable', async () => {
  const result = await untyped;
  expect(result.exitCode).toBe(2);
  expect(result.all).toBe(
    "untyped.ts(3,26): error TS2345: Argument of type 'number' is not assignable to parameter of type 'string'.",
  );
});

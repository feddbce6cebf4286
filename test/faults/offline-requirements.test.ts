// With a cached dir, pip must fetch nothing from anywhere else: every line of
// the requirements, nested files included, is checked before pip runs. A
// local HTTP server stands for "anywhere else" and must see no request.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { freshCacheDir, importPyudf, isolateTempRoot, recordingLogger, tempDir, wheelhouseCopy } from '../support.js';
import { expectNothingLeft } from './fault-support.js';

const { DataTypes, EnvironmentError, TableEnvironment, udf } = await importPyudf();

const tempRoot = isolateTempRoot();
const dir = tempDir('offline-reqs-');
const BIGINT = DataTypes.BIGINT();

const requests: string[] = [];
const server = http.createServer((req, res) => {
  requests.push(`${req.method} ${req.url}`);
  res.writeHead(404).end();
});
let base = '';
let cacheDir: string;
let cachedDir: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cacheDir = await freshCacheDir();
  cachedDir = wheelhouseCopy();
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => expectNothingLeft(tempRoot));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

async function runWith(requirementsFile: string): Promise<unknown> {
  const tEnv = TableEnvironment.create({ cacheDir, logger: recordingLogger() });
  try {
    tEnv.setPythonRequirements(requirementsFile, cachedDir);
    tEnv.registerFunction('f', udf('lambda x: x + 1', [BIGINT], BIGINT));
    return await tEnv.fromElements([[1n]], { x: BIGINT }).select('f(x)').execute().collect()
      .then((rows) => rows, (e: unknown) => e);
  } finally {
    await tEnv.close();
  }
}

const cases: [string, (base: string) => string, number][] = [
  ['a direct reference by URL', (b) => `mpmath==1.3.0\nmpmath @ ${b}/mpmath-1.3.0-py3-none-any.whl\n`, 2],
  ['a bare URL', (b) => `\n${b}/mpmath-1.3.0-py3-none-any.whl\n`, 2],
  ['an editable VCS link', (b) => `-e git+${b}/repo.git#egg=thing\n`, 1],
  ['a VCS link', (b) => `# comment\ngit+${b}/repo.git#egg=thing\n`, 2],
  ['--find-links to a server', (b) => `--find-links ${b}/links/\nmpmath\n`, 1],
  ['-f to a server', (b) => `mpmath\n-f ${b}/links/\n`, 2],
  ['--index-url', (b) => `--index-url ${b}/simple\nmpmath\n`, 1],
  ['--extra-index-url', (b) => `--extra-index-url=${b}/simple\nmpmath\n`, 1],
  ['-i', (b) => `-i ${b}/simple\nmpmath\n`, 1],
  ['a constraints file by URL', (b) => `-c ${b}/constraints.txt\nmpmath\n`, 1],
  ['a nested requirements file by URL', (b) => `mpmath\n-r ${b}/more.txt\n`, 2],
  ['an environment variable pip would expand', () => 'mpmath @ ${SOMEWHERE}\n', 1],
  ['a continued line', (b) => `mpmath \\\n  @ ${b}/x.whl\n`, 1],
  ['a local archive outside the cached dir', () => './elsewhere/mpmath-1.3.0-py3-none-any.whl\n', 1],
  ['--trusted-host', () => '--trusted-host 127.0.0.1\nmpmath\n', 1],
];

test.each(cases)('%s is refused before pip runs, naming file:line, and no request is made', async (_what, text, line) => {
  const file = write(`reqs-${requests.length}-${Math.random().toString(36).slice(2)}.txt`, text(base));
  const error = await runWith(file);
  expect(error).toBeInstanceOf(EnvironmentError);
  expect((error as InstanceType<typeof EnvironmentError>).code).toBe('ENVIRONMENT_BUILD_FAILED');
  expect((error as Error).message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}: `));
  expect(requests).toEqual([]);
  // Nothing was built from it.
  expect(fs.existsSync(path.join(cacheDir, 'envs')) ? fs.readdirSync(path.join(cacheDir, 'envs')) : []).toEqual([]);
});

test('a URL in a nested local -r file is refused naming the nested file and its line', async () => {
  const nested = write('nested-bad.txt', `six\nmpmath @ ${base}/mpmath-1.3.0-py3-none-any.whl\n`);
  const file = write('outer.txt', `mpmath==1.3.0\n-r ${path.basename(nested)}\n`);
  const error = await runWith(file);
  expect((error as InstanceType<typeof EnvironmentError>).code).toBe('ENVIRONMENT_BUILD_FAILED');
  expect((error as Error).message.startsWith(`${nested}:2: `)).toBe(true);
  expect(requests).toEqual([]);
});

test('names, versions, markers, hashes and nested local files are allowed and install from the cached dir', async () => {
  write('constraints.txt', 'mpmath==1.3.0\n');
  write('nested-good.txt', 'mpmath>=1.0 ; python_version >= "3"  # a comment\n');
  const file = write('good.txt', '--prefer-binary\n-c constraints.txt\n--requirement=nested-good.txt\n');
  const rows = await runWith(file);
  expect(rows).toEqual([{ _c0: 2n }]);
  expect(requests).toEqual([]);
});

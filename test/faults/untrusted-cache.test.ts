// A cache directory another user could write to is refused, as ssh refuses
// such keys: workers import from it, so a `.pth` planted there would run as
// the job's user. Owned by another uid, or writable by group or others: the
// cache root, its runtime, an environment in it.
import fs from 'node:fs';
import path from 'node:path';
import { freshCacheDir, importPyudf, isolateTempRoot, recordingLogger, tempDir, wheelhouseCopy } from '../support.js';
import { expectNothingLeft } from './fault-support.js';

const { DataTypes, EnvironmentError, TableEnvironment, udf } = await importPyudf();
type EnvironmentError = import('../../src/index.js').EnvironmentError;

const tempRoot = isolateTempRoot();
const dir = tempDir('untrusted-cache-');
const BIGINT = DataTypes.BIGINT();
const NOBODY = 65534;
afterEach(() => expectNothingLeft(tempRoot));

async function run(options: { cacheDir?: string; requirements?: [string, string] }): Promise<unknown> {
  const tEnv = TableEnvironment.create({ cacheDir: options.cacheDir, logger: recordingLogger() });
  try {
    if (options.requirements) tEnv.setPythonRequirements(...options.requirements);
    tEnv.registerFunction('f', udf('lambda x: x + 1', [BIGINT], BIGINT));
    return await tEnv.fromElements([[1n]], { x: BIGINT }).select('f(x) AS y').execute().collect().then((rows) => rows, (e: unknown) => e);
  } finally {
    await tEnv.close();
  }
}

function expectRefused(error: unknown, pattern: RegExp): void {
  expect(error).toBeInstanceOf(EnvironmentError);
  expect((error as EnvironmentError).code).toBe('ENVIRONMENT_BUILD_FAILED');
  expect((error as Error).message).toMatch(pattern);
}

test('a PYUDF_CACHE_DIR owned by another user is refused', async () => {
  const cache = fs.mkdtempSync(path.join(dir, 'cache-'));
  fs.chownSync(cache, NOBODY, NOBODY);
  const previous = process.env.PYUDF_CACHE_DIR;
  process.env.PYUDF_CACHE_DIR = cache;
  try {
    expectRefused(await run({}), new RegExp(`${cache} is owned by uid ${NOBODY}`));
  } finally {
    if (previous === undefined) delete process.env.PYUDF_CACHE_DIR;
    else process.env.PYUDF_CACHE_DIR = previous;
  }
  expect(fs.readdirSync(cache)).toEqual([]);
});

test('a world-writable cache dir, and one writable by its group, are refused', async () => {
  for (const mode of [0o777, 0o770]) {
    const cache = fs.mkdtempSync(path.join(dir, 'cache-'));
    fs.chmodSync(cache, mode);
    expectRefused(await run({ cacheDir: cache }), new RegExp(`${cache} is writable by (others|its group)`));
    expect(fs.readdirSync(cache)).toEqual([]);
  }
});

test('a runtimes directory owned by another user is refused', async () => {
  const cache = await freshCacheDir();
  fs.chownSync(path.join(cache, 'runtimes'), NOBODY, NOBODY);
  expectRefused(await run({ cacheDir: cache }), /runtimes is owned by uid 65534/);
});

test('an environment made writable by others, or given to another user, after it was built is refused', async () => {
  const cache = await freshCacheDir();
  const requirements = path.join(dir, 'requirements.txt');
  fs.writeFileSync(requirements, 'mpmath==1.3.0\n');
  const cached = wheelhouseCopy();
  expect(await run({ cacheDir: cache, requirements: [requirements, cached] })).toEqual([{ y: 2n }]);
  const [env] = fs.readdirSync(path.join(cache, 'envs')).filter((n) => !n.startsWith('.') && !n.endsWith('.lock'));
  const site = path.join(cache, 'envs', env!, 'site');
  fs.chmodSync(site, 0o777);
  expectRefused(await run({ cacheDir: cache, requirements: [requirements, cached] }), new RegExp(`${site} is writable by others`));
  fs.chmodSync(site, 0o755);
  fs.chownSync(path.join(cache, 'envs', env!), NOBODY, NOBODY);
  expectRefused(await run({ cacheDir: cache, requirements: [requirements, cached] }), /is owned by uid 65534/);
  fs.chownSync(path.join(cache, 'envs', env!), 0, 0);
  expect(await run({ cacheDir: cache, requirements: [requirements, cached] })).toEqual([{ y: 2n }]);
});

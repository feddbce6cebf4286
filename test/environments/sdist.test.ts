// A requirement that exists only as an sdist builds offline, from the cached
// dir alone, once `pyudf download` (run where there is "network": the mirror)
// has added the build backend the sdist needs.
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { freshCacheDir, tempDir } from '../support.js';

const dir = tempDir('sdist-');
const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/requirements-job.mjs', import.meta.url));

/** tiny_pkg-0.1.tar.gz: a setuptools project with no wheel anywhere. */
async function makeSdist(into: string): Promise<string> {
  const root = path.join(dir, 'src', 'tiny_pkg-0.1');
  fs.mkdirSync(path.join(root, 'tiny_pkg'), { recursive: true });
  fs.writeFileSync(path.join(root, 'pyproject.toml'), '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n');
  fs.writeFileSync(path.join(root, 'setup.cfg'), '[metadata]\nname = tiny_pkg\nversion = 0.1\n\n[options]\npackages = tiny_pkg\n');
  fs.writeFileSync(path.join(root, 'PKG-INFO'), 'Metadata-Version: 2.1\nName: tiny_pkg\nVersion: 0.1\n');
  fs.writeFileSync(path.join(root, 'tiny_pkg', '__init__.py'), 'def triple(x):\n    return 3 * x\n');
  const sdist = path.join(into, 'tiny_pkg-0.1.tar.gz');
  await execa('tar', ['-czf', sdist, '-C', path.dirname(root), 'tiny_pkg-0.1']);
  return sdist;
}

test('an sdist in the cached dir builds offline, with the backend `pyudf download` added', async () => {
  const cachedDir = fs.mkdtempSync(path.join(dir, 'cached-'));
  await makeSdist(cachedDir);
  const requirements = path.join(dir, 'requirements.txt');
  fs.writeFileSync(requirements, 'tiny_pkg==0.1\n');

  // Before: the sdist alone cannot build offline; its build backend (setuptools) is not in the dir.
  const scratchCache = await freshCacheDir();
  const before = await execa('unshare', ['-n', process.execPath, CLI, 'env', 'build', '-r', requirements, '-d', cachedDir, '--cache-dir', scratchCache], { reject: false });
  expect(before.exitCode).not.toBe(0);
  expect(before.stderr).toContain('No matching distribution found for setuptools');
  expect(before.stderr).toContain('[ENVIRONMENT_BUILD_FAILED]');

  // Where there is network: the requirements name only something harmless; the sdist already in the dir
  // makes `pyudf download` fetch the build backend (setuptools, wheel) too.
  const harmless = path.join(dir, 'harmless.txt');
  fs.writeFileSync(harmless, 'six\n');
  const download = await execa(process.execPath, [CLI, '--quiet', 'download', '-r', harmless, '-d', cachedDir], { reject: false });
  expect(download.stderr).toBe('');
  expect(download.exitCode).toBe(0);
  const files = fs.readdirSync(cachedDir);
  expect(files.some((f) => /^wheel-[\d.]+-py3-none-any\.whl$/.test(f))).toBe(true);
  expect(files.filter((f) => f.startsWith('setuptools-')).length).toBeGreaterThanOrEqual(1);
  expect(files).toContain('tiny_pkg-0.1.tar.gz');
  expect(download.stdout).toMatch(/new file\(s\) in/);
  expect(download.stdout).toMatch(/wheel-[\d.]+-py3-none-any\.whl/);

  // Offline: a job with the sdist as its requirement, in a process with no network at all.
  const module = path.join(dir, 'tiny_udfs.py');
  fs.writeFileSync(module, `from pyudf import DataTypes, udf


@udf(input_types=[DataTypes.BIGINT(), DataTypes.BIGINT()], result_type=DataTypes.BIGINT())
def add(i, j):
    from tiny_pkg import triple
    return triple(i + j)
`);
  const cacheDir = await freshCacheDir();
  const run = await execa('unshare', ['-n', process.execPath, FIXTURE], {
    reject: false,
    env: {
      PYUDF_TEST_CACHE_DIR: cacheDir,
      PYUDF_TEST_REQUIREMENTS: requirements,
      PYUDF_TEST_CACHED_DIR: cachedDir,
      PYUDF_TEST_PYTHON_FILE: module,
      PYUDF_TEST_OUTPUT: path.join(dir, 'out.csv'),
    },
  });
  expect(run.stderr).not.toMatch(/^\[pyudf (warn|error)\]|Error/m);
  expect(run.exitCode).toBe(0);
  const line = run.stdout.split('\n').find((l) => l.startsWith('result '));
  const result = JSON.parse(line!.slice('result '.length)) as { built: boolean; key: string; output: string };
  expect(result).toEqual({ built: true, key: expect.any(String), output: '9\n126\n' });
  expect(fs.readdirSync(path.join(cacheDir, 'envs', result.key, 'site'))).toEqual(expect.arrayContaining(['tiny_pkg', 'tiny_pkg-0.1.dist-info']));
}, 180_000); // two pip runs and a job with a new environment: slow on a busy machine

// The cached Ray runtime (requirements/ray.txt): built once under the same
// lock as the worker runtime, even by concurrent builders; a second call finds
// it at once; its Python imports Ray, DuckDB and pyudf (from PYTHONPATH, as
// the local workers take it).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chooseInterpreter } from '../../src/environments/interpreter.js';
import { ensureRayRuntime, rayRuntimeEnv } from '../../src/environments/ray-runtime.js';
import { ensureWorkerRuntime } from '../../src/environments/worker-runtime.js';
import { isPublished } from '../../src/environments/published-dir.js';
import { packagePaths } from '../../src/paths.js';
import { recordingLogger, tempDir } from '../support.js';

const cacheDir = tempDir('pyudf-ray-runtime-test-');

test('two concurrent builders build the Ray runtime once; the next call is a cache hit; its Python imports ray, duckdb and pyudf', async () => {
  const logger = recordingLogger();
  const coldStarted = Date.now();
  const [a, b] = await Promise.all([
    ensureRayRuntime(chooseInterpreter(), { cacheDir, logger }),
    ensureRayRuntime(chooseInterpreter(), { cacheDir, logger }),
  ]);
  const coldMs = Date.now() - coldStarted;
  expect([a.built, b.built].sort()).toEqual([false, true]);
  expect(a.dir).toBe(b.dir);
  expect(path.dirname(a.dir)).toBe(path.join(cacheDir, 'runtimes'));
  expect(path.basename(a.dir)).toMatch(/^ray-py3\.\d+\.\d+-[0-9a-f]{16}$/);
  expect(isPublished(a.dir)).toBe(true);
  // One build's log: what it builds, from which requirements file, and that it finished.
  const messages = logger.entries.map((e) => e.message);
  expect(messages.filter((m) => m.startsWith('building the Python Ray runtime'))).toHaveLength(1);
  expect(messages).toContain(`installing ${packagePaths.rayRequirements} with pip`);
  expect(messages.filter((m) => /^Ray runtime ready in \d+\.\d s$/.test(m))).toHaveLength(1);

  const warmLogger = recordingLogger();
  const warmStarted = Date.now();
  const again = await ensureRayRuntime(chooseInterpreter(), { cacheDir, logger: warmLogger });
  const warmMs = Date.now() - warmStarted;
  expect(again.built).toBe(false);
  expect(again.dir).toBe(a.dir);
  expect(warmLogger.entries).toEqual([]);
  expect(warmMs).toBeLessThan(1000);
  console.log(`Ray runtime: cold build ${(coldMs / 1000).toFixed(1)} s, cache hit ${warmMs} ms`);

  // The worker runtime is a different directory of the same cache, untouched by this one.
  const worker = await ensureWorkerRuntime(chooseInterpreter(), { logger: recordingLogger() });
  expect(path.basename(worker.dir)).not.toBe(path.basename(a.dir));

  expect(a.python).toBe(path.join(a.dir, 'bin', 'python'));
  expect(a.pythonPath).toEqual([packagePaths.pythonWorker]);
  const out = execFileSync(a.python, ['-c', [
    'import json, sys, ray, ray.data, duckdb, pyarrow, grpc, pyudf, pyudf.worker.runtime',
    'print(json.dumps({"prefix": sys.prefix, "ray": ray.__version__, "duckdb": duckdb.__version__, "pyudf": pyudf.__file__}))',
  ].join('\n')], { encoding: 'utf8', env: { ...process.env, ...rayRuntimeEnv(a) } });
  const found = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, string>;
  expect(fs.realpathSync(found.prefix!)).toBe(fs.realpathSync(a.dir));
  expect(found.ray).toBe('2.58.0');
  expect(found.duckdb).toBe('1.5.6');
  expect(found.pyudf).toBe(path.join(packagePaths.pythonWorker, 'pyudf', '__init__.py'));
  // Its own pip, which Ray's runtime_env runs to install a job's requirements on a node.
  expect(execFileSync(a.python, ['-m', 'pip', '--version'], { encoding: 'utf8' })).toContain(path.join(a.dir, 'lib'));
  // Its scripts name the published directory, not the staging one the build ran in.
  expect(execFileSync(path.join(a.dir, 'bin', 'ray'), ['--version'], { encoding: 'utf8' })).toMatch(/ray, version 2\.58\.0/);
  expect(fs.readFileSync(path.join(a.dir, 'bin', 'activate'), 'utf8')).not.toContain('.staging-');
}, 300_000);

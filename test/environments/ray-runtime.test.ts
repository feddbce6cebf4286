// The cached Ray runtime (requirements/ray.txt), built by the worker runtime's
// builder: a second call finds it at once; its Python imports Ray, DuckDB and
// pyudf (from PYTHONPATH, as the local workers take it), has its own pip and
// scripts that name their published directory.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chooseInterpreter } from '../../src/environments/interpreter.js';
import { ensureRayRuntime, rayRuntimeEnv } from '../../src/environments/ray-runtime.js';
import { ensureWorkerRuntime } from '../../src/environments/worker-runtime.js';
import { isPublished } from '../../src/environments/published-dir.js';
import { packagePaths } from '../../src/paths.js';
import { recordingLogger } from '../support.js';

test('the Ray runtime is a cached virtualenv beside the worker runtime; a second call is a cache hit; its Python imports ray, duckdb and pyudf', async () => {
  // The default cache, which the Ray jobs' tests share: built by whichever needs it first, under
  // the same lock and by the same builder as the worker runtime (test/environments/concurrency.test.ts).
  const a = await ensureRayRuntime(chooseInterpreter(), { logger: recordingLogger() });
  expect(path.basename(a.dir)).toMatch(/^ray-py3\.\d+\.\d+-[0-9a-f]{16}$/);
  expect(isPublished(a.dir)).toBe(true);

  const warmLogger = recordingLogger();
  const warmStarted = Date.now();
  const again = await ensureRayRuntime(chooseInterpreter(), { logger: warmLogger });
  const warmMs = Date.now() - warmStarted;
  expect(again.built).toBe(false);
  expect(again.dir).toBe(a.dir);
  expect(warmLogger.entries).toEqual([]);
  expect(warmMs).toBeLessThan(1000);

  // The worker runtime is another directory of the same cache.
  const worker = await ensureWorkerRuntime(chooseInterpreter(), { logger: recordingLogger() });
  expect(path.dirname(worker.dir)).toBe(path.dirname(a.dir));
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

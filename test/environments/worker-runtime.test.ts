// The cached worker runtime: a build that cannot get its wheels fails with
// pip's command and output and publishes nothing; a built one is reused.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { EnvironmentError } from '../../src/index.js';
import { chooseInterpreter } from '../../src/environments/interpreter.js';
import { ensureWorkerRuntime } from '../../src/environments/worker-runtime.js';
import { isPublished } from '../../src/environments/published-dir.js';
import { packagePaths } from '../../src/paths.js';
import { recordingLogger, tempDir } from '../support.js';

const root = tempDir('pyudf-runtime-test-');
/** A fresh directory under this file's temp directory. */
function freshDir(prefix: string): string {
  return fs.mkdtempSync(path.join(root, prefix));
}

const savedFindLinks = process.env.PYUDF_RUNTIME_FIND_LINKS;
afterEach(() => {
  if (savedFindLinks === undefined) delete process.env.PYUDF_RUNTIME_FIND_LINKS;
  else process.env.PYUDF_RUNTIME_FIND_LINKS = savedFindLinks;
});

test('a build whose find-links directory has no wheels fails with pip\'s command and output, and leaves nothing that looks built', async () => {
  const cacheDir = freshDir('cache-');
  const noWheels = freshDir('no-wheels-');
  process.env.PYUDF_RUNTIME_FIND_LINKS = noWheels;
  const logger = recordingLogger();

  const error = await ensureWorkerRuntime(chooseInterpreter(), { cacheDir, logger })
    .then(() => new Error('expected the build to fail'), (e: unknown) => e);

  expect(error).toBeInstanceOf(EnvironmentError);
  const e = error as EnvironmentError;
  expect(e.code).toBe('ENVIRONMENT_BUILD_FAILED');
  // pip was told to use only the given directory.
  expect(e.command).toContain('--no-index');
  expect(e.command[e.command.indexOf('--find-links') + 1]).toBe(noWheels);
  expect(e.command.slice(0, 3)).toEqual([e.command[0], '-m', 'pip']);
  expect(e.command.slice(-2)).toEqual(['-r', path.join(packagePaths.root, 'requirements', 'runtime.txt')]);
  expect(e.exitCode).toBe(1);
  expect(e.output).toMatch(/No matching distribution found for grpcio==/);
  expect(e.message).toContain(e.output);
  // The message says what the directory must hold.
  expect(e.message).toContain(`PYUDF_RUNTIME_FIND_LINKS=${noWheels} must hold wheels`);
  // Up front what it builds and why, then each step; no "ready" line for a build that failed.
  expect(logger.entries.map((l) => `${l.level} ${l.message}`)).toEqual([
    expect.stringMatching(/^info building the Python worker runtime \(grpcio, protobuf, pyarrow, pandas\) for Python 3\.\d+\.\d+ — first run only; later jobs reuse it from /),
    expect.stringMatching(/^info creating the virtualenv \(.* -m venv\)$/),
    `info installing ${packagePaths.runtimeRequirements} with pip from ${noWheels} only`,
    expect.stringMatching(/^debug running .* -m pip --python .* install --isolated --no-index --find-links /),
  ]);

  // No runtime, no staging directory, no lock: the cache holds nothing but the empty runtimes directory.
  const runtimes = path.join(cacheDir, 'runtimes');
  expect(fs.readdirSync(cacheDir)).toEqual(['runtimes']);
  expect(fs.readdirSync(runtimes)).toEqual([]);
});

test('a build removes what a killed build of its runtime left: a staging directory, an unmarked final directory', async () => {
  const cacheDir = freshDir('cache-');
  const noWheels = freshDir('no-wheels-');
  process.env.PYUDF_RUNTIME_FIND_LINKS = noWheels;
  const logger = recordingLogger();
  const build = () => ensureWorkerRuntime(chooseInterpreter(), { cacheDir, logger })
    .then(() => new Error('expected the build to fail'), (e: unknown) => e);

  // The first build names the runtime's directory in its log.
  expect(await build()).toBeInstanceOf(EnvironmentError);
  const finalDir = /^building the Python worker runtime .* reuse it from (.*)$/.exec(logger.entries[0]!.message)![1]!;
  expect(path.dirname(finalDir)).toBe(path.join(cacheDir, 'runtimes'));

  // What a build SIGKILLed half-way leaves: its staging directory, or a final directory without the marker.
  fs.mkdirSync(path.join(`${finalDir}.staging-999999`, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(finalDir, 'bin'), { recursive: true });
  fs.writeFileSync(path.join(finalDir, 'bin', 'python'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
  expect(isPublished(finalDir)).toBe(false);

  const error = await build();
  expect(error).toBeInstanceOf(EnvironmentError);
  expect((error as EnvironmentError).code).toBe('ENVIRONMENT_BUILD_FAILED');
  expect(fs.readdirSync(path.dirname(finalDir))).toEqual([]);
});

test('with the usual environment the cached runtime is reused: built false, and its python runs the worker\'s imports', async () => {
  delete process.env.PYUDF_RUNTIME_FIND_LINKS;
  const logger = recordingLogger();
  const runtime = await ensureWorkerRuntime(chooseInterpreter(), { logger });
  expect(runtime.built).toBe(false);
  expect(logger.entries).toEqual([]);
  expect(isPublished(runtime.dir)).toBe(true);
  expect(runtime.python).toBe(path.join(runtime.dir, 'bin', 'python'));
  expect(fs.existsSync(runtime.python)).toBe(true);
  const out = execFileSync(runtime.python, ['-c', 'import grpc, google.protobuf, pyarrow, sys; print(sys.prefix)'], { encoding: 'utf8' });
  expect(fs.realpathSync(out.trim())).toBe(fs.realpathSync(runtime.dir));
});

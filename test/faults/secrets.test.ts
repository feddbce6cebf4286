// A worker that fails to start must not leak the process environment: with a
// secret in an environment variable, neither the error (message, stderr,
// anything reachable from it) nor any log entry contains it.
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import { importPyudf, isolateTempRoot, tempDir } from '../support.js';
import { checkNothingLeftAfterEach, expectNothingLeft, watchingLogger } from './fault-support.js';

// pyudf's values come through importPyudf (see there why).
const { DataTypes, TableEnvironment, WorkerError, chooseInterpreter, probeInterpreter, runtimeDir, udf } = await importPyudf();

const tempRoot = isolateTempRoot();
checkNothingLeftAfterEach(tempRoot);
const dir = tempDir('udf-faults-secrets-');
const SECRET = 'hunter2-xyz';
const BIGINT = DataTypes.BIGINT();

/**
 * The interpreter, wrapped: as an interpreter (probing it) it is the real one,
 * so pyudf finds the worker runtime it already built for it; as a worker
 * (`-m pyudf.worker`) it says something that is not the secret and exits 1.
 */
async function wrapper(): Promise<string> {
  const real = (await probeInterpreter(chooseInterpreter())).executable;
  const file = path.join(dir, 'python-wrapper');
  fs.writeFileSync(file, `#!/bin/sh
case " $* " in
  *" -m pyudf.worker "*)
    if [ -n "$PYUDF_TEST_SECRET" ]; then echo "wrapper: the secret is set (\${#PYUDF_TEST_SECRET} characters)" >&2; fi
    echo "wrapper: licence check failed, not starting" >&2
    echo "wrapper: stdout noise, not a ready line"
    exit 1
    ;;
esac
exec ${JSON.stringify(real)} "$@"
`, { mode: 0o755 });
  return file;
}

/**
 * A cache directory whose worker runtime for the interpreter is the wrapper:
 * workers run the runtime's bin/python, so that is where the wrapper has to be.
 */
async function cacheWithWrappedRuntime(wrapperPath: string, workerPython = wrapperPath, name = 'cache'): Promise<string> {
  const interpreter = await probeInterpreter(wrapperPath);
  const real = runtimeDir(await probeInterpreter(chooseInterpreter()));
  const cacheDir = path.join(dir, name);
  const runtime = runtimeDir(interpreter, cacheDir);
  expect(path.basename(runtime)).toBe(path.basename(real)); // the same interpreter, so the same runtime key
  fs.mkdirSync(path.join(runtime, 'bin'), { recursive: true });
  fs.copyFileSync(path.join(real, '.pyudf-complete.json'), path.join(runtime, '.pyudf-complete.json'));
  fs.symlinkSync(workerPython, path.join(runtime, 'bin', 'python'));
  return cacheDir;
}

/** Runs a one-row UDF job with the secret in the environment; returns how it failed and what was logged. */
async function jobWithSecretSet(options: { pythonExecutable: string; cacheDir: string; parallelism?: number }) {
  process.env.PYUDF_TEST_SECRET = SECRET;
  const logger = watchingLogger();
  let error: unknown;
  try {
    const tEnv = TableEnvironment.create({ ...options, logger });
    try {
      tEnv.registerFunction('f', udf('lambda x: x', [BIGINT], BIGINT));
      await tEnv.fromElements([[1n]], { x: BIGINT }).select('f(x) AS y').execute().collect();
    } catch (e) {
      error = e;
    } finally {
      await tEnv.close();
    }
  } finally {
    delete process.env.PYUDF_TEST_SECRET;
  }
  return { error, logger };
}

test('a worker that fails to start: WORKER_START_FAILED, and the secret appears nowhere', async () => {
  const python = await wrapper();
  const cacheDir = await cacheWithWrappedRuntime(python);
  const { error, logger } = await jobWithSecretSet({ pythonExecutable: python, cacheDir, parallelism: 2 });
  expect(error).toBeInstanceOf(WorkerError);
  const e = error as InstanceType<typeof WorkerError>;
  expect(e.code).toBe('WORKER_START_FAILED');
  expect(e.exitCode).toBe(1);
  expect(e.signal).toBeNull();
  // The worker did get the variable (it says how long it is), and said why it stopped.
  expect(e.stderr).toBe(`wrapper: the secret is set (${SECRET.length} characters)\nwrapper: licence check failed, not starting`);
  expect(e.message).toContain('exited before it was ready (exit code 1, signal null)');
  expect(e.message).toContain('wrapper: licence check failed, not starting');
  // Nowhere: the message, stderr, the whole error with its causes, any log entry.
  expect(e.message).not.toContain(SECRET);
  expect(e.stderr).not.toContain(SECRET);
  expect(util.inspect(e, { depth: 20, showHidden: true })).not.toContain(SECRET);
  expect(JSON.stringify(logger.entries)).not.toContain(SECRET);
  expectNothingLeft(tempRoot);
});

test('a worker that cannot even be executed (EACCES): WORKER_START_FAILED, and the secret appears nowhere', async () => {
  const python = await wrapper();
  const notExecutable = path.join(dir, 'not-executable');
  fs.writeFileSync(notExecutable, '#!/bin/sh\nexit 0\n', { mode: 0o644 });
  const cacheDir = await cacheWithWrappedRuntime(python, notExecutable, 'cache-eacces');
  const { error, logger } = await jobWithSecretSet({ pythonExecutable: python, cacheDir });
  expect(error).toBeInstanceOf(WorkerError);
  const e = error as InstanceType<typeof WorkerError>;
  expect(e.code).toBe('WORKER_START_FAILED');
  expect(e.message).toContain('could not be started');
  expect(e.message).toContain('EACCES');
  expect(e.message).not.toContain(SECRET);
  expect(e.stderr).not.toContain(SECRET);
  expect(util.inspect(e, { depth: 20, showHidden: true })).not.toContain(SECRET);
  expect(JSON.stringify(logger.entries)).not.toContain(SECRET);
  expectNothingLeft(tempRoot);
});

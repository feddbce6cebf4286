// The Python package's own unit tests (python_worker/tests), run in the worker runtime.
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { ensureWorkerRuntime } from '../src/environments/worker-runtime.js';
import { chooseInterpreter } from '../src/environments/interpreter.js';

const PYTHON_WORKER = fileURLToPath(new URL('../python_worker', import.meta.url));

test('python_worker unit tests pass', async () => {
  const runtime = await ensureWorkerRuntime(chooseInterpreter(), { logger: { log: () => undefined } });
  const result = await execa(runtime.python, ['-m', 'unittest', 'discover', '-s', 'tests', '-t', '.'], {
    cwd: PYTHON_WORKER,
    env: { PYTHONPATH: PYTHON_WORKER, PYTHONDONTWRITEBYTECODE: '1' },
    all: true,
    reject: false,
  });
  if (result.exitCode !== 0) throw new Error(`python unit tests failed:\n${result.all}`);
  expect(result.all).toMatch(/Ran \d+ tests[\s\S]*OK/);
});

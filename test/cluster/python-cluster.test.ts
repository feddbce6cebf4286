// The Python side of Ray jobs on its own (python_worker/tests/cluster): job.json
// checks, expressions with the host's semantics, the groupBy shuffle's cut, CSV
// ranges and sinks against a local Ray, in the Ray runtime pyudf builds. The
// driver process's own tests (test_driver, a Ray cluster of their own) are left to
//   python -m unittest tests.cluster.test_driver
// in python_worker/: ray-jobs.test.ts runs the driver end to end on a real cluster.
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { chooseInterpreter } from '../../src/environments/interpreter.js';
import { ensureRayRuntime, rayRuntimeEnv } from '../../src/environments/ray-runtime.js';

const PYTHON_WORKER = fileURLToPath(new URL('../../python_worker', import.meta.url));
const MODULES = ['test_expressions', 'test_csv_text', 'test_sources', 'test_sinks'].map((m) => `tests.cluster.${m}`);

test('python_worker cluster tests pass in the Ray runtime', async () => {
  const runtime = await ensureRayRuntime(chooseInterpreter(), { logger: { log: () => undefined } });
  const result = await execa(runtime.python, ['-m', 'unittest', ...MODULES], {
    cwd: PYTHON_WORKER,
    env: { ...rayRuntimeEnv(runtime), PYTHONDONTWRITEBYTECODE: '1', RAY_USAGE_STATS_ENABLED: '0' },
    all: true,
    reject: false,
  });
  if (result.exitCode !== 0) throw new Error(`python cluster tests failed:\n${result.all?.slice(-20_000)}`);
  expect(result.all).toMatch(/Ran \d+ tests[\s\S]*OK/);
  expect(result.all).not.toMatch(/skipped=/);
}, 300_000);

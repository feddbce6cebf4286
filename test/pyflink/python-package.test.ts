// The Python package on its own: pip installs python_worker into a fresh venv
// offline (no index, no dependencies), and a UDF module's unit tests run there
// without TypeScript, workers, pyarrow or pandas.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { chooseInterpreter } from '../../src/environments/interpreter.js';
import { tempDir } from '../support.js';

const PYTHON_WORKER = fileURLToPath(new URL('../../python_worker', import.meta.url));
const dir = tempDir('python-package-');
const venv = path.join(dir, 'venv');
const python = path.join(venv, 'bin', 'python');
/** pip must find nothing but the package: no index, no configuration pointing at one. */
const isolatedEnv = { PIP_CONFIG_FILE: '/dev/null', PIP_NO_INDEX: '1', PYTHONDONTWRITEBYTECODE: '1', PATH: process.env.PATH ?? '' };

beforeAll(async () => {
  // A copy: the installed package must come from what the directory holds, not from a build left in it.
  fs.cpSync(PYTHON_WORKER, path.join(dir, 'python_worker'), {
    recursive: true, filter: (source) => !source.includes('__pycache__'),
  });
  const interpreter = chooseInterpreter();
  // Without a pip of its own (seeding one takes seconds): the interpreter's pip installs into it.
  await execa(interpreter, ['-m', 'venv', '--without-pip', venv]);
  const install = await execa(interpreter, ['-m', 'pip', '--python', python, 'install', '--no-index', '--no-deps', '--disable-pip-version-check',
    path.join(dir, 'python_worker')], { env: isolatedEnv, extendEnv: false, all: true, reject: false });
  if (install.exitCode !== 0) throw new Error(`pip install failed:\n${install.all}`);
}, 180_000);

test('pip install <path>/python_worker works offline, with py.typed and no runtime dependency', async () => {
  const { stdout } = await execa(python, ['-c', [
    'import importlib.metadata as m, os, pyudf',
    'print(m.version("pyudf"), sorted(m.metadata("pyudf").get_all("Provides-Extra")), m.requires("pyudf") is None or all("extra ==" in r for r in m.requires("pyudf")))',
    'print(os.path.isfile(os.path.join(os.path.dirname(pyudf.__file__), "py.typed")), "site-packages" in pyudf.__file__)',
  ].join('\n')], { cwd: dir, env: isolatedEnv, extendEnv: false });
  expect(stdout.split('\n')).toEqual(["0.1.0 ['pandas', 'worker'] True", 'True True']);
  const deps = await execa(python, ['-c', 'import pyarrow'], { cwd: dir, env: isolatedEnv, extendEnv: false, reject: false });
  expect(deps.stderr).toMatch(/No module named 'pyarrow'/);
});

test("a UDF module's unit tests run in the installed package alone (add._func(1, 2) and friends)", async () => {
  fs.copyFileSync(path.join(PYTHON_WORKER, 'tests', 'test_direct_calls.py'), path.join(dir, 'test_direct_calls.py'));
  const result = await execa(python, ['-m', 'unittest', '-v', 'test_direct_calls'],
    { cwd: dir, env: isolatedEnv, extendEnv: false, all: true, reject: false });
  if (result.exitCode !== 0) throw new Error(`unit tests failed:\n${result.all}`);
  expect(result.all).toMatch(/Ran 5 tests[\s\S]*OK/);
});

test('a broken declaration still fails there, as in PyFlink', async () => {
  const result = await execa(python, ['-c',
    'from pyudf import udaf, DataTypes\nudaf(lambda v: {}, result_type=DataTypes.MAP(DataTypes.INT(), DataTypes.INT()), func_type="pandas")'],
  { cwd: dir, env: isolatedEnv, extendEnv: false, reject: false });
  expect(result.exitCode).toBe(1);
  expect(result.stderr).toMatch(/TypeError: Invalid returnType: Pandas UDAF doesn't support DataType type MAP/);
});

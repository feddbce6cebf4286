// Mistakes in the user's own code or set-up get errors that point at it and name the fix:
// a UDF module that does not compile, a module not shipped, an unsafe integer, a directory
// given as the interpreter.
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, EnvironmentError, PyUdfError, TableEnvironment, UdfError, udf } from '../../src/index.js';
import { closedAfterAll, isolateTempRoot, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir('user-code-');
const BIGINT = DataTypes.BIGINT();

const brokenPath = path.join(dir, 'broken_module.py');
fs.writeFileSync(brokenPath, 'from pyudf import udf, DataTypes\n\n\ndef f(x:\n    return x\n');
const goodPath = path.join(dir, 'good.py');
fs.writeFileSync(goodPath, 'def f(x):\n    return x + 1\n');

async function failure(tEnv: TableEnvironment, fn: ReturnType<typeof udf>): Promise<unknown> {
  tEnv.registerFunction('f', fn);
  return tEnv.fromElements([[1n]], { a: BIGINT }).select('f(a) AS r').execute().collect().then(() => undefined, (e: unknown) => e);
}

describe('a UDF module with a syntax error', () => {
  const tEnv = closedAfterAll(TableEnvironment.create({ parallelism: 1 }), tempRoot);

  test("reports the user's file and line and the offending line, not the import machinery", async () => {
    tEnv.addPythonFile(brokenPath);
    const error = await failure(tEnv, udf('broken_module.f', [BIGINT], BIGINT));
    expect(error).toBeInstanceOf(UdfError);
    const e = error as UdfError;
    expect(e.code).toBe('UDF_LOAD_FAILED');
    expect(e.pythonType).toBe('SyntaxError');
    expect(e.sourceLocation).toMatch(/broken_module\.py:4$/);
    expect(e.pythonTraceback).toContain('def f(x:');
    expect(e.pythonTraceback).toContain('line 4');
    expect(e.message).not.toContain('importlib');
    expect(e.message).not.toContain('<frozen');
  });
});

describe('a module that is not shipped', () => {
  const tEnv = closedAfterAll(TableEnvironment.create({ parallelism: 1 }), tempRoot);

  test('says the module is not shipped and how to ship it', async () => {
    const error = await failure(tEnv, udf('good.f', [BIGINT], BIGINT));
    expect(error).toBeInstanceOf(UdfError);
    const e = error as UdfError;
    expect(e.code).toBe('UDF_LOAD_FAILED');
    expect(e.pythonType).toBe('ModuleNotFoundError');
    expect(e.pythonMessage).toContain("no Python module 'good' is shipped with the job");
    expect(e.pythonMessage).toContain("tEnv.addPythonFile('good.py')");
  });

  test('once shipped, the same function runs', async () => {
    tEnv.addPythonFile(goodPath);
    const rows = await tEnv.fromElements([[1n]], { a: BIGINT }).select('f(a) AS r').execute().collect();
    expect(rows).toEqual([{ r: 2n }]);
  });
});

test('a JavaScript number beyond 2^53 for a BIGINT: an unsafe integer, pass a bigint', () => {
  const tEnv = TableEnvironment.create();
  try {
    const unsafe = () => tEnv.fromElements([[2 ** 53 + 2]], { a: BIGINT });
    expect(unsafe).toThrow(PyUdfError);
    expect(unsafe).toThrow(/unsafe integer.*pass a bigint/);
    expect(() => tEnv.fromElements([[2 ** 53 - 1]], { a: BIGINT })).not.toThrow();
  } finally {
    void tEnv.close();
  }
});

describe('a directory as the Python interpreter', () => {
  const tEnv = closedAfterAll(TableEnvironment.create({ parallelism: 1 }), tempRoot);

  test('says it is a directory and names the program to give instead', async () => {
    tEnv.setPythonExecutable(dir);
    const error = await failure(tEnv, udf('lambda a: a', [BIGINT], BIGINT));
    expect(error).toBeInstanceOf(EnvironmentError);
    const e = error as EnvironmentError;
    expect(e.code).toBe('PYTHON_NOT_FOUND');
    expect(e.message).toBe(`Python interpreter "${dir}" is a directory, not a program: name the interpreter inside it (e.g. ${dir}/python3) with the pythonExecutable option, tEnv.setPythonExecutable(path) or PYUDF_PYTHON.`);
    expect(e.message).not.toContain('import json');
  });
});

// What a job ships to its workers besides functions: Python modules and
// package directories (addPythonFile), and archives extracted into the
// workers' working directory (addPythonArchive), .zip and .tar.gz.
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { freshCacheDir, importPyudf, isolateTempRoot, leftoverPyudfDirs, pythonWorkers, tempDir } from '../support.js';

// pyudf's values come through importPyudf (see there why).
const { DataTypes, PyUdfError, TableEnvironment, udf } = await importPyudf();
type TableEnvironment = import('../../src/index.js').TableEnvironment;
type PyUdfError = import('../../src/index.js').PyUdfError;

const tempRoot = isolateTempRoot();
const dir = tempDir('files-');
const BIGINT = DataTypes.BIGINT();
const STRING = DataTypes.STRING();

// A module.
const MODULE = path.join(dir, 'shipped_module.py');
fs.writeFileSync(MODULE, `from pyudf import DataTypes, udf


@udf(input_types=[DataTypes.BIGINT()], result_type=DataTypes.BIGINT())
def plus_one(x):
    return x + 1


@udf(input_types=[DataTypes.STRING()], result_type=DataTypes.STRING())
def read_file(name):
    with open(name, encoding='utf-8') as f:
        return f.read()
`);

// A package directory: __init__.py and a submodule it imports.
const PACKAGE = path.join(dir, 'shipped_pkg');
fs.mkdirSync(path.join(PACKAGE, 'inner'), { recursive: true });
fs.writeFileSync(path.join(PACKAGE, '__init__.py'), 'from shipped_pkg.maths import double\n');
fs.writeFileSync(path.join(PACKAGE, 'maths.py'), `from pyudf import DataTypes, udf
from shipped_pkg.inner.constants import FACTOR


@udf(input_types=[DataTypes.BIGINT()], result_type=DataTypes.BIGINT())
def double(x):
    return x * FACTOR
`);
fs.writeFileSync(path.join(PACKAGE, 'inner', '__init__.py'), '');
fs.writeFileSync(path.join(PACKAGE, 'inner', 'constants.py'), 'FACTOR = 2\n');

// Archives: data.zip holds words.txt (and a nested file), more.tar.gz holds sub/more.txt.
const ARCHIVE_SOURCE = path.join(dir, 'archive-source');
fs.mkdirSync(path.join(ARCHIVE_SOURCE, 'nested'), { recursive: true });
fs.writeFileSync(path.join(ARCHIVE_SOURCE, 'words.txt'), 'alpha\nbeta\ngamma\n');
fs.writeFileSync(path.join(ARCHIVE_SOURCE, 'nested', 'deep.txt'), 'deep down');
const ZIP = path.join(dir, 'data.zip');
const TARGZ = path.join(dir, 'more.tar.gz');

let cacheDir: string;
beforeAll(async () => {
  cacheDir = await freshCacheDir();
  await execa('zip', ['-q', '-r', ZIP, 'words.txt', 'nested'], { cwd: ARCHIVE_SOURCE });
  const tarSource = path.join(dir, 'tar-source');
  fs.mkdirSync(path.join(tarSource, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(tarSource, 'sub', 'more.txt'), 'more from a tarball');
  await execa('tar', ['-czf', TARGZ, '-C', tarSource, 'sub']);
});

afterEach(() => {
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
});

async function withEnv<T>(body: (tEnv: TableEnvironment) => Promise<T>): Promise<T> {
  const tEnv = TableEnvironment.create({ cacheDir });
  try {
    return await body(tEnv);
  } finally {
    await tEnv.close();
  }
}

describe('addPythonFile', () => {
  test('a module is importable by its name', async () => {
    const rows = await withEnv(async (tEnv) => {
      tEnv.addPythonFile(MODULE);
      tEnv.registerFunction('plus_one', udf('shipped_module.plus_one'));
      return tEnv.fromElements([[1n], [41n]], { x: BIGINT }).select('plus_one(x) AS y').execute().collect();
    });
    expect(rows).toEqual([{ y: 2n }, { y: 42n }]);
  });

  test('a package directory is importable with its submodules', async () => {
    const rows = await withEnv(async (tEnv) => {
      tEnv.addPythonFile(PACKAGE);
      tEnv.registerFunction('double', udf('shipped_pkg.double'));
      tEnv.registerFunction('factor', udf('lambda x: __import__("shipped_pkg.inner.constants").inner.constants.FACTOR + x', [BIGINT], BIGINT));
      return tEnv.fromElements([[1n], [21n]], { x: BIGINT }).select('double(x) AS d, factor(x) AS f').execute().collect();
    });
    expect(rows).toEqual([{ d: 2n, f: 3n }, { d: 42n, f: 23n }]);
  });

  test('a missing path or a file that is not .py is refused at once', () => {
    const tEnv = TableEnvironment.create({ cacheDir });
    const notPython = path.join(dir, 'notes.txt');
    fs.writeFileSync(notPython, 'x');
    expect(() => tEnv.addPythonFile(path.join(dir, 'nope.py'))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => tEnv.addPythonFile(notPython)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('addPythonArchive', () => {
  test('a .zip is extracted into ./<targetDir> of the workers\' working directory', async () => {
    const rows = await withEnv(async (tEnv) => {
      tEnv.addPythonFile(MODULE);
      tEnv.addPythonArchive(ZIP, 'data');
      tEnv.registerFunction('read_file', udf('shipped_module.read_file'));
      return tEnv.fromElements([['data/words.txt'], ['data/nested/deep.txt']], { name: STRING })
        .select('read_file(name) AS content').execute().collect();
    });
    expect(rows).toEqual([{ content: 'alpha\nbeta\ngamma\n' }, { content: 'deep down' }]);
  });

  test('a .tar.gz, with the default target (the archive\'s name), next to a .zip', async () => {
    const rows = await withEnv(async (tEnv) => {
      tEnv.addPythonFile(MODULE);
      tEnv.addPythonArchive(TARGZ);
      tEnv.addPythonArchive(ZIP, 'data');
      tEnv.registerFunction('read_file', udf('shipped_module.read_file'));
      return tEnv.fromElements([['more/sub/more.txt'], ['data/words.txt']], { name: STRING })
        .select('read_file(name) AS content').execute().collect();
    });
    expect(rows).toEqual([{ content: 'more from a tarball' }, { content: 'alpha\nbeta\ngamma\n' }]);
  });

  test('an archive path that does not exist, is not an archive, or a target outside the working directory: INVALID_ARGUMENT', () => {
    const tEnv = TableEnvironment.create({ cacheDir });
    const notArchive = path.join(dir, 'words.rar');
    fs.writeFileSync(notArchive, 'x');
    for (const call of [
      () => tEnv.addPythonArchive(path.join(dir, 'missing.zip'), 'data'),
      () => tEnv.addPythonArchive(dir, 'data'),
      () => tEnv.addPythonArchive(notArchive, 'data'),
      () => tEnv.addPythonArchive(ZIP, '../escape'),
      () => tEnv.addPythonArchive(ZIP, '/abs'),
    ]) {
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(PyUdfError);
      expect((error as PyUdfError).code).toBe('INVALID_ARGUMENT');
      expect((error as Error).message).toMatch(/^addPythonArchive: /);
    }
  });
});

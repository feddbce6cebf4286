// CHAR(n), VARCHAR(n), BINARY(n), VARBINARY(n) and NULL, as Flink has them, on
// both sides: lengths kept in the type text, longer values refused naming the
// row, CHAR and BINARY padded; through real workers.
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, PyUdfError, TableEnvironment, UdfError, udf } from '../../src/index.js';
import { parseDataType } from '../../src/types/type-text.js';
import { isolateTempRoot, tempDir } from '../support.js';

isolateTempRoot();
const dir = tempDir();
const MODULE = path.join(dir, 'sized.py');
fs.writeFileSync(MODULE, `
from pyudf import DataTypes, udf

# PyFlink's test_udf declares CHAR(7) and VARCHAR(10); its pandas all-types test BINARY(5).
char_func = udf(lambda s: s, [DataTypes.CHAR(7)], DataTypes.CHAR(7))
varchar_func = udf(lambda s: None if s is None else s + '!', [DataTypes.VARCHAR(10)], DataTypes.VARCHAR(10))
binary_func = udf(lambda b: b, [DataTypes.BINARY(5)], DataTypes.BINARY(5))
pandas_varchar = udf(lambda s: s + '!!', [DataTypes.VARCHAR(10)], DataTypes.VARCHAR(4), func_type='pandas')
nothing = udf(lambda v: None, [DataTypes.BIGINT()], DataTypes.NULL())
`);

test('the type text on both sides keeps the lengths; STRING is VARCHAR(2147483647), BYTES VARBINARY(2147483647)', () => {
  expect(String(DataTypes.CHAR(7))).toBe('CHAR(7)');
  expect(String(DataTypes.VARCHAR(10).notNull())).toBe('VARCHAR(10) NOT NULL');
  expect(String(DataTypes.BINARY(5))).toBe('BINARY(5)');
  expect(String(DataTypes.VARBINARY(5))).toBe('VARBINARY(5)');
  expect(String(DataTypes.NULL())).toBe('NULL');
  expect(DataTypes.VARCHAR(2147483647).equals(DataTypes.STRING())).toBe(true);
  expect(DataTypes.VARBINARY(2147483647).equals(DataTypes.BYTES())).toBe(true);
  for (const text of ['CHAR(7)', 'VARCHAR(10)', 'BINARY(5)', 'VARBINARY(5)', 'NULL', 'ROW<a CHAR(2), b ARRAY<VARCHAR(3)>>']) {
    expect(String(parseDataType(text))).toBe(text);
  }
  expect(String(parseDataType('VARCHAR(2147483647)'))).toBe('STRING');
  expect(() => DataTypes.CHAR(0)).toThrow(/CHAR length must be an integer from 1 to 2147483647, got 0/);
});

describe('values of sized types', () => {
  const tEnv = TableEnvironment.create();
  tEnv.addPythonFile(MODULE);
  for (const name of ['char_func', 'varchar_func', 'binary_func', 'pandas_varchar', 'nothing']) {
    tEnv.createTemporarySystemFunction(name, udf(`sized.${name}`));
  }
  afterAll(() => tEnv.close());
  const schema = DataTypes.ROW([
    DataTypes.FIELD('c', DataTypes.CHAR(7)), DataTypes.FIELD('v', DataTypes.VARCHAR(10)),
    DataTypes.FIELD('b', DataTypes.BINARY(5)), DataTypes.FIELD('n', DataTypes.BIGINT()),
  ]);

  test('CHAR and BINARY values are padded; Python functions get and return them as Flink does', async () => {
    const rows = await tEnv.fromElements([['pyflink', 'flink', new Uint8Array([102, 108]), 1n], ['py', null, null, 2n]], schema)
      .select('c, char_func(c) AS cf, varchar_func(v) AS vf, b, binary_func(b) AS bf, nothing(n) AS z').execute().collect();
    expect(rows).toEqual([
      { c: 'pyflink', cf: 'pyflink', vf: 'flink!', b: new Uint8Array([102, 108, 0, 0, 0]), bf: new Uint8Array([102, 108, 0, 0, 0]), z: null },
      { c: 'py     ', cf: 'py     ', vf: null, b: null, bf: null, z: null },
    ]);
  });

  test('a value longer than its column is refused naming the row and column', () => {
    let error: unknown;
    try {
      tEnv.fromElements([['ok', 'x', null, 1n], ['too long!', 'x', null, 2n]], schema);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PyUdfError);
    expect((error as PyUdfError).code).toBe('INVALID_ARGUMENT');
    expect((error as PyUdfError).message).toMatch(/row 1, column "c": "too long!" is 9 characters long, longer than CHAR\(7\) holds/);
    expect(() => tEnv.fromElements([[new Uint8Array(6)]], DataTypes.ROW([DataTypes.FIELD('b', DataTypes.VARBINARY(5))])))
      .toThrow(/row 0, column "b": <6 bytes> is 6 bytes long, longer than VARBINARY\(5\) holds/);
    expect(() => tEnv.fromElements([[1]], DataTypes.ROW([DataTypes.FIELD('z', DataTypes.NULL())])))
      .toThrow(/1 is not NULL, the only value of type NULL/);
  });

  test('a function result longer than its declared type fails the job naming the row, row-wise and vectorized', async () => {
    const t = tEnv.fromElements([['a', 'abcdefghi', null, 1n], ['b', 'abcdefghij', null, 2n]], schema);
    const rowWise = t.select('varchar_func(v) AS vf').execute().collect();
    await expect(rowWise).rejects.toBeInstanceOf(UdfError);
    await expect(rowWise).rejects.toThrow(/'abcdefghij!' \(str\) for row 1, which is 11 characters long, longer than VARCHAR\(10\) holds/);
    const vectorized = tEnv.fromElements([['ab'], ['abc']], DataTypes.ROW([DataTypes.FIELD('v', DataTypes.VARCHAR(10))]))
      .select('pandas_varchar(v) AS p').execute().collect();
    await expect(vectorized).rejects.toThrow(/for row 1, which is 5 characters long, longer than VARCHAR\(4\) holds/);
  });
});

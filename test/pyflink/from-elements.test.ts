// fromElements as PyFlink's from_elements: column names with inferred types,
// a ROW type as the schema, or no schema at all (_1, _2, ...), with PyFlink's
// inputs and expected rows, run through real workers.
import { DataTypes, PyUdfError, Schema, TableEnvironment, udf } from '../../src/index.js';
import { isolateTempRoot } from '../support.js';

isolateTempRoot();
const BIGINT = DataTypes.BIGINT();

describe('fromElements with inferred types', () => {
  const tEnv = TableEnvironment.create();
  afterAll(() => tEnv.close());

  test("PyFlink's test_udf: from_elements([(1, 2, 3), ...], ['a', 'b', 'c']) with add_one and a where", async () => {
    tEnv.createTemporarySystemFunction('add_one', udf('lambda i: i + 1', [BIGINT], BIGINT));
    tEnv.createTemporarySystemFunction('subtract_one', udf('lambda i: i - 1', [BIGINT], BIGINT));
    const t = tEnv.fromElements([[1, 2, 3], [2, 5, 6], [3, 1, 9]], ['a', 'b', 'c']);
    const rows = await t.where('add_one(b) <= 3').select('a, b + 1 AS b, add_one(a) AS a1, subtract_one(c) AS c1')
      .execute().collect();
    expect(rows).toEqual([{ a: 1n, b: 3n, a1: 2n, c1: 2n }, { a: 3n, b: 2n, a1: 4n, c1: 8n }]);
  });

  test('every inferred type, NULLs skipped, reaches a Python function as PyFlink would pass it', async () => {
    tEnv.createTemporarySystemFunction('kinds', udf(
      "lambda *vs: ','.join(type(v).__name__ for v in vs)",
      [BIGINT, DataTypes.DOUBLE(), DataTypes.STRING(), DataTypes.BOOLEAN(), DataTypes.BYTES(), DataTypes.TIMESTAMP(3),
        DataTypes.ARRAY(BIGINT), DataTypes.MAP(DataTypes.STRING(), DataTypes.DOUBLE()),
        DataTypes.ROW([DataTypes.FIELD('x', BIGINT), DataTypes.FIELD('y', DataTypes.STRING())])],
      DataTypes.STRING()));
    const t = tEnv.fromElements([
      [1n, 1.5, 'a', true, new Uint8Array([1]), new Date('2024-02-29T13:45:30.250Z'), [1, null, 3], new Map([['k', 0.5]]), { x: 1, y: 'p' }],
      [null, 2, null, null, null, null, null, null, null],
    ]);
    expect(t.columns).toEqual(['_1', '_2', '_3', '_4', '_5', '_6', '_7', '_8', '_9']);
    const rows = await t.select('kinds(_1, _2, _3, _4, _5, _6, _7, _8, _9) AS k, _6').execute().collect();
    expect(rows).toEqual([
      { k: 'int,float,str,bool,bytes,datetime,list,dict,Row', _6: '2024-02-29T13:45:30.250' },
      { k: 'NoneType,float,NoneType,NoneType,NoneType,NoneType,NoneType,NoneType,NoneType', _6: null },
    ]);
  });

  test("a ROW type as the schema (PyFlink's test_row_based_operation)", async () => {
    const schema = DataTypes.ROW([
      DataTypes.FIELD('a', DataTypes.TINYINT()), DataTypes.FIELD('b', DataTypes.SMALLINT()), DataTypes.FIELD('c', DataTypes.INT()),
    ]);
    const t = tEnv.fromElements([[1, 2, 3], [2, 1, 3], [1, 5, 4], [1, 8, 6], [2, 3, 4]], schema);
    expect(await t.where('a = 2').execute().collect()).toEqual([{ a: 2, b: 1, c: 3 }, { a: 2, b: 3, c: 4 }]);
    expect(() => tEnv.fromElements([[1]], DataTypes.INT())).toThrow(/must be a ROW type, got INT/);
  });

  test('a Schema and { column: DataType } keep working', async () => {
    const a = tEnv.fromElements([[1n]], new Schema().field('a', BIGINT));
    const b = tEnv.fromElements([{ a: 2n }], { a: BIGINT });
    expect([...await a.execute().collect(), ...await b.execute().collect()]).toEqual([{ a: 1n }, { a: 2n }]);
  });

  test('integral and fractional numbers in one column make DOUBLE; a decimal string stays a STRING', async () => {
    tEnv.createTemporarySystemFunction('type_name', udf('lambda v: type(v).__name__', [DataTypes.DOUBLE()], DataTypes.STRING()));
    const t = tEnv.fromElements([[1, '1.50'], [2.5, '2.00']], ['x', 'd']);
    expect(await t.select('x, d, type_name(x) AS k').execute().collect())
      .toEqual([{ x: 1, d: '1.50', k: 'float' }, { x: 2.5, d: '2.00', k: 'float' }]);
  });

  test('number columns of every width keep their values, with a NULL first, midway or last, and rows given as objects', async () => {
    const schema = {
      t: DataTypes.TINYINT(), s: DataTypes.SMALLINT(), i: DataTypes.INT(), b: BIGINT, f: DataTypes.FLOAT(), d: DataTypes.DOUBLE(),
    };
    const given = [
      { t: -128, s: -32768, i: -(2 ** 31), b: -(2n ** 63n), f: 0.1, d: 0.1 },
      { t: null, s: 7, i: null, b: 2, f: null, d: 1e308 },
      { t: 127, s: 32767, i: 2 ** 31 - 1, b: 2n ** 63n - 1n, f: -2.5, d: null },
    ];
    const rows = await tEnv.fromElements(given, schema).execute().collect();
    expect(rows).toEqual([
      { t: -128, s: -32768, i: -(2 ** 31), b: -(2n ** 63n), f: Math.fround(0.1), d: 0.1 },
      { t: null, s: 7, i: null, b: 2n, f: null, d: 1e308 },
      { t: 127, s: 32767, i: 2 ** 31 - 1, b: 2n ** 63n - 1n, f: -2.5, d: null },
    ]);
    // The same values reach Python exactly.
    tEnv.createTemporarySystemFunction('echo_b', udf('lambda b: b', [BIGINT], BIGINT));
    expect(await tEnv.fromElements([[1n], [null], [2n ** 62n]], { b: BIGINT }).select('echo_b(b) AS b').execute().collect())
      .toEqual([{ b: 1n }, { b: null }, { b: 2n ** 62n }]);
  });

  test('a bad value is named by its row and column, the first in row order; a row that is not an array or object too', () => {
    const schema = { a: BIGINT, b: DataTypes.INT() };
    expect(() => tEnv.fromElements([[1, 2], [3, 2 ** 40], ['x', 5]], schema))
      .toThrow(/^fromElements: row 1, column "b": 1099511627776 is not a INT value$/);
    expect(() => tEnv.fromElements([[1, 2], [3.5, 1]], schema)).toThrow(/^fromElements: row 1, column "a": 3\.5 is not a BIGINT value$/);
    expect(() => tEnv.fromElements([[1, 2], 7 as never], schema)).toThrow(/^fromElements: row 1 must be an array or an object, got 7$/);
    expect(() => tEnv.fromElements([[1, 2], [1]], schema)).toThrow(/^fromElements: row 1 has 1 value\(s\), the schema 2$/);
  });

  test('a column with only NULLs, or values of conflicting types, is refused naming the column and the values', () => {
    const refused = (fn: () => unknown): PyUdfError => {
      try {
        fn();
      } catch (error) {
        return error as PyUdfError;
      }
      throw new Error('not refused');
    };
    const empty = refused(() => tEnv.fromElements([[1, null], [2, undefined]], ['a', 'b']));
    expect(empty.code).toBe('INVALID_ARGUMENT');
    expect(empty.message).toMatch(/column "b" has no non-NULL value/);
    const mixed = refused(() => tEnv.fromElements([[1, 'x'], [2, 3]], ['a', 'b']));
    expect(mixed.code).toBe('INVALID_ARGUMENT');
    expect(mixed.message).toMatch(/column "b" has values of conflicting types: "x" \(STRING\) and 3 \(BIGINT\)/);
    const exact = refused(() => tEnv.fromElements([[1n], [2.5]], ['x']));
    expect(exact.message).toMatch(/column "x" has values of conflicting types: 1n \(BIGINT\) and 2.5 \(DOUBLE\)/);
    const nested = refused(() => tEnv.fromElements([[[1, 'x']]]));
    expect(nested.message).toMatch(/column "_1" has values of conflicting types: 1 \(BIGINT\) and "x" \(STRING\)/);
    const rowShapes = refused(() => tEnv.fromElements([[{ x: 1 }], [{ y: 1 }]]));
    expect(rowShapes.message).toMatch(/column "_1" has values of conflicting types/);
    expect(() => tEnv.fromElements([[Symbol('s')]])).toThrow(/no SQL type is inferred from Symbol\(s\)/);
    expect(() => tEnv.fromElements([])).toThrow(/without rows the columns cannot be inferred/);
    expect(() => tEnv.fromElements([[1, 2]], ['a'])).toThrow(/row 0 has 2 value\(s\), the schema 1/);
    expect(() => tEnv.fromElements([[1]], [''])).toThrow(/non-empty string/);
  });
});

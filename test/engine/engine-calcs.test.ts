import { DataTypes, TableEnvironment } from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
tempDir();

const BIGINT = DataTypes.BIGINT();
const INT = DataTypes.INT();

describe('where/select without Python run in the engine with the host evaluator\'s results', () => {
  let tEnv: TableEnvironment;
  // Batches of 3,000 rows: columns cross into the engine in slices that do not start on a data chunk's boundary.
  beforeAll(() => { tEnv = TableEnvironment.create({ bundleSize: 3000 }); });
  afterAll(async () => {
    await tEnv.close();
    expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
  });

  test('integer arithmetic wraps on overflow in the column\'s own type, as Flink does', async () => {
    const rows = await tEnv.fromElements(
      [[9223372036854775807n, 2147483647, 127], [-9223372036854775808n, -2147483648, -128], [5n, null, 1]],
      { a: BIGINT, i: INT, t: DataTypes.TINYINT() },
    ).where('a <> 0').select('a + 1 AS a1, -a AS na, a * 2 AS a2, i + 1 AS i1, t + t AS tt, i IS NULL AS n').execute().collect();
    expect(rows).toEqual([
      { a1: -9223372036854775808n, na: -9223372036854775807n, a2: -2n, i1: -2147483648, tt: -2, n: false },
      { a1: -9223372036854775807n, na: -9223372036854775808n, a2: 0n, i1: -2147483647, tt: 0, n: false },
      { a1: 6n, na: -5n, a2: 10n, i1: null, tt: 2, n: true },
    ]);
  });

  test('NULLs in number columns survive the crossing in and out, across chunk and batch boundaries', async () => {
    const n = 10_000;
    const a = Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : BigInt(i)));
    const d = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : i / 4));
    const rows = await tEnv.fromColumns({ a, d }, { a: BIGINT, d: DataTypes.DOUBLE() })
      .where('a IS NULL OR a > 2').select('a, a * 3 AS a3, d').execute().collect();
    const expected = a.flatMap((v, i) => (v === null || v > 2n ? [{ a: v, a3: v === null ? null : v * 3n, d: d[i] }] : []));
    expect(rows).toEqual(expected);
    expect(await tEnv.fromColumns({ a, d }, { a: BIGINT, d: DataTypes.DOUBLE() }).where('a > 2').execute().count()).toBe(expected.filter((r) => r.a !== null).length);
  });

  test('exact types pass through: DECIMAL(38, s), TIMESTAMP(3), DATE and strings keep their values and types', async () => {
    const table = tEnv.fromElements(
      [[1n, '-99999999999999999999999999999999.9999', '2024-02-29 13:45:30.250', '2024-02-29', "it's"], [2n, null, null, null, null]],
      { id: BIGINT, p: DataTypes.DECIMAL(38, 4), ts: DataTypes.TIMESTAMP(3), d: DataTypes.DATE(), s: DataTypes.STRING() },
    ).where("id > 0 AND (s = 'it''s' OR s IS NULL)").select('id, p, ts, d, s');
    expect(await table.execute().collect()).toEqual([
      { id: 1n, p: '-99999999999999999999999999999999.9999', ts: '2024-02-29T13:45:30.250', d: '2024-02-29', s: "it's" },
      { id: 2n, p: null, ts: null, d: null, s: null },
    ]);
  });

  test('what the engine would compute otherwise stays on the host: division by zero fails, DOUBLE overflow is Infinity', async () => {
    const table = tEnv.fromElements([[1n, 1e308]], { a: BIGINT, x: DataTypes.DOUBLE() });
    await expect(table.select('a / 0 AS q').execute().collect()).rejects.toMatchObject({ code: 'ARITHMETIC' });
    expect(await table.select('x * 10 AS y').execute().collect()).toEqual([{ y: Infinity }]);
  });
});

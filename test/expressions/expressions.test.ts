// The expression language end to end: select lists and aliases, predicates,
// arithmetic, literals, nested and filtering UDF calls, run with real workers.
import { DataTypes, ExpressionError, TableEnvironment, udf, type Row } from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers } from '../support.js';

const tempRoot = isolateTempRoot();
const BIGINT = DataTypes.BIGINT();
const TWO_53 = 2n ** 53n;

const SCHEMA = {
  id: BIGINT, a: BIGINT, b: BIGINT, n: DataTypes.INT(), x: DataTypes.DOUBLE(), s: DataTypes.STRING(),
};
const ROWS = [
  [1n, 1n, 2n, 10, 1.5, 'one'],
  [2n, 5n, -3n, null, -0.25, 'two'],
  [3n, TWO_53, 1n, 7, null, null],
  [4n, -7n, 2n, -4, 10, "it's"],
  [5n, null, 4n, 0, 2, ''],
];

describe('expressions against real workers', () => {
  let tEnv: TableEnvironment;

  beforeAll(() => {
    tEnv = TableEnvironment.create();
    tEnv.registerFunction('add', udf('lambda i, j: None if i is None or j is None else i + j', [BIGINT, BIGINT], BIGINT));
    tEnv.registerFunction('is_even', udf('lambda v: None if v is None else v % 2 == 0', [BIGINT], DataTypes.BOOLEAN()));
    tEnv.registerFunction('upper', udf('lambda s: None if s is None else s.upper()', [DataTypes.STRING()], DataTypes.STRING()));
    tEnv.registerFunction('answer', udf('lambda: 42', [], BIGINT));
  });

  afterAll(async () => {
    await tEnv.close();
    expect(pythonWorkers()).toEqual([]);
    expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
  });

  const table = () => tEnv.fromElements(ROWS, SCHEMA);
  const ids = async (predicate: string, method: 'where' | 'filter' = 'where') =>
    (await table()[method](predicate).select('id').execute().collect()).map((r) => r.id);

  describe('select', () => {
    test('several expressions with AS aliases: output keys in order, BIGINT as bigint, plain objects', async () => {
      const rows = await table().select('id, a + b AS total, add(a, b) AS via_udf, s AS label').execute().collect();
      expect(rows).toEqual([
        { id: 1n, total: 3n, via_udf: 3n, label: 'one' },
        { id: 2n, total: 2n, via_udf: 2n, label: 'two' },
        { id: 3n, total: TWO_53 + 1n, via_udf: TWO_53 + 1n, label: null },
        { id: 4n, total: -5n, via_udf: -5n, label: "it's" },
        { id: 5n, total: null, via_udf: null, label: '' },
      ]);
      for (const row of rows) {
        expect(Object.keys(row)).toEqual(['id', 'total', 'via_udf', 'label']);
        expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
        expect(typeof row.id).toBe('bigint');
      }
    });

    test('unaliased expressions are named _c<position>, columns keep their names', async () => {
      const t = table().select('add(a, b), id, b - 1, upper(s)');
      expect(t.columns).toEqual(['_c0', 'id', '_c2', '_c3']);
      const rows = await t.execute().collect();
      expect(Object.keys(rows[0]!)).toEqual(['_c0', 'id', '_c2', '_c3']);
      expect(rows[0]).toEqual({ _c0: 3n, id: 1n, _c2: 1n, _c3: 'ONE' });
      expect(rows[3]).toEqual({ _c0: -5n, id: 4n, _c2: 1n, _c3: "IT'S" });
    });

    test('arithmetic + - * / % on BIGINT (exact above 2**53, division truncates), mixed with INT and DOUBLE', async () => {
      const rows = await table()
        .select('id, a + b AS plus, a - b AS diff, a * b AS times, a / b AS quot, a % b AS rem, x / 4 AS xq, n + a AS mixed, a + 1 AS succ, a + b * 2 AS prec, -a AS neg, n * 3 AS n3')
        .execute().collect();
      expect(rows).toEqual([
        { id: 1n, plus: 3n, diff: -1n, times: 2n, quot: 0n, rem: 1n, xq: 0.375, mixed: 11n, succ: 2n, prec: 5n, neg: -1n, n3: 30 },
        { id: 2n, plus: 2n, diff: 8n, times: -15n, quot: -1n, rem: 2n, xq: -0.0625, mixed: null, succ: 6n, prec: -1n, neg: -5n, n3: null },
        { id: 3n, plus: TWO_53 + 1n, diff: TWO_53 - 1n, times: TWO_53, quot: TWO_53, rem: 0n, xq: null, mixed: TWO_53 + 7n, succ: TWO_53 + 1n, prec: TWO_53 + 2n, neg: -TWO_53, n3: 21 },
        { id: 4n, plus: -5n, diff: -9n, times: -14n, quot: -3n, rem: -1n, xq: 2.5, mixed: -11n, succ: -6n, prec: -3n, neg: 7n, n3: -12 },
        { id: 5n, plus: null, diff: null, times: null, quot: null, rem: null, xq: 0.5, mixed: null, succ: null, prec: null, neg: null, n3: 0 },
      ]);
    });

    test('BIGINT arithmetic wraps at 64 bits, as in Flink', async () => {
      const rows = await tEnv.fromElements([[2n ** 63n - 1n, 2n]], { a: BIGINT, b: BIGINT })
        .select('a + 1 AS wrapped, a * b AS twice, a - a AS zero').execute().collect();
      expect(rows).toEqual([{ wrapped: -(2n ** 63n), twice: -2n, zero: 0n }]);
    });

    test('literals: numbers, strings, booleans', async () => {
      const rows = await tEnv.fromElements([[1n], [2n]], { k: BIGINT })
        .select("'x' AS sval, 1 AS one, TRUE AS tval, FALSE AS fval, 2.5 AS dval, 3000000000 AS big, 'it''s' AS q, -2 AS neg, '' AS empty_s, 'Grüße 🎉' AS uni")
        .execute().collect();
      const expected = { sval: 'x', one: 1, tval: true, fval: false, dval: 2.5, big: 3000000000n, q: "it's", neg: -2, empty_s: '', uni: 'Grüße 🎉' };
      expect(rows).toEqual([expected, expected]);
    });

    test('nested calls, with literal arguments taking the parameter type', async () => {
      const rows = await table().select('id, add(add(a, b), 1) AS nested, add(a, add(b, 10)) AS n2, add(1, 2) AS consts').execute().collect();
      expect(rows.map((r) => [r.id, r.nested, r.n2, r.consts])).toEqual([
        [1n, 4n, 13n, 3n],
        [2n, 3n, 12n, 3n],
        [3n, TWO_53 + 2n, TWO_53 + 11n, 3n],
        [4n, -4n, 5n, 3n],
        [5n, null, null, 3n],
      ]);
    });

    test('function names resolve case-insensitively; a zero-argument UDF', async () => {
      const rows = await table().select('id, ADD(a, b) AS s, answer() AS x').execute().collect();
      expect(rows.map((r) => [r.id, r.s, r.x])).toEqual([
        [1n, 3n, 42n], [2n, 2n, 42n], [3n, TWO_53 + 1n, 42n], [4n, -5n, 42n], [5n, null, 42n],
      ]);
    });

    test('AND / OR in select follow SQL three-valued logic', async () => {
      const rows = await table().select('id, a > 1 AND b > 0 AS both_, a > 1 OR b > 0 AS either, a > 1 OR b < 0 AS maybe, NOT (a > 1) AS nope').execute().collect();
      expect(rows).toEqual([
        { id: 1n, both_: false, either: true, maybe: false, nope: true },
        { id: 2n, both_: false, either: true, maybe: true, nope: false },
        { id: 3n, both_: true, either: true, maybe: true, nope: false },
        { id: 4n, both_: false, either: true, maybe: false, nope: true },
        { id: 5n, both_: null, either: true, maybe: null, nope: null },
      ]);
    });

    test('IS NULL / IS NOT NULL as values', async () => {
      const rows = await table().select('id, s IS NULL AS no_s, add(a, b) IS NOT NULL AS has_sum').execute().collect();
      expect(rows.map((r) => [r.no_s, r.has_sum])).toEqual([[false, true], [false, true], [true, true], [false, true], [false, false]]);
    });
  });

  describe('where / filter', () => {
    test.each([
      ['a > 1', [2n, 3n]],
      ['a >= 1', [1n, 2n, 3n]],
      ['a < 1', [4n]],
      ['a <= 1', [1n, 4n]],
      ['a = 5', [2n]],
      ['a <> 5', [1n, 3n, 4n]],
      ['a != 5', [1n, 3n, 4n]],
      ['a IS NULL', [5n]],
      ['a IS NOT NULL', [1n, 2n, 3n, 4n]],
      ['n IS NULL OR s IS NULL', [2n, 3n]],
      ['NOT (a > 1)', [1n, 4n]],
      ['NOT a > 1', [1n, 4n]],
      ['a > 1 AND b > 0', [3n]],
      ['a > 1 OR b = 4', [2n, 3n, 5n]],
      ['a > 1 AND NOT (b < 0) OR s IS NULL', [3n]],
      ['(a > 1 OR a < 0) AND b > 0', [3n, 4n]],
      ["s = 'two'", [2n]],
      ["s = 'it''s'", [4n]],
      ["s <> ''", [1n, 2n, 4n]],
      ["s > 'p'", [2n]],
      ['x > 1.0', [1n, 4n, 5n]],
      ['x < 0', [2n]],
      ['a % 2 = 1', [1n, 2n]],
      ['n * 2 > 10', [1n, 3n]],
      ['a + n > 10', [1n, 3n]],
      ['a > 9007199254740991', [3n]],
      ['a = 9007199254740992', [3n]],
      ['TRUE', [1n, 2n, 3n, 4n, 5n]],
      ['FALSE', []],
      ['is_even(b)', [1n, 4n, 5n]],
      ['NOT is_even(b)', [2n, 3n]],
      ['is_even(a) AND a > 0', [3n]],
      ['add(a, b) > 2', [1n, 3n]],
      ["upper(s) = 'TWO' OR add(a, 1) = 0", [2n]],
    ] as const)('%s', async (predicate, expected) => {
      expect(await ids(predicate)).toEqual(expected);
    });

    test('filter is where', async () => {
      expect(await ids('is_even(b) AND a > 0', 'filter')).toEqual([1n]);
    });

    test('where and select chain: a where on a select alias, a UDF in both', async () => {
      const rows = await table().where('is_even(b)').select('id, upper(s) AS up, add(a, b) AS total').where('total > 0 OR total IS NULL')
        .execute().collect();
      expect(rows).toEqual([
        { id: 1n, up: 'ONE', total: 3n },
        { id: 5n, up: '', total: null },
      ]);
    });

    test('a filter that keeps no rows still runs the UDFs after it on empty batches', async () => {
      const rows = await table().where('a > 9223372036854775806').select('add(a, b) AS s, upper(s) AS u').execute().collect();
      expect(rows).toEqual([]);
    });

    test('integer division by zero fails the job with ARITHMETIC', async () => {
      const error = await tEnv.fromElements([[1n, 1n], [1n, 0n]], { a: BIGINT, b: BIGINT }).select('a / b AS q').execute().collect()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ExpressionError);
      expect((error as ExpressionError).code).toBe('ARITHMETIC');
    });

    test('a non-BOOLEAN predicate is EXPRESSION_TYPE', async () => {
      const error = await table().where('add(a, b)').execute().collect().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ExpressionError);
      expect((error as ExpressionError).code).toBe('EXPRESSION_TYPE');
      expect((error as ExpressionError).expression).toBe('add(a, b)');
      expect(pythonWorkers()).toEqual([]);
    });
  });

  test('collect() can be iterated too, and a TableResult runs its job once', async () => {
    const result = table().select('id').execute();
    const seen: Row[] = [];
    for await (const row of result) seen.push(row);
    expect(seen).toEqual([{ id: 1n }, { id: 2n }, { id: 3n }, { id: 4n }, { id: 5n }]);
    expect(await result.collect()).toBe(await result.collect());
  });
});

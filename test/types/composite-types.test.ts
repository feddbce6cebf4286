// ARRAY, MAP and ROW, nested, through real Python workers: TypeScript arrays,
// Maps and objects in and out, Python lists, dicts and pyudf.Row inside the
// function; NULLs at every depth, empty collections, computations, wrong values
// deep inside a result refused with their row, and TypeScript-side validation.
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, TableEnvironment, udf, type SqlValue } from '../../src/index.js';
import { closedAfterAll, isolateTempRoot, pythonWorkers, tempDir } from '../support.js';
import { fromElementsRefusal, resultTypeError } from './support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();
const D = DataTypes;

const ITEM = D.ROW([D.FIELD('a', D.INT()), D.FIELD('b', D.STRING())]);
const ITEMS = D.ARRAY(ITEM);
const TAGS = D.MAP(D.STRING(), D.ARRAY(D.INT()));
const ORDER = D.ROW([
  D.FIELD('id', D.BIGINT(false)),
  D.FIELD('lines', D.ARRAY(D.ROW([D.FIELD('sku', D.STRING()), D.FIELD('price', D.DECIMAL(10, 2)), D.FIELD('at', D.TIMESTAMP(6))]))),
  D.FIELD('notes', D.MAP(D.DATE(), D.STRING())),
]);

describe('composite types through a Python UDF and back', () => {
  const tEnv = closedAfterAll(TableEnvironment.create(), tempRoot);

  test('ARRAY<ROW<a INT, b STRING>>: rows by object or in field order, NULLs inside, empty arrays', async () => {
    tEnv.registerFunction('ident', udf('lambda x: x', [ITEMS], ITEMS));
    tEnv.registerFunction('python_repr', udf('lambda x: repr(x)', [ITEMS], D.STRING()));
    const rows = await tEnv.fromElements([
      [[{ a: 1, b: 'x' }, null, [2, null], { b: 'only b' }]],
      [[]],
      [null],
    ], { xs: ITEMS }).select('ident(xs) AS res, python_repr(xs) AS seen').execute().collect();
    expect(rows).toEqual([
      {
        res: [{ a: 1, b: 'x' }, null, { a: 2, b: null }, { a: null, b: 'only b' }],
        seen: "[Row(a=1, b='x'), None, Row(a=2, b=None), Row(a=None, b='only b')]",
      },
      { res: [], seen: '[]' },
      { res: null, seen: 'None' },
    ]);
  });

  test('MAP<STRING, ARRAY<INT>>: NULL values, empty maps, given as a Map or an object', async () => {
    tEnv.registerFunction('ident', udf('lambda x: x', [TAGS], TAGS));
    tEnv.registerFunction('python_repr', udf('lambda x: repr(x)', [TAGS], D.STRING()));
    const rows = await tEnv.fromElements([
      [new Map([['k', [1, null, 3]], ['none', null], ['empty', []]])],
      [{ from: [7], object: null }],
      [new Map()],
      [null],
    ], { m: TAGS }).select('ident(m) AS res, python_repr(m) AS seen').execute().collect();
    expect(rows).toEqual([
      { res: new Map<SqlValue, SqlValue>([['k', [1, null, 3]], ['none', null], ['empty', []]]), seen: "{'k': [1, None, 3], 'none': None, 'empty': []}" },
      { res: new Map<SqlValue, SqlValue>([['from', [7]], ['object', null]]), seen: "{'from': [7], 'object': None}" },
      { res: new Map(), seen: '{}' },
      { res: null, seen: 'None' },
    ]);
    expect(rows[0]!.res).toBeInstanceOf(Map);
  });

  test('a ROW holding arrays of rows with DECIMAL and TIMESTAMP fields, and a MAP keyed by DATE', async () => {
    tEnv.registerFunction('ident', udf('lambda x: x', [ORDER], ORDER));
    tEnv.registerFunction('describe', udf(
      "lambda o: f'{o.id}: ' + ', '.join(f'{l.sku}={l.price!r}@{l.at and l.at.isoformat()}' for l in o.lines) + f' {o.notes!r}'",
      [ORDER], D.STRING()));
    const order = {
      id: 2n ** 62n,
      lines: [{ sku: 'a', price: '19.99', at: '1969-07-20T20:17:40.000001' }, { sku: 'b', price: null, at: null }],
      notes: new Map([['2024-02-29', 'leap'], ['0001-01-01', null]]),
    };
    const rows = await tEnv.fromElements([[order], [{ id: 1n, lines: [], notes: {} }]], { o: ORDER })
      .select('ident(o) AS res, describe(o) AS text').execute().collect();
    expect(rows[0]!.res).toEqual({
      id: 2n ** 62n,
      lines: [{ sku: 'a', price: '19.99', at: '1969-07-20T20:17:40.000001' }, { sku: 'b', price: null, at: null }],
      notes: new Map([['2024-02-29', 'leap'], ['0001-01-01', null]]),
    });
    expect(rows[0]!.text).toBe("4611686018427387904: a=Decimal('19.99')@1969-07-20T20:17:40.000001, b=None@None "
      + '{datetime.date(2024, 2, 29): \'leap\', datetime.date(1, 1, 1): None}');
    expect(rows[1]).toEqual({ res: { id: 1n, lines: [], notes: new Map() }, text: '1:  {}' });
  });

  test('computations: rows built in Python (by name, in any order), sums per key, nested arrays', async () => {
    tEnv.registerFunction('doubled', udf('lambda xs: [Row(b=x.b.upper(), a=x.a * 2) for x in xs]', [ITEMS], ITEMS));
    tEnv.registerFunction('sums', udf('lambda m: {k: sum(v) for k, v in m.items()}', [D.MAP(D.STRING(), D.ARRAY(D.INT(false)))],
      D.MAP(D.STRING(), D.BIGINT())));
    const summary = D.ROW([D.FIELD('total', D.BIGINT()), D.FIELD('parts', D.ARRAY(D.BIGINT()))]);
    tEnv.registerFunction('summarise', udf('lambda a, b: Row(total=a + b, parts=[a, b])', [D.BIGINT(), D.BIGINT()], summary));
    tEnv.registerFunction('transpose', udf('lambda m: [list(r) for r in zip(*m)]', [D.ARRAY(D.ARRAY(D.INT()))], D.ARRAY(D.ARRAY(D.INT()))));
    const rows = await tEnv.fromElements([
      [[{ a: 1, b: 'x' }, { a: 21, b: 'yz' }], { k: [1, 2, 3], e: [] }, 5n, [[1, 2], [3, 4], [5, 6]]],
    ], { xs: ITEMS, m: D.MAP(D.STRING(), D.ARRAY(D.INT(false))), n: D.BIGINT(), grid: D.ARRAY(D.ARRAY(D.INT())) })
      .select('doubled(xs) AS d, sums(m) AS s, summarise(n, n) AS r, transpose(grid) AS t').execute().collect();
    expect(rows).toEqual([{
      d: [{ a: 2, b: 'X' }, { a: 42, b: 'YZ' }],
      s: new Map([['k', 6n], ['e', 0n]]),
      r: { total: 10n, parts: [5n, 5n] },
      t: [[1, 3, 5], [2, 4, 6]],
    }]);
  });

  test('an array of 200,000 elements goes to Python and back', async () => {
    tEnv.registerFunction('reversed', udf('lambda xs: xs[::-1]', [D.ARRAY(D.INT())], D.ARRAY(D.INT())));
    const long = Array.from({ length: 200_000 }, (_, i) => i);
    const [row] = await tEnv.fromElements([[long]], { xs: D.ARRAY(D.INT()) }).select('reversed(xs) AS r').execute().collect();
    expect(row!.r).toEqual([...long].reverse());
  });

  test('two ROW columns of one type are two arguments; one passed twice is the same', async () => {
    const point = D.ROW([D.FIELD('a', D.INT())]);
    tEnv.registerFunction('pair', udf('lambda x, y: f"{x.a}-{y.a}"', [point, point], D.STRING()));
    const rows = await tEnv.fromElements([[{ a: 1 }, { a: 2 }], [{ a: 3 }, { a: 4 }]], { x: point, y: point })
      .select('pair(x, y) AS xy, pair(y, x) AS yx, pair(x, x) AS xx').execute().collect();
    expect(rows).toEqual([{ xy: '1-2', yx: '2-1', xx: '1-1' }, { xy: '3-4', yx: '4-3', xx: '3-3' }]);
  });

  test('composite columns pass through select and a filter that drops rows', async () => {
    const rows = await tEnv.fromElements([
      [1, [{ a: 1, b: 'x' }], { k: [1] }],
      [2, null, null],
      [3, [], {}],
    ], { n: D.INT(), xs: ITEMS, m: TAGS })
      .where('n <> 2 AND xs IS NOT NULL').select('m, xs, m IS NULL AS no_map').execute().collect();
    expect(rows).toEqual([
      { m: new Map([['k', [1]]]), xs: [{ a: 1, b: 'x' }], no_map: false },
      { m: new Map(), xs: [], no_map: false },
    ]);
    const columns = await tEnv.fromColumns({ xs: [[{ a: 5, b: null }], null] }, { xs: ITEMS }).execute().collect();
    expect(columns).toEqual([{ xs: [{ a: 5, b: null }] }, { xs: null }]);
  });
});

describe('results that do not fit a composite type', () => {
  const tEnv = closedAfterAll(TableEnvironment.create(), tempRoot);

  const refused = (callable: string, values: unknown[]) => resultTypeError(tEnv, udf(callable, [D.INT()], ITEMS), D.INT(), values);

  test('a wrong type deep inside ARRAY<ROW<...>> names the row, the element and the field', async () => {
    const error = await refused("lambda v: [Row(a=v, b='ok'), Row(a=v, b=v)] if v == 7 else []", [1, 7]);
    expect(error.row).toEqual([7]);
    expect(error.message).toContain("returned [Row(a=7, b='ok'), Row(a=7, b=7)] (list) for row 1, which does not fit "
      + "ARRAY<ROW<a INT, b STRING>>: element [1], field 'b' is 7 (int), which is not a STRING");
    expect(error.message).toContain('call: f(7)');
  });

  test('a Row with other field names, a str for the array, a row of the wrong length', async () => {
    const names = await refused("lambda v: [Row(a=v, c='x')]", [1]);
    expect(names.message).toContain("element [0] is Row(a=1, c='x') (Row), which has fields ['a', 'c'], but ROW<a INT, b STRING> has ['a', 'b']");
    const text = await refused("lambda v: 'abc'", [1]);
    expect(text.message).toContain("returned 'abc' (str) for row 0, which is not an ARRAY<ROW<a INT, b STRING>> (a list)");
    const short = await refused('lambda v: [(v,)]', [1]);
    expect(short.message).toContain('element [0] is (1,) (tuple), which has 1 value(s), but ROW<a INT, b STRING> has 2 field(s)');
  });
});

test('a dead letter holds the row\'s composite and exact arguments as JSON', async () => {
  const letters = path.join(dir, 'letters.jsonl');
  const tEnv = TableEnvironment.create({ onUdfError: 'deadLetter', deadLetterPath: letters });
  try {
    tEnv.registerFunction('picky', udf("lambda m, d: 1 // 0 if 'bad' in m else 1", [TAGS, D.DECIMAL(5, 2)], D.INT()));
    const rows = await tEnv.fromElements([[{ ok: [1] }, '1.5'], [new Map([['bad', [2, null]], ['x', null]]), '-0.25']], { m: TAGS, d: D.DECIMAL(5, 2) })
      .select('picky(m, d) AS r').execute().collect();
    expect(rows).toEqual([{ r: 1 }]);
    const [letter] = fs.readFileSync(letters, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { arguments: unknown[]; exceptionType: string });
    expect(letter!.arguments).toEqual([[['bad', [2, null]], ['x', null]], '-0.25']);
    expect(letter!.exceptionType).toBe('ZeroDivisionError');
  } finally {
    await tEnv.close();
  }
  expect(pythonWorkers()).toEqual([]);
});

describe('composite values given from TypeScript are checked before anything runs', () => {
  const tEnv = TableEnvironment.create();
  afterAll(() => tEnv.close());

  test.each([
    [ITEMS, [{ a: 'x', b: 'y' }], 'column "v", element [0], field "a": "x" is not a INT value'],
    [ITEMS, [{ a: 1, c: 'y' }], 'column "v", element [0]: {a: 1, c: "y"} has no field(s) "c" in ROW<a INT, b STRING>'],
    [ITEMS, [[1]], 'column "v", element [0]: [1] has 1 value(s), but ROW<a INT, b STRING> has 2 field(s)'],
    [ITEMS, { a: 1 }, 'column "v": {a: 1} is not an ARRAY value (an array)'],
    [D.ARRAY(D.INT(false)), [1, null], 'column "v", element [1]: NULL in a INT NOT NULL column'],
    [TAGS, [['k', [1]]], 'column "v": [["k", [1]]] is not a MAP value (a Map, or an object with string keys)'],
    [TAGS, new Map([[null, [1]]]), 'has a NULL key; MAP keys are never NULL'],
    [TAGS, new Map([['k', ['1']]]), 'column "v", value of key "k", element [0]: "1" is not a INT value'],
    [D.MAP(D.DECIMAL(5, 2), D.INT()), new Map([['1.5', 1], ['1.50', 2]]), 'has the key "1.50" twice'],
    [D.MAP(D.INT(), D.INT()), { 1: 1 }, 'column "v", key "1": "1" is not a INT value'],
    [ORDER, { id: 1n, lines: [{ sku: 's', price: '1.234', at: null }] },
      'column "v", field "lines", element [0], field "price": "1.234" has more than 2 digit(s) after the point, as DECIMAL(10, 2) holds'],
    [ORDER, { lines: [] }, 'column "v", field "id": NULL in a BIGINT NOT NULL column'],
  ])('%s refuses %p', (type, value, message) => {
    const error = fromElementsRefusal(tEnv, type, value);
    expect(error.message).toContain('fromElements: row 0, ');
    expect(error.message).toContain(message);
  });
});

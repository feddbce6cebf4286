// Every SQL type through vectorized (func_type="pandas") functions in real workers: what
// the function is given (PyFlink's pandas forms, kept exact), identity with NULLs and edge
// values, a real computation per type, and results that do not fit refused with
// UDF_RESULT_TYPE naming the row.
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, TableEnvironment, udf, type DataType, type SqlValue } from '../../src/index.js';
import { closedAfterAll, isolateTempRoot, tempDir } from '../support.js';
import { resultTypeError } from './support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();
const D = DataTypes;

const modulePath = path.join(dir, 'vectorized_types.py');
fs.writeFileSync(modulePath, `import datetime
import decimal

import numpy as np
import pandas as pd

CONTEXT_38 = decimal.Context(prec=38)
MINUS_FIVE = datetime.timezone(datetime.timedelta(hours=-5))


def ident(s):
    return s


def given(s):
    """What the function got, a text per row: the dtype, and each value's type and repr."""
    if isinstance(s, pd.DataFrame):
        dtypes = ", ".join(f"{name}: {dtype}" for name, dtype in s.dtypes.items())
        return pd.Series([f"DataFrame({dtypes}) {one_line(row)}" for row in s.itertuples(index=False)], dtype=object)
    return pd.Series([f"{s.dtype} {type(v).__name__} {one_line(v)}" for v in s], dtype=object)


def one_line(value):
    return " ".join(repr(value).split())


def total(price, qty):
    return price * qty  # Decimal objects; pandas leaves the NULL rows out


def add38(a, b):
    return pd.Series([None if x is None or y is None else CONTEXT_38.add(x, y) for x, y in zip(a, b)], dtype=object)


def as_float(d):
    return d.astype(float)


def thirds(d):
    return d / 3


def next_day(d):
    return pd.to_datetime(d) + pd.Timedelta(days=1)  # datetime64 at midnight


def weekday(d):
    return pd.to_datetime(d).dt.dayofweek.astype("Int32")


def noon(d):
    return pd.to_datetime(d) + pd.Timedelta(hours=12)


def micros_of_day(t):
    return t.map(lambda v: ((v.hour * 60 + v.minute) * 60 + v.second) * 1_000_000 + v.microsecond,
                 na_action="ignore").astype("Int64")


def plus_micro(ts):
    return ts + pd.Timedelta(microseconds=1)


def plus_nano(ts):
    return ts + pd.Timedelta(nanoseconds=1)


def in_utc(ts):
    return ts.dt.tz_localize("UTC")


def in_new_york(i):
    return i.dt.tz_convert(MINUS_FIVE)


def new_york_text(i):
    return i.dt.tz_convert(MINUS_FIVE).dt.strftime("%Y-%m-%d %H:%M:%S.%f%z")


def naive(i):
    return i.dt.tz_localize(None)


def order_total(orders):
    return orders.map(lambda items: sum((i["price"] * i["qty"] for i in items if i is not None and i["qty"] is not None),
                                        decimal.Decimal("0.00")), na_action="ignore")


def lengths(xs):
    return xs.map(len, na_action="ignore").astype("Int32")


def reversed_arrays(xs):
    return xs.map(lambda a: a[::-1], na_action="ignore")


def with_text(xs):
    return xs.map(lambda a: list(a) + ["seven"] if 7 in a else a, na_action="ignore")


def value_sum(m):
    # Built as Int64 directly: Series.map would put ints beside NaN in a float64 Series.
    sums = [None if pairs is None else sum(v for _, v in pairs if v is not None) for pairs in m]
    return pd.Series(pd.array(sums, dtype="Int64"))


def upper_keys(m):
    return m.map(lambda pairs: {k.upper(): v for k, v in pairs}, na_action="ignore")


def upper_pairs(m):
    return m.map(lambda pairs: [(k.upper(), v) for k, v in pairs], na_action="ignore")


def summary(people):
    return pd.DataFrame({"label": people.name.str.upper(), "total": people.a + people.b})


def pair(n, s):
    return pd.DataFrame({"n": n, "s": s})


def doubled_a(people):
    return people.a * 2


def seven_as_name(people):
    return people.assign(name=people.name.astype(object).where(people.a != 7, 7))
`);

const MAX_38_10 = `${'9'.repeat(28)}.${'9'.repeat(10)}`;
const BIG = 2n ** 60n + 1n;
const ITEM = D.ROW([D.FIELD('a', D.INT()), D.FIELD('b', D.STRING())]);
const LINE = D.ROW([D.FIELD('sku', D.STRING()), D.FIELD('price', D.DECIMAL(10, 2)), D.FIELD('qty', D.INT())]);
const PERSON = D.ROW([D.FIELD('a', D.BIGINT()), D.FIELD('b', D.BIGINT()), D.FIELD('name', D.STRING())]);

function environment(bundleSize?: number): TableEnvironment {
  const tEnv = TableEnvironment.create({ bundleSize });
  tEnv.addPythonFile(modulePath);
  return tEnv;
}

function vectorized(name: string, inputTypes: DataType[], resultType: DataType) {
  return udf(`vectorized_types.${name}`, inputTypes, resultType, { funcType: 'pandas' });
}

/** Each value as given from TypeScript, as it comes back through an identity, and what the function saw. */
const CASES: ReadonlyArray<{ type: DataType; values: [given: unknown, back: SqlValue, seen: string][] }> = [
  {
    type: D.DECIMAL(38, 10),
    values: [
      [MAX_38_10, MAX_38_10, `object Decimal Decimal('${MAX_38_10}')`],
      [`-${MAX_38_10}`, `-${MAX_38_10}`, `object Decimal Decimal('-${MAX_38_10}')`],
      ['0.0000000001', '0.0000000001', "object Decimal Decimal('1E-10')"],
      ['-0.0000000001', '-0.0000000001', "object Decimal Decimal('-1E-10')"],
      ['0', '0.0000000000', "object Decimal Decimal('0E-10')"],
      [null, null, 'object NoneType None'],
    ],
  },
  {
    type: D.DATE(),
    values: [
      ['0001-01-01', '0001-01-01', 'object date datetime.date(1, 1, 1)'],
      ['1969-12-31', '1969-12-31', 'object date datetime.date(1969, 12, 31)'],
      ['2000-02-29', '2000-02-29', 'object date datetime.date(2000, 2, 29)'],
      ['9999-12-31', '9999-12-31', 'object date datetime.date(9999, 12, 31)'],
      [null, null, 'object NoneType None'],
    ],
  },
  {
    type: D.TIME(6),
    values: [
      ['00:00:00', '00:00:00.000000', 'object time datetime.time(0, 0)'],
      ['23:59:59.999999', '23:59:59.999999', 'object time datetime.time(23, 59, 59, 999999)'],
      [null, null, 'object NoneType None'],
    ],
  },
  { type: D.TIME(0), values: [['07:05:09', '07:05:09', 'object time datetime.time(7, 5, 9)']] },
  {
    type: D.TIMESTAMP(6),
    values: [
      ['0001-01-01T00:00:00.000001', '0001-01-01T00:00:00.000001', "datetime64[us] Timestamp Timestamp('1-01-01 00:00:00.000001')"],
      ['1969-12-31T23:59:59.999999', '1969-12-31T23:59:59.999999', "datetime64[us] Timestamp Timestamp('1969-12-31 23:59:59.999999')"],
      ['9999-12-31T23:59:59.999999', '9999-12-31T23:59:59.999999', "datetime64[us] Timestamp Timestamp('9999-12-31 23:59:59.999999')"],
      [null, null, 'datetime64[us] NaTType NaT'],
    ],
  },
  {
    type: D.TIMESTAMP(3),
    values: [['1900-01-01T00:00:00.123', '1900-01-01T00:00:00.123', "datetime64[ms] Timestamp Timestamp('1900-01-01 00:00:00.123000')"]],
  },
  {
    type: D.TIMESTAMP_LTZ(6),
    values: [
      ['2024-02-29T12:00:00.000001Z', '2024-02-29T12:00:00.000001Z',
        "datetime64[us, UTC] Timestamp Timestamp('2024-02-29 12:00:00.000001+0000', tz='UTC')"],
      ['1900-01-01T00:00:00.5-05:00', '1900-01-01T05:00:00.500000Z',
        "datetime64[us, UTC] Timestamp Timestamp('1900-01-01 05:00:00.500000+0000', tz='UTC')"],
      [null, null, 'datetime64[us, UTC] NaTType NaT'],
    ],
  },
  {
    type: D.TIMESTAMP_LTZ(0),
    values: [[new Date(-1000), '1969-12-31T23:59:59Z', "datetime64[s, UTC] Timestamp Timestamp('1969-12-31 23:59:59+0000', tz='UTC')"]],
  },
  {
    // A NULL among the batch's elements makes them Python ints: never floats, so 2**60 + 1 stays exact.
    type: D.ARRAY(D.BIGINT()),
    values: [
      [[BIG, null, -5n], [BIG, null, -5n], 'object ndarray array([1152921504606846977, None, -5], dtype=object)'],
      [[], [], 'object ndarray array([], dtype=object)'],
      [null, null, 'object NoneType None'],
    ],
  },
  {
    type: D.ARRAY(D.DOUBLE()),
    values: [[[1.5, null, -0.25], [1.5, null, -0.25], 'object ndarray array([ 1.5 , nan, -0.25])']],
  },
  {
    type: D.ARRAY(D.TIMESTAMP(6)),
    values: [[['1969-12-31T23:59:59.999999', null], ['1969-12-31T23:59:59.999999', null],
      "object ndarray array(['1969-12-31T23:59:59.999999', 'NaT'], dtype='datetime64[us]')"]],
  },
  {
    type: D.ARRAY(D.TIMESTAMP_LTZ(6)),
    values: [[['2024-01-01T00:00:00.000001Z', null], ['2024-01-01T00:00:00.000001Z', null],
      "object ndarray array([Timestamp('2024-01-01 00:00:00.000001+0000', tz='UTC'), NaT], dtype=object)"]],
  },
  {
    type: D.ARRAY(ITEM),
    values: [
      [[{ a: 1, b: 'x' }, null, { a: null, b: 'y' }], [{ a: 1, b: 'x' }, null, { a: null, b: 'y' }],
        "object ndarray array([{'a': 1, 'b': 'x'}, None, {'a': None, 'b': 'y'}], dtype=object)"],
      [[], [], 'object ndarray array([], dtype=object)'],
      [null, null, 'object NoneType None'],
    ],
  },
  {
    type: D.ARRAY(D.ARRAY(D.INT())),
    values: [[[[1, 2], [], null], [[1, 2], [], null], 'object ndarray array([array([1, 2], dtype=int32), array([], dtype=int32), None], dtype=object)']],
  },
  {
    type: D.MAP(D.STRING(), D.BIGINT()),
    values: [
      [{ big: BIG, none: null }, new Map([['big', BIG], ['none', null]]), "object list [('big', 1152921504606846977), ('none', None)]"],
      [{}, new Map(), 'object list []'],
      [null, null, 'object NoneType None'],
    ],
  },
  {
    type: D.MAP(D.DATE(), D.ARRAY(D.DECIMAL(5, 2))),
    values: [[new Map([['1969-07-20', ['1.50', null]], ['0001-01-01', null]]), new Map([['1969-07-20', ['1.50', null]], ['0001-01-01', null]]),
      "object list [(datetime.date(1969, 7, 20), array([Decimal('1.50'), None], dtype=object)), (datetime.date(1, 1, 1), None)]"]],
  },
];

describe('every type through a vectorized identity', () => {
  const tEnv = closedAfterAll(environment(), tempRoot);

  test.each(CASES.map((c) => [String(c.type), c] as const))('%s: values and NULLs come back unchanged', async (_text, { type, values }) => {
    tEnv.registerFunction('ident', vectorized('ident', [type], type));
    tEnv.registerFunction('given', vectorized('given', [type], D.STRING()));
    const rows = await tEnv.fromElements(values.map(([given]) => [given]), { v: type })
      .select('ident(v) AS res, given(v) AS seen').execute().collect();
    expect(rows.map((r) => r.res)).toEqual(values.map(([, back]) => back));
    expect(rows.map((r) => r.seen)).toEqual(values.map(([, , seen]) => seen));
  });

  test('a ROW is a DataFrame of a column per field; a NULL row is a row of missing fields, and goes back NULL', async () => {
    const type = D.ROW([D.FIELD('a', D.INT()), D.FIELD('b', D.STRING()), D.FIELD('t', D.TIMESTAMP_LTZ(6)), D.FIELD('xs', D.ARRAY(D.INT()))]);
    tEnv.registerFunction('ident', vectorized('ident', [type], type));
    tEnv.registerFunction('given', vectorized('given', [type], D.STRING()));
    const rows = await tEnv.fromElements([
      [{ a: 1, b: 'x', t: '2024-02-29T12:00:00.000001Z', xs: [1, null] }],
      [null],
      [{ a: null, b: 'y', t: null, xs: [] }],
      // Every field NULL: the DataFrame cannot tell it from a NULL row.
      [{ a: null, b: null, t: null, xs: null }],
    ], { v: type }).select('ident(v) AS res, given(v) AS seen').execute().collect();
    expect(rows.map((r) => r.res)).toEqual([
      { a: 1, b: 'x', t: '2024-02-29T12:00:00.000001Z', xs: [1, null] },
      null,
      { a: null, b: 'y', t: null, xs: [] },
      null,
    ]);
    const frame = 'DataFrame(a: Int32, b: str, t: datetime64[us, UTC], xs: object)';
    expect(rows.map((r) => r.seen)).toEqual([
      `${frame} Pandas(a=np.int32(1), b='x', t=Timestamp('2024-02-29 12:00:00.000001+0000', tz='UTC'), xs=array([1, None], dtype=object))`,
      `${frame} Pandas(a=<NA>, b=nan, t=NaT, xs=None)`,
      `${frame} Pandas(a=<NA>, b='y', t=NaT, xs=array([], dtype=object))`,
      `${frame} Pandas(a=<NA>, b=nan, t=NaT, xs=None)`,
    ]);
  });

  test('an array\'s dtype is its batch\'s: int64 without a NULL among the elements, Python ints with one', async () => {
    const batched = environment(2);
    try {
      batched.registerFunction('given', vectorized('given', [D.ARRAY(D.BIGINT())], D.STRING()));
      batched.registerFunction('ident', vectorized('ident', [D.ARRAY(D.BIGINT())], D.ARRAY(D.BIGINT())));
      const values = [[[BIG, 2n]], [[]], [[3n, null]], [null]];
      const rows = await batched.fromElements(values, { xs: D.ARRAY(D.BIGINT()) }).select('ident(xs) AS res, given(xs) AS seen').execute().collect();
      expect(rows.map((r) => r.res)).toEqual(values.map(([v]) => v));
      expect(rows.map((r) => r.seen)).toEqual([
        'object ndarray array([1152921504606846977, 2])',
        'object ndarray array([], dtype=int64)',
        'object ndarray array([3, None], dtype=object)',
        'object NoneType None',
      ]);
    } finally {
      await batched.close();
    }
  });
});

describe('computations over every type', () => {
  const tEnv = closedAfterAll(environment(), tempRoot);

  test('DECIMAL: exact products, and 38-digit sums in a 38-digit context', async () => {
    tEnv.registerFunction('total', vectorized('total', [D.DECIMAL(10, 2), D.DECIMAL(10, 3)], D.DECIMAL(20, 5)));
    tEnv.registerFunction('add38', vectorized('add38', [D.DECIMAL(38, 10), D.DECIMAL(38, 10)], D.DECIMAL(38, 10)));
    const rows = await tEnv.fromElements([
      ['19.99', '3.000', `${'9'.repeat(27)}.9999999999`, '0.0000000001'],
      ['0.10', '0.100', `-${MAX_38_10}`, MAX_38_10],
      [null, '1', '1', null],
    ], { p: D.DECIMAL(10, 2), q: D.DECIMAL(10, 3), a: D.DECIMAL(38, 10), b: D.DECIMAL(38, 10) })
      .select('total(p, q) AS t, add38(a, b) AS s').execute().collect();
    expect(rows).toEqual([
      { t: '59.97000', s: `1${'0'.repeat(27)}.0000000000` },
      { t: '0.01000', s: '0.0000000000' },
      { t: null, s: null },
    ]);
  });

  test('DATE: pandas datetimes at midnight are dates, before 1970 and across leap days', async () => {
    tEnv.registerFunction('next_day', vectorized('next_day', [D.DATE()], D.DATE()));
    tEnv.registerFunction('weekday', vectorized('weekday', [D.DATE()], D.INT()));
    const rows = await tEnv.fromElements([['0001-01-01'], ['1969-12-31'], ['2024-02-28'], [null]], { d: D.DATE() })
      .select('next_day(d) AS d, weekday(d) AS w').execute().collect();
    expect(rows).toEqual([
      { d: '0001-01-02', w: 0 },
      { d: '1970-01-01', w: 2 },
      { d: '2024-02-29', w: 2 },
      { d: null, w: null },
    ]);
  });

  test('TIME and TIMESTAMP: microseconds kept, also before 1970 and in year 1', async () => {
    tEnv.registerFunction('micros_of_day', vectorized('micros_of_day', [D.TIME(6)], D.BIGINT()));
    tEnv.registerFunction('plus_micro', vectorized('plus_micro', [D.TIMESTAMP(6)], D.TIMESTAMP(6)));
    const rows = await tEnv.fromElements([
      ['23:59:59.999999', '1969-12-31T23:59:59.999999'],
      ['00:00:00.000001', '0001-01-01T00:00:00'],
      [null, null],
    ], { t: D.TIME(6), ts: D.TIMESTAMP(6) }).select('micros_of_day(t) AS m, plus_micro(ts) AS ts').execute().collect();
    expect(rows).toEqual([
      { m: 86_399_999_999n, ts: '1970-01-01T00:00:00.000000' },
      { m: 1n, ts: '0001-01-01T00:00:00.000001' },
      { m: null, ts: null },
    ]);
  });

  test('TIMESTAMP_LTZ: a Series in another zone is the same instant; its wall-clock text is that zone\'s', async () => {
    tEnv.registerFunction('in_new_york', vectorized('in_new_york', [D.TIMESTAMP_LTZ(6)], D.TIMESTAMP_LTZ(6)));
    tEnv.registerFunction('new_york_text', vectorized('new_york_text', [D.TIMESTAMP_LTZ(6)], D.STRING()));
    const rows = await tEnv.fromElements([['2024-02-29T23:00:00.000001Z'], ['1969-12-31T23:59:59.999999Z'], [null]], { i: D.TIMESTAMP_LTZ(6) })
      .select('in_new_york(i) AS ny, new_york_text(i) AS text').execute().collect();
    expect(rows).toEqual([
      { ny: '2024-02-29T23:00:00.000001Z', text: '2024-02-29 18:00:00.000001-0500' },
      { ny: '1969-12-31T23:59:59.999999Z', text: '1969-12-31 18:59:59.999999-0500' },
      { ny: null, text: null },
    ]);
  });

  test('ARRAY: a DECIMAL total over ARRAY<ROW<...>>, lengths, reversed numpy arrays', async () => {
    tEnv.registerFunction('order_total', vectorized('order_total', [D.ARRAY(LINE)], D.DECIMAL(12, 2)));
    tEnv.registerFunction('lengths', vectorized('lengths', [D.ARRAY(D.BIGINT())], D.INT()));
    tEnv.registerFunction('reversed_arrays', vectorized('reversed_arrays', [D.ARRAY(D.BIGINT())], D.ARRAY(D.BIGINT())));
    const rows = await tEnv.fromElements([
      [[{ sku: 'a', price: '19.99', qty: 3 }, null, { sku: 'b', price: '0.10', qty: null }], [BIG, null, 1n]],
      [[], []],
      [null, null],
    ], { items: D.ARRAY(LINE), xs: D.ARRAY(D.BIGINT()) })
      .select('order_total(items) AS total, lengths(xs) AS n, reversed_arrays(xs) AS r').execute().collect();
    expect(rows).toEqual([
      { total: '59.97', n: 3, r: [1n, null, BIG] },
      { total: '0.00', n: 0, r: [] },
      { total: null, n: null, r: null },
    ]);
  });

  test('MAP: sums over (key, value) pairs, NULL values skipped; results as dicts or as pairs', async () => {
    const type = D.MAP(D.STRING(), D.BIGINT());
    tEnv.registerFunction('value_sum', vectorized('value_sum', [type], D.BIGINT()));
    tEnv.registerFunction('upper_keys', vectorized('upper_keys', [type], type));
    tEnv.registerFunction('upper_pairs', vectorized('upper_pairs', [type], type));
    const rows = await tEnv.fromElements([[{ a: BIG, b: null, c: 1n }], [{}], [null]], { m: type })
      .select('value_sum(m) AS s, upper_keys(m) AS d, upper_pairs(m) AS p').execute().collect();
    const upper = new Map([['A', BIG], ['B', null], ['C', 1n]]);
    expect(rows).toEqual([
      { s: BIG + 1n, d: upper, p: upper },
      { s: 0n, d: new Map(), p: new Map() },
      { s: null, d: null, p: null },
    ]);
  });

  test('ROW: a DataFrame out of a DataFrame, out of two Series, and a Series out of a DataFrame', async () => {
    const summary = D.ROW([D.FIELD('total', D.BIGINT()), D.FIELD('label', D.STRING())]);
    const pairType = D.ROW([D.FIELD('n', D.BIGINT()), D.FIELD('s', D.STRING())]);
    tEnv.registerFunction('summary', vectorized('summary', [PERSON], summary));
    tEnv.registerFunction('pair', vectorized('pair', [D.BIGINT(), D.STRING()], pairType));
    tEnv.registerFunction('doubled_a', vectorized('doubled_a', [PERSON], D.BIGINT()));
    const rows = await tEnv.fromElements([
      [{ a: 1n, b: BIG, name: 'x' }, 1n, 'x'],
      [{ a: 5n, b: null, name: 'y' }, null, 'y'],
      [null, null, null],
    ], { p: PERSON, n: D.BIGINT(), s: D.STRING() })
      .select('summary(p) AS sm, pair(n, s) AS pr, doubled_a(p) AS d').execute().collect();
    expect(rows).toEqual([
      { sm: { total: BIG + 1n, label: 'X' }, pr: { n: 1n, s: 'x' }, d: 2n },
      { sm: { total: null, label: 'Y' }, pr: { n: null, s: 'y' }, d: 10n },
      { sm: null, pr: null, d: null },
    ]);
  });
});

describe('vectorized results that do not fit their type', () => {
  const tEnv = closedAfterAll(environment(), tempRoot);

  const refused = (name: string, input: DataType, result: DataType, values: unknown[]) =>
    resultTypeError(tEnv, vectorized(name, [input], result), input, values);

  test('DECIMAL: floats are never taken for decimals, and no Decimal is rounded', async () => {
    const float = await refused('as_float', D.DECIMAL(5, 2), D.DECIMAL(5, 2), [null, '1.50']);
    expect(float.row).toEqual(['1.50']);
    expect(float.pythonMessage).toBe('returned 1.5 (float) for row 1, which is not a DECIMAL(5, 2) (a decimal.Decimal or an int)');
    const thirds = await refused('thirds', D.DECIMAL(5, 2), D.DECIMAL(5, 2), ['3.00', '1.00']);
    expect(thirds.row).toEqual(['1.00']);
    expect(thirds.pythonMessage).toContain('for row 1, which has more than 2 digit(s) after the point, as DECIMAL(5, 2) holds (quantize it first)');
  });

  test('DATE: a datetime that is not midnight', async () => {
    const error = await refused('noon', D.DATE(), D.DATE(), [null, '1969-07-20']);
    expect(error.row).toEqual(['1969-07-20']);
    expect(error.pythonMessage).toBe("returned Timestamp('1969-07-20 12:00:00') (Timestamp) for row 1, "
      + 'which is not a DATE: a datetime is one only at midnight without a time zone');
  });

  test('TIMESTAMP: a nanosecond, and a time zone', async () => {
    const nano = await refused('plus_nano', D.TIMESTAMP(6), D.TIMESTAMP(6), ['2024-01-01T00:00:00', '2024-01-01T00:00:00.5']);
    expect(nano.row).toEqual(['2024-01-01T00:00:00.000000']);
    expect(nano.pythonMessage).toBe("returned Timestamp('2024-01-01 00:00:00.000000001') (Timestamp) for row 0, "
      + 'which has more digits of a second than TIMESTAMP(6) holds');
    const zoned = await refused('in_utc', D.TIMESTAMP(6), D.TIMESTAMP(6), [null, '2024-01-01T00:00:00']);
    expect(zoned.row).toEqual(['2024-01-01T00:00:00.000000']);
    expect(zoned.pythonMessage).toContain('for row 1, which is an aware datetime, but TIMESTAMP(6) holds no time zone: '
      + 'drop the zone (s.dt.tz_localize(None)), or declare TIMESTAMP_LTZ');
  });

  test('TIMESTAMP_LTZ: a naive Series', async () => {
    const error = await refused('naive', D.TIMESTAMP_LTZ(6), D.TIMESTAMP_LTZ(6), [null, '2024-01-01T00:00:00.000001Z']);
    expect(error.row).toEqual(['2024-01-01T00:00:00.000001Z']);
    expect(error.pythonMessage).toBe("returned Timestamp('2024-01-01 00:00:00.000001') (Timestamp) for row 1, which is a naive "
      + "datetime, but TIMESTAMP_LTZ(6) holds instants: give the Series a time zone (s.dt.tz_localize('UTC'))");
  });

  test('ARRAY: a wrong element names the row and the element', async () => {
    const error = await refused('with_text', D.ARRAY(D.BIGINT()), D.ARRAY(D.BIGINT()), [[1n], [5n, 7n]]);
    expect(error.row).toEqual([[5n, 7n]]);
    expect(error.pythonMessage).toContain("for row 1, which does not fit ARRAY<BIGINT>: element [2] is 'seven' (str), which is not a BIGINT");
  });

  test('MAP: two pairs with one key', async () => {
    const error = await refused('upper_pairs', D.MAP(D.STRING(), D.INT()), D.MAP(D.STRING(), D.INT()), [{ a: 1 }, { b: 1, B: 2 }]);
    expect(error.row).toEqual([new Map([['b', 1], ['B', 2]])]);
    expect(error.pythonMessage).toBe("returned [('B', 1), ('B', 2)] (list) for row 1, which has the key 'B' twice, which a MAP<STRING, INT> cannot hold");
  });

  test('ROW: a wrong value in a DataFrame names the row and the column; unknown columns are refused', async () => {
    const error = await refused('seven_as_name', PERSON, PERSON, [{ a: 1n, b: 2n, name: 'x' }, { a: 7n, b: 2n, name: 'y' }]);
    expect(error.row).toEqual([{ a: 7n, b: 2n, name: 'y' }]);
    expect(error.pythonMessage).toBe(`returned a DataFrame whose column 'name' does not fit field 'name' of ${String(PERSON)}: `
      + 'returned 7 (int) for row 1, which is not a STRING');
    const columns = await refused('summary', PERSON, PERSON, [{ a: 1n, b: 2n, name: 'x' }]);
    expect(columns.row).toBeUndefined();
    expect(columns.pythonMessage).toBe(`returned a DataFrame with columns ['label', 'total'], but ${String(PERSON)} has fields `
      + "['a', 'b', 'name']: name the columns after the fields, or leave them unnamed (0, 1, ...) in field order");
  });
});

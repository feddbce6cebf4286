// DECIMAL, DATE, TIME, TIMESTAMP and TIMESTAMP_LTZ through real Python workers:
// exact values both ways (no float or millisecond detour), NULLs, edge values,
// real computations, results that do not fit refused with their row, and the
// values TypeScript refuses before anything runs.
import { DataTypes, TableEnvironment, udf, type DataType, type SqlValue } from '../../src/index.js';
import { closedAfterAll, isolateTempRoot } from '../support.js';
import { fromElementsRefusal, resultTypeError } from './support.js';

const tempRoot = isolateTempRoot();
const D = DataTypes;

const MAX_38_10 = `${'9'.repeat(28)}.${'9'.repeat(10)}`;

/** Each value as given from TypeScript, as collect() gives it back, and as Python's repr() shows it. */
const CASES: ReadonlyArray<{ type: DataType; values: [given: unknown, back: SqlValue, python: string][] }> = [
  {
    type: D.DECIMAL(38, 10),
    values: [
      [MAX_38_10, MAX_38_10, `Decimal('${MAX_38_10}')`],
      [`-${MAX_38_10}`, `-${MAX_38_10}`, `Decimal('-${MAX_38_10}')`],
      ['0.0000000001', '0.0000000001', "Decimal('1E-10')"],
      ['-0.0000000001', '-0.0000000001', "Decimal('-1E-10')"],
      ['12.34', '12.3400000000', "Decimal('12.3400000000')"],
      [0.1, '0.1000000000', "Decimal('0.1000000000')"],
      [123456789012345678901234567n, '123456789012345678901234567.0000000000', "Decimal('123456789012345678901234567.0000000000')"],
      ['0', '0.0000000000', "Decimal('0E-10')"],
      [null, null, 'None'],
    ],
  },
  {
    type: D.DECIMAL(5, 2),
    values: [['999.99', '999.99', "Decimal('999.99')"], ['-999.99', '-999.99', "Decimal('-999.99')"], ['1.5E1', '15.00', "Decimal('15.00')"]],
  },
  {
    type: D.DATE(),
    values: [
      ['0001-01-01', '0001-01-01', 'datetime.date(1, 1, 1)'],
      ['1900-02-28', '1900-02-28', 'datetime.date(1900, 2, 28)'],
      ['1969-12-31', '1969-12-31', 'datetime.date(1969, 12, 31)'],
      [new Date('1970-01-01T00:00:00Z'), '1970-01-01', 'datetime.date(1970, 1, 1)'],
      ['2000-02-29', '2000-02-29', 'datetime.date(2000, 2, 29)'],
      ['9999-12-31', '9999-12-31', 'datetime.date(9999, 12, 31)'],
      [null, null, 'None'],
    ],
  },
  {
    type: D.TIME(6),
    values: [
      ['00:00:00', '00:00:00.000000', 'datetime.time(0, 0)'],
      ['12:34:56.000001', '12:34:56.000001', 'datetime.time(12, 34, 56, 1)'],
      ['23:59:59.999999', '23:59:59.999999', 'datetime.time(23, 59, 59, 999999)'],
      [null, null, 'None'],
    ],
  },
  { type: D.TIME(0), values: [['23:59:59', '23:59:59', 'datetime.time(23, 59, 59)'], ['07:05', '07:05:00', 'datetime.time(7, 5)']] },
  { type: D.TIME(3), values: [['12:00:00.5', '12:00:00.500', 'datetime.time(12, 0, 0, 500000)']] },
  {
    type: D.TIMESTAMP(6),
    values: [
      ['0001-01-01T00:00:00', '0001-01-01T00:00:00.000000', 'datetime.datetime(1, 1, 1, 0, 0)'],
      ['1969-12-31 23:59:59.999999', '1969-12-31T23:59:59.999999', 'datetime.datetime(1969, 12, 31, 23, 59, 59, 999999)'],
      ['1970-01-01T00:00:00.000001', '1970-01-01T00:00:00.000001', 'datetime.datetime(1970, 1, 1, 0, 0, 0, 1)'],
      [new Date('2024-02-29T12:34:56.789Z'), '2024-02-29T12:34:56.789000', 'datetime.datetime(2024, 2, 29, 12, 34, 56, 789000)'],
      ['9999-12-31T23:59:59.999999', '9999-12-31T23:59:59.999999', 'datetime.datetime(9999, 12, 31, 23, 59, 59, 999999)'],
      [null, null, 'None'],
    ],
  },
  { type: D.TIMESTAMP(3), values: [['2024-02-29T12:00:00.1', '2024-02-29T12:00:00.100', 'datetime.datetime(2024, 2, 29, 12, 0, 0, 100000)']] },
  {
    type: D.TIMESTAMP_LTZ(6),
    values: [
      ['2024-02-29T12:00:00.000001Z', '2024-02-29T12:00:00.000001Z',
        'datetime.datetime(2024, 2, 29, 12, 0, 0, 1, tzinfo=datetime.timezone.utc)'],
      ['2024-01-01T01:30:00.5+02:00', '2023-12-31T23:30:00.500000Z',
        'datetime.datetime(2023, 12, 31, 23, 30, 0, 500000, tzinfo=datetime.timezone.utc)'],
      ['1900-01-01T00:00:00-05:00', '1900-01-01T05:00:00.000000Z', 'datetime.datetime(1900, 1, 1, 5, 0, tzinfo=datetime.timezone.utc)'],
      [new Date(-1), '1969-12-31T23:59:59.999000Z', 'datetime.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=datetime.timezone.utc)'],
      [null, null, 'None'],
    ],
  },
  {
    type: D.TIMESTAMP_LTZ(0),
    values: [[new Date('2038-01-19T03:14:08Z'), '2038-01-19T03:14:08Z', 'datetime.datetime(2038, 1, 19, 3, 14, 8, tzinfo=datetime.timezone.utc)']],
  },
];

describe('exact scalar types through a Python UDF and back', () => {
  const tEnv = closedAfterAll(TableEnvironment.create(), tempRoot);

  test.each(CASES.map((c) => [String(c.type), c] as const))('%s: identity, and what Python is given', async (_text, { type, values }) => {
    tEnv.registerFunction('ident', udf('lambda x: x', [type], type));
    tEnv.registerFunction('python_repr', udf('lambda x: repr(x)', [type], D.STRING()));
    const rows = await tEnv.fromElements(values.map(([given]) => [given]), { v: type })
      .select('ident(v) AS res, v, python_repr(v) AS seen').execute().collect();
    expect(rows.map((r) => r.res)).toEqual(values.map(([, back]) => back));
    expect(rows.map((r) => r.v)).toEqual(values.map(([, back]) => back));
    expect(rows.map((r) => r.seen)).toEqual(values.map(([, , python]) => python));
  });

  test('DECIMAL arithmetic is exact: price times quantity, and a sum with 38 digits', async () => {
    tEnv.registerFunction('total', udf('lambda p, q: None if p is None or q is None else p * q',
      [D.DECIMAL(10, 2), D.DECIMAL(10, 3)], D.DECIMAL(20, 5)));
    // Python's default decimal context holds 28 digits: 38-digit sums need a wider one.
    tEnv.registerFunction('add38', udf('lambda a, b: decimal.Context(prec=38).add(a, b)',
      [D.DECIMAL(38, 10), D.DECIMAL(38, 10)], D.DECIMAL(38, 10)));
    const rows = await tEnv.fromElements([
      ['19.99', '3.000', `${'9'.repeat(27)}.9999999999`, '0.0000000001'],
      ['0.10', '0.100', '-1', '0.5'],
      [null, '1', '1', '1'],
    ], { p: D.DECIMAL(10, 2), q: D.DECIMAL(10, 3), a: D.DECIMAL(38, 10), b: D.DECIMAL(38, 10) })
      .select('total(p, q) AS t, add38(a, b) AS s').execute().collect();
    expect(rows).toEqual([
      { t: '59.97000', s: `1${'0'.repeat(27)}.0000000000` },
      { t: '0.01000', s: '-0.5000000000' },
      { t: null, s: '2.0000000000' },
    ]);
  });

  test('dates, times and timestamps computed in Python: across months, leap days, midnight and 1970', async () => {
    tEnv.registerFunction('next_day', udf('lambda d: d + datetime.timedelta(days=1)', [D.DATE()], D.DATE()));
    tEnv.registerFunction('plus_micro', udf('lambda t: t + datetime.timedelta(microseconds=1)', [D.TIMESTAMP(6)], D.TIMESTAMP(6)));
    tEnv.registerFunction('micros_of_day', udf(
      'lambda t: ((t.hour * 60 + t.minute) * 60 + t.second) * 1000000 + t.microsecond', [D.TIME(6)], D.BIGINT()));
    // An aware result in any zone is the same instant.
    tEnv.registerFunction('in_new_york', udf(
      'lambda t: t.astimezone(datetime.timezone(datetime.timedelta(hours=-5)))', [D.TIMESTAMP_LTZ(6)], D.TIMESTAMP_LTZ(6)));
    tEnv.registerFunction('iso', udf('lambda t: t.isoformat()', [D.TIMESTAMP_LTZ(6)], D.STRING()));
    const rows = await tEnv.fromElements([
      ['1969-12-31', '1999-12-31T23:59:59.999999', '23:59:59.999999', '2024-02-29T23:00:00.000001Z'],
      ['2024-02-28', '1969-12-31T23:59:59.999998', '00:00:00.000001', '1600-03-01T00:00:00Z'],
    ], { d: D.DATE(), ts: D.TIMESTAMP(6), t: D.TIME(6), i: D.TIMESTAMP_LTZ(6) })
      .select('next_day(d) AS d, plus_micro(ts) AS ts, micros_of_day(t) AS m, in_new_york(i) AS ny, iso(i) AS iso').execute().collect();
    expect(rows).toEqual([
      { d: '1970-01-01', ts: '2000-01-01T00:00:00.000000', m: 86_399_999_999n, ny: '2024-02-29T23:00:00.000001Z', iso: '2024-02-29T23:00:00.000001+00:00' },
      { d: '2024-02-29', ts: '1969-12-31T23:59:59.999999', m: 1n, ny: '1600-03-01T00:00:00.000000Z', iso: '1600-03-01T00:00:00+00:00' },
    ]);
  });
});

describe('results that do not fit the new types', () => {
  const tEnv = closedAfterAll(TableEnvironment.create(), tempRoot);

  const refused = (callable: string, input: DataType, result: DataType, values: unknown[]) =>
    resultTypeError(tEnv, udf(callable, [input], result), input, values);

  test('a Decimal with more digits after the point than the scale (no rounding)', async () => {
    const error = await refused('lambda x: x / 3', D.DECIMAL(10, 2), D.DECIMAL(10, 2), ['3.00', '1.00']);
    expect(error.row).toEqual(['1.00']);
    expect(error.message).toContain("returned Decimal('0.3333333333333333333333333333') (Decimal) for row 1, "
      + 'which has more than 2 digit(s) after the point, as DECIMAL(10, 2) holds (quantize it first)');
    expect(error.message).toContain('call: f("1.00")');
  });

  test('a Decimal with too many digits before the point, and a float for DECIMAL', async () => {
    const big = await refused('lambda x: x * 1000', D.DECIMAL(5, 2), D.DECIMAL(5, 2), ['0.99', '1.00']);
    expect(big.row).toEqual(['1.00']);
    expect(big.message).toContain('has more than 3 digit(s) before the point, as DECIMAL(5, 2) holds');
    const float = await refused('lambda x: float(x)', D.DECIMAL(5, 2), D.DECIMAL(5, 2), ['1.50']);
    expect(float.message).toContain('returned 1.5 (float) for row 0, which is not a DECIMAL(5, 2) (a decimal.Decimal or an int)');
  });

  test('naive and aware datetimes mixed up', async () => {
    const naive = await refused('lambda t: t.replace(tzinfo=None)', D.TIMESTAMP_LTZ(6), D.TIMESTAMP_LTZ(6), ['2024-01-01T00:00:00Z']);
    expect(naive.row).toEqual(['2024-01-01T00:00:00.000000Z']);
    expect(naive.message).toContain('which is a naive datetime, but TIMESTAMP_LTZ(6) holds instants');
    const aware = await refused('lambda t: t and t.replace(tzinfo=datetime.timezone.utc)', D.TIMESTAMP(6), D.TIMESTAMP(6),
      [null, '2024-01-01T00:00:00']);
    expect(aware.row).toEqual(['2024-01-01T00:00:00.000000']);
    expect(aware.message).toContain('which is an aware datetime, but TIMESTAMP(6) holds wall-clock times without a time zone');
  });

  test('a datetime for DATE, and more digits of a second than the precision', async () => {
    const datetime = await refused('lambda d: datetime.datetime(d.year, d.month, d.day)', D.DATE(), D.DATE(), ['2024-02-29']);
    expect(datetime.message).toContain('returned datetime.datetime(2024, 2, 29, 0, 0) (datetime) for row 0, which is not a DATE');
    const fine = await refused('lambda t: t.replace(microsecond=1)', D.TIME(3), D.TIME(3), ['10:00:00']);
    expect(fine.message).toContain('which has more digits of a second than TIME(3) holds');
  });
});

describe('new types given from TypeScript are checked before anything runs', () => {
  const tEnv = TableEnvironment.create();
  afterAll(() => tEnv.close());

  test.each([
    [D.DECIMAL(5, 2), '123.456', '"123.456" has more than 2 digit(s) after the point, as DECIMAL(5, 2) holds'],
    [D.DECIMAL(5, 2), '1000', '"1000" has more than 3 digit(s) before the point, as DECIMAL(5, 2) holds'],
    [D.DECIMAL(5, 2), 'twelve', '"twelve" is not a decimal number'],
    [D.DECIMAL(5, 2), NaN, 'NaN is not a decimal number (give a string such as "12.34", a bigint or a finite number)'],
    [D.DATE(), '2023-02-29', '"2023-02-29" is not a date from 0001-01-01 to 9999-12-31 ("YYYY-MM-DD")'],
    [D.DATE(), '0000-12-31', '"0000-12-31" is not a date from 0001-01-01 to 9999-12-31'],
    [D.DATE(), new Date('2024-01-01T12:00:00Z'), 'Date(2024-01-01T12:00:00.000Z) is not midnight UTC, so names no single date'],
    [D.DATE(), 20240101, '20240101 is not a DATE value (a "YYYY-MM-DD" string or a Date at midnight UTC)'],
    [D.TIME(6), '24:00:00', '"24:00:00" is not a time of day from 00:00:00 to 23:59:59.999999'],
    [D.TIME(6), '12:00:00.0000001', '"12:00:00.0000001" has more than 6 digit(s) of a second, as TIME(6)'],
    [D.TIME(0), '12:00:00.5', '"12:00:00.5" has more than 0 digit(s) of a second, as TIME(0)'],
    [D.TIMESTAMP(6), '2024-01-01T00:00:00Z', 'has a time zone, but TIMESTAMP holds wall-clock times without one'],
    [D.TIMESTAMP_LTZ(6), '2024-01-01T00:00:00', 'has no time zone, but TIMESTAMP_LTZ holds instants'],
    [D.TIMESTAMP(0), new Date('2024-01-01T00:00:00.250Z'), 'has more than 0 digit(s) of a second, as TIMESTAMP(0)'],
    [D.TIMESTAMP_LTZ(6), '0001-01-01T00:30:00+01:00', '"0001-01-01T00:30:00+01:00" is outside years 0001 to 9999'],
    [D.DECIMAL(5, 2, false), null, 'NULL in a DECIMAL(5, 2) NOT NULL column'],
  ])('%s refuses %p', (type, value, message) => {
    const error = fromElementsRefusal(tEnv, type, value);
    expect(error.message).toContain('fromElements: row 0, column "v": ');
    expect(error.message).toContain(message);
  });

  test('fromColumns and fromStream check them the same way', async () => {
    expect(() => tEnv.fromColumns({ d: ['2024-01-01', '2024-13-01'] }, { d: D.DATE() }))
      .toThrow('fromColumns: column "d", row 1: "2024-13-01" is not a date');
    const stream = tEnv.fromStream([['1.5'], ['1.555']], { d: D.DECIMAL(4, 2) }).execute().collect();
    await expect(stream).rejects.toThrow('fromStream: row 1, column "d": "1.555" has more than 2 digit(s) after the point');
  });
});

// Expressions over DECIMAL, DATE, TIME, TIMESTAMP and TIMESTAMP_LTZ: comparisons
// by value (not as text or floats), literals read as the other side's type,
// IS NULL on every type, and function arguments widened exactly.
import { DataTypes, ExpressionError, TableEnvironment, udf } from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers } from '../support.js';

const tempRoot = isolateTempRoot();
const D = DataTypes;

const SCHEMA = {
  id: D.INT(),
  price: D.DECIMAL(10, 2),
  cost: D.DECIMAL(12, 4),
  qty: D.INT(),
  ratio: D.DOUBLE(),
  day: D.DATE(),
  at: D.TIME(6),
  ts: D.TIMESTAMP(6),
  ts3: D.TIMESTAMP(3),
  seen: D.TIMESTAMP_LTZ(6),
  tags: D.ARRAY(D.STRING()),
};

const ROWS = [
  [1, '9.00', '10.0000', 9, 9.5, '1969-12-31', '09:00:00', '2024-02-29T12:00:00.000001', '2024-02-29T12:00:00.000', '2024-02-29T12:00:00Z', ['a']],
  [2, '10.00', '10.0000', 12, 10.0, '2024-02-29', '09:00:00.000001', '2024-02-29T12:00:00', '2024-02-29T12:00:00.000', '2024-02-29T13:30:00+02:00', []],
  [3, '100.50', '99.9999', 100, 100.5, '9999-12-31', '23:59:59.999999', '1900-01-01T00:00:00', '1900-01-01T00:00:00.001', '1900-01-01T00:00:00Z', null],
  [4, null, null, null, null, null, null, null, null, null, null],
];

describe('comparisons of the exact types', () => {
  const tEnv = TableEnvironment.create();
  const table = () => tEnv.fromElements(ROWS, SCHEMA);
  const ids = async (predicate: string) => (await table().where(predicate).select('id').execute().collect()).map((r) => r.id);

  afterAll(async () => {
    await tEnv.close();
    expect(pythonWorkers()).toEqual([]);
    expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
  });

  test('DECIMAL against DECIMAL of another scale, integers, literals and DOUBLE', async () => {
    expect(await ids('price = cost')).toEqual([2]);
    expect(await ids('price < cost')).toEqual([1]);
    expect(await ids('price > cost')).toEqual([3]); // "100.50" > "99.9999" by value, not as text
    expect(await ids('price >= 10')).toEqual([2, 3]);
    expect(await ids('price = 100.5')).toEqual([3]);
    expect(await ids("price <= '10.000'")).toEqual([1, 2]);
    expect(await ids('price < qty')).toEqual([2]);
    expect(await ids('price <> ratio')).toEqual([1]);
    expect(await ids('price IS NULL')).toEqual([4]);
  });

  test('DATE, TIME, TIMESTAMP and TIMESTAMP_LTZ against string literals and each other', async () => {
    expect(await ids("day < '1970-01-01'")).toEqual([1]);
    expect(await ids("day >= '2024-02-29'")).toEqual([2, 3]);
    expect(await ids("at > '09:00:00'")).toEqual([2, 3]);
    expect(await ids("ts > '2024-02-29 12:00:00'")).toEqual([1]);
    expect(await ids('ts = ts3')).toEqual([2]); // TIMESTAMP(6) and TIMESTAMP(3) compare as instants of the wall clock
    expect(await ids('ts < ts3')).toEqual([3]);
    expect(await ids("seen = '2024-02-29T13:00:00+01:00'")).toEqual([1]);
    expect(await ids("seen > '2024-02-29T11:59:59.999999Z'")).toEqual([1]);
    expect(await ids("seen < '2024-02-29T12:00:00Z'")).toEqual([2, 3]);
    expect(await ids('seen IS NOT NULL AND day IS NOT NULL AND tags IS NULL')).toEqual([3]);
  });

  test('every type passes through select, IS NULL included', async () => {
    const rows = await table().where('id = 2').select('price, cost, day, at, ts, ts3, seen, tags, tags IS NULL AS no_tags').execute().collect();
    expect(rows).toEqual([{
      price: '10.00', cost: '10.0000', day: '2024-02-29', at: '09:00:00.000001', ts: '2024-02-29T12:00:00.000000',
      ts3: '2024-02-29T12:00:00.000', seen: '2024-02-29T11:30:00.000000Z', tags: [], no_tags: false,
    }]);
  });

  test.each([
    ["day > '2024-02-30'", "'2024-02-30' is not a date from 0001-01-01 to 9999-12-31 (\"YYYY-MM-DD\"), so it cannot compare with DATE"],
    ["ts > '2024-01-01T00:00:00Z'", "'2024-01-01T00:00:00Z' has a time zone, but TIMESTAMP holds wall-clock times without one: drop the zone, or declare TIMESTAMP_LTZ, so it cannot compare with TIMESTAMP(6)"],
    ["price > 'cheap'", "'cheap' is not a decimal number, so it cannot compare with DECIMAL(10, 2)"],
    ["price > '1.234'", "'1.234' has more than 2 digit(s) after the point, as DECIMAL(10, 2) holds, so it cannot compare with DECIMAL(10, 2)"],
    ['day = ts', 'operator = cannot combine DATE and TIMESTAMP'],
    ['ts = seen', 'operator = cannot combine TIMESTAMP and TIMESTAMP_LTZ'],
    ['tags = tags', 'operator = cannot combine ARRAY<STRING> and ARRAY<STRING> (ARRAY, MAP and ROW values do not compare)'],
    ['price + 1 > 0', 'operator + cannot combine DECIMAL and INT (expressions compare DECIMAL, DATE, TIME and TIMESTAMP values; compute with them in a Python function)'],
  ])('%s is a type error', async (predicate, message) => {
    const error = await table().where(predicate).select('id').execute().collect().then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(ExpressionError);
    expect((error as ExpressionError).code).toBe('EXPRESSION_TYPE');
    expect((error as Error).message).toContain(message);
  });
});

describe('function arguments of the exact types', () => {
  const tEnv = TableEnvironment.create();

  afterAll(async () => {
    await tEnv.close();
    expect(pythonWorkers()).toEqual([]);
    expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
  });

  test('narrower DECIMAL, integer and TIMESTAMP arguments are widened exactly; literals are read as the declared type', async () => {
    tEnv.registerFunction('dec_text', udf('lambda d: None if d is None else str(d)', [D.DECIMAL(20, 4)], D.STRING()));
    tEnv.registerFunction('ts_text', udf('lambda t: repr(t)', [D.TIMESTAMP(6)], D.STRING()));
    tEnv.registerFunction('next_day', udf('lambda d: d + datetime.timedelta(days=1)', [D.DATE()], D.DATE()));
    const rows = await tEnv.fromElements(ROWS.slice(0, 2), SCHEMA)
      .select("dec_text(price) AS p, dec_text(qty) AS q, dec_text(2.5) AS lit, ts_text(ts3) AS t, next_day('2024-02-28') AS d")
      .execute().collect();
    expect(rows).toEqual([
      { p: '9.0000', q: '9.0000', lit: '2.5000', t: 'datetime.datetime(2024, 2, 29, 12, 0)', d: '2024-02-29' },
      { p: '10.0000', q: '12.0000', lit: '2.5000', t: 'datetime.datetime(2024, 2, 29, 12, 0)', d: '2024-02-29' },
    ]);
  });

  test('an argument that does not widen is a type error naming both types', async () => {
    tEnv.registerFunction('narrow', udf('lambda d: d', [D.DECIMAL(4, 2)], D.DECIMAL(4, 2)));
    const error = await tEnv.fromElements(ROWS, SCHEMA).select('narrow(price)').execute().collect().then(() => null, (e: unknown) => e);
    expect((error as ExpressionError).code).toBe('EXPRESSION_TYPE');
    expect((error as Error).message).toContain('argument 1 of "narrow" must be DECIMAL(4, 2), got DECIMAL(10, 2)');
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, ExpressionError, FileSystem, OldCsv, Schema, TableEnvironment, udf } from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();

const people = (tEnv: TableEnvironment) => tEnv.fromElements(
  [[1n, 'ann', 30], [2n, 'bob', null], [3n, null, 25], [4n, 'dan', 41]],
  { id: DataTypes.BIGINT(), name: DataTypes.STRING(), age: DataTypes.INT() },
);
const orders = (tEnv: TableEnvironment) => tEnv.fromElements(
  [[1n, 10n], [1n, 5n], [4n, 7n], [9n, 1n]],
  { pid: DataTypes.BIGINT(), amount: DataTypes.BIGINT() },
);

describe('relational operations run in the engine with Flink semantics', () => {
  let tEnv: TableEnvironment;
  beforeAll(() => { tEnv = TableEnvironment.create({ parallelism: 1 }); });
  afterAll(async () => {
    await tEnv.close();
    expect(pythonWorkers()).toEqual([]);
    expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
  });

  test('inner and outer joins with a predicate', async () => {
    const inner = await people(tEnv).join(orders(tEnv), 'id = pid').select('name, amount').orderBy('amount').execute().collect();
    expect(inner).toEqual([{ name: 'ann', amount: 5n }, { name: 'dan', amount: 7n }, { name: 'ann', amount: 10n }]);
    const left = await people(tEnv).leftOuterJoin(orders(tEnv), 'id = pid').orderBy('id, amount').select('id, amount').execute().collect();
    expect(left).toEqual([
      { id: 1n, amount: 5n }, { id: 1n, amount: 10n }, { id: 2n, amount: null }, { id: 3n, amount: null }, { id: 4n, amount: 7n },
    ]);
    const full = await people(tEnv).fullOuterJoin(orders(tEnv), 'id = pid').where('id IS NULL OR pid IS NULL').select('id, pid').orderBy('id, pid').execute().collect();
    expect(full).toEqual([{ id: null, pid: 9n }, { id: 2n, pid: null }, { id: 3n, pid: null }]);
    const right = await people(tEnv).rightOuterJoin(orders(tEnv), 'id = pid').orderBy('pid.desc').select('pid, name').fetch(1).execute().collect();
    expect(right).toEqual([{ pid: 9n, name: null }]);
  });

  test('orderBy puts NULLs first ascending and last descending; offset, fetch and limit', async () => {
    const asc = await people(tEnv).orderBy('age').select('id').execute().collect();
    expect(asc.map((r) => r.id)).toEqual([2n, 3n, 1n, 4n]);
    const desc = await people(tEnv).orderBy('age DESC').select('id').execute().collect();
    expect(desc.map((r) => r.id)).toEqual([4n, 1n, 3n, 2n]);
    expect((await people(tEnv).orderBy('id.desc').offset(1).fetch(2).execute().collect()).map((r) => r.id)).toEqual([3n, 2n]);
    expect((await people(tEnv).orderBy('id').limit(2, 1).execute().collect()).map((r) => r.id)).toEqual([2n, 3n]);
  });

  test('distinct and set operations', async () => {
    const a = tEnv.fromElements([[1n], [1n], [2n], [3n]], { x: DataTypes.BIGINT() });
    const b = tEnv.fromElements([[1n], [3n], [3n], [4n]], { x: DataTypes.BIGINT() });
    const xs = async (t: ReturnType<typeof a.distinct>) => (await t.orderBy('x').execute().collect()).map((r) => r.x);
    expect(await xs(a.distinct())).toEqual([1n, 2n, 3n]);
    expect(await xs(a.union(b))).toEqual([1n, 2n, 3n, 4n]);
    expect(await xs(a.unionAll(b))).toEqual([1n, 1n, 1n, 2n, 3n, 3n, 3n, 4n]);
    expect(await xs(a.intersect(b))).toEqual([1n, 3n]);
    expect(await xs(a.minus(b))).toEqual([2n]);
    expect(await xs(a.minusAll(b))).toEqual([1n, 2n]);
  });

  test('column operations', async () => {
    const t = people(tEnv).where('id < 3');
    expect(await t.addColumns('UPPER(name) AS up').orderBy('id').execute().collect()).toEqual([
      { id: 1n, name: 'ann', age: 30, up: 'ANN' }, { id: 2n, name: 'bob', age: null, up: 'BOB' },
    ]);
    expect(t.dropColumns('age').renameColumns('name AS who').columns).toEqual(['id', 'who']);
    expect(t.alias('x, y, z').columns).toEqual(['x', 'y', 'z']);
    expect(await t.addOrReplaceColumns('age + 1 AS age').select('age').orderBy('age').execute().collect()).toEqual([{ age: null }, { age: 31 }]);
  });

  test('built-in aggregates per group, with Flink result types', async () => {
    const rows = await orders(tEnv).groupBy('pid').select('pid, COUNT(*) AS n, SUM(amount) AS s, AVG(amount) AS a, MAX(amount) AS m')
      .orderBy('pid').execute().collect();
    expect(rows).toEqual([
      { pid: 1n, n: 2n, s: 15n, a: 7n, m: 10n }, { pid: 4n, n: 1n, s: 7n, a: 7n, m: 7n }, { pid: 9n, n: 1n, s: 1n, a: 1n, m: 1n },
    ]);
    const [all] = await people(tEnv).select('COUNT(*) AS n, COUNT(age) AS c, COUNT(DISTINCT name) AS d, AVG(age) AS a').execute().collect();
    expect(all).toEqual({ n: 4n, c: 3n, d: 3n, a: 32 });
  });

  test('result types as Flink gives them: SUM keeps the integer type and wraps, CHAR_LENGTH is INT, AVG of DECIMAL is DECIMAL(38, 6)', async () => {
    const t = tEnv.fromElements([[120, 2147483647, 'ab', '1.25'], [10, 1, 'abc', '2.00'], [-3, 5, null, '2.00']],
      { b: DataTypes.TINYINT(), i: DataTypes.INT(), s: DataTypes.STRING(), d: DataTypes.DECIMAL(5, 2) });
    const result = t.select('SUM(b) AS sb, SUM(i) AS si, COUNT(s) AS c, AVG(d) AS ad, SUM(d) AS sd, MAX(CHAR_LENGTH(s)) AS ml');
    expect(await result.execute().collect()).toEqual([{ sb: 127, si: -2147483643, c: 2n, ad: '1.750000', sd: '5.25', ml: 3 }]);
    const arrowTable = await result.execute().toArrow();
    expect(arrowTable.schema.fields.map((f) => String(f.type))).toEqual(['Int8', 'Int32', 'Int64', 'Decimal[38e+6]', 'Decimal[38e+2]', 'Int32']);
    const [row] = await t.where('b = 10').select("POSITION('c' IN s) AS p, SIGN(i) AS sg, SIGN(-2.5) AS sd, TRUNCATE(2.567, 1) AS tr, " +
      "TIMESTAMPDIFF(HOUR, TIMESTAMP '2024-01-01 00:00:00', TIMESTAMP '2024-01-02 01:30:00') AS h").execute().collect();
    expect(row).toEqual({ p: 3, sg: 1, sd: '-1.0', tr: '2.5', h: 25 });
  });

  test('integer +, - and * wrap around on overflow in the engine as in Flink (Java), in the wider operand type', async () => {
    const t = tEnv.fromElements([[9223372036854775807n, 2147483647, 127, 'a'], [-9223372036854775808n, -2147483648, -128, 'b']],
      { b: DataTypes.BIGINT(), i: DataTypes.INT(), y: DataTypes.TINYINT(), s: DataTypes.STRING() });
    const rows = await t.select('s, b + 1 AS b1, b * 2 AS b2, i + 1 AS i1, i - 1 AS im, i * i AS ii, y + y AS yy, y + 1 AS y1, b + i AS bi, UPPER(s) AS u')
      .orderBy('s').execute().collect();
    expect(rows).toEqual([
      { s: 'a', b1: -9223372036854775808n, b2: -2n, i1: -2147483648, im: 2147483646, ii: 1, yy: -2, y1: 128, bi: -9223372034707292162n, u: 'A' },
      { s: 'b', b1: -9223372036854775807n, b2: 0n, i1: -2147483647, im: 2147483647, ii: 0, yy: 0, y1: -127, bi: 9223372034707292160n, u: 'B' },
    ]);
    // In WHERE, and around an aggregate.
    expect(await t.where("UPPER(s) = 'A' AND i + 1 < 0").select('s').execute().collect()).toEqual([{ s: 'a' }]);
    expect(await t.select('SUM(i) * 2 + 1 AS x').execute().collect()).toEqual([{ x: -1 }]);
  });

  test('TIMESTAMPADD, TIMESTAMPDIFF, CURRENT_DATE and CURRENT_TIMESTAMP', async () => {
    const before = new Date();
    const [row] = await people(tEnv).where('id = 1').select([
      "TIMESTAMPADD(DAY, 2, TIMESTAMP '2024-02-28 10:00:00') AS d", "TIMESTAMPADD(MONTH, 1, DATE '2024-01-31') AS m",
      "TIMESTAMPADD(HOUR, -3, TIMESTAMP '2024-01-01 01:00:00') AS h",
      "TIMESTAMPDIFF(MONTH, DATE '2024-01-31', DATE '2024-02-29') AS dm", "TIMESTAMPDIFF(SECOND, TIMESTAMP '2024-01-01 00:00:00', TIMESTAMP '2023-12-31 23:59:00') AS ds",
      'CURRENT_DATE AS today', 'CURRENT_TIMESTAMP AS now',
    ].join(', ')).execute().collect();
    expect(row).toMatchObject({ d: '2024-03-01T10:00:00.000000', m: '2024-02-29', h: '2023-12-31T22:00:00.000000', dm: 1, ds: -60 });
    const today = (d: Date) => d.toISOString().slice(0, 10);
    expect([today(before), today(new Date())]).toContain(row!.today);
    expect(String(row!.now)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/);
  });

  test('built-in functions with NULLs and Flink semantics', async () => {
    const [row] = await people(tEnv).where('id = 3').select([
      "CONCAT(name, 'x') AS c", "COALESCE(name, 'none') AS co", 'CAST(2.7 AS INT) AS t', 'CAST(-2.7 AS INT) AS tn', '7 / 2 AS d', '-7 / 2 AS dn',
      "CASE WHEN age > 20 THEN 'old' ELSE 'young' END AS k", "name IS NOT DISTINCT FROM NULL AS nd", 'age BETWEEN 20 AND 30 AS b',
      "CHAR_LENGTH('abc') AS l", "INITCAP('hello world') AS i", "SPLIT_INDEX('a,b,c', ',', 1) AS s", "SPLIT_INDEX('a,b', ',', 5) AS s5",
      "YEAR(DATE '2024-02-29') AS y", "EXTRACT(MONTH FROM DATE '2024-02-29') AS mo", "DATE_FORMAT(TIMESTAMP '2024-02-29 13:45:30', 'yyyy-MM-dd HH:mm') AS f",
      "TIMESTAMPDIFF(DAY, TIMESTAMP '2024-01-01 12:00:00', TIMESTAMP '2024-01-03 11:00:00') AS td", "TO_DATE('2024-03-01') AS td2",
      "MOD(7, 3) AS md", "POWER(2, 10) AS p", "LPAD('ab', 4, '*') AS lp", "REGEXP_EXTRACT('abc123', '([0-9]+)', 1) AS re",
    ].join(', ')).execute().collect();
    expect(row).toEqual({
      c: null, co: 'none', t: 2, tn: -2, d: 3, dn: -3, k: 'old', nd: true, b: true, l: 3, i: 'Hello World', s: 'b', s5: null,
      y: 2024n, mo: 2n, f: '2024-02-29 13:45', td: 1, td2: '2024-03-01', md: 1, p: 1024, lp: '**ab', re: '123',
    });
  });

  test('unknown names are typed errors before anything runs', () => {
    expect(() => people(tEnv).select('UPPER(nope)')).toThrow(expect.objectContaining({ code: 'UNKNOWN_COLUMN', unknownName: 'nope' }));
    expect(() => people(tEnv).select('FROBNICATE(name)')).toThrow(expect.objectContaining({ code: 'UNKNOWN_FUNCTION', unknownName: 'FROBNICATE' }));
    expect(() => people(tEnv).join(orders(tEnv), 'id = missing')).toThrow(ExpressionError);
    expect(() => people(tEnv).orderBy('nope')).toThrow(expect.objectContaining({ code: 'UNKNOWN_COLUMN' }));
    expect(() => people(tEnv).join(people(tEnv), 'id = id')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

test('a Python function between two engine stages, over a CSV file, into a CSV sink', async () => {
  const input = path.join(dir, 'in.csv');
  const output = path.join(dir, 'out.csv');
  fs.writeFileSync(input, '3,4\n1,2\n5,6\n1,2\n');
  const tEnv = TableEnvironment.create({ parallelism: 1 });
  tEnv.registerFunction('add', udf('lambda i, j: i + j', [DataTypes.BIGINT(), DataTypes.BIGINT()], DataTypes.BIGINT()));
  tEnv.connect(new FileSystem().path(input))
    .withFormat(new OldCsv().field('a', DataTypes.BIGINT()).field('b', DataTypes.BIGINT()))
    .withSchema(new Schema().field('a', DataTypes.BIGINT()).field('b', DataTypes.BIGINT()))
    .createTemporaryTable('src');
  tEnv.connect(new FileSystem().path(output))
    .withFormat(new OldCsv().field('s', DataTypes.BIGINT()).field('n', DataTypes.BIGINT()))
    .withSchema(new Schema().field('s', DataTypes.BIGINT()).field('n', DataTypes.BIGINT()))
    .createTemporaryTable('sink');
  try {
    const result = await tEnv.fromPath('src').distinct().select('add(a, b) AS s').groupBy('s').select('s, COUNT(*) AS n').orderBy('s.desc').executeInsert('sink');
    expect(result.sinks).toEqual([{ table: 'sink', rows: 3 }]);
    expect(fs.readFileSync(output, 'utf8')).toBe('11,1\n7,1\n3,1\n');
    expect(result.metrics.add?.rowsIn).toBe(3);
  } finally {
    await tEnv.close();
  }
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
});

test('Python calls mixed with built-in SQL in one expression are split into their own stage (PythonCalc)', async () => {
  const tEnv = TableEnvironment.create({ parallelism: 1 });
  try {
    tEnv.registerFunction('shout', udf('lambda s: None if s is None else s.upper() + "!"', [DataTypes.STRING()], DataTypes.STRING()));
    tEnv.registerFunction('strlen', udf('lambda s: len(s)', [DataTypes.STRING()], DataTypes.BIGINT()));
    const rows = await people(tEnv)
      .where("strlen(COALESCE(name, '')) > 2 AND id < 4")
      .select("id, LOWER(shout(name)) AS l, strlen(CONCAT(name, '-', CAST(id AS STRING))) + 1, shout(UPPER(name))")
      .orderBy('id').execute().collect();
    expect(rows).toEqual([
      { id: 1n, l: 'ann!', _c2: 6n, _c3: 'ANN!' },
      { id: 2n, l: 'bob!', _c2: 6n, _c3: 'BOB!' },
    ]);
  } finally {
    await tEnv.close();
  }
  expect(pythonWorkers()).toEqual([]);
});

test('groupBy().select() mixing Python and built-in aggregates', async () => {
  const tEnv = TableEnvironment.create({ parallelism: 1 });
  try {
    const module = path.join(dir, 'mixaggs.py');
    fs.writeFileSync(module, [
      'from pyudf import AggregateFunction, DataTypes, udaf',
      'class PySum(AggregateFunction):',
      '    def create_accumulator(self):',
      '        return [0]',
      '    def accumulate(self, acc, v):',
      '        if v is not None:',
      '            acc[0] += v',
      '    def get_value(self, acc):',
      '        return acc[0]',
      "py_sum = udaf(PySum(), result_type=DataTypes.BIGINT(), accumulator_type='ARRAY<BIGINT>')",
      '',
    ].join('\n'));
    tEnv.addPythonFile(module);
    tEnv.registerFunction('py_sum', udf('mixaggs.py_sum'));
    const t = tEnv.fromElements([['x', 1n], ['x', 2n], [null, 5n], ['y', null]], { k: DataTypes.STRING(), v: DataTypes.BIGINT() });
    const rows = await t.groupBy('k').select('k, py_sum(v) AS p, COUNT(v) AS c, MAX(v) AS m').orderBy('k').execute().collect();
    expect(rows).toEqual([
      { k: null, p: 5n, c: 1n, m: 5n }, { k: 'x', p: 3n, c: 2n, m: 2n }, { k: 'y', p: 0n, c: 0n, m: null },
    ]);
  } finally {
    await tEnv.close();
  }
});

test('ARRAY, MAP and ROW columns of Python functions go through orderBy, where and join; CARDINALITY, arr[i], map[key] and row.field read them', async () => {
  const tEnv = TableEnvironment.create({ parallelism: 1 });
  try {
    tEnv.registerFunction('digits', udf('lambda n: [int(c) for c in str(n)]', [DataTypes.BIGINT()], DataTypes.ARRAY(DataTypes.BIGINT())));
    tEnv.registerFunction('info', udf('lambda n: {"n": str(n)}', [DataTypes.BIGINT()], DataTypes.MAP(DataTypes.STRING(), DataTypes.STRING())));
    tEnv.registerFunction('pair', udf('lambda n: (n, str(n) * 2)', [DataTypes.BIGINT()],
      DataTypes.ROW([DataTypes.FIELD('a', DataTypes.BIGINT()), DataTypes.FIELD('b', DataTypes.STRING())])));
    tEnv.registerFunction('halves', udf('lambda n: [None]', [DataTypes.BIGINT()], DataTypes.ARRAY(DataTypes.DECIMAL(5, 2))));
    const t = tEnv.fromElements([[31n], [7n], [120n]], { n: DataTypes.BIGINT() });
    const nested = t.select('n, digits(n) AS ds, info(n) AS m, pair(n) AS p');
    expect(await nested.orderBy('n.desc').fetch(2).execute().collect()).toEqual([
      { n: 120n, ds: [1n, 2n, 0n], m: new Map([['n', '120']]), p: { a: 120n, b: '120120' } },
      { n: 31n, ds: [3n, 1n], m: new Map([['n', '31']]), p: { a: 31n, b: '3131' } },
    ]);
    const other = tEnv.fromElements([[7n, 'seven']], { k: DataTypes.BIGINT(), name: DataTypes.STRING() });
    expect(await nested.join(other, 'n = k').select('ds, name').execute().collect()).toEqual([{ ds: [7n], name: 'seven' }]);
    expect(await nested.select("n, CARDINALITY(ds) AS c, ds[1] AS first, m['n'] AS mn, p.b AS pb").where('c > 1').orderBy('n').execute().collect()).toEqual([
      { n: 31n, c: 2, first: 3n, mn: '31', pb: '3131' }, { n: 120n, c: 3, first: 1n, mn: '120', pb: '120120' },
    ]);
    tEnv.createTemporaryView('nested', nested);
    expect(await (await tEnv.executeSql("SELECT n, ds[2] AS d2, m['n'] AS mn, p.a AS pa FROM nested WHERE CARDINALITY(ds) > 1 ORDER BY n")).collect()).toEqual([
      { n: 31n, d2: 1n, mn: '31', pa: 31n }, { n: 120n, d2: 2n, mn: '120', pa: 120n },
    ]);
    // Nested values of exact types (DECIMAL, temporal) do not go into the engine: a typed error names the column.
    await expect(t.select('n, halves(n) AS h').orderBy('n').execute().collect()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/column "h": DECIMAL\(5, 2\) values inside an ARRAY, MAP or ROW cannot go through a relational operation/) });
  } finally {
    await tEnv.close();
  }
  expect(pythonWorkers()).toEqual([]);
});

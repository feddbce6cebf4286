// PyFlink's row-based operations (map, flatMap, aggregate, flatAggregate) with
// PyFlink's own inputs and expected rows (test_row_based_operation.py), run in
// real workers: whole rows passed as Row, ROW results as columns, pandas forms,
// table aggregate functions, and the errors for functions of the wrong kind.
import fs from 'node:fs';
import path from 'node:path';
import {
  DataTypes, ExpressionError, PyUdfError, TableEnvironment, UdfError, udaf, udf, udtaf, udtf,
} from '../../src/index.js';
import { closedAfterAll, isolateTempRoot, recordingLogger, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();
const D = DataTypes;
const MODULE = path.join(dir, 'rowops.py');
fs.writeFileSync(MODULE, `import pandas as pd

from pyudf import AggregateFunction, DataTypes, ListView, Row, TableAggregateFunction, udaf, udf, udtaf, udtf

PAIR = DataTypes.ROW([DataTypes.FIELD("a", DataTypes.BIGINT()), DataTypes.FIELD("b", DataTypes.BIGINT())])


@udf(result_type=PAIR)
def inc_and_square(x):
    return Row(x + 1, x * x)


def concat(x):
    # PyFlink matches a DataFrame's columns to the ROW by position; pyudf by name, or by position when unnamed.
    return pd.concat([x.a, x.c + x.d], axis=1, ignore_index=True)


def double(x):
    return x * 2


CD = DataTypes.ROW([DataTypes.FIELD("c", DataTypes.BIGINT()), DataTypes.FIELD("d", DataTypes.BIGINT())])
pandas_concat = udf(concat, result_type=CD, func_type="pandas")
pandas_double = udf(double, result_type=CD, func_type="pandas")


@udtf(result_types=[DataTypes.INT(), DataTypes.STRING()])
def split(x):
    for s in x[1].split(","):
        yield x[0], s


class CountAndSumAggregateFunction(AggregateFunction):
    def get_value(self, accumulator):
        return Row(accumulator[0], accumulator[1])

    def create_accumulator(self):
        return Row(0, 0)

    def accumulate(self, accumulator, *args):
        accumulator[0] += 1
        accumulator[1] += args[0][1]

    def get_result_type(self):
        return PAIR


count_and_sum = udaf(CountAndSumAggregateFunction())
mean_and_max = udaf(lambda pd: (pd.b.mean(), pd.a.max()), result_type=DataTypes.ROW(
    [DataTypes.FIELD("a", DataTypes.FLOAT()), DataTypes.FIELD("b", DataTypes.INT())]), func_type="pandas")
mean_and_max_b = udaf(lambda pd: Row(pd.b.mean(), pd.b.max()), result_type=DataTypes.ROW(
    [DataTypes.FIELD("a", DataTypes.FLOAT()), DataTypes.FIELD("b", DataTypes.INT())]), func_type="pandas")


class Top2(TableAggregateFunction):
    def emit_value(self, accumulator):
        yield Row(accumulator[0])
        yield Row(accumulator[1])

    def create_accumulator(self):
        return [None, None]

    def accumulate(self, accumulator, *args):
        if args[0][0] is not None:
            if accumulator[0] is None or args[0][0] > accumulator[0]:
                accumulator[1] = accumulator[0]
                accumulator[0] = args[0][0]
            elif accumulator[1] is None or args[0][0] > accumulator[1]:
                accumulator[1] = args[0][0]

    def get_result_type(self):
        return DataTypes.ROW([DataTypes.FIELD("a", DataTypes.BIGINT())])


top2 = udtaf(Top2())


class Emits(TableAggregateFunction):
    def create_accumulator(self):
        return []

    def accumulate(self, accumulator, v):
        accumulator.append(v)

    def emit_value(self, accumulator):
        if len(accumulator) > 2:
            raise ValueError("too many rows: %d" % len(accumulator))
        for v in accumulator:
            yield v, v * 10


emits = udtaf(Emits(), result_type="ROW<v BIGINT, w BIGINT>")


class ListViewConcatTableAggregateFunction(TableAggregateFunction):
    def emit_value(self, accumulator):
        result = accumulator[1].join(accumulator[0])
        yield Row(result)
        yield Row(result)

    def create_accumulator(self):
        return Row(ListView(), '')

    def accumulate(self, accumulator, *args):
        accumulator[1] = args[1]
        accumulator[0].add(args[0])

    def get_accumulator_type(self):
        return DataTypes.ROW([
            DataTypes.FIELD("f0", DataTypes.LIST_VIEW(DataTypes.STRING())),
            DataTypes.FIELD("f1", DataTypes.BIGINT())])

    def get_result_type(self):
        return DataTypes.ROW([DataTypes.FIELD("a", DataTypes.STRING())])


my_concat = udtaf(ListViewConcatTableAggregateFunction())


@udf(result_type=PAIR)
def picky(x):
    if x < 0:
        raise ValueError("negative %d" % x)
    return Row(x, -x)


@udf(result_type=DataTypes.BIGINT())
def plain(x):
    return x
`);

describe('PyFlink row-based operations', () => {
const tEnv = closedAfterAll(TableEnvironment.create({ logger: recordingLogger() }), tempRoot);
tEnv.addPythonFile(MODULE);
for (const name of ['inc_and_square', 'pandas_concat', 'pandas_double', 'split', 'count_and_sum', 'mean_and_max', 'mean_and_max_b', 'top2', 'emits', 'my_concat', 'plain']) {
  tEnv.registerFunction(name, udf(`rowops.${name}`));
}
const PAIR = D.ROW([D.FIELD('a', D.BIGINT()), D.FIELD('b', D.BIGINT())]);
tEnv.registerFunction('picky_skip', udf('rowops.picky', null, PAIR, { onError: 'skip' }));
tEnv.registerFunction('picky_null', udf('rowops.picky', null, PAIR, { onError: 'null' }));
tEnv.registerFunction('declared_pair', udf('rowops.inc_and_square', null, PAIR));
tEnv.registerFunction('declared_split', udtf('rowops.split', null, [D.INT(), D.STRING()]));
tEnv.registerFunction('declared_plain', udf('rowops.plain', null, D.BIGINT()));
tEnv.registerFunction('declared_top2', udtaf('rowops.top2', null, D.ROW([D.FIELD('a', D.BIGINT())])));
tEnv.registerFunction('declared_count_and_sum', udaf('rowops.count_and_sum', null, PAIR));

const ABC = () => tEnv.fromElements([[1, 2, 3], [2, 1, 3], [1, 5, 4], [1, 8, 6], [2, 3, 4]], { a: D.TINYINT(), b: D.SMALLINT(), c: D.INT() });
const sorted = (rows: unknown[][]) => rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))).sort();
const values = (rows: Record<string, unknown>[]) => rows.map((r) => Object.values(r));

test('map: a scalar function returning a ROW gives its fields as the columns (test_map)', async () => {
  const t = ABC().map('declared_pair(b)').alias('a, b').map('inc_and_square(a) AS (a, b)');
  expect(t.columns).toEqual(['a', 'b']);
  const rows = await t.execute().collect();
  expect(values(rows)).toEqual([[4n, 9n], [3n, 4n], [7n, 36n], [10n, 81n], [5n, 16n]]);
});

test('map with a pandas function: the whole row as a DataFrame, nested ROW fields spliced in, a DataFrame back (test_map_with_pandas_udf)', async () => {
  // A ROW column's fields are spliced into the DataFrame (x.c, x.d), as in PyFlink.
  const cd = (c: number, d: number) => ({ c, d });
  const t = tEnv.fromElements([[1, cd(2, 3)], [2, cd(1, 3)], [1, cd(5, 4)], [1, cd(8, 6)], [2, cd(3, 4)]],
    { a: D.TINYINT(), b: D.ROW([D.FIELD('c', D.INT()), D.FIELD('d', D.INT())]) });
  const rows = await t.map('pandas_concat AS (c, d)').map('pandas_double AS (a, b)').execute().collect();
  expect(sorted(values(rows))).toEqual(sorted([[4, 8], [2, 10], [2, 28], [2, 18], [4, 14]]));
});

test('flatMap and joinLateral: a table function given the whole row as a Row, its columns f0, f1 (test_flat_map)', async () => {
  const t = tEnv.fromElements([[1, '2,3'], [2, '1'], [1, '5,6,7']], { a: D.TINYINT(), b: D.STRING() });
  const twice = t.flatMap('declared_split').flatMap('declared_split');
  expect(twice.columns).toEqual(['f0', 'f1']);
  expect(values(await twice.execute().collect())).toEqual([[1, '2'], [1, '3'], [2, '1'], [1, '5'], [1, '6'], [1, '7']]);
  // joinLateral and leftOuterJoinLateral pass the whole row too, as PyFlink's join_lateral(split.alias(...)).
  const joined = twice.joinLateral('declared_split AS (a, b)').leftOuterJoinLateral('declared_split AS (c, d)');
  expect(joined.columns).toEqual(['f0', 'f1', 'a', 'b', 'c', 'd']);
  expect(values(await joined.execute().collect())).toEqual(
    [[1, '2'], [1, '3'], [2, '1'], [1, '5'], [1, '6'], [1, '7']].map(([n, s]) => [n, s, n, s, n, s]));
  const named = await t.flatMap('split AS (x, y)').where('x = 1').execute().collect();
  expect(named).toEqual([{ x: 1, y: '2' }, { x: 1, y: '3' }, { x: 1, y: '5' }, { x: 1, y: '6' }, { x: 1, y: '7' }]);
});

test('groupBy().aggregate(): keys, then the ROW result of an AggregateFunction given the whole row (test_aggregate)', async () => {
  const t = tEnv.fromElements([[1, 2, 3], [2, 1, 3], [1, 5, 4], [1, 8, 6], [2, 3, 4]], { a: D.BIGINT(), b: D.SMALLINT(), c: D.INT() });
  const rows = await t.groupBy('a').aggregate('count_and_sum AS (c, d)').select('a, c, d').execute().collect();
  expect(rows).toEqual([{ a: 1n, c: 3n, d: 15n }, { a: 2n, c: 2n, d: 4n }]);
});

test('aggregate with a pandas udaf, grouped and keyless (test_aggregate_with_pandas_udaf[_without_keys])', async () => {
  const grouped = await ABC().select('a, b').groupBy('a').aggregate('mean_and_max AS (m, x)').select('a, m, x').execute().collect();
  expect(values(grouped)).toEqual([[1, 5, 1], [2, 2, 2]]);
  const keyless = await ABC().select('b').aggregate('mean_and_max_b AS (a, b)').select('a, b').execute().collect();
  expect(keyless).toEqual([{ a: Math.fround(3.8), b: 8 }]);
});

test('flatAggregate: a TableAggregateFunction emits rows per group, and over the whole table (test_flat_aggregate)', async () => {
  const t = tEnv.fromElements([[1, 'Hi', 'Hello'], [3, 'Hi', 'hi'], [5, 'Hi2', 'hi'], [7, 'Hi', 'Hello'], [2, 'Hi', 'Hello']], { a: D.BIGINT(), b: D.STRING(), c: D.STRING() });
  const perGroup = t.select('a, c').groupBy('c').flatAggregate('declared_top2');
  expect(perGroup.columns).toEqual(['c', 'a']);
  expect(values(await perGroup.execute().collect())).toEqual([['Hello', 7n], ['Hello', 2n], ['hi', 5n], ['hi', 3n]]);
  // PyFlink's `.select("*")` after flat_aggregate: every column, in order.
  expect(await perGroup.select('*').execute().collect()).toEqual([{ c: 'Hello', a: 7n }, { c: 'Hello', a: 2n }, { c: 'hi', a: 5n }, { c: 'hi', a: 3n }]);
  const rows = await perGroup.select('a').flatAggregate('top2 AS b').select('b').execute().collect();
  expect(rows).toEqual([{ b: 7n }, { b: 5n }]);
  const withArguments = await t.where('a <> 1').groupBy('c').flatAggregate('emits(a) AS (v, w)').select('c, v, w').where('c = \'hi\'').execute().collect();
  expect(withArguments).toEqual([{ c: 'hi', v: 3n, w: 30n }, { c: 'hi', v: 5n, w: 50n }]);
});

test('flatAggregate with a ListView accumulator and arguments (test_flat_aggregate_list_view)', async () => {
  const t = tEnv.fromElements([
    [1, 'Hi', 'Hello'], [3, 'Hi', 'hi'], [3, 'Hi2', 'hi'], [3, 'Hi', 'hi'], [2, 'Hi', 'Hello'],
    [1, 'Hi2', 'Hello'], [3, 'Hi3', 'hi'], [3, 'Hi2', 'Hello'], [3, 'Hi3', 'hi'], [2, 'Hi3', 'Hello'],
  ], ['a', 'b', 'c']);
  const rows = await t.groupBy('c').flatAggregate("my_concat(b, ',') AS b").select('b, c').alias('a, c').execute().collect();
  expect(values(rows)).toEqual([
    ['Hi,Hi,Hi2,Hi2,Hi3', 'Hello'], ['Hi,Hi,Hi2,Hi2,Hi3', 'Hello'], ['Hi,Hi2,Hi,Hi3,Hi3', 'hi'], ['Hi,Hi2,Hi,Hi3,Hi3', 'hi'],
  ]);
});

test('a function of the wrong kind or result is refused, naming it: when declared before any worker starts, else when the workers report it', async () => {
  const t = ABC();
  const refused = (run: () => unknown, code: string, text: RegExp) => {
    let error: unknown;
    try { run(); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(PyUdfError);
    expect((error as PyUdfError).code).toBe(code);
    expect((error as Error).message).toMatch(text);
  };
  refused(() => t.map('declared_split'), 'EXPRESSION_TYPE', /"declared_split" is declared as a table function \(udtf\); map takes a scalar function/);
  refused(() => t.map('declared_plain(a)'), 'EXPRESSION_TYPE', /"declared_plain" returns BIGINT; map takes a scalar function \(udf\) returning a ROW/);
  refused(() => t.flatMap('declared_pair'), 'EXPRESSION_TYPE', /flatMap takes a table function \(udtf\)/);
  refused(() => t.groupBy('a').flatAggregate('declared_count_and_sum'), 'EXPRESSION_TYPE', /declared as an aggregate function \(udaf\); flatAggregate takes a table aggregate function/);
  refused(() => t.map('plain(a)'), 'INVALID_ARGUMENT', /map\("plain\(a\)"\): name the result columns of "plain"/);
  refused(() => t.map('nope'), 'EXPRESSION_SYNTAX', /expected a table function call/);
  refused(() => t.map('nope(a) AS (x, y)'), 'UNKNOWN_FUNCTION', /unknown function "nope"/);
  refused(() => t.groupBy('a').aggregate('declared_count_and_sum'), 'INVALID_ARGUMENT', /column "a" would appear twice/);

  // Declared in Python only: the workers' signatures decide.
  const atRun = async (table: { execute(): { collect(): Promise<unknown> } }, text: RegExp) => {
    const error = await table.execute().collect().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ExpressionError);
    expect((error as ExpressionError).code).toBe('EXPRESSION_TYPE');
    expect((error as Error).message).toMatch(text);
  };
  await atRun(t.map('plain(a) AS (x)'), /map: function "plain" returns BIGINT, not a ROW/);
  await atRun(t.map('inc_and_square(a) AS (x)'), /returns 2 column\(s\).*names 1 \(x\)/);
  await atRun(t.groupBy('a').flatAggregate('count_and_sum AS (x, y)'), /"count_and_sum" is an aggregate function \(udaf\); flatAggregate takes a table aggregate function/);
  await atRun(t.flatMap('inc_and_square AS (x, y)'), /"inc_and_square" is a scalar function; flatMap takes a table function/);
  await atRun(t.select('top2(a) AS x'), /"top2" is a table aggregate function.*flatAggregate/);
});

test('failures inside the functions keep their error policies: a skipped row, a row of NULLs, an emit_value that raises fails the job naming it', async () => {
  const rows = await tEnv.fromElements([[1n], [-2n], [3n]], { x: D.BIGINT() }).map('picky_skip(x)').execute().collect();
  expect(rows).toEqual([{ a: 1n, b: -1n }, { a: 3n, b: -3n }]);
  const nulled = await tEnv.fromElements([[1n], [-2n]], { x: D.BIGINT() }).map('picky_null(x) AS (p, q)').execute().collect();
  expect(nulled).toEqual([{ p: 1n, q: -1n }, { p: null, q: null }]);
  const error = await tEnv.fromElements([[1n], [2n], [3n]], { x: D.BIGINT() }).flatAggregate('emits(x) AS (v, w)').execute().collect()
    .then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(UdfError);
  expect((error as Error).message).toMatch(/Python function "emits" raised ValueError in get_value: too many rows: 3/);
});
});

// PyFlink's Python function surface run through real workers, with PyFlink's
// inputs and expected rows: ListView and MapView accumulators, an
// AggregateFunction in pandas form (test_pandas_udaf's MaxAdd), udf_type=,
// and a pandas aggregate with a MAP result refused as PyFlink refuses it.
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, TableEnvironment, UdfError, udaf, udf } from '../../src/index.js';
import { isolateTempRoot, tempDir } from '../support.js';

isolateTempRoot();
const dir = tempDir();
const MODULE = path.join(dir, 'pyflink_functions.py');
fs.writeFileSync(MODULE, `
from pyudf import AggregateFunction, DataTypes, ListView, MapView, Row, udaf, udf


class ListViewConcatAggregateFunction(AggregateFunction):
    def get_value(self, accumulator):
        return accumulator[1].join(accumulator[0])

    def create_accumulator(self):
        return Row(ListView(), '')

    def accumulate(self, accumulator, *args):
        accumulator[1] = args[1]
        accumulator[0].add(args[0])

    def retract(self, accumulator, *args):
        raise NotImplementedError

    def get_accumulator_type(self):
        return DataTypes.ROW([
            DataTypes.FIELD("f0", DataTypes.LIST_VIEW(DataTypes.STRING())),
            DataTypes.FIELD("f1", DataTypes.BIGINT())])

    def get_result_type(self):
        return DataTypes.STRING()


my_concat = udaf(ListViewConcatAggregateFunction())


class CountDistinct(AggregateFunction):
    def create_accumulator(self):
        return [MapView(), 0]

    def accumulate(self, accumulator, value):
        if value is not None and not accumulator[0].contains(value):
            accumulator[0].put(value, 1)
            accumulator[1] += 1
        elif value is not None:
            accumulator[0][value] = accumulator[0].get(value) + 1

    def merge(self, accumulator, accumulators):
        for other in accumulators:
            for key, count in other[0].items():
                if key in accumulator[0]:
                    accumulator[0].put(key, accumulator[0].get(key) + count)
                else:
                    accumulator[0].put(key, count)
                    accumulator[1] += 1

    def get_value(self, accumulator):
        return accumulator[1]


count_distinct = udaf(CountDistinct(), result_type=DataTypes.BIGINT(),
                      accumulator_type=DataTypes.ROW([
                          DataTypes.FIELD("f0", DataTypes.MAP_VIEW(DataTypes.STRING(), DataTypes.BIGINT())),
                          DataTypes.FIELD("f1", DataTypes.BIGINT())]))


class MaxAdd(AggregateFunction):
    def open(self, function_context):
        self.counter = function_context.get_metric_group().add_group("key", "value").counter("my_counter")

    def get_value(self, accumulator):
        self.counter.inc(10)
        return accumulator[0]

    def create_accumulator(self):
        return []

    def accumulate(self, accumulator, *args):
        result = 0
        for arg in args:
            result += arg.max()
        accumulator.append(result)


max_add = udaf(MaxAdd(), result_type=DataTypes.INT(), func_type="pandas")


@udaf(result_type=DataTypes.FLOAT(), func_type="pandas")
def mean_udaf(v):
    return v.mean()


subtract = udf(lambda a: a - 1, result_type=DataTypes.INT(), udf_type="pandas")


class MapOfValues(AggregateFunction):
    def create_accumulator(self):
        return []

    def accumulate(self, accumulator, *args):
        accumulator.append(args)

    def get_value(self, accumulator):
        return {}


map_of_values = udaf(MapOfValues(), func_type="pandas")
`);

const ROW_TYPE = DataTypes.ROW([
  DataTypes.FIELD('a', DataTypes.TINYINT()), DataTypes.FIELD('b', DataTypes.SMALLINT()), DataTypes.FIELD('c', DataTypes.INT()),
]);
const PANDAS_ROWS = [[1, 2, 3], [3, 2, 3], [2, 1, 3], [1, 5, 4], [1, 8, 6], [2, 3, 4]];
const CONCAT_ROWS = [
  [1, 'Hi', 'Hello'], [3, 'Hi', 'hi'], [3, 'Hi2', 'hi'], [3, 'Hi', 'hi'], [2, 'Hi', 'Hello'],
  [1, 'Hi2', 'Hello'], [3, 'Hi3', 'hi'], [3, 'Hi2', 'Hello'], [3, 'Hi3', 'hi'], [2, 'Hi3', 'Hello'],
];

describe('PyFlink Python functions', () => {
  const tEnv = TableEnvironment.create();
  tEnv.addPythonFile(MODULE);
  afterAll(() => tEnv.close());

  test("ListView in an accumulator: PyFlink's test_list_view rows", async () => {
    tEnv.createTemporarySystemFunction('my_concat', udaf('pyflink_functions.my_concat'));
    const rows = await tEnv.fromElements(CONCAT_ROWS, ['a', 'b', 'c'])
      .groupBy('c').select("my_concat(b, ',') AS a, c").execute().collect();
    expect(rows.sort((x, y) => String(x.c).localeCompare(String(y.c))))
      .toEqual([{ a: 'Hi,Hi,Hi2,Hi2,Hi3', c: 'Hello' }, { a: 'Hi,Hi2,Hi,Hi3,Hi3', c: 'hi' }]);
  });

  test('MapView in an accumulator, merged across two workers', async () => {
    const parallel = TableEnvironment.create({ parallelism: 2, bundleSize: 2 });
    try {
      parallel.addPythonFile(MODULE);
      parallel.createTemporarySystemFunction('count_distinct', udaf('pyflink_functions.count_distinct', [DataTypes.STRING()]));
      const rows = await parallel.fromElements(CONCAT_ROWS, ['a', 'b', 'c'])
        .groupBy('c').select('c, count_distinct(b) AS n').execute().collect();
      expect(rows.sort((x, y) => String(x.c).localeCompare(String(y.c))))
        .toEqual([{ c: 'Hello', n: 3n }, { c: 'hi', n: 3n }]);
    } finally {
      await parallel.close();
    }
  });

  test("an AggregateFunction in pandas form: PyFlink's test_pandas_udaf MaxAdd and mean_udaf", async () => {
    tEnv.createTemporarySystemFunction('max_add', udaf('pyflink_functions.max_add'));
    tEnv.createTemporarySystemFunction('mean_udaf', udaf('pyflink_functions.mean_udaf'));
    const t = tEnv.fromElements(PANDAS_ROWS, ROW_TYPE);
    const rows = await t.groupBy('a').select('a, mean_udaf(b) AS m, max_add(b, c) AS x').execute().collect();
    expect(rows.sort((x, y) => Number(x.a) - Number(y.a))).toEqual([
      { a: 1, m: 5, x: 14 }, { a: 2, m: 2, x: 7 }, { a: 3, m: 2, x: 5 },
    ]);
  });

  test("udf_type= as PyFlink 1.11's func_type=: PyFlink's test_group_aggregate_function", async () => {
    tEnv.createTemporarySystemFunction('subtract', udf('pyflink_functions.subtract'));
    tEnv.createTemporarySystemFunction('add', udf('lambda a: a + 1', [DataTypes.SMALLINT()], DataTypes.INT()));
    const rows = await tEnv.fromElements(PANDAS_ROWS, ROW_TYPE)
      .groupBy('a').select('a, mean_udaf(add(b)) AS m, max_add(subtract(c)) AS x').execute().collect();
    // PyFlink's expected "1,6.0,5", "2,3.0,3", "3,3.0,2" (max_add of one column is its max).
    expect(rows.sort((x, y) => Number(x.a) - Number(y.a))).toEqual([
      { a: 1, m: 6, x: 5 }, { a: 2, m: 3, x: 3 }, { a: 3, m: 3, x: 2 },
    ]);
  });

  test('a pandas aggregate declared with a MAP result is refused as PyFlink refuses it, declared in TypeScript too', async () => {
    tEnv.createTemporarySystemFunction('map_of_values', udaf('pyflink_functions.map_of_values', null,
      DataTypes.MAP(DataTypes.STRING(), DataTypes.BIGINT())));
    const job = tEnv.fromElements(PANDAS_ROWS, ROW_TYPE).select('map_of_values(b) AS m').execute().collect();
    await expect(job).rejects.toBeInstanceOf(UdfError);
    await expect(job).rejects.toThrow(/Pandas UDAF doesn't support DataType type MAP/);
  });
});

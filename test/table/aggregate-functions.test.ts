// Aggregate functions (AggregateFunction, pandas udaf) in groupBy(...).select(...)
// and in a select over a whole table, run in real workers: values with NULLs,
// NULL keys, empty inputs, order, merge across workers, errors and crashes.
import fs from 'node:fs';
import path from 'node:path';
import {
  DataTypes, ExpressionError, PyUdfError, TableEnvironment, UdfError, udaf, udf, type Row, type SqlValue, type TableEnvironmentOptions,
} from '../../src/index.js';
import { closedAfterAll, expectNothingLeft, isolateTempRoot, recordingLogger, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();
const STRING = DataTypes.STRING();
const BIGINT = DataTypes.BIGINT();
const DOUBLE = DataTypes.DOUBLE();

const MODULE = path.join(dir, 'aggs.py');
const SOURCE = `import os
import time

from pyudf import AggregateFunction, DataTypes, udaf


class MyAvg(AggregateFunction):
    def create_accumulator(self):
        return [0.0, 0]

    def accumulate(self, acc, v):
        if v is not None:
            acc[0] += v
            acc[1] += 1

    def get_value(self, acc):
        return acc[0] / acc[1] if acc[1] else None

    def retract(self, acc, v):
        raise AssertionError('retract is never called on an append-only table')

    def get_result_type(self):
        return DataTypes.DOUBLE()

    def get_accumulator_type(self):
        return 'ARRAY<DOUBLE>'


my_avg = udaf(MyAvg())


class MySum(AggregateFunction):
    def create_accumulator(self):
        return [0]

    def accumulate(self, acc, v):
        if v is not None:
            acc[0] += v

    def get_value(self, acc):
        return acc[0]


my_sum = udaf(MySum(), result_type=DataTypes.BIGINT(), accumulator_type='ARRAY<BIGINT>')


class MyCount(AggregateFunction):
    def create_accumulator(self):
        return [0]

    def accumulate(self, acc):
        acc[0] += 1

    def get_value(self, acc):
        return acc[0]


my_count = udaf(MyCount(), result_type=DataTypes.BIGINT())


class Pids(AggregateFunction):
    """How many worker processes the group's rows were accumulated in."""

    def create_accumulator(self):
        return set()

    def accumulate(self, acc, v):
        acc.add(os.getpid())

    def get_value(self, acc):
        return len(acc)


pids_no_merge = udaf(Pids(), result_type=DataTypes.BIGINT())


class MergingPids(Pids):
    def merge(self, acc, accs):
        print('merge', len(accs))
        for other in accs:
            acc.update(other)


pids = udaf(MergingPids(), result_type=DataTypes.BIGINT())


class BadMerge(Pids):
    def merge(self, acc, accs):
        raise KeyError('cannot merge')


bad_merge = udaf(BadMerge(), result_type=DataTypes.BIGINT())


class WorkerPid(AggregateFunction):
    def create_accumulator(self):
        return []

    def accumulate(self, acc, v):
        pass

    def get_value(self, acc):
        return os.getpid()


worker_pid = udaf(WorkerPid(), result_type=DataTypes.BIGINT())


class Picky(AggregateFunction):
    def create_accumulator(self):
        return []

    def accumulate(self, acc, v):
        if v < 0:
            raise ValueError('negative value %d' % v)
        acc.append(v)

    def get_value(self, acc):
        if len(acc) > 3:
            raise OverflowError('too many values: %d' % len(acc))
        return sum(acc)


picky = udaf(Picky(), [DataTypes.BIGINT()], DataTypes.BIGINT())
stringly = udaf(Picky(), [DataTypes.BIGINT()], DataTypes.STRING())


class Dies(AggregateFunction):
    def create_accumulator(self):
        return []

    def accumulate(self, acc, v):
        if v == 777:
            os._exit(3)

    def get_value(self, acc):
        return 0


dies = udaf(Dies(), result_type=DataTypes.BIGINT())


class Slow(AggregateFunction):
    def create_accumulator(self):
        return []

    def accumulate(self, acc, v):
        print('sleeping')
        time.sleep(0.05)

    def get_value(self, acc):
        return 0


slow = udaf(Slow(), result_type=DataTypes.BIGINT())


@udaf(result_type=DataTypes.DOUBLE(), func_type='pandas')
def pandas_mean(v):
    return v.mean()


@udaf(result_type=DataTypes.BIGINT(), func_type='pandas')
def pandas_size(v):
    return len(v)


@udaf(result_type=DataTypes.BIGINT(), func_type='pandas')
def pandas_exact_sum(v):
    # Int64 (nullable) keeps every digit; a float64 Series would have rounded 2**53 + 1.
    return int(v.sum()) if str(v.dtype) == 'Int64' else -1
`;
fs.writeFileSync(MODULE, SOURCE);
const lineOf = (text: string) => SOURCE.split('\n').findIndex((l) => l.includes(text)) + 1;

const FUNCTIONS = ['my_avg', 'my_sum', 'my_count', 'pids', 'bad_merge', 'pids_no_merge', 'worker_pid', 'picky', 'stringly', 'dies', 'slow', 'pandas_mean', 'pandas_size', 'pandas_exact_sum'];

function environment(options: TableEnvironmentOptions = {}): TableEnvironment {
  const tEnv = TableEnvironment.create({ bundleSize: 3, logger: recordingLogger(), ...options });
  tEnv.addPythonFile(MODULE);
  for (const name of FUNCTIONS) tEnv.registerFunction(name, udf(`aggs.${name}`));
  return tEnv;
}

async function withEnvironment<T>(run: (tEnv: TableEnvironment) => Promise<T>, options?: TableEnvironmentOptions): Promise<T> {
  const tEnv = environment(options);
  try {
    return await run(tEnv);
  } finally {
    await tEnv.close();
  }
}

// Keys in no sorted order, a NULL key twice, NULL values, a group whose values are all NULL.
const SALES: [string | null, bigint | null, number | null][] = [
  ['pear', 3n, 1.5], ['apple', 1n, 2.0], [null, 5n, 4.0], ['pear', null, null], ['fig', 2n, null],
  ['apple', 4n, 3.0], [null, 7n, 8.0], ['pear', 6n, 4.5], ['fig', null, null],
];
const SALES_SCHEMA = { k: STRING, n: BIGINT, v: DOUBLE };

/** Groups in order of first appearance, computed here from SALES. */
function expectedGroups(): { k: string | null; n: bigint[]; v: number[]; rows: number }[] {
  const groups = new Map<string | null, { k: string | null; n: bigint[]; v: number[]; rows: number }>();
  for (const [k, n, v] of SALES) {
    const group = groups.get(k) ?? { k, n: [], v: [], rows: 0 };
    groups.set(k, group);
    group.rows++;
    if (n !== null) group.n.push(n);
    if (v !== null) group.v.push(v);
  }
  return [...groups.values()];
}
const avg = (xs: number[]) => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);
const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);

// Tests that leave their environment as they found it share one, as a job's
// later queries share their TableEnvironment; it is closed after them, leaving nothing.
describe('on one shared environment', () => {
  const shared = closedAfterAll(environment(), tempRoot);
  const onShared = <T>(run: (tEnv: TableEnvironment) => Promise<T>): Promise<T> => run(shared);

  test('groupBy: one row per key in order of first appearance, NULL keys together, NULL values as the function treats them', async () => {
    const rows = await onShared((tEnv) => tEnv.fromElements(SALES, SALES_SCHEMA)
      .groupBy('k').select('k, my_avg(v) AS mean, my_sum(n) AS total, my_count() AS c').execute().collect());
    expect(rows).toEqual(expectedGroups().map((g) => ({ k: g.k, mean: avg(g.v), total: sum(g.n), c: BigInt(g.rows) })));
    expect(rows.map((r) => r.k)).toEqual(['pear', 'apple', null, 'fig']);
    expect(rows.find((r) => r.k === 'fig')!.mean).toBeNull(); // all its values are NULL
  });

  test('several keys, an aggregate over an expression, expressions over keys and aggregates', async () => {
    const rows = await onShared(async (tEnv) => {
      tEnv.registerFunction('label', udf('lambda k, x: "%s:%s" % (k, x)', [STRING, BIGINT], STRING));
      return tEnv.fromElements(SALES, SALES_SCHEMA).where('n IS NOT NULL')
        .groupBy('k, n').select('n, k, my_sum(n * 10 + 1) AS s, my_sum(n * 10 + 1) * 2 AS twice, label(k, my_sum(n)) AS l')
        .execute().collect();
    });
    const expected = SALES.filter(([, n]) => n !== null).map(([k, n]) => {
      const s = n! * 10n + 1n;
      return { n, k, s, twice: s * 2n, l: `${k ?? 'None'}:${n}` }; // Python prints NULL as None
    });
    expect(rows).toEqual(expected);
  });

  test('a select with aggregates and no groupBy is one row; over no rows, the value of an empty accumulator; grouped, no rows', async () => {
    await onShared(async (tEnv) => {
      const sales = tEnv.fromElements(SALES, SALES_SCHEMA);
      const all = SALES.map(([, n, v]) => ({ n, v }));
      expect(await sales.select('my_avg(v) AS mean, my_sum(n) AS total, my_count() AS c, pandas_size(v) AS ps').execute().collect()).toEqual([{
        mean: avg(all.flatMap((r) => (r.v === null ? [] : [r.v]))),
        total: sum(all.flatMap((r) => (r.n === null ? [] : [r.n]))),
        c: BigInt(SALES.length),
        ps: BigInt(SALES.length),
      }]);
      const none = sales.where('n > 1000');
      expect(await none.select('my_avg(v) AS mean, my_count() AS c, pandas_mean(v) AS pm, pandas_size(v) AS ps').execute().collect())
        .toEqual([{ mean: null, c: 0n, pm: null, ps: 0n }]);
      expect(await none.groupBy('k').select('k, my_count() AS c').execute().collect()).toEqual([]);
      expect(await none.groupBy('k').select('k, my_count() AS c').execute().count()).toBe(0);
    });
  });

  test('keys of every type group by value: bytes by content, 0 and -0 together, NULLs together', async () => {
    const bytes = (...b: number[]) => Uint8Array.from(b);
    const data = [
      [bytes(1, 2), 0.0, true, 1n], [bytes(1, 2), -0.0, true, 2n], [null, null, null, 3n], [bytes(3), 1.5, false, 4n],
      [null, null, null, 5n], [bytes(1, 2), 0.0, true, 6n],
    ];
    const rows = await onShared((tEnv) => tEnv.fromElements(data, { b: DataTypes.BYTES(), d: DOUBLE, t: DataTypes.BOOLEAN(), n: BIGINT })
      .groupBy('b, d, t').select('b, d, t, my_sum(n) AS s').execute().collect());
    expect(rows).toEqual([
      { b: bytes(1, 2), d: 0, t: true, s: 9n }, { b: null, d: null, t: null, s: 8n }, { b: bytes(3), d: 1.5, t: false, s: 4n },
    ]);
  });

  test('groupBy with no aggregate gives the distinct keys, in order', async () => {
    const rows = await onShared((tEnv) => tEnv.fromElements(SALES, SALES_SCHEMA).groupBy('k').select('k').execute().collect());
    expect(rows).toEqual(expectedGroups().map((g) => ({ k: g.k })));
  });

  test('a pandas aggregate gets BIGINTs with NULLs exactly, as nullable Int64', async () => {
    const big = 2n ** 53n + 1n;
    const rows = await onShared((tEnv) => tEnv.fromElements([['a', big, 1], ['a', null, 2], ['a', 2n, 3], ['b', big, 4]], SALES_SCHEMA)
      .groupBy('k').select('k, pandas_exact_sum(n) AS s').execute().collect());
    expect(rows).toEqual([{ k: 'a', s: big + 2n }, { k: 'b', s: big }]);
  });

  test('a pandas aggregate gets each group whole and agrees with the row-by-row one', async () => {
    const rows = await onShared((tEnv) => tEnv.fromElements(SALES, SALES_SCHEMA)
      .groupBy('k').select('k, pandas_mean(v) AS pm, my_avg(v) AS m, pandas_size(v) AS size').execute().collect());
    expect(rows).toEqual(expectedGroups().map((g) => ({ k: g.k, pm: avg(g.v), m: avg(g.v), size: BigInt(g.rows) })));
  });

  test('an accumulate that raises fails the job naming the function, the phase, the row and its group', async () => {
    const error = await onShared((tEnv) => tEnv.fromElements([['a', 1n], ['b', 2n], ['b', -4n]], { k: STRING, n: BIGINT })
      .groupBy('k').select('k, picky(n) AS p').execute().collect()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UdfError);
    const e = error as UdfError;
    expect([e.code, e.functionName, e.phase, e.pythonType, e.pythonMessage]).toEqual(['UDF_FAILED', 'picky', 'accumulate', 'ValueError', 'negative value -4']);
    expect(e.row).toEqual([-4n]);
    expect(e.message).toContain('row: picky(-4n) in group k = "b"');
    expect(e.sourceLocation).toBe(`${MODULE}:${lineOf("raise ValueError('negative value")}`);
  });

  test('a get_value that raises names the group; a value of the wrong type is UDF_RESULT_TYPE', async () => {
    await onShared(async (tEnv) => {
      const numbers = tEnv.fromElements([['a', 1n], ['b', 1n], ['b', 2n], ['b', 3n], ['b', 4n]], { k: STRING, n: BIGINT });
      const raised = await numbers.groupBy('k').select('k, picky(n) AS p').execute().collect().catch((e: unknown) => e) as UdfError;
      expect([raised.code, raised.functionName, raised.phase, raised.pythonType]).toEqual(['UDF_FAILED', 'picky', 'get_value', 'OverflowError']);
      expect(raised.message).toContain('too many values: 4');
      expect(raised.message).toContain('group k = "b"');
      const typed = await numbers.where("k = 'a' OR n = 4").select('stringly(n + 5) AS p').execute().collect().catch((e: unknown) => e) as UdfError;
      expect([typed.code, typed.functionName, typed.phase]).toEqual(['UDF_RESULT_TYPE', 'stringly', 'result']);
      expect(typed.message).toContain('get_value returned 15 (int), which is not a STRING');
      expect(typed.message).toContain('; over all rows');
    });
  });

  test('misplaced aggregates and columns are ExpressionErrors before data flows', async () => {
    await onShared(async (tEnv) => {
      const sales = tEnv.fromElements(SALES, SALES_SCHEMA);
      for (const [table, message] of [
        [sales.groupBy('k').select('k, v'), 'column "v" is neither a group key (k) nor inside an aggregate function'],
        [sales.select('k, my_avg(v) AS m'), 'column "k" must be inside an aggregate function'],
        [sales.where('my_avg(v) > 1'), '"my_avg" is an aggregate function, which cannot be used here'],
        [sales.select('my_sum(my_count()) AS x'), 'not inside another aggregate\'s arguments'],
        [sales.joinLateral('my_avg(v) AS m'), '"my_avg" is an aggregate function; joinLateral takes a table function'],
        [sales.groupBy('k').select('k, picky(k) AS m'), 'argument 1 of "picky" must be BIGINT, got STRING'],
      ] as const) {
        const error = await table.execute().collect().catch((e: unknown) => e);
        expect((error as Error).message).toContain(message);
        expect(error).toBeInstanceOf(ExpressionError);
      }
      expect(() => sales.groupBy('k + 1')).toThrow(expect.objectContaining({ code: 'EXPRESSION_SYNTAX' }));
      expect(() => sales.groupBy('nope')).toThrow(expect.objectContaining({ code: 'UNKNOWN_COLUMN' }));
      expect(() => sales.groupBy('k').select('k, nope(v)')).toThrow(expect.objectContaining({ code: 'UNKNOWN_FUNCTION' }));
    });
  });
});

describe('on an environment of its own', () => {
  afterEach(() => expectNothingLeft(tempRoot));

  test('parallelism 2: groups spread over both workers by key, same rows and order as parallelism 1', async () => {
    const N = 6000;
    const data = Array.from({ length: N }, (_, i) => [`k${(i * 7919) % 97}`, BigInt(i), i % 5 === 0 ? null : i / 4]);
    const run = (parallelism: number) => withEnvironment((tEnv) => tEnv.fromElements(data, SALES_SCHEMA)
      .groupBy('k').select('k, my_sum(n) AS s, my_avg(v) AS m, pandas_mean(v) AS pm, pids_no_merge(n) AS p, worker_pid(n) AS w')
      .execute().collect(), { parallelism, bundleSize: 500 });
    const [one, two] = await Promise.all([run(1), run(2)]);
    const groups = new Map<SqlValue, { s: bigint; v: number[] }>();
    for (const [k, n, v] of data) {
      const g = groups.get(k as string) ?? { s: 0n, v: [] };
      groups.set(k as string, g);
      g.s += n as bigint;
      if (v !== null) g.v.push(v as number);
    }
    const strip = (rows: Row[]) => rows.map(({ k, s, m, pm }) => ({ k, s, m, pm }));
    const expected = [...groups].map(([k, g]) => ({ k, s: g.s, m: avg(g.v), pm: avg(g.v) }));
    expect(strip(one)).toEqual(expected);
    expect(strip(two).map((r) => ({ ...r, m: Number((r.m as number).toFixed(9)), pm: Number((r.pm as number).toFixed(9)) })))
      .toEqual(expected.map((r) => ({ ...r, m: Number(r.m!.toFixed(9)), pm: Number(r.pm!.toFixed(9)) })));
    // Each group's rows were all accumulated in one process; the groups are on two.
    expect(two.every((r) => r.p === 1n)).toBe(true);
    expect(new Set(two.map((r) => r.w)).size).toBe(2);
    expect(new Set(one.map((r) => r.w)).size).toBe(1);
  });

  test('parallelism 2 without groupBy: merge() combines both workers\' accumulators; without merge() one worker takes all', async () => {
    const logger = recordingLogger();
    const data = Array.from({ length: 40 }, (_, i) => [BigInt(i)]);
    const rows = await withEnvironment(async (tEnv) => [
      ...await tEnv.fromElements(data, { n: BIGINT }).select('pids(n) AS merged').execute().collect(),
      ...await tEnv.fromElements(data, { n: BIGINT }).select('pids_no_merge(n) AS single, my_avg(n) AS mean').execute().collect(),
    ], { parallelism: 2, bundleSize: 4, logger });
    expect(rows).toEqual([{ merged: 2n }, { single: 1n, mean: 19.5 }]);
    expect(logger.entries.filter((e) => e.functionName === 'pids' && e.message === 'merge 1')).toHaveLength(1);
  });

  test('a merge that raises fails the job naming the function and the phase', async () => {
    const error = await withEnvironment((tEnv) => tEnv.fromElements(Array.from({ length: 20 }, (_, i) => [BigInt(i)]), { n: BIGINT })
      .select('bad_merge(n) AS p').execute().collect(), { parallelism: 2, bundleSize: 4 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UdfError);
    const e = error as UdfError;
    expect([e.code, e.functionName, e.phase, e.pythonType]).toEqual(['UDF_FAILED', 'bad_merge', 'merge', 'KeyError']);
    expect(e.message).toContain("raised KeyError in merge: 'cannot merge'");
  });

  test('an error policy leaves the rows accumulate raised on out of their group, and counts them', async () => {
    const deadLetterPath = path.join(dir, 'aggregate-letters.jsonl');
    await withEnvironment(async (tEnv) => {
      tEnv.registerFunction('lenient', udf('aggs.picky', null, null, { onError: 'deadLetter' }));
      const result = tEnv.fromElements([['a', 1n], ['a', -1n], ['b', 2n], ['a', 2n]], { k: STRING, n: BIGINT })
        .groupBy('k').select('k, lenient(n) AS p').execute();
      expect(await result.collect()).toEqual([{ k: 'a', p: 3n }, { k: 'b', p: 2n }]);
      expect(result.udfErrors).toEqual({ lenient: { policy: 'deadLetter', rows: 1 } });
    }, { deadLetterPath });
    const letters = fs.readFileSync(deadLetterPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(letters).toEqual([expect.objectContaining({ function: 'lenient', arguments: ['-1'], exceptionType: 'ValueError' })]);
  });

  test('a worker that dies holding accumulators fails the job: its rows cannot be replayed', async () => {
    const data = Array.from({ length: 1000 }, (_, i) => [`k${i % 10}`, BigInt(i)]);
    const error = await withEnvironment((tEnv) => tEnv.fromElements(data, { k: STRING, n: BIGINT })
      .groupBy('k').select('k, dies(n) AS d').execute().collect(), { bundleSize: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UdfError);
    const e = error as UdfError;
    expect([e.code, e.functionName, e.phase]).toEqual(['UDF_CRASHED', 'dies', 'accumulate']);
    expect(e.message).toContain('while it held the accumulators of aggregate function "dies": the rows accumulated there cannot be replayed, so the job fails');
  });

  test('a scalar function crashing a worker that holds accumulators fails the job too, instead of losing them', async () => {
    const data = Array.from({ length: 600 }, (_, i) => [BigInt(i)]);
    const error = await withEnvironment(async (tEnv) => {
      tEnv.registerFunction('crash_at', udf('lambda n: __import__("os")._exit(4) if n == 450 else n', [BIGINT], BIGINT));
      return tEnv.fromElements(data, { n: BIGINT }).select('my_sum(crash_at(n)) AS s').execute().collect();
    }, { bundleSize: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UdfError);
    expect([(error as UdfError).code, (error as UdfError).functionName]).toEqual(['UDF_CRASHED', 'crash_at']);
    expect((error as Error).message).toContain('held the accumulators of aggregate function "my_sum"');
  });

  test('cancelling an aggregating job stops it at once; the next job starts afresh', async () => {
    let sleeping!: () => void;
    const started = new Promise<void>((resolve) => { sleeping = resolve; });
    const logger = { log: (entry: { message: string }) => { if (entry.message === 'sleeping') sleeping(); } };
    await withEnvironment(async (tEnv) => {
      const controller = new AbortController();
      const data = Array.from({ length: 400 }, (_, i) => [`k${i % 4}`, BigInt(i)]);
      const job = tEnv.fromElements(data, { k: STRING, n: BIGINT }).groupBy('k').select('k, slow(n) AS s').execute({ signal: controller.signal }).collect();
      await started;
      const abortedAt = Date.now();
      controller.abort();
      const error = await job.catch((e: unknown) => e);
      expect((error as PyUdfError).code).toBe('CLOSED');
      expect(Date.now() - abortedAt).toBeLessThan(1000);
      expect(await tEnv.fromElements(data, { k: STRING, n: BIGINT }).groupBy('k').select('k, my_count() AS c').execute().collect())
        .toEqual([0, 1, 2, 3].map((i) => ({ k: `k${i}`, c: 100n })));
    }, { parallelism: 2, logger });
  });

  test('an aggregate declared in TypeScript with udaf() and its types', async () => {
    const rows = await withEnvironment(async (tEnv) => {
      tEnv.registerFunction('avg_of', udaf('aggs.MyAvg', [DOUBLE], DOUBLE));
      return tEnv.fromElements(SALES, SALES_SCHEMA).groupBy('k').select('k, avg_of(v) AS m').execute().collect();
    });
    expect(rows).toEqual(expectedGroups().map((g) => ({ k: g.k, m: avg(g.v) })));
    const mismatch = await withEnvironment(async (tEnv) => {
      tEnv.registerFunction('wrongly', udaf('aggs.my_avg', [DOUBLE], BIGINT));
      return tEnv.fromElements(SALES, SALES_SCHEMA).select('wrongly(v)').execute().collect();
    }).catch((e: unknown) => e);
    expect((mismatch as UdfError).code).toBe('UDF_SIGNATURE_MISMATCH');
    expect((mismatch as Error).message).toContain('result types differ: TypeScript declares BIGINT, Python declares DOUBLE');
  });
});

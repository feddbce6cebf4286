// SQL jobs calling Python functions in real workers: functions of every kind
// created with CREATE FUNCTION ... LANGUAGE PYTHON (their kind and types from
// the Python declaration), a scalar function in a query, a table function via
// LATERAL TABLE, an aggregate function in GROUP BY with HAVING, and views
// over them used from SQL and the Table API.
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, SqlError, TableEnvironment, udf, type Row } from '../../src/index.js';
import { closedAfterAll, isolateTempRoot, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();

const MODULE = path.join(dir, 'shop_udfs.py');
fs.writeFileSync(MODULE, `import pandas as pd

from pyudf import AggregateFunction, DataTypes, udaf, udf, udtf


@udf(result_type=DataTypes.STRING())
def shout(s):
    return None if s is None else s.upper() + '!'


@udf(result_type=DataTypes.BIGINT(), func_type='pandas')
def twice(n):
    return n * 2


@udtf(result_types=[DataTypes.STRING(), DataTypes.INT()])
def split(line):
    if line is None:
        return
    for word in line.split():
        yield word, len(word)


class Total(AggregateFunction):
    def create_accumulator(self):
        return [0]

    def accumulate(self, acc, v):
        if v is not None:
            acc[0] += v

    def get_value(self, acc):
        return acc[0]


total = udaf(Total(), result_type=DataTypes.BIGINT(), accumulator_type='ARRAY<BIGINT>')
`);

const INPUT = path.join(dir, 'reviews.csv');
fs.writeFileSync(INPUT, '1,apple,good crisp apple,3\n2,pear,,7\n3,apple,sour,5\n4,plum,sweet and ripe,1\n');

describe('SQL jobs with Python functions, on one environment whose workers stay warm between them', () => {
  const tEnv = closedAfterAll(TableEnvironment.create({ bundleSize: 2 }), tempRoot);

  beforeAll(async () => {
    tEnv.addPythonFile(MODULE);
    await tEnv.executeSql(`CREATE TABLE reviews (id BIGINT, product STRING, review STRING, stars BIGINT)
      WITH ('connector' = 'filesystem', 'path' = '${INPUT}', 'format' = 'csv')`);
    for (const [name, attr] of [['shout', 'shout'], ['twice', 'twice'], ['split', 'split'], ['total', 'total']]) {
      const result = await tEnv.executeSql(`CREATE TEMPORARY SYSTEM FUNCTION ${name} AS 'shop_udfs.${attr}' LANGUAGE PYTHON`);
      expect(result.resultKind).toBe('SUCCESS');
    }
  });

  async function rows(statement: string): Promise<Row[]> {
    return (await tEnv.executeSql(statement)).collect();
  }

  test('CREATE FUNCTION registers every kind; SHOW FUNCTIONS lists them', async () => {
    expect(await rows('SHOW USER FUNCTIONS')).toEqual(['shout', 'split', 'total', 'twice'].map((name) => ({ 'function name': name })));
    const all = (await rows('SHOW FUNCTIONS')).map((row) => row['function name']);
    expect(all).toEqual(expect.arrayContaining(['shout', 'split', 'total', 'twice', 'upper', 'sum', 'row_number']));
    expect(all).toEqual([...all].sort());
    const error = await tEnv.executeSql("CREATE FUNCTION shout AS 'shop_udfs.shout' LANGUAGE PYTHON").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', line: 1, column: 17 });
    await tEnv.executeSql("CREATE FUNCTION IF NOT EXISTS shout AS 'shop_udfs.shout' LANGUAGE PYTHON");
    expect(await tEnv.executeSql("CREATE FUNCTION f AS 'not dotted' LANGUAGE PYTHON").catch((e: unknown) => e)).toBeInstanceOf(SqlError);
  });

  test('a Python scalar function and a vectorized one in a SQL query', async () => {
    expect(await rows('SELECT id, shout(product) AS loud, twice(stars) AS doubled FROM reviews WHERE stars > 2')).toEqual([
      { id: 1n, loud: 'APPLE!', doubled: 6n },
      { id: 2n, loud: 'PEAR!', doubled: 14n },
      { id: 3n, loud: 'APPLE!', doubled: 10n },
    ]);
  });

  test('a Python function in WHERE, and one registered with the Table API used from SQL', async () => {
    tEnv.createTemporarySystemFunction('plus_one', udf('lambda n: n + 1', [DataTypes.BIGINT()], DataTypes.BIGINT()));
    expect(await rows("SELECT plus_one(id) AS nxt FROM reviews WHERE shout(product) = 'PLUM!'")).toEqual([{ nxt: 5n }]);
    await tEnv.executeSql('DROP FUNCTION plus_one');
    expect(tEnv.listUserDefinedFunctions()).not.toContain('plus_one');
  });

  test('Python calls mix with built-in SQL in one expression, in the select list and in WHERE', async () => {
    expect(await rows("SELECT id, UPPER(shout(review)) AS r, shout(UPPER(product)) AS p, LOWER(product) AS n FROM reviews WHERE shout(product) LIKE 'P%' AND id > 1")).toEqual([
      { id: 2n, r: null, p: 'PEAR!', n: 'pear' },
      { id: 4n, r: 'SWEET AND RIPE!', p: 'PLUM!', n: 'plum' },
    ]);
    const explained = (await rows("EXPLAIN SELECT id FROM reviews WHERE shout(product) LIKE 'P%'"))[0]!.result as string;
    expect(explained).toContain('.where("shout(`product`) LIKE \'P%\'")');
    expect(await rows("SELECT * FROM reviews WHERE CAST(twice(stars) AS STRING) = '14'")).toEqual([{ id: 2n, product: 'pear', review: null, stars: 7n }]);
  });

  test('Python scalar functions around OVER windows, GROUP BY expressions and WITH: over their results, and inside them', async () => {
    expect(await rows(`SELECT p, stars FROM (
        SELECT shout(product) AS p, stars, ROW_NUMBER() OVER (PARTITION BY product ORDER BY stars DESC) AS rn FROM reviews
      ) WHERE rn = 1 ORDER BY p`)).toEqual([{ p: 'APPLE!', stars: 5n }, { p: 'PEAR!', stars: 7n }, { p: 'PLUM!', stars: 1n }]);
    expect(await rows('SELECT shout(product) AS p, COUNT(*) AS n FROM reviews GROUP BY shout(product) HAVING COUNT(*) > 1')).toEqual([{ p: 'APPLE!', n: 2n }]);
    expect(await rows('WITH loud AS (SELECT shout(product) AS p, stars FROM reviews) SELECT p, SUM(stars) OVER (PARTITION BY p) AS s FROM loud WHERE p = \'APPLE!\'')).toEqual([
      { p: 'APPLE!', s: 8n }, { p: 'APPLE!', s: 8n },
    ]);
    expect(await rows('SELECT id, RANK() OVER (ORDER BY shout(product)) AS r FROM reviews ORDER BY id')).toEqual([
      { id: 1n, r: 1n }, { id: 2n, r: 3n }, { id: 3n, r: 1n }, { id: 4n, r: 4n },
    ]);
  });

  test('a table function via LATERAL TABLE: the comma form drops rows it yields nothing for', async () => {
    expect(await rows('SELECT id, w, n FROM reviews, LATERAL TABLE(split(review)) AS T(w, n) WHERE n > 4')).toEqual([
      { id: 1n, w: 'crisp', n: 5 },
      { id: 1n, w: 'apple', n: 5 },
      { id: 4n, w: 'sweet', n: 5 },
    ]);
  });

  test('LEFT JOIN LATERAL TABLE ... ON TRUE keeps a row the function yields nothing for, with NULLs', async () => {
    expect(await rows('SELECT r.id, T.w FROM reviews AS r LEFT JOIN LATERAL TABLE(split(r.review)) AS T(w, n) ON TRUE WHERE r.id < 3')).toEqual([
      { id: 1n, w: 'good' }, { id: 1n, w: 'crisp' }, { id: 1n, w: 'apple' }, { id: 2n, w: null },
    ]);
  });

  test('a Python aggregate function in GROUP BY, with HAVING on it and on an aggregate of its own', async () => {
    expect(await rows('SELECT product, total(stars) AS stars FROM reviews GROUP BY product HAVING total(stars) > 2')).toEqual([
      { product: 'apple', stars: 8n },
      { product: 'pear', stars: 7n },
    ]);
    expect(await rows('SELECT product FROM reviews GROUP BY product HAVING total(id) >= 4')).toEqual([{ product: 'apple' }, { product: 'plum' }]);
    expect(await rows('SELECT total(stars) AS all_stars FROM reviews')).toEqual([{ all_stars: 16n }]);
    const mixed = await rows('SELECT product, total(stars) AS stars, COUNT(*) AS n FROM reviews GROUP BY product HAVING COUNT(*) >= 1');
    expect(mixed).toHaveLength(3);
    expect(mixed).toEqual(expect.arrayContaining([{ product: 'apple', stars: 8n, n: 2n }, { product: 'pear', stars: 7n, n: 1n }, { product: 'plum', stars: 1n, n: 1n }]));
  });

  test('a view over Python functions, used from SQL and from the Table API', async () => {
    await tEnv.executeSql('CREATE VIEW loud_words AS SELECT id, shout(w) AS word FROM reviews, LATERAL TABLE(split(review)) AS T(w, n)');
    expect(await rows('SELECT word FROM loud_words WHERE id = 3')).toEqual([{ word: 'SOUR!' }]);
    const perReview = tEnv.from('loud_words').groupBy('id').select('id, total(id) AS s');
    expect(await perReview.execute().collect()).toEqual([{ id: 1n, s: 3n }, { id: 3n, s: 3n }, { id: 4n, s: 12n }]);
    tEnv.createTemporaryView('per_review', perReview);
    expect(await rows('SELECT id FROM per_review WHERE s > 3')).toEqual([{ id: 4n }]);
    // Functions whose types only their Python declaration gives leave a view's types unknown to DESCRIBE;
    // one declared in TypeScript gives them, without starting a worker.
    expect(await rows('DESCRIBE loud_words')).toEqual([{ name: 'id', type: null, null: true }, { name: 'word', type: null, null: true }]);
    tEnv.createTemporarySystemFunction('len_ts', udf('lambda s: len(s)', [DataTypes.STRING()], DataTypes.INT()));
    await tEnv.executeSql('CREATE VIEW lengths AS SELECT id, len_ts(product) AS n, UPPER(product) AS p FROM reviews ORDER BY n');
    expect(await rows('DESCRIBE lengths')).toEqual([
      { name: 'id', type: 'BIGINT', null: true }, { name: 'n', type: 'INT', null: true }, { name: 'p', type: 'STRING', null: true },
    ]);
    await tEnv.executeSql('DROP VIEW lengths');
    await tEnv.executeSql('DROP FUNCTION len_ts');
  });

  test('INSERT INTO a CSV table from a job with Python functions, read back', async () => {
    const out = path.join(dir, 'loud.csv');
    await tEnv.executeSql(`CREATE TABLE loud (id BIGINT, product STRING) WITH ('connector' = 'filesystem', 'path' = '${out}', 'format' = 'csv')`);
    const result = await tEnv.executeSql('INSERT INTO loud SELECT id, shout(product) FROM reviews WHERE id <= 2');
    await result.wait();
    expect(result.jobResult?.metrics.shout?.rowsIn).toBe(2);
    expect(fs.readFileSync(out, 'utf8')).toBe('1,APPLE!\n2,PEAR!\n');
    expect(await rows('SELECT * FROM loud')).toEqual([{ id: 1n, product: 'APPLE!' }, { id: 2n, product: 'PEAR!' }]);
  });
});

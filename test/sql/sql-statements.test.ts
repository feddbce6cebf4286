// SQL statements without Python functions, on real CSV files: DDL, SHOW,
// DESCRIBE, EXPLAIN, DROP, INSERT INTO then read back, views shared with the
// Table API, and every error a statement can have, raised before anything runs.
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, FileSystem, OldCsv, Schema, SqlError, SqlTableResult, TableEnvironment, type Row } from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();
const BIGINT = DataTypes.BIGINT();

const INPUT = path.join(dir, 'orders.csv');
fs.writeFileSync(INPUT, '1,apple,3\n2,pear,\n3,apple,5\n4,plum,1\n');

const PRICES = path.join(dir, 'prices.csv');
fs.writeFileSync(PRICES, 'apple,0.5\npear,0.75\nkiwi,2.0\n');

const CREATE_ORDERS = `CREATE TABLE orders (
  id BIGINT,
  product STRING,
  amount INT
) WITH (
  'connector' = 'filesystem',
  'path' = ${JSON.stringify(INPUT).replaceAll('"', "'")},
  'format' = 'csv'
)`;

let tEnv: TableEnvironment;

beforeEach(async () => {
  tEnv = TableEnvironment.create({ workerIdleTimeoutMs: 0 });
  await tEnv.executeSql(CREATE_ORDERS);
  await tEnv.executeSql(`CREATE TABLE prices (product STRING, price DOUBLE) WITH ('connector' = 'filesystem', 'path' = '${PRICES}', 'format' = 'csv')`);
});

afterEach(async () => {
  await tEnv.close();
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
});

/** The error a statement raises, which must be a SqlError. */
async function sqlError(statement: string): Promise<SqlError> {
  const error = await tEnv.executeSql(statement).then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(SqlError);
  return error as SqlError;
}

test('CREATE TABLE declares a CSV file table; SELECT reads it with projection and WHERE', async () => {
  const result = await tEnv.executeSql('SELECT id, amount * 2 AS doubled FROM orders WHERE amount > 2');
  expect(result).toBeInstanceOf(SqlTableResult);
  expect(result.resultKind).toBe('SUCCESS_WITH_CONTENT');
  expect(result.columns).toEqual(['id', 'doubled']);
  expect(await result.collect()).toEqual([{ id: 1n, doubled: 6 }, { id: 3n, doubled: 10 }]); // INT * INT is INT, as in Flink
});

test('SELECT * and a qualified star expand to the columns; backticks and table qualifiers are read', async () => {
  const all = await (await tEnv.executeSql('SELECT * FROM orders WHERE `id` = 2')).collect();
  expect(all).toEqual([{ id: 2n, product: 'pear', amount: null }]);
  const qualified = await (await tEnv.executeSql('SELECT o.*, orders.id AS again FROM orders AS o WHERE o.id = 4')).collect();
  expect(qualified).toEqual([{ id: 4n, product: 'plum', amount: 1, again: 4n }]);
});

test('a SELECT result is also read row by row with for await', async () => {
  const rows: Row[] = [];
  for await (const row of await tEnv.executeSql('SELECT product FROM orders WHERE id < 3;')) rows.push(row);
  expect(rows).toEqual([{ product: 'apple' }, { product: 'pear' }]);
});

test('a subquery in FROM is a table of its own', async () => {
  const rows = await (await tEnv.executeSql('SELECT p FROM (SELECT product AS p, id FROM orders WHERE id > 1) AS t WHERE t.id < 4')).collect();
  expect(rows).toEqual([{ p: 'pear' }, { p: 'apple' }]);
});

test("Flink's csv options map onto the CSV format: delimiter, null literal, quote character, ignore-parse-errors", async () => {
  const file = path.join(dir, 'odd.csv');
  fs.writeFileSync(file, "1|'a|b'|NULL\nnot a number|x|1\n2|c|7\n");
  await tEnv.executeSql(`CREATE TABLE odd (id BIGINT, s STRING, n INT) WITH ('connector' = 'filesystem', 'path' = '${file}', 'format' = 'csv',
    'csv.field-delimiter' = '|', 'csv.null-literal' = 'NULL', 'csv.quote-character' = '''', 'csv.ignore-parse-errors' = 'true', 'csv.allow-comments' = 'false')`);
  const result = await tEnv.executeSql('SELECT * FROM odd');
  expect(await result.collect()).toEqual([{ id: 1n, s: 'a|b', n: null }, { id: 2n, s: 'c', n: 7 }]);
  expect(result.skippedInputLines).toEqual({ odd: 1 });
});

test('INSERT INTO a CSV table resolves once the sink is published; reading it back gives the rows', async () => {
  const out = path.join(dir, 'out.csv');
  fs.rmSync(out, { force: true });
  await tEnv.executeSql(`CREATE TABLE big_orders (id BIGINT, product STRING) WITH ('connector' = 'filesystem', 'path' = '${out}', 'format' = 'csv', 'csv.field-delimiter' = ';')`);
  const result = await tEnv.executeSql('INSERT INTO big_orders SELECT id, product FROM orders WHERE amount >= 3');
  expect(fs.readFileSync(out, 'utf8')).toBe('1;apple\n3;apple\n');
  await result.wait();
  expect(result.jobResult?.sinks).toEqual([{ table: 'big_orders', rows: 2 }]);
  expect(await result.collect()).toEqual([{ table: 'big_orders', rows: 2 }]);
  expect(await (await tEnv.executeSql('SELECT * FROM big_orders')).collect()).toEqual([{ id: 1n, product: 'apple' }, { id: 3n, product: 'apple' }]);
});

test.each(['parquet', 'json'])('CREATE TABLE with the %s format: INSERT INTO writes it, SELECT reads it back', async (format) => {
  const file = path.join(dir, `orders.${format}`);
  fs.rmSync(file, { force: true });
  await tEnv.executeSql(`CREATE TABLE copy (id BIGINT, product STRING, amount INT) WITH ('connector' = 'filesystem', 'path' = '${file}', 'format' = '${format}')`);
  const result = await tEnv.executeSql('INSERT INTO copy SELECT * FROM orders WHERE id <> 3');
  expect(result.jobResult?.sinks).toEqual([{ table: 'copy', rows: 3 }]);
  expect(fs.existsSync(file)).toBe(true);
  expect(await (await tEnv.executeSql('SELECT product, amount FROM copy ORDER BY id DESC')).collect()).toEqual([
    { product: 'plum', amount: 1 }, { product: 'pear', amount: null }, { product: 'apple', amount: 3 },
  ]);
  const error = await sqlError(`CREATE TABLE bad (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '${file}', 'format' = '${format}', 'csv.null-literal' = 'x')`);
  expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
  expect(error.message).toContain("'csv.null-literal'");
});

test('an INSERT whose columns do not fit the sink fails and leaves no file', async () => {
  const out = path.join(dir, 'unfit.csv');
  await tEnv.executeSql(`CREATE TABLE unfit (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '${out}', 'format' = 'csv')`);
  await expect(tEnv.executeSql('INSERT INTO unfit SELECT product FROM orders')).rejects.toMatchObject({ code: 'SINK_SCHEMA_MISMATCH' });
  expect(fs.existsSync(out)).toBe(false);
});

test('views: CREATE VIEW is read by the Table API, createTemporaryView by SQL, and both by each other', async () => {
  expect((await tEnv.executeSql('CREATE TEMPORARY VIEW apples AS SELECT id, amount FROM orders WHERE product = \'apple\'')).resultKind).toBe('SUCCESS');
  expect(await tEnv.from('apples').where('amount > 3').execute().collect()).toEqual([{ id: 3n, amount: 5 }]);
  tEnv.createTemporaryView('small', tEnv.from('orders').where('amount < 4').select('id, product'));
  expect(await (await tEnv.executeSql('SELECT product FROM small')).collect()).toEqual([{ product: 'apple' }, { product: 'plum' }]);
  await tEnv.executeSql('CREATE VIEW small_apples AS SELECT s.id FROM small AS s WHERE s.product = \'apple\'');
  expect(await tEnv.sqlQuery('SELECT * FROM small_apples').execute().collect()).toEqual([{ id: 1n }]);
  const table = tEnv.sqlQuery('SELECT id, amount FROM orders').where('amount IS NULL').select('id');
  expect(await table.execute().collect()).toEqual([{ id: 2n }]);
});

test('SHOW TABLES, VIEWS and FUNCTIONS list the catalog; DESCRIBE gives a table\'s columns', async () => {
  tEnv.connect(new FileSystem().path(INPUT)).withFormat(new OldCsv()).withSchema(new Schema().field('x', BIGINT).field('y', DataTypes.STRING()).field('z', DataTypes.INT())).createTemporaryTable('described');
  await tEnv.executeSql('CREATE VIEW v AS SELECT id FROM orders');
  const names = async (statement: string) => (await (await tEnv.executeSql(statement)).collect()).map((row) => Object.values(row)[0]);
  expect(await names('SHOW TABLES')).toEqual(['described', 'orders', 'prices', 'v']);
  expect(await names('SHOW VIEWS')).toEqual(['v']);
  expect(await names('SHOW USER FUNCTIONS')).toEqual([]);
  expect(await names('SHOW FUNCTIONS')).toEqual(expect.arrayContaining(['char_length', 'count', 'timestampdiff', 'upper']));
  const described = await tEnv.executeSql('DESCRIBE orders');
  expect(described.columns).toEqual(['name', 'type', 'null']);
  expect(await described.collect()).toEqual([
    { name: 'id', type: 'BIGINT', null: true }, { name: 'product', type: 'STRING', null: true }, { name: 'amount', type: 'INT', null: true },
  ]);
  expect(await (await tEnv.executeSql('DESC v')).collect()).toEqual([{ name: 'id', type: 'BIGINT', null: true }]);
  // A view's types are found without running it, through the engine's stages too: SUM of an INT is an INT, CHAR_LENGTH an INT.
  await tEnv.executeSql(`CREATE VIEW totals AS SELECT UPPER(product) AS p, SUM(amount) AS s, COUNT(*) AS n, MAX(CHAR_LENGTH(product)) AS l,
    ROW_NUMBER() OVER (ORDER BY id) AS rn FROM orders GROUP BY UPPER(product), id`);
  expect((await (await tEnv.executeSql('DESCRIBE totals')).collect()).map((row) => `${String(row.name)} ${String(row.type)}`)).toEqual([
    'p STRING', 's INT', 'n BIGINT', 'l INT', 'rn BIGINT',
  ]);
  await tEnv.executeSql('DROP VIEW totals');
  expect(tEnv.listTables()).toEqual(['orders', 'prices', 'described', 'v']);
});

describe('relational queries', () => {
  const query = async (statement: string) => (await tEnv.executeSql(statement)).collect();

  test('WITH: common table expressions, a later one reading an earlier one, column names given in WITH, in SELECT and INSERT', async () => {
    expect(await query(`WITH big AS (SELECT id, product FROM orders WHERE amount > 2),
      counted(p, n) AS (SELECT product, COUNT(*) FROM big GROUP BY product)
      SELECT p, n FROM counted ORDER BY p`)).toEqual([{ p: 'apple', n: 2n }]);
    // A WITH name hides a catalog table of the same name inside the query.
    expect(await query('WITH orders AS (SELECT id FROM orders WHERE id > 3) SELECT * FROM orders')).toEqual([{ id: 4n }]);
    const out = path.join(dir, 'with-out.csv');
    fs.rmSync(out, { force: true });
    await tEnv.executeSql(`CREATE TABLE with_sink (id BIGINT, product STRING) WITH ('connector' = 'filesystem', 'path' = '${out}', 'format' = 'csv')`);
    await (await tEnv.executeSql('INSERT INTO with_sink WITH p AS (SELECT id, product FROM orders WHERE product = \'pear\') SELECT * FROM p')).wait();
    expect(fs.readFileSync(out, 'utf8')).toBe('2,pear\n');
    const error = await sqlError('WITH a(x, y) AS (SELECT id FROM orders) SELECT * FROM a');
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toMatch(/names 2 columns; its query has 1/);
  });

  test('GROUP BY an expression: the select list, HAVING and ORDER BY may repeat it; a position is refused as in Flink', async () => {
    expect(await query('SELECT UPPER(product) AS up, SUM(amount) AS s FROM orders GROUP BY UPPER(product) ORDER BY up')).toEqual([
      { up: 'APPLE', s: 8 }, { up: 'PEAR', s: null }, { up: 'PLUM', s: 1 },
    ]);
    expect(await query('SELECT amount + 1, COUNT(*) FROM orders GROUP BY amount + 1 HAVING COUNT(*) >= 1 AND amount + 1 > 2 ORDER BY amount + 1 DESC')).toEqual([
      { _c0: 6, _c1: 1n }, { _c0: 4, _c1: 1n },
    ]);
    await expect(query('SELECT id FROM orders GROUP BY id + 1')).rejects.toMatchObject({ code: 'EXPRESSION_TYPE', message: expect.stringMatching(/"id" is neither a group key/) });
    const error = await sqlError('SELECT product, COUNT(*) FROM orders GROUP BY 1');
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toMatch(/position/);
    expect([error.line, error.column]).toEqual([1, 38]);
  });

  test('OVER windows: ROW_NUMBER per partition, the Top-N pattern, aggregates over ROWS and RANGE frames', async () => {
    expect(await query(`SELECT id, ROW_NUMBER() OVER (PARTITION BY product ORDER BY amount DESC) AS rn,
        SUM(amount) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS s2,
        AVG(amount) OVER (PARTITION BY o.product ORDER BY id RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS a,
        COUNT(amount) OVER (PARTITION BY product) AS c
      FROM orders AS o ORDER BY id`)).toEqual([
      { id: 1n, rn: 2n, s2: 3, a: 3, c: 2n }, { id: 2n, rn: 1n, s2: 3, a: null, c: 0n },
      { id: 3n, rn: 1n, s2: 5, a: 4, c: 2n }, { id: 4n, rn: 1n, s2: 6, a: 1, c: 1n },
    ]);
    expect(await query(`SELECT id, amount FROM (
        SELECT id, amount, ROW_NUMBER() OVER (ORDER BY amount DESC) AS rn FROM orders
      ) WHERE rn <= 2 ORDER BY amount DESC`)).toEqual([{ id: 3n, amount: 5 }, { id: 1n, amount: 3 }]);
    const explained = (await query('EXPLAIN SELECT RANK() OVER (ORDER BY o.amount) AS r FROM orders AS o'))[0]!.result as string;
    expect(explained).toContain('RANK() OVER (ORDER BY `amount`) AS `r`');
    expect(await sqlError('SELECT id, ROW_NUMBER() OVER (ORDER BY nope) AS rn FROM orders')).toMatchObject({ code: 'UNKNOWN_COLUMN', unknownName: 'nope' });
  });

  test('JOIN ... ON, with qualified names; a right column named like a left one is renamed, as in Flink', async () => {
    expect(await query('SELECT o.id, p.price FROM orders AS o JOIN prices AS p ON o.product = p.product WHERE o.amount > 2 ORDER BY o.id')).toEqual([
      { id: 1n, price: 0.5 }, { id: 3n, price: 0.5 },
    ]);
    expect(await query('SELECT * FROM orders o JOIN prices p ON o.product = p.product ORDER BY id LIMIT 1')).toEqual([
      { id: 1n, product: 'apple', amount: 3, product0: 'apple', price: 0.5 },
    ]);
  });

  test('LEFT, RIGHT, FULL OUTER and CROSS joins', async () => {
    expect(await query('SELECT o.id, p.price FROM orders o LEFT JOIN prices p ON o.product = p.product ORDER BY o.id')).toEqual([
      { id: 1n, price: 0.5 }, { id: 2n, price: 0.75 }, { id: 3n, price: 0.5 }, { id: 4n, price: null },
    ]);
    expect(await query('SELECT o.id, p.product FROM orders o RIGHT OUTER JOIN prices p ON o.product = p.product WHERE o.id IS NULL')).toEqual([
      { id: null, product: 'kiwi' },
    ]);
    expect(await query("SELECT o.product, p.product FROM orders o JOIN prices p ON o.product = p.product WHERE o.id = 2")).toEqual([
      { product: 'pear', product0: 'pear' },
    ]);
    const full = await query('SELECT o.id, p.product FROM orders o FULL JOIN prices p ON o.product = p.product');
    expect(full).toHaveLength(5);
    expect(full).toEqual(expect.arrayContaining([{ id: 4n, product: null }, { id: null, product: 'kiwi' }]));
    expect(await query('SELECT COUNT(*) AS n FROM orders CROSS JOIN prices')).toEqual([{ n: 12n }]);
    expect(await query('SELECT COUNT(*) AS n FROM orders, prices WHERE orders.product = prices.product')).toEqual([{ n: 3n }]);
  });

  test('ORDER BY (also by a column not selected), LIMIT, OFFSET and FETCH', async () => {
    // NULLs last when descending, as in Flink.
    expect(await query('SELECT id FROM orders ORDER BY amount DESC')).toEqual([{ id: 3n }, { id: 1n }, { id: 4n }, { id: 2n }]);
    expect(await query('SELECT id FROM orders ORDER BY amount DESC LIMIT 2 OFFSET 1')).toEqual([{ id: 1n }, { id: 4n }]);
    expect(await query('SELECT id FROM orders ORDER BY id OFFSET 1 ROWS FETCH NEXT 2 ROWS ONLY')).toEqual([{ id: 2n }, { id: 3n }]);
    expect(await query('SELECT id FROM orders ORDER BY id FETCH FIRST 1 ROW ONLY')).toEqual([{ id: 1n }]);
    expect(await query('SELECT id FROM orders ORDER BY id OFFSET 3 ROWS')).toEqual([{ id: 4n }]);
    expect(await query('SELECT id AS k FROM orders ORDER BY k DESC LIMIT 1')).toEqual([{ k: 4n }]);
  });

  test('DISTINCT, UNION [ALL], INTERSECT and EXCEPT', async () => {
    expect(await query('SELECT DISTINCT product FROM orders ORDER BY product')).toEqual([{ product: 'apple' }, { product: 'pear' }, { product: 'plum' }]);
    expect(await query('SELECT product FROM orders UNION SELECT product FROM prices ORDER BY product')).toEqual(
      ['apple', 'kiwi', 'pear', 'plum'].map((product) => ({ product })));
    expect(await query('SELECT product FROM orders UNION ALL SELECT product FROM prices')).toHaveLength(7);
    expect(await query('SELECT product FROM orders INTERSECT SELECT product FROM prices ORDER BY product')).toEqual([{ product: 'apple' }, { product: 'pear' }]);
    expect(await query('SELECT product FROM orders EXCEPT SELECT product FROM prices')).toEqual([{ product: 'plum' }]);
  });

  test('built-in functions and aggregates, GROUP BY with HAVING', async () => {
    expect(await query('SELECT product, COUNT(*) AS n, SUM(id) AS ids FROM orders GROUP BY product HAVING COUNT(*) > 1')).toEqual([
      { product: 'apple', n: 2n, ids: 4n },
    ]);
    expect(await query("SELECT UPPER(product) AS u, COALESCE(amount, 0) AS a FROM orders WHERE product LIKE 'p%' ORDER BY u")).toEqual([
      { u: 'PEAR', a: 0 }, { u: 'PLUM', a: 1 },
    ]);
    expect(await query('SELECT product, MAX(amount) AS m FROM orders GROUP BY product ORDER BY MAX(amount) DESC')).toEqual([
      { product: 'apple', m: 5 }, { product: 'plum', m: 1 }, { product: 'pear', m: null },
    ]);
  });
});

test('EXPLAIN shows the Table API calls a query translates into, running nothing', async () => {
  const rows = await (await tEnv.executeSql('EXPLAIN SELECT id FROM (SELECT id, amount FROM orders) AS t WHERE amount > 1')).collect();
  expect(rows).toEqual([{ result: '== Table API calls ==\nfrom("orders")\n  .select("`id`, `amount`")\n  .where("`amount` > 1")\n  .select("`id`")' }]);
});

test('DROP TABLE, VIEW and FUNCTION remove what they name; IF EXISTS tolerates nothing there', async () => {
  await tEnv.executeSql('CREATE VIEW v AS SELECT id FROM orders');
  await tEnv.executeSql('DROP VIEW v');
  expect(tEnv.listViews()).toEqual([]);
  await tEnv.executeSql('DROP VIEW IF EXISTS v');
  await tEnv.executeSql('DROP TEMPORARY TABLE orders');
  expect(tEnv.listTables()).toEqual(['prices']);
  await tEnv.executeSql('DROP TABLE IF EXISTS orders');
  await tEnv.executeSql('DROP TEMPORARY SYSTEM FUNCTION IF EXISTS f');
  const error = await sqlError('DROP TABLE orders');
  expect(error).toMatchObject({ code: 'UNKNOWN_TABLE', unknownName: 'orders', line: 1, column: 12 });
  expect(await sqlError('DROP FUNCTION f')).toMatchObject({ code: 'UNKNOWN_FUNCTION', unknownName: 'f' });
});

test('CREATE of a name that exists fails unless IF NOT EXISTS', async () => {
  expect(await sqlError(CREATE_ORDERS)).toMatchObject({ code: 'INVALID_ARGUMENT', line: 1, column: 14 });
  expect((await tEnv.executeSql(CREATE_ORDERS.replace('TABLE orders', 'TABLE IF NOT EXISTS orders'))).resultKind).toBe('SUCCESS');
  expect(await sqlError('CREATE VIEW orders AS SELECT id FROM orders')).toMatchObject({ code: 'INVALID_ARGUMENT' });
});

describe('errors name the statement, the line and column, and what exists', () => {
  test('a syntax error', async () => {
    const statement = 'SELECT id\nFROM orders\nWHERE id >';
    const error = await sqlError(statement);
    expect(error).toMatchObject({ code: 'SQL_SYNTAX', statement, line: 3, column: 11 });
    expect((await sqlError('SELEC id FROM orders')).code).toBe('SQL_SYNTAX');
    expect(await sqlError('CREATE TABLE t (a BIGINT')).toMatchObject({ code: 'SQL_SYNTAX', line: 1, column: 25 });
    expect(await sqlError("SELECT 'unterminated FROM orders")).toMatchObject({ code: 'SQL_SYNTAX', line: 1, column: 8 });
    expect(await sqlError('SELECT id FROM orders; SELECT id FROM orders')).toMatchObject({ code: 'SQL_SYNTAX', column: 22 });
    expect((await sqlError('SELECT id AS next FROM orders')).message).toContain('"next" is a reserved word');
  });

  test('an unknown table, in FROM, in a qualifier, in DESCRIBE and as a sink', async () => {
    const error = await sqlError('SELECT id\n  FROM ordres');
    expect(error).toMatchObject({ code: 'UNKNOWN_TABLE', unknownName: 'ordres', line: 2, column: 8, candidates: ['orders', 'prices'] });
    expect(error.message).toContain('orders');
    expect(await sqlError('SELECT x.id FROM orders')).toMatchObject({ code: 'UNKNOWN_TABLE', unknownName: 'x', column: 8 });
    expect(await sqlError('DESCRIBE nope')).toMatchObject({ code: 'UNKNOWN_TABLE', column: 10 });
    expect(await sqlError('INSERT INTO nope SELECT id FROM orders')).toMatchObject({ code: 'UNKNOWN_TABLE', column: 13 });
    expect(() => tEnv.sqlQuery('SELECT id FROM nope')).toThrow(SqlError);
  });

  test('an unknown column, plain and qualified', async () => {
    const error = await sqlError('SELECT id,\n       amout FROM orders');
    expect(error).toMatchObject({ code: 'UNKNOWN_COLUMN', unknownName: 'amout', line: 2, column: 8, candidates: ['id', 'product', 'amount'] });
    expect(await sqlError('SELECT orders.amout FROM orders')).toMatchObject({ code: 'UNKNOWN_COLUMN', unknownName: 'amout', column: 15 });
    expect(await sqlError('SELECT id FROM orders WHERE prize > 1')).toMatchObject({ code: 'UNKNOWN_COLUMN', unknownName: 'prize', column: 29 });
  });

  test('an unknown function, scalar and in LATERAL TABLE', async () => {
    const error = await sqlError('SELECT id, shout(product) FROM orders');
    expect(error).toMatchObject({ code: 'UNKNOWN_FUNCTION', unknownName: 'shout', column: 12 });
    expect(error.message).toContain('unknown function "shout"');
    expect(await sqlError('SELECT id, w FROM orders, LATERAL TABLE(split(product)) AS T(w)')).toMatchObject({ code: 'UNKNOWN_FUNCTION', unknownName: 'split', column: 41 });
  });

  test('a type error is a SqlError pointing into the statement, before anything runs', async () => {
    expect(await sqlError('SELECT id FROM orders WHERE product + 1 > 2')).toMatchObject({ code: 'EXPRESSION_TYPE', line: 1, column: 29 });
    expect(await sqlError('SELECT id,\n  UPPER(id) AS u FROM orders')).toMatchObject({ code: 'EXPRESSION_TYPE', line: 2, column: 3 });
    expect(await sqlError("SELECT id FROM orders WHERE UPPER(product) = 'APPLE' AND product > 1")).toMatchObject({ code: 'EXPRESSION_TYPE', message: expect.stringMatching(/compare|VARCHAR/) });
    const out = path.join(dir, 'typed-out.csv');
    await tEnv.executeSql(`CREATE TABLE typed_sink (id BIGINT, n BIGINT) WITH ('connector' = 'filesystem', 'path' = '${out}', 'format' = 'csv')`);
    expect(await sqlError('INSERT INTO typed_sink SELECT id, CHAR_LENGTH(amount) FROM orders')).toMatchObject({ code: 'EXPRESSION_TYPE', column: 35 });
    expect(fs.existsSync(out)).toBe(false);
  });

  test('CREATE TABLE options: a missing or unknown connector, format or option', async () => {
    const create = (options: string) => `CREATE TABLE t (a BIGINT) WITH (${options})`;
    expect(await sqlError('CREATE TABLE t (a BIGINT)')).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await sqlError(create("'connector' = 'kafka'"))).toMatchObject({ code: 'INVALID_ARGUMENT', column: 33 });
    const avro = create(`'connector' = 'filesystem', 'path' = '${INPUT}', 'format' = 'avro'`);
    expect(await sqlError(avro)).toMatchObject({ code: 'INVALID_ARGUMENT', column: avro.indexOf("'format'") + 1 });
    expect(await sqlError(create("'connector' = 'filesystem', 'format' = 'csv'"))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    const unknown = await sqlError(create(`'connector' = 'filesystem', 'path' = '${INPUT}', 'format' = 'csv', 'csv.field-delimitr' = ';'`));
    expect(unknown.message).toContain('csv.field-delimiter');
    expect(await sqlError(create(`'connector' = 'filesystem', 'path' = '${INPUT}', 'format' = 'csv', 'csv.allow-comments' = 'true'`))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await sqlError('CREATE TABLE t (a BIGNIT) WITH (\'connector\' = \'filesystem\')')).toMatchObject({ code: 'SQL_SYNTAX', column: 19 });
  });

  test('what is not translated is SQL_UNSUPPORTED, pointing at the clause', async () => {
    expect(await sqlError('SELECT 1')).toMatchObject({ code: 'SQL_UNSUPPORTED', column: 1 });
    expect(await sqlError("CREATE FUNCTION f AS 'm.f' LANGUAGE JAVA")).toMatchObject({ code: 'SQL_UNSUPPORTED' });
    expect(await sqlError('INSERT OVERWRITE orders SELECT * FROM orders')).toMatchObject({ code: 'SQL_UNSUPPORTED' });
  });

  test('an ambiguous column of a join, and ORDER BY a column DISTINCT or a set operation left out', async () => {
    const statement = 'SELECT product FROM orders AS o JOIN prices AS p ON o.product = p.product';
    expect(await sqlError(statement)).toMatchObject({ code: 'INVALID_ARGUMENT', column: 8, candidates: ['o.product', 'p.product'] });
    expect(await sqlError('SELECT DISTINCT product FROM orders ORDER BY id')).toMatchObject({ code: 'INVALID_ARGUMENT', column: 37 });
    expect(await sqlError('SELECT id FROM orders UNION SELECT id FROM orders ORDER BY amount')).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await sqlError('SELECT id FROM orders LEFT JOIN prices')).toMatchObject({ code: 'SQL_SYNTAX' });
  });

  test('sqlQuery takes only queries', () => {
    expect(() => tEnv.sqlQuery('SHOW TABLES')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

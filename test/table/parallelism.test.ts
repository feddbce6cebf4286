// parallelism: 2 spreads batches over two real worker processes and still
// returns the same rows, in the same order, as parallelism: 1.
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, FileSystem, OldCsv, Schema, TableEnvironment, udf, type Row } from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();
const BIGINT = DataTypes.BIGINT();
const N = 50_000;
const BUNDLE = 1000;

const ROWS = Array.from({ length: N }, (_, i) => [BigInt(i), `r${i}`]);
const SCHEMA = { i: BIGINT, s: DataTypes.STRING() };

function environment(parallelism: number): TableEnvironment {
  const tEnv = TableEnvironment.create({ parallelism, bundleSize: BUNDLE });
  tEnv.registerFunction('mix', udf('lambda i, s: s + ":" + str(i * i)', [BIGINT, DataTypes.STRING()], DataTypes.STRING()));
  tEnv.registerFunction('keep', udf('lambda i: i % 7 != 3', [BIGINT], DataTypes.BOOLEAN()));
  tEnv.registerFunction('pid', udf('lambda i: __import__("os").getpid()', [BIGINT], BIGINT));
  return tEnv;
}

async function run(parallelism: number): Promise<{ rows: Row[]; pids: Row[] }> {
  const tEnv = environment(parallelism);
  try {
    const query = tEnv.fromElements(ROWS, SCHEMA).where('keep(i)').select('i, mix(i, s) AS m');
    const rows = await query.execute().collect();
    const pids = await tEnv.fromElements(ROWS, SCHEMA).select('i, pid(i) AS p').execute().collect();
    return { rows, pids };
  } finally {
    await tEnv.close();
  }
}

test('parallelism 2 gives the same rows in the same order as parallelism 1, computed in two processes', async () => {
  const [one, two] = await Promise.all([run(1), run(2)]);

  const expected = ROWS.filter(([i]) => (i as bigint) % 7n !== 3n)
    .map(([i, s]) => ({ i, m: `${s as string}:${(i as bigint) * (i as bigint)}` }));
  expect(one.rows.length).toBe(expected.length);
  expect(one.rows).toEqual(expected);
  expect(two.rows).toEqual(expected);

  // Every row came back, in order, and each batch ran in one worker.
  for (const result of [one, two]) expect(result.pids.map((r) => r.i)).toEqual(ROWS.map(([i]) => i));
  const pidsOf = (rows: Row[]) => new Set(rows.map((r) => r.p));
  expect(pidsOf(one.pids).size).toBe(1);
  expect(pidsOf(two.pids).size).toBe(2);
  expect(pidsOf(two.pids).has(BigInt(process.pid))).toBe(false);
  const batchPids = Array.from({ length: N / BUNDLE }, (_, b) => {
    const batch = pidsOf(two.pids.slice(b * BUNDLE, (b + 1) * BUNDLE));
    expect(batch.size).toBe(1);
    return [...batch][0];
  });
  // Batches alternate between the two workers.
  expect(new Set(batchPids.filter((_, b) => b % 2 === 0)).size).toBe(1);
  expect(new Set(batchPids.filter((_, b) => b % 2 === 1)).size).toBe(1);
  expect(batchPids[0]).not.toBe(batchPids[1]);

  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
});

test('parallelism 2 into a CSV sink writes the rows in source order', async () => {
  const input = path.join(dir, 'numbers.csv');
  const output = path.join(dir, 'out', 'squares.csv');
  fs.writeFileSync(input, Array.from({ length: 20_000 }, (_, i) => `${i},${i % 3 === 0 ? '' : `t${i}`}\n`).join(''));
  const tEnv = environment(2);
  try {
    tEnv.connect(new FileSystem().path(input))
      .withFormat(new OldCsv().field('i', BIGINT).field('s', DataTypes.STRING()))
      .withSchema(new Schema().field('i', BIGINT).field('s', DataTypes.STRING()))
      .createTemporaryTable('numbers');
    tEnv.connect(new FileSystem().path(output))
      .withSchema(new Schema().field('i', BIGINT).field('m', DataTypes.STRING()))
      .createTemporaryTable('squares');
    tEnv.fromPath('numbers').where('keep(i) AND s IS NOT NULL').select('i, mix(i, s) AS m').insertInto('squares');
    const result = await tEnv.execute('squares');
    const expectedLines = Array.from({ length: 20_000 }, (_, i) => i)
      .filter((i) => i % 7 !== 3 && i % 3 !== 0)
      .map((i) => `${i},t${i}:${BigInt(i) * BigInt(i)}`);
    expect(result.sinks).toEqual([{ table: 'squares', rows: expectedLines.length }]);
    expect(fs.readFileSync(output, 'utf8')).toBe(`${expectedLines.join('\n')}\n`);
    expect(fs.readdirSync(path.dirname(output))).toEqual(['squares.csv']);
  } finally {
    await tEnv.close();
  }
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
});

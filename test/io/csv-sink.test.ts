// CSV sinks: failures to write are IO errors (never a crash), and a job's
// sinks are published together, only when every insert succeeded.
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, FileSystem, OldCsv, PyUdfError, TableEnvironment, udf } from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();

function sinkTable(tEnv: TableEnvironment, name: string, file: string) {
  tEnv.connect(new FileSystem().path(file))
    .withFormat(new OldCsv().field('v', DataTypes.BIGINT()))
    .createTemporaryTable(name);
}

test('a sink file that cannot be opened fails the job with an IO error naming it', async () => {
  const tEnv = TableEnvironment.create();
  const target = '/proc/pyudf-cannot-write-here.csv';
  sinkTable(tEnv, 'out', target);
  tEnv.registerFunction('inc', udf('lambda v: v + 1', [DataTypes.BIGINT()], DataTypes.BIGINT()));
  tEnv.fromElements([[1n], [2n]], { v: DataTypes.BIGINT() }).select('inc(v) AS v').insertInto('out');
  const error = await tEnv.execute('unwritable').catch((e: unknown) => e);
  await tEnv.close();
  expect(error).toBeInstanceOf(PyUdfError);
  expect((error as PyUdfError).code).toBe('IO');
  expect((error as Error).message).toContain(target);
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
});

test('when a later insert of a job fails, an earlier one publishes nothing', async () => {
  const tEnv = TableEnvironment.create();
  const first = path.join(dir, 'first.csv');
  const second = path.join(dir, 'second.csv');
  sinkTable(tEnv, 'first', first);
  sinkTable(tEnv, 'second', second);
  tEnv.registerFunction('inv', udf('lambda v: 10 // v', [DataTypes.BIGINT()], DataTypes.BIGINT()));
  const source = tEnv.fromElements([[1n], [0n]], { v: DataTypes.BIGINT() });
  source.where('v > 0').select('inv(v) AS v').insertInto('first');
  source.select('inv(v) AS v').insertInto('second');
  const error = await tEnv.execute('two sinks').catch((e: unknown) => e);
  await tEnv.close();
  expect((error as PyUdfError).code).toBe('UDF_FAILED');
  expect(fs.existsSync(first)).toBe(false);
  expect(fs.existsSync(second)).toBe(false);
  expect(fs.readdirSync(dir)).toEqual([]);
});

test('a job with two inserts publishes both', async () => {
  const tEnv = TableEnvironment.create();
  const first = path.join(dir, 'a.csv');
  const second = path.join(dir, 'b.csv');
  sinkTable(tEnv, 'a', first);
  sinkTable(tEnv, 'b', second);
  const source = tEnv.fromElements([[1n], [2n]], { v: DataTypes.BIGINT() });
  source.select('v * 10 AS v').insertInto('a');
  source.select('v + 1 AS v').insertInto('b');
  const result = await tEnv.execute('two sinks');
  await tEnv.close();
  expect(result.sinks).toEqual([{ table: 'a', rows: 2 }, { table: 'b', rows: 2 }]);
  expect(fs.readFileSync(first, 'utf8')).toBe('10\n20\n');
  expect(fs.readFileSync(second, 'utf8')).toBe('2\n3\n');
});

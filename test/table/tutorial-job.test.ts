import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, FileSystem, OldCsv, Schema, TableEnvironment, udf } from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();

test("the seed's tutorial job writes 3, and leaves no worker or private directory behind", async () => {
  const input = path.join(dir, 'input');
  const output = path.join(dir, 'output');
  fs.writeFileSync(input, '1,2\n');

  const tEnv = TableEnvironment.create({ parallelism: 1 });
  const add = udf('lambda i, j: i + j', [DataTypes.BIGINT(), DataTypes.BIGINT()], DataTypes.BIGINT());
  tEnv.registerFunction('add', add);
  tEnv.connect(new FileSystem().path(input))
    .withFormat(new OldCsv().field('a', DataTypes.BIGINT()).field('b', DataTypes.BIGINT()))
    .withSchema(new Schema().field('a', DataTypes.BIGINT()).field('b', DataTypes.BIGINT()))
    .createTemporaryTable('mySource');
  tEnv.connect(new FileSystem().path(output))
    .withFormat(new OldCsv().field('sum', DataTypes.BIGINT()))
    .withSchema(new Schema().field('sum', DataTypes.BIGINT()))
    .createTemporaryTable('mySink');
  tEnv.fromPath('mySource').select('add(a, b)').insertInto('mySink');
  const result = await tEnv.execute('tutorial_job');
  await tEnv.close();

  expect(fs.readFileSync(output, 'utf8')).toBe('3\n');
  expect(result.sinks).toEqual([{ table: 'mySink', rows: 1 }]);
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
});

// The PyFlink seed's tutorial job, in TypeScript: reads a, b from a CSV file,
// adds them in Python, writes the sums to another CSV file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TableEnvironment, DataTypes, FileSystem, OldCsv, Schema, udf } from 'pyudf';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyudf-demo-'));
const input = path.join(dir, 'input');
const output = path.join(dir, 'output');
fs.writeFileSync(input, '1,2\n');

const tEnv = TableEnvironment.create({ parallelism: 1 });
try {
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
  console.log(`$ cat ${output}   # ${result.jobName}: ${result.sinks[0].rows} row(s) in ${result.durationMs} ms`);
  process.stdout.write(fs.readFileSync(output, 'utf8'));
} finally {
  await tEnv.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

// A field of any size is quoted in an error message or log line cut to its
// first 100 characters, with its length said: a 100 MB field makes no 100 MB
// message.
import fs from 'node:fs';
import path from 'node:path';
import { CsvFormatError, DataTypes, FileSystem, OldCsv, Schema, TableEnvironment, type DataType } from '../../src/index.js';
import { isolateTempRoot, recordingLogger, tempDir } from '../support.js';
import { expectNothingLeft } from './fault-support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir('huge-fields-');
afterEach(() => expectNothingLeft(tempRoot));
const SIZE = 2 * 1024 * 1024;

function declare(tEnv: TableEnvironment, file: string, type: DataType, ignoreParseErrors = false): void {
  let format = new OldCsv().field('a', DataTypes.INT()).field('v', type);
  if (ignoreParseErrors) format = format.ignoreParseErrors();
  tEnv.connect(new FileSystem().path(file)).withFormat(format).withSchema(new Schema().field('a', DataTypes.INT()).field('v', type)).createTemporaryTable('src');
}

test.each([
  ['an INT', DataTypes.INT(), 'x'],
  ['an INT out of range', DataTypes.INT(), '9'],
  ['a DATE', DataTypes.DATE(), 'y'],
  ['a BOOLEAN', DataTypes.BOOLEAN(), 'z'],
])('%s field of 2 MB that does not parse: the error is short and says the length', async (_what, type, char) => {
  const file = path.join(dir, `huge-${char}-${type.name}.csv`);
  fs.writeFileSync(file, `1,${char.repeat(SIZE)}\n`);
  const tEnv = TableEnvironment.create({ logger: recordingLogger() });
  try {
    declare(tEnv, file, type);
    const error = await tEnv.fromPath('src').execute().collect().then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(CsvFormatError);
    expect((error as Error).message.length).toBeLessThan(400);
    expect((error as Error).message).toContain(`${char.repeat(100)}…" (${SIZE} characters)`);
    expect((error as Error).message).toMatch(new RegExp(`^${file}:1: column 2`));
  } finally {
    await tEnv.close();
  }
});

test('with ignoreParseErrors, the logged line about a 2 MB field is short too', async () => {
  const file = path.join(dir, 'huge-skipped.csv');
  fs.writeFileSync(file, `1,2\n2,${'x'.repeat(SIZE)}\n3,4\n`);
  const logger = recordingLogger();
  const tEnv = TableEnvironment.create({ logger });
  try {
    declare(tEnv, file, DataTypes.INT(), true);
    expect(await tEnv.fromPath('src').execute().collect()).toEqual([{ a: 1, v: 2 }, { a: 3, v: 4 }]);
    const skipped = logger.entries.filter((e) => e.message.startsWith('skipped '));
    expect(skipped).toHaveLength(1);
    expect(skipped[0]!.message.length).toBeLessThan(400);
  } finally {
    await tEnv.close();
  }
});

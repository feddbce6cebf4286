// CSV inputs that do not match their table: CsvFormatError CSV_PARSE naming
// the file and line; the job leaves no worker, private directory or partial output.
import fs from 'node:fs';
import path from 'node:path';
import { CsvFormatError, DataTypes, FileSystem, OldCsv, Schema, TableEnvironment, udf } from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();
const BIGINT = DataTypes.BIGINT();
const GOOD_LINES = 2500; // with bundleSize 100, many batches reach the sink before the bad line

function goodLines(n: number): string {
  return Array.from({ length: n }, (_, i) => `${i},${i * 2}\n`).join('');
}

async function runCsvJob(name: string, content: string, format = new OldCsv().field('a', BIGINT).field('b', BIGINT)): Promise<{ error: unknown; input: string; output: string }> {
  const input = path.join(dir, `${name}.csv`);
  const output = path.join(dir, `${name}-out`, 'sums.csv');
  fs.writeFileSync(input, content);
  const tEnv = TableEnvironment.create({ bundleSize: 100 });
  let error: unknown;
  try {
    tEnv.registerFunction('add', udf('lambda i, j: i + j', [BIGINT, BIGINT], BIGINT));
    tEnv.connect(new FileSystem().path(input)).withFormat(format).createTemporaryTable('src');
    tEnv.connect(new FileSystem().path(output))
      .withSchema(new Schema().field('s', BIGINT))
      .createTemporaryTable('sink');
    tEnv.fromPath('src').select('add(a, b) AS s').insertInto('sink');
    await tEnv.execute(name);
  } catch (e) {
    error = e;
  } finally {
    await tEnv.close();
  }
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
  return { error, input, output };
}

function expectCsvError(result: { error: unknown; input: string; output: string }, line: number, column?: number): CsvFormatError {
  const { error, input, output } = result;
  expect(error).toBeInstanceOf(CsvFormatError);
  const e = error as CsvFormatError;
  expect(e.code).toBe('CSV_PARSE');
  expect(e.file).toBe(input);
  expect(e.line).toBe(line);
  expect(e.column).toBe(column);
  expect(e.message).toContain(`${input}:${line}`);
  // No partial output: neither the sink file nor its temporary part file.
  expect(fs.existsSync(output)).toBe(false);
  if (fs.existsSync(path.dirname(output))) expect(fs.readdirSync(path.dirname(output))).toEqual([]);
  return e;
}

test('a good file first, to show the job itself works', async () => {
  const { error, output } = await runCsvJob('good', goodLines(GOOD_LINES));
  expect(error).toBeUndefined();
  const lines = fs.readFileSync(output, 'utf8').split('\n');
  expect(lines.length).toBe(GOOD_LINES + 1);
  expect(lines[GOOD_LINES - 1]).toBe(String((GOOD_LINES - 1) * 3));
});

test('wrong field count', async () => {
  const e = expectCsvError(await runCsvJob('fields', `${goodLines(GOOD_LINES)}7\n8,9\n`), GOOD_LINES + 1);
  expect(e.message).toContain('expected 2 field(s) (a, b), found 1');
});

test('too many fields', async () => {
  const e = expectCsvError(await runCsvJob('many', `1,2\n3,4,5\n`), 2);
  expect(e.message).toContain('found 3');
});

test('a non-integer in a BIGINT column', async () => {
  const e = expectCsvError(await runCsvJob('nonint', `${goodLines(GOOD_LINES)}12,1.5\n`), GOOD_LINES + 1, 2);
  expect(e.message).toContain('"1.5" is not an integer');
  expect(e.message).toContain('("b")');
});

test('an integer beyond BIGINT', async () => {
  const e = expectCsvError(await runCsvJob('range', `1,2\n9223372036854775808,1\n`), 2, 1);
  expect(e.message).toContain('out of range for BIGINT');
});

test('an unterminated quote', async () => {
  // The parser only notices at the end of the file; the error names the line the quote opens on.
  const e = expectCsvError(await runCsvJob('quote', `${goodLines(GOOD_LINES)}"12,3\n4,5\n6,7\n`), GOOD_LINES + 1);
  expect(e.message).toContain('malformed CSV');
  expect(e.message).toContain('never closed');
});

test('an unterminated quote after the header and blank lines', async () => {
  const format = new OldCsv().field('a', BIGINT).field('b', BIGINT).ignoreFirstLine();
  expectCsvError(await runCsvJob('quote2', 'a,b\n\n"1,2\n3,4', format), 3);
  expectCsvError(await runCsvJob('quote3', '1,"2"\n\n\n5,"6\n'), 4);
});

test('line numbers count the skipped header and blank lines', async () => {
  const format = new OldCsv().field('a', BIGINT).field('b', BIGINT).ignoreFirstLine();
  expectCsvError(await runCsvJob('header', 'a,b\n1,2\n\n3,4\n\n5,x\n', format), 6, 2);
});

test('a missing input file is IO, not CSV_PARSE', async () => {
  const tEnv = TableEnvironment.create();
  try {
    tEnv.connect(new FileSystem().path(path.join(dir, 'absent.csv')))
      .withFormat(new OldCsv().field('a', BIGINT)).createTemporaryTable('src');
    await expect(tEnv.fromPath('src').select('a').execute().collect()).rejects.toMatchObject({ code: 'IO' });
  } finally {
    await tEnv.close();
  }
  expect(pythonWorkers()).toEqual([]);
});

test('a directory given as the input file is IO naming it, and the process lives on', async () => {
  const tEnv = TableEnvironment.create();
  const folder = path.join(dir, 'a-folder.csv');
  fs.mkdirSync(folder);
  try {
    tEnv.connect(new FileSystem().path(folder)).withFormat(new OldCsv().field('a', BIGINT)).createTemporaryTable('src');
    const error = await tEnv.fromPath('src').select('a').execute().collect().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'IO' });
    expect((error as Error).message).toContain(folder);
    expect((error as Error).message).toContain('EISDIR');
  } finally {
    await tEnv.close();
  }
  expect(pythonWorkers()).toEqual([]);
});

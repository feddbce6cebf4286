// Malformed CSV input, beyond test/io/csv-errors.test.ts: ignoreParseErrors
// lets the good rows through and counts (and logs the first of) the bad lines
// per table; without it, TINYINT ranges fail as CSV_PARSE. A configurable NULL
// literal is read and written. The input file is never modified.
import fs from 'node:fs';
import path from 'node:path';
import {
  CsvFormatError, DataTypes, FileSystem, OldCsv, Schema, TableEnvironment, udf, type JobResult, type LogEntry,
} from '../../src/index.js';
import { isolateTempRoot, tempDir } from '../support.js';
import { checkNothingLeftAfterEach, expectNothingLeft, partFiles, sha256, watchingLogger } from './fault-support.js';

const tempRoot = isolateTempRoot();
checkNothingLeftAfterEach(tempRoot);
const dir = tempDir('udf-faults-csv-');
const BIGINT = DataTypes.BIGINT();
const TINYINT = DataTypes.TINYINT();
const STRING = DataTypes.STRING();

const FORMAT = new OldCsv().field('id', BIGINT).field('age', TINYINT).field('name', STRING);
const greet = udf('lambda name, age: "%s/%d" % (name, age + 1)', [STRING, TINYINT], STRING);

const goodLine = (i: number) => `${i},${i % 100},name-${i}`;

/** Bad lines by 1-based line number, and the error each must be reported with (after "file:line: "). */
const BAD: ReadonlyMap<number, { text: string; error: string }> = new Map([
  [5, { text: '5,17', error: 'expected 3 field(s) (id, age, name), found 2' }],
  [100, { text: '100,abc,x', error: 'column 2 ("age"): "abc" is not an integer' }],
  [1000, { text: '1000,128,x', error: 'column 2 ("age"): 128 is out of range for TINYINT' }],
  [1500, { text: '1500,-129,x', error: 'column 2 ("age"): -129 is out of range for TINYINT' }],
  [2000, { text: '2000.5,1,x', error: 'column 1 ("id"): "2000.5" is not an integer' }],
  [2500, { text: '2500,1,x,extra', error: 'expected 3 field(s) (id, age, name), found 4' }],
  ...Array.from({ length: 10 }, (_, k) => [2900 + k, { text: `${2900 + k},${1000 + k},y`, error: `column 2 ("age"): ${1000 + k} is out of range for TINYINT` }] as const),
]);
const LINES = 3000;

function writeInput(name: string, lines: number, bad: ReadonlyMap<number, { text: string }>): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, Array.from({ length: lines }, (_, k) => bad.get(k + 1)?.text ?? goodLine(k + 1)).map((l) => `${l}\n`).join(''));
  return file;
}

function goodIds(lines: number, bad: ReadonlyMap<number, unknown>): number[] {
  return Array.from({ length: lines }, (_, k) => k + 1).filter((line) => !bad.has(line));
}

const skipWarnings = (entries: readonly LogEntry[]) => entries.filter((e) => e.source === 'pyudf' && e.level === 'warn' && e.message.startsWith('skipped ')).map((e) => e.message);

describe('ignoreParseErrors', () => {
  test('the good rows come through; bad lines are counted per table and the first ten logged with file:line', async () => {
    const input = writeInput('people.csv', LINES, BAD);
    const before = sha256(input);
    const outDir = path.join(dir, 'people-out');
    const output = path.join(outDir, 'greetings.csv');
    const logger = watchingLogger();
    const tEnv = TableEnvironment.create({ parallelism: 2, bundleSize: 100, logger });
    let result: JobResult;
    try {
      tEnv.registerFunction('greet', greet);
      tEnv.connect(new FileSystem().path(input)).withFormat(FORMAT.ignoreParseErrors()).createTemporaryTable('people');
      tEnv.connect(new FileSystem().path(output)).withSchema(new Schema().field('id', BIGINT).field('g', STRING)).createTemporaryTable('sink');
      result = await tEnv.fromPath('people').select('id, greet(name, age) AS g').executeInsert('sink');
    } finally {
      await tEnv.close();
    }
    const good = goodIds(LINES, BAD);
    expect(result.skippedInputLines).toEqual({ people: BAD.size });
    expect(result.sinks).toEqual([{ table: 'sink', rows: good.length }]);
    expect(result.udfErrors).toEqual({});
    expect(fs.readFileSync(output, 'utf8')).toBe(good.map((i) => `${i},name-${i}/${(i % 100) + 1}\n`).join(''));
    expect(fs.readdirSync(outDir)).toEqual(['greetings.csv']);
    // The first ten skipped lines, in file order, each naming file:line and what is wrong; then only counting.
    const logged = [...BAD.entries()].slice(0, 10).map(([line, bad]) => `skipped ${input}:${line}: ${bad.error}`);
    logged[9] += ' (further skipped lines are only counted)';
    expect(skipWarnings(logger.entries)).toEqual(logged);
    expect(sha256(input)).toBe(before);
    expectNothingLeft(tempRoot);
  });

  test('counts per table in one job of two inserts (tEnv.execute), and in TableResult after collect()', async () => {
    const left = writeInput('left.csv', 200, new Map([[3, { text: '3,x,y' }], [150, { text: '150' }]]));
    const right = writeInput('right.csv', 300, new Map([[1, { text: '1,300,a' }], [2, { text: '2,1.5,b' }], [299, { text: '299,1' }]]));
    const clean = writeInput('clean.csv', 50, new Map());
    const logger = watchingLogger();
    const tEnv = TableEnvironment.create({ bundleSize: 64, logger });
    try {
      tEnv.registerFunction('greet', greet);
      for (const [name, file] of [['left', left], ['right', right], ['clean', clean]] as const) {
        tEnv.connect(new FileSystem().path(file)).withFormat(FORMAT.ignoreParseErrors()).createTemporaryTable(name);
      }
      for (const name of ['outLeft', 'outRight', 'outClean']) {
        tEnv.connect(new FileSystem().path(path.join(dir, 'multi', `${name}.csv`)))
          .withSchema(new Schema().field('id', BIGINT).field('g', STRING)).createTemporaryTable(name);
      }
      tEnv.fromPath('left').select('id, greet(name, age) AS g').insertInto('outLeft');
      tEnv.fromPath('right').select('id, greet(name, age) AS g').insertInto('outRight');
      tEnv.fromPath('clean').select('id, greet(name, age) AS g').insertInto('outClean');
      const result = await tEnv.execute('three tables');
      // A table that skipped nothing is not listed.
      expect(result.skippedInputLines).toEqual({ left: 2, right: 3 });
      expect(result.sinks).toEqual([{ table: 'outLeft', rows: 198 }, { table: 'outRight', rows: 297 }, { table: 'outClean', rows: 50 }]);
      expect(skipWarnings(logger.entries)).toEqual([
        `skipped ${left}:3: column 2 ("age"): "x" is not an integer`,
        `skipped ${left}:150: expected 3 field(s) (id, age, name), found 1`,
        `skipped ${right}:1: column 2 ("age"): 300 is out of range for TINYINT`,
        `skipped ${right}:2: column 2 ("age"): "1.5" is not an integer`,
        `skipped ${right}:299: expected 3 field(s) (id, age, name), found 2`,
      ]);

      const collected = tEnv.fromPath('right').where('age > 90').select('id').execute();
      expect(collected.skippedInputLines).toBeUndefined();
      expect((await collected.collect()).map((r) => Number(r.id))).toEqual(goodIds(300, new Map([[1, 0], [2, 0], [299, 0]])).filter((i) => i % 100 > 90));
      expect(collected.skippedInputLines).toEqual({ right: 3 });
      expect(collected.udfErrors).toEqual({});
    } finally {
      await tEnv.close();
    }
    expectNothingLeft(tempRoot);
  });

  test('with a header line: the header is not a bad line, and line numbers count it', async () => {
    const file = path.join(dir, 'header.csv');
    fs.writeFileSync(file, 'id,age,name\n1,2,a\n2,two,b\n3,4,c\n');
    const logger = watchingLogger();
    const tEnv = TableEnvironment.create({ logger });
    try {
      tEnv.connect(new FileSystem().path(file)).withFormat(FORMAT.ignoreFirstLine().ignoreParseErrors()).createTemporaryTable('h');
      const result = tEnv.fromPath('h').select('id, age').execute();
      expect(await result.collect()).toEqual([{ id: 1n, age: 2 }, { id: 3n, age: 4 }]);
      expect(result.skippedInputLines).toEqual({ h: 1 });
    } finally {
      await tEnv.close();
    }
    expect(skipWarnings(logger.entries)).toEqual([`skipped ${file}:3: column 2 ("age"): "two" is not an integer`]);
  });
});

describe('without ignoreParseErrors', () => {
  test.each([
    ['128', '128 is out of range for TINYINT'],
    ['-129', '-129 is out of range for TINYINT'],
    ['1e2', '"1e2" is not an integer'],
  ])('TINYINT %s after 999 good lines: CSV_PARSE with file, line and column; no sink file; the input is byte-identical', async (value, problem) => {
    const input = writeInput(`tiny-${value}.csv`, 1500, new Map([[1000, { text: `1000,${value},x` }]]));
    const before = sha256(input);
    const outDir = path.join(dir, `tiny-out-${value}`);
    const output = path.join(outDir, 'out.csv');
    const tEnv = TableEnvironment.create({ bundleSize: 100, logger: watchingLogger() });
    let error: unknown;
    try {
      tEnv.registerFunction('greet', greet);
      tEnv.connect(new FileSystem().path(input)).withFormat(FORMAT).createTemporaryTable('people');
      tEnv.connect(new FileSystem().path(output)).withSchema(new Schema().field('id', BIGINT).field('g', STRING)).createTemporaryTable('sink');
      await tEnv.fromPath('people').select('id, greet(name, age) AS g').executeInsert('sink');
    } catch (e) {
      error = e;
    } finally {
      await tEnv.close();
    }
    expect(error).toBeInstanceOf(CsvFormatError);
    expect(error).toMatchObject({ code: 'CSV_PARSE', file: input, line: 1000, column: 2, message: `${input}:1000: column 2 ("age"): ${problem}` });
    expect(fs.existsSync(output)).toBe(false);
    expect(partFiles(outDir)).toEqual([]);
    expect(sha256(input)).toBe(before);
    expectNothingLeft(tempRoot);
  });

  test('a job failing in its UDF leaves its CSV input byte-identical', async () => {
    const input = writeInput('udf-fails.csv', 2000, new Map());
    const before = sha256(input);
    const stat = fs.statSync(input);
    const tEnv = TableEnvironment.create({ bundleSize: 100, logger: watchingLogger() });
    try {
      tEnv.registerFunction('boom', udf('lambda i: 1 // (i - 1500)', [BIGINT], BIGINT));
      tEnv.connect(new FileSystem().path(input)).withFormat(FORMAT).createTemporaryTable('people');
      await expect(tEnv.fromPath('people').select('boom(id) AS b').execute().collect()).rejects.toMatchObject({ code: 'UDF_FAILED', row: [1500n] });
    } finally {
      await tEnv.close();
    }
    expect(sha256(input)).toBe(before);
    expect(fs.statSync(input).mtimeMs).toBe(stat.mtimeMs);
    expectNothingLeft(tempRoot);
  });
});

test("a configurable nullLiteral ('\\N') is read as NULL and written for NULL; the empty field stays an empty string", async () => {
  const input = path.join(dir, 'nulls.csv');
  fs.writeFileSync(input, '1,\\N,alice\n2,7,\\N\n3,8,\n\\N,9,carol\n');
  const format = new OldCsv().field('id', BIGINT).field('age', TINYINT).field('name', STRING).nullLiteral('\\N');
  const output = path.join(dir, 'nulls-out', 'out.csv');
  const tEnv = TableEnvironment.create({ logger: watchingLogger() });
  try {
    // What Python sees, spelled out: None stays None, so NULL goes out again.
    tEnv.registerFunction('seen', udf('lambda v: None if v is None else "<%s>" % v', [STRING], STRING));
    tEnv.registerFunction('older', udf('lambda a: None if a is None else a + 1', [TINYINT], TINYINT));
    tEnv.connect(new FileSystem().path(input)).withFormat(format).createTemporaryTable('src');
    tEnv.connect(new FileSystem().path(output))
      .withFormat(new OldCsv().field('id', BIGINT).field('age', TINYINT).field('name', STRING).field('seen', STRING).nullLiteral('\\N'))
      .createTemporaryTable('sink');
    expect(await tEnv.fromPath('src').select('id, older(age) AS age, name, seen(name) AS seen').execute().collect()).toEqual([
      { id: 1n, age: null, name: 'alice', seen: '<alice>' },
      { id: 2n, age: 8, name: null, seen: null },
      { id: 3n, age: 9, name: '', seen: '<>' },
      { id: null, age: 10, name: 'carol', seen: '<carol>' },
    ]);
    await tEnv.fromPath('src').select('id, older(age) AS age, name, seen(name) AS seen').executeInsert('sink');
    expect(fs.readFileSync(output, 'utf8')).toBe('1,\\N,alice,<alice>\n2,8,\\N,\\N\n3,9,,<>\n\\N,10,carol,<carol>\n');

    // And read back with the same format: the same values.
    tEnv.connect(new FileSystem().path(output))
      .withFormat(new OldCsv().field('id', BIGINT).field('age', TINYINT).field('name', STRING).field('seen', STRING).nullLiteral('\\N'))
      .createTemporaryTable('back');
    expect(await tEnv.fromPath('back').select('id, age, name, seen').execute().collect()).toEqual([
      { id: 1n, age: null, name: 'alice', seen: '<alice>' },
      { id: 2n, age: 8, name: null, seen: null },
      { id: 3n, age: 9, name: '', seen: '<>' },
      { id: null, age: 10, name: 'carol', seen: '<carol>' },
    ]);
  } finally {
    await tEnv.close();
  }
  expectNothingLeft(tempRoot);
});

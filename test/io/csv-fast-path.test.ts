// CSV files read by DuckDB's reader give exactly what csv-parse gives: the
// same files read both ways, value for value; a file DuckDB's reader would
// read otherwise is left to csv-parse, which keeps its errors and counts.
import fs from 'node:fs';
import path from 'node:path';
import { CsvFormatError, DataTypes, FileSystem, OldCsv, TableEnvironment, type DataType } from '../../src/index.js';
import { readCsv } from '../../src/io/csv-source.js';
import { readCsvInEngine } from '../../src/engine/csv-tables.js';
import { DuckdbEngine } from '../../src/engine/duckdb-engine.js';
import { fileTableDefinition, type CsvOptions, type CsvTableDefinition } from '../../src/table/descriptors.js';
import { valueAt, type Batch } from '../../src/batches/vectors.js';
import type { SqlValue } from '../../src/types/values.js';
import { tempDir } from '../support.js';

const dir = tempDir();
const engine = new DuckdbEngine();
afterAll(() => engine.close());

let files = 0;
function csvTable(content: string | Buffer, columns: readonly (readonly [string, DataType])[], options: Partial<CsvOptions> = {}): CsvTableDefinition {
  const file = path.join(dir, `t${files++}.csv`);
  fs.writeFileSync(file, content);
  return fileTableDefinition(file, 'csv', options, columns.map(([name, type]) => ({ name, type })), 'test') as CsvTableDefinition;
}

function rowsOf(batches: Batch[]): SqlValue[][] {
  return batches.flatMap((b) => Array.from({ length: b.numRows }, (_, i) => b.columns.map((c) => valueAt(c, i))));
}

interface Read { rows?: SqlValue[][]; error?: string; skipped: number; blank: number }

async function byCsvParse(table: CsvTableDefinition): Promise<Read> {
  const batches: Batch[] = [];
  let skipped = 0;
  let blank = 0;
  try {
    for await (const b of readCsv(table, { batchSize: 1000, batchTimeMs: 1000 }, () => skipped++, (n) => { blank += n; })) batches.push(b);
    return { rows: rowsOf(batches), skipped, blank };
  } catch (error) {
    return { error: (error as Error).message, skipped, blank };
  }
}

/** The rows DuckDB's reader gives, or null when it leaves the file to csv-parse. */
async function byEngine(table: CsvTableDefinition): Promise<SqlValue[][] | null> {
  const reader = await readCsvInEngine(engine, table, 1000);
  if (reader === null) return null;
  const batches: Batch[] = [];
  for await (const b of reader) batches.push(b);
  return rowsOf(batches);
}

/** Reads a file both ways; where the engine reads it, the rows must be csv-parse's, and csv-parse must have had nothing to report. */
async function compare(table: CsvTableDefinition): Promise<{ engine: SqlValue[][] | null; csvParse: Read }> {
  const csvParse = await byCsvParse(table);
  const rows = await byEngine(table);
  if (rows !== null) {
    expect(csvParse).toMatchObject({ skipped: 0, blank: 0 });
    expect(csvParse.error).toBeUndefined();
    // toEqual tells -0 from 0 and takes NaN as NaN.
    expect(rows).toEqual(csvParse.rows);
  }
  return { engine: rows, csvParse };
}

const NUMBERS = ['0', '-0', '+5', '007', ' 42 ', '\u00a042\u3000', '\t-3\v', '\ufeff8', '127', '128', '-128', '-129', '32767', '32768',
  '2147483647', '2147483648', '-2147483648', '9223372036854775807', '-9223372036854775808', '9223372036854775808',
  '00000000000000000000000000001', '+-1', '1_000', '1e3', '1.5', '1.', '.5', '5.e3', '0x10', '0b11', '0o7', '', 'NULL', 'abc', '- 1',
  'NaN', ' NaN ', '+NaN', 'nan', 'Infinity', '-Infinity', '+Infinity', 'inf', '1e400', '-1e-400', '1e-400', '1e', '3.4028235677973366e38',
  '3.4028236e38', '1e39', '0.1', '3.14159265358979323846264338327950288419716939937510582097494459', '1.00000005960464477550', '1_0', '٣'];
const BOOLEANS = ['true', 'false', 'TRUE', 'False', ' tRuE ', '\u3000false\u00a0', 'yes', '1', '0', 'falſe', 'truee', '', 'NULL'];
const STRINGS = ['plain', ' padded ', 'héllo', '日本語', '😀 emoji', '', 'NULL', '\\N', 'x'.repeat(100_000), 'a\u0000b', '\u00a0'];

const grid: [string, DataType, string[]][] = [
  ['BIGINT', DataTypes.BIGINT(), NUMBERS],
  ['INT', DataTypes.INT(), NUMBERS],
  ['SMALLINT', DataTypes.SMALLINT(), NUMBERS],
  ['TINYINT', DataTypes.TINYINT(), NUMBERS],
  ['BIGINT NOT NULL', DataTypes.BIGINT(false), NUMBERS],
  ['DOUBLE', DataTypes.DOUBLE(), NUMBERS],
  ['FLOAT', DataTypes.FLOAT(), NUMBERS],
  ['BOOLEAN', DataTypes.BOOLEAN(), BOOLEANS],
  ['STRING', DataTypes.STRING(), STRINGS],
  ['STRING NOT NULL', DataTypes.STRING(false), STRINGS],
];

describe.each(grid)('a %s field read by both readers gives the same value', (_, type, values) => {
  test.each([['""', ''], ['"NULL"', 'NULL'], ['"\\\\N"', '\\N']])('null literal %s', async (__, nullLiteral) => {
    const leftToCsvParse: string[] = [];
    for (const value of values) {
      const { engine: rows, csvParse } = await compare(csvTable(`id,${value}\nnext,${value}\n`, [['id', DataTypes.STRING()], ['v', type]], { nullLiteral }));
      if (rows === null && csvParse.error === undefined) leftToCsvParse.push(value);
    }
    // Every value csv-parse reads is read by DuckDB too, but for Number()'s hex, octal and binary
    // forms and a FLOAT past its range, which Math.fround makes infinite and DuckDB refuses.
    const radix = ['0x10', '0b11', '0o7'];
    expect(leftToCsvParse).toEqual(type.name === 'DOUBLE' ? radix : type.name === 'FLOAT' ? [...radix, '3.4028235677973366e38', '3.4028236e38', '1e39'] : []);
  });
});

test('the common values are read by DuckDB, not left to csv-parse', async () => {
  const columns = [['a', DataTypes.BIGINT()], ['b', DataTypes.DOUBLE()], ['c', DataTypes.BOOLEAN()], ['d', DataTypes.STRING()], ['e', DataTypes.INT()], ['f', DataTypes.FLOAT()]] as const;
  const content = Array.from({ length: 5000 }, (_, i) => `${i - 2500},${i / 7},${i % 2 === 0},text ${i},${i % 3 === 0 ? '' : i},${-i / 3}\n`).join('');
  const { engine: rows, csvParse } = await compare(csvTable(content, columns));
  expect(rows).not.toBeNull();
  expect(csvParse.rows).toHaveLength(5000);
});

const AB = [['a', DataTypes.BIGINT()], ['b', DataTypes.BIGINT()]] as const;
const ABS = [['a', DataTypes.STRING()], ['b', DataTypes.STRING()]] as const;
const A = [['a', DataTypes.BIGINT()]] as const;

test.each([
  ['a header line', '"a","b"\n1,2\n', ABS, { ignoreFirstLine: true }, false],
  ['a plain header line', 'a,b\n1,2\n3,4\n', AB, { ignoreFirstLine: true }, true],
  ['only a header line', 'a,b', AB, { ignoreFirstLine: true }, true],
  ['no line break at the end', '1,2\n3,4', AB, {}, true],
  ['an empty file', '', AB, {}, true],
  ['a custom delimiter', '1;2\n3;4\n', AB, { fieldDelimiter: ';' }, true],
  ['a tab delimiter', 'x y\t2\n', ABS, { fieldDelimiter: '\t' }, true],
  ['the default delimiter inside fields of another', 'a,b|c,d\n', ABS, { fieldDelimiter: '|' }, true],
  ['a custom quote character', "'a|b',c\n", ABS, { quoteCharacter: "'" }, false],
  ['the other quote character in a field', 'say "hi",x\n', ABS, { quoteCharacter: "'" }, true],
  ['quoted fields', '"a,b","c""d"\n', ABS, {}, false],
  ['a quoted null literal', '"",x\n,y\n', ABS, {}, false],
  ['a quote inside an unquoted field', 'a"b,c\n', ABS, {}, false],
  ['a space before a quoted field', 'a, "b"\n', ABS, {}, false],
  ['an unterminated quote', '1,2\n3,"4\n5,6\n', AB, {}, false],
  ['CRLF line breaks', '1,2\r\n3,4\r\n', AB, {}, false],
  ['CR line breaks', '1,2\r3,4\r', AB, {}, false],
  ['a trailing delimiter', '1,2,\n', AB, {}, false],
  ['a trailing empty field', '1,\n', AB, {}, true],
  ['two trailing delimiters', '1,2,,\n', AB, {}, false],
  ['a field too many', '1,2\n3,4,5\n', AB, {}, false],
  ['a field too few', '1,2\n3\n', AB, {}, false],
  ['a blank line', '1,2\n\n3,4\n', AB, {}, false],
  ['a blank line at the end', '1,2\n\n', AB, {}, false],
  ['a blank first line', '\n1,2\n', AB, {}, false],
  ['a line of spaces', '1,2\n \n', AB, {}, false],
  ['a byte order mark', '\ufeffa,b\n', ABS, {}, false],
  ['invalid UTF-8', Buffer.from([0x61, 0xff, 0x2c, 0x62, 0x0a]), ABS, {}, false],
  ['a line longer than DuckDB reads', `${'x'.repeat(3_000_000)},y\n`, ABS, {}, false],
  ['a one-column table with an empty line', '1\n\n2\n', A, {}, false],
  ['a one-column table', '1\n2\n', A, {}, true],
  ['a one-column table of spaces', ' \n  \n', [['a', DataTypes.STRING()]] as const, {}, true],
  ['a value out of range', '1,2\n3,99999999999999999999\n', AB, {}, false],
] as [string, string | Buffer, readonly (readonly [string, DataType])[], Partial<CsvOptions>, boolean][])('%s: read by DuckDB %s, as csv-parse reads it', async (_, content, columns, options, byDuckdb) => {
  const { engine: rows } = await compare(csvTable(content, columns, options));
  expect(rows !== null).toBe(byDuckdb);
});

test('columns whose values only csv-parse fits (CHAR, DECIMAL, DATE) leave the file to it', async () => {
  for (const type of [DataTypes.CHAR(3), DataTypes.VARCHAR(2), DataTypes.DECIMAL(5, 2), DataTypes.DATE(), DataTypes.BYTES()]) {
    expect(await byEngine(csvTable('ab,x\n', [['a', type], ['b', DataTypes.STRING()]]))).toBeNull();
  }
});

describe('a large file (read by the engine when it reads it as csv-parse does) in a job', () => {
  const BIGINT = DataTypes.BIGINT();
  // Over the size from which the engine is opened for a CSV file (1 MiB), in few lines: b has leading zeros.
  const LINES = 42_000;
  const good = Array.from({ length: LINES }, (_, i) => `${i},${String(i * 2).padStart(20, '0')}\n`).join('');

  async function run(content: string, ignoreParseErrors: boolean) {
    const file = path.join(dir, `job${files++}.csv`);
    fs.writeFileSync(file, content);
    expect(fs.statSync(file).size).toBeGreaterThan(1 << 20);
    const tEnv = TableEnvironment.create({ bundleSize: 1000 });
    try {
      tEnv.connect(new FileSystem().path(file))
        .withFormat(new OldCsv().field('a', BIGINT).field('b', BIGINT).ignoreParseErrors(ignoreParseErrors)).createTemporaryTable('src');
      const result = tEnv.fromPath('src').execute();
      const rows = await result.collect();
      const counted = await tEnv.fromPath('src').execute().count();
      const summed = await tEnv.sqlQuery('SELECT count(*) AS n, sum(b) AS s FROM src').execute().collect();
      return { rows: rows.map((r) => [r.a, r.b]), skipped: result.skippedInputLines, counted, summed: summed[0] };
    } finally {
      await tEnv.close();
    }
  }

  test('a good file: every row, in order, collected, counted and summed', async () => {
    const result = await run(good, false);
    expect(result.rows).toHaveLength(LINES);
    expect(result.rows[LINES - 1]).toEqual([BigInt(LINES - 1), BigInt((LINES - 1) * 2)]);
    expect(result.rows.every((r, i) => r[0] === BigInt(i))).toBe(true);
    expect(result.counted).toBe(LINES);
    expect(result.summed).toEqual({ n: BigInt(LINES), s: BigInt(LINES * (LINES - 1)) });
  });

  test('a malformed line near the end fails the job naming its line, as csv-parse does', async () => {
    const error = await run(good + '1,oops\n' + '5,6\n', false).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CsvFormatError);
    expect((error as Error).message).toContain(`:${LINES + 1}: column 2 ("b"): "oops" is not an integer`);
  });

  test('with ignoreParseErrors a malformed line is skipped and counted, and no other row is lost or read twice', async () => {
    const result = await run(good + '1,oops\n' + '5,6,7\n' + `${LINES},${LINES * 2}\n`, true);
    expect(result.rows).toHaveLength(LINES + 1);
    expect(result.rows.every((r, i) => r[0] === BigInt(i) && r[1] === BigInt(2 * i))).toBe(true);
    expect(result.skipped).toEqual({ src: 2 });
    expect(result.counted).toBe(LINES + 1);
    expect(result.summed).toEqual({ n: BigInt(LINES + 1), s: BigInt(LINES * (LINES + 1)) });
  });
});

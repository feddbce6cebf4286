// What pyudf's CSV sink writes, its CSV source reads back identically: NULL
// and '' told apart, the empty line of a one-column table a row, for every
// scalar type and null literal. Blank lines of wider tables are counted.
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, FileSystem, OldCsv, Schema, TableEnvironment, type DataType } from '../../src/index.js';
import { isolateTempRoot, recordingLogger, tempDir } from '../support.js';
import { expectNothingLeft } from './fault-support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir('csv-round-trip-');
const D = DataTypes;
afterEach(() => expectNothingLeft(tempRoot));

function declare(tEnv: TableEnvironment, name: string, file: string, columns: Record<string, DataType>, nullLiteral?: string): void {
  let format = new OldCsv();
  let schema = new Schema();
  for (const [column, type] of Object.entries(columns)) {
    format = format.field(column, type);
    schema = schema.field(column, type);
  }
  if (nullLiteral !== undefined) format = format.nullLiteral(nullLiteral);
  tEnv.connect(new FileSystem().path(file)).withFormat(format).withSchema(schema).createTemporaryTable(name);
}

/** Writes `rows` with the CSV sink and reads the file back with the CSV source: the rows read, the rows meant, the text. */
async function roundTrip(columns: Record<string, DataType>, rows: unknown[][], nullLiteral?: string) {
  const file = path.join(fs.mkdtempSync(path.join(dir, 'rt-')), 'table.csv');
  const tEnv = TableEnvironment.create({ logger: recordingLogger() });
  try {
    declare(tEnv, 'sink', file, columns, nullLiteral);
    const source = tEnv.fromElements(rows, columns);
    const result = await source.executeInsert('sink');
    expect(result.sinks).toEqual([{ table: 'sink', rows: rows.length }]);
    declare(tEnv, 'again', file, columns, nullLiteral);
    return { read: await tEnv.fromPath('again').execute().collect(), meant: await source.execute().collect(), text: fs.readFileSync(file, 'utf8') };
  } finally {
    await tEnv.close();
  }
}

test('a one-column STRING table: a, NULL, c, \'\', d is written distinguishably and reads back as 5 rows', async () => {
  const { read, meant, text } = await roundTrip({ s: D.STRING() }, [['a'], [null], ['c'], [''], ['d']]);
  expect(text).toBe('a\n\nc\n""\nd\n');
  expect(read).toEqual([{ s: 'a' }, { s: null }, { s: 'c' }, { s: '' }, { s: 'd' }]);
  expect(read).toEqual(meant);
});

test('a NULL last row (the file ends in an empty line) and a table of NULLs only', async () => {
  const last = await roundTrip({ s: D.STRING() }, [['a'], [null]]);
  expect(last.read).toEqual(last.meant);
  const nulls = await roundTrip({ n: D.BIGINT() }, [[null], [null], [null]]);
  expect(nulls.text).toBe('\n\n\n');
  expect(nulls.read).toEqual(nulls.meant);
});

test('with the null literal "NULL", the string "NULL" is quoted and stays a string', async () => {
  const { read, meant, text } = await roundTrip({ s: D.STRING() }, [['NULL'], [null], [''], ['x']], 'NULL');
  expect(text).toBe('"NULL"\nNULL\n\nx\n');
  expect(read).toEqual(meant);
  expect(read.map((r) => (r as { s: unknown }).s)).toEqual(['NULL', null, '', 'x']);
});

const SCALARS: [DataType, unknown[]][] = [
  [D.BOOLEAN(), [true, null, false]],
  [D.TINYINT(), [-128, null, 127, 0]],
  [D.SMALLINT(), [-32768, null, 32767]],
  [D.INT(), [-2147483648, null, 2147483647]],
  [D.BIGINT(), [-9223372036854775808n, null, 9223372036854775807n, 0n]],
  [D.FLOAT(), [1.5, null, -0.25]],
  [D.DOUBLE(), [Math.PI, null, -1e300, 0]],
  [D.STRING(), ['', null, ' ', 'x,y', 'a "q"', 'line\nbreak', '""']],
  [D.BYTES(), [new Uint8Array([0, 255, 10]), null, new Uint8Array([])]],
  [D.DECIMAL(10, 3), ['1.500', null, '-9999999.999']],
  [D.DATE(), ['2024-02-29', null, '0001-01-01']],
  [D.TIME(3), ['23:59:59.999', null, '00:00:00.000']],
  [D.TIMESTAMP(6), ['1969-12-31T23:59:59.999999', null]],
  [D.TIMESTAMP_LTZ(3), ['1970-01-01T00:00:00.000Z', null]],
];

describe.each(['', 'NULL'])('null literal "%s"', (nullLiteral) => {
  test.each(SCALARS.map(([type, values]) => [type.sqlText, type, values] as const))('%s round-trips in a one-column table and beside another column', async (_name, type, values) => {
    const alone = await roundTrip({ v: type }, values.map((v) => [v]), nullLiteral);
    expect(alone.read).toEqual(alone.meant);
    expect(alone.read).toHaveLength(values.length);
    const wide = await roundTrip({ i: D.INT(), v: type }, values.map((v, i) => [i, v]), nullLiteral);
    expect(wide.read).toEqual(wide.meant);
  });
});

test('blank lines of a table of several columns are skipped and counted', async () => {
  const file = path.join(dir, 'blanks.csv');
  fs.writeFileSync(file, '1,a\n\n2,b\n\n\n3,c\n\n');
  const logger = recordingLogger();
  const tEnv = TableEnvironment.create({ logger });
  try {
    declare(tEnv, 'src', file, { i: D.INT(), s: D.STRING() });
    expect(await tEnv.fromPath('src').execute().collect()).toHaveLength(3);
    expect(logger.entries.map((e) => e.message)).toContain(`${file}: skipped 4 blank line(s) of table src`);
  } finally {
    await tEnv.close();
  }
});

// DECIMAL, DATE, TIME, TIMESTAMP and TIMESTAMP_LTZ in CSV sources and sinks,
// through a Python UDF: read exactly, written as the same text, read back
// equal; fields that do not parse name file, line and column; ARRAY, MAP and
// ROW columns are refused when the table is declared; the sink check knows the types.
import fs from 'node:fs';
import path from 'node:path';
import { CsvFormatError, DataTypes, FileSystem, OldCsv, PyUdfError, Schema, TableEnvironment, udf, type DataType } from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();
const D = DataTypes;

const COLUMNS: Record<string, DataType> = {
  d: D.DECIMAL(38, 10), day: D.DATE(), t: D.TIME(6), ts: D.TIMESTAMP(6), ltz: D.TIMESTAMP_LTZ(3),
};

function table(tEnv: TableEnvironment, name: string, file: string, columns: Record<string, DataType>) {
  let format = new OldCsv();
  let schema = new Schema();
  for (const [column, type] of Object.entries(columns)) {
    format = format.field(column, type);
    schema = schema.field(column, type);
  }
  tEnv.connect(new FileSystem().path(file)).withFormat(format).withSchema(schema).createTemporaryTable(name);
}

async function close(tEnv: TableEnvironment): Promise<void> {
  await tEnv.close();
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
}

test('the scalar types round-trip through a CSV source, a Python UDF and a CSV sink', async () => {
  const input = path.join(dir, 'in.csv');
  const output = path.join(dir, 'out.csv');
  fs.writeFileSync(input, [
    `-${'9'.repeat(28)}.${'9'.repeat(10)},0001-01-01,00:00:00,1969-12-31 23:59:59.999999,2024-02-29T12:00:00.5+01:00`,
    '12.5,1969-07-20, 23:59:59.999999 ,9999-12-31T23:59:59.999999,1970-01-01T00:00:00Z',
    ',,,,',
    '',
  ].join('\n'));
  const tEnv = TableEnvironment.create();
  try {
    table(tEnv, 'src', input, COLUMNS);
    table(tEnv, 'sink', output, COLUMNS);
    for (const [column, type] of Object.entries(COLUMNS)) tEnv.registerFunction(`id_${column}`, udf('lambda x: x', [type], type));
    tEnv.fromPath('src').select(Object.keys(COLUMNS).map((c) => `id_${c}(${c}) AS ${c}`).join(', ')).insertInto('sink');
    const result = await tEnv.execute('exact types');
    expect(result.sinks).toEqual([{ table: 'sink', rows: 3 }]);
    const written = fs.readFileSync(output, 'utf8');
    expect(written).toBe([
      `-${'9'.repeat(28)}.${'9'.repeat(10)},0001-01-01,00:00:00.000000,1969-12-31T23:59:59.999999,2024-02-29T11:00:00.500Z`,
      '12.5000000000,1969-07-20,23:59:59.999999,9999-12-31T23:59:59.999999,1970-01-01T00:00:00.000Z',
      ',,,,',
      '',
    ].join('\n'));
    // What was written reads back as the same values.
    table(tEnv, 'again', output, COLUMNS);
    const original = await tEnv.fromPath('src').execute().collect();
    expect(await tEnv.fromPath('again').execute().collect()).toEqual(original);
    expect(original[1]).toEqual({
      d: '12.5000000000', day: '1969-07-20', t: '23:59:59.999999', ts: '9999-12-31T23:59:59.999999', ltz: '1970-01-01T00:00:00.000Z',
    });
  } finally {
    await close(tEnv);
  }
});

test.each([
  ['d', '1.23456789012', '"1.23456789012" has more than 10 digit(s) after the point, as DECIMAL(38, 10) holds'],
  ['day', '2023-02-29', '"2023-02-29" is not a date from 0001-01-01 to 9999-12-31 ("YYYY-MM-DD")'],
  ['t', '12:60:00', '"12:60:00" is not a time of day from 00:00:00 to 23:59:59.999999'],
  ['ts', '2024-01-01T00:00:00+02:00', 'has a time zone, but TIMESTAMP holds wall-clock times without one'],
  ['ltz', '2024-01-01 00:00:00.0001Z', 'has more than 3 digit(s) of a second, as TIMESTAMP_LTZ(3)'],
])('a %s field that does not parse names file, line and column', async (column, bad, message) => {
  const input = path.join(dir, `bad-${column}.csv`);
  const good = ['1', '2024-01-01', '00:00:00', '2024-01-01T00:00:00', '2024-01-01T00:00:00Z'];
  const index = Object.keys(COLUMNS).indexOf(column);
  fs.writeFileSync(input, `${good.join(',')}\n${good.map((g, i) => (i === index ? bad : g)).join(',')}\n`);
  const tEnv = TableEnvironment.create();
  try {
    table(tEnv, 'src', input, COLUMNS);
    const error = await tEnv.fromPath('src').execute().collect().then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(CsvFormatError);
    expect(error).toMatchObject({ code: 'CSV_PARSE', file: input, line: 2, column: index + 1 });
    expect((error as Error).message.startsWith(`${input}:2: column ${index + 1} ("${column}"): "`)).toBe(true);
    expect((error as Error).message).toContain(message);
  } finally {
    await close(tEnv);
  }
});

test('ARRAY, MAP and ROW columns are refused when a CSV table is declared', async () => {
  const tEnv = TableEnvironment.create();
  try {
    for (const type of [D.ARRAY(D.INT()), D.MAP(D.STRING(), D.INT()), D.ROW([D.FIELD('a', D.INT())])]) {
      let error: unknown;
      try {
        table(tEnv, 'bad', path.join(dir, 'never.csv'), { id: D.INT(), nested: type });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(PyUdfError);
      expect((error as PyUdfError).code).toBe('INVALID_ARGUMENT');
      expect((error as Error).message).toBe(`createTemporaryTable("bad"): column "nested" is ${type}, `
        + 'but CSV tables hold scalar types only (BOOLEAN to BYTES, DECIMAL, DATE, TIME, TIMESTAMP, TIMESTAMP_LTZ)');
    }
  } finally {
    await close(tEnv);
  }
});

test('the sink schema check: a wider DECIMAL or TIMESTAMP fits, a narrower one or another type does not', async () => {
  const tEnv = TableEnvironment.create();
  try {
    const source = tEnv.fromElements([['1.25', '2024-01-01T00:00:00.123', 7]], { d: D.DECIMAL(5, 2), ts: D.TIMESTAMP(3), n: D.INT() });
    const wide = path.join(dir, 'wide.csv');
    table(tEnv, 'wide', wide, { d: D.DECIMAL(10, 4), ts: D.TIMESTAMP(6), n: D.DECIMAL(12, 2) });
    await source.executeInsert('wide');
    expect(fs.readFileSync(wide, 'utf8')).toBe('1.2500,2024-01-01T00:00:00.123000,7.00\n');

    table(tEnv, 'narrow', path.join(dir, 'narrow.csv'), { d: D.DECIMAL(4, 2), ts: D.TIMESTAMP(6), n: D.INT() });
    const narrow = await source.executeInsert('narrow').then(() => null, (e: unknown) => e);
    expect((narrow as PyUdfError).code).toBe('SINK_SCHEMA_MISMATCH');
    expect((narrow as Error).message).toBe('the query\'s columns (d DECIMAL(5, 2), ts TIMESTAMP(3), n INT) do not fit sink "narrow" '
      + '(d DECIMAL(4, 2), ts TIMESTAMP(6), n INT)');

    table(tEnv, 'dates', path.join(dir, 'dates.csv'), { d: D.DECIMAL(5, 2), ts: D.DATE(), n: D.INT() });
    const dates = await source.executeInsert('dates').then(() => null, (e: unknown) => e);
    expect((dates as PyUdfError).code).toBe('SINK_SCHEMA_MISMATCH');
  } finally {
    await close(tEnv);
  }
});

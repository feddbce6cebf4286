import fs from 'node:fs';
import path from 'node:path';
import * as arrow from 'apache-arrow';
import { DataTypes, FileSystem, Json, Parquet, Schema, TableEnvironment, udf } from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();

const schema = () => new Schema().field('id', DataTypes.BIGINT()).field('name', DataTypes.STRING()).field('price', DataTypes.DECIMAL(38, 4))
  .field('day', DataTypes.DATE()).field('at', DataTypes.TIMESTAMP(6));
const rows = [
  [1n, 'ann', '12.3400', '2024-02-29', '2024-02-29T13:45:30.250001'],
  [2n, null, '-99999999999999999999999999999999.9999', '1970-01-01', '1999-12-31T23:59:59.000000'],
];

test.each([['parquet', () => new Parquet()], ['json', () => new Json()]] as const)('%s: a sink and a source round trip exact types, through a Python function', async (name, format) => {
  const file = path.join(dir, `t.${name}`);
  const tEnv = TableEnvironment.create({ parallelism: 1 });
  try {
    tEnv.registerFunction('shout', udf('lambda s: None if s is None else s.upper()', [DataTypes.STRING()], DataTypes.STRING()));
    tEnv.connect(new FileSystem().path(file)).withFormat(format()).withSchema(schema()).createTemporaryTable('t');
    const inserted = await tEnv.fromElements(rows, schema()).executeInsert('t');
    expect(inserted.sinks).toEqual([{ table: 't', rows: 2 }]);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.part'))).toEqual([]);
    const back = await tEnv.fromPath('t').select('id, shout(name) AS name, price, day, at').orderBy('id').execute().collect();
    expect(back).toEqual([
      { id: 1n, name: 'ANN', price: '12.3400', day: '2024-02-29', at: '2024-02-29T13:45:30.250001' },
      { id: 2n, name: null, price: '-99999999999999999999999999999999.9999', day: '1970-01-01', at: '1999-12-31T23:59:59.000000' },
    ]);
  } finally {
    await tEnv.close();
  }
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
});

test('a failed job leaves no Parquet file; a missing file is an IO error naming it', async () => {
  const file = path.join(dir, 'never.parquet');
  const tEnv = TableEnvironment.create({ parallelism: 1 });
  try {
    tEnv.registerFunction('boom', udf('lambda a: 1 // 0', [DataTypes.BIGINT()], DataTypes.BIGINT()));
    tEnv.connect(new FileSystem().path(file)).withFormat(new Parquet()).withSchema(new Schema().field('x', DataTypes.BIGINT())).createTemporaryTable('out');
    await expect(tEnv.fromElements([[1n]], { a: DataTypes.BIGINT() }).select('boom(a) AS x').executeInsert('out')).rejects.toMatchObject({ code: 'UDF_FAILED' });
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.includes('never'))).toEqual([]);
    tEnv.connect(new FileSystem().path(path.join(dir, 'missing.parquet'))).withFormat(new Parquet()).withSchema(new Schema().field('x', DataTypes.BIGINT())).createTemporaryTable('missing');
    await expect(tEnv.fromPath('missing').execute().collect()).rejects.toThrow(/missing\.parquet/);
  } finally {
    await tEnv.close();
  }
});

test('fromArrow and toArrow move columns without a row object, through an engine stage and a Python call', async () => {
  const tEnv = TableEnvironment.create({ parallelism: 1 });
  try {
    tEnv.registerFunction('add', udf('lambda a, b: a + b', [DataTypes.BIGINT(), DataTypes.BIGINT()], DataTypes.BIGINT()));
    const input = arrow.tableFromArrays({ a: BigInt64Array.from([3n, 1n, 2n]), b: BigInt64Array.from([30n, 10n, 20n]), s: ['c', 'a', null] });
    const out = await tEnv.fromArrow(input).select('add(a, b) AS t, s').orderBy('t').execute().toArrow();
    expect(out).toBeInstanceOf(arrow.Table);
    expect(out.schema.fields.map((f) => String(f.type))).toEqual(['Int64', 'Utf8']);
    expect([...out.getChild('t')!]).toEqual([11n, 22n, 33n]);
    expect([...out.getChild('s')!]).toEqual(['a', null, 'c']);
    const empty = await tEnv.fromArrow(input).where('a > 100').execute().toArrow();
    expect(empty.numRows).toBe(0);
    expect(() => tEnv.fromArrow(arrow.tableFromArrays({ d: new Float64Array(1) }).select(['d']) as never)).not.toThrow();
    expect(() => tEnv.fromArrow({} as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  } finally {
    await tEnv.close();
  }
  expect(pythonWorkers()).toEqual([]);
});

test('fromArrow reads Decimal, Date, Time and Timestamp columns as the exact SQL types, also through an engine stage', async () => {
  const tEnv = TableEnvironment.create({ parallelism: 1 });
  try {
    // 128-bit decimals are four little-endian 32-bit words: 12.3400 and -0.0001 at scale 4.
    const decimalType = new arrow.Decimal(4, 10, 128);
    const price = arrow.makeVector(arrow.makeData({ type: decimalType, length: 2, data: new Uint32Array([123400, 0, 0, 0, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]) }));
    const day = arrow.vectorFromArray([Date.UTC(2024, 1, 29), Date.UTC(1969, 11, 31)], new arrow.DateMillisecond());
    const time = arrow.vectorFromArray([(13 * 3600 + 45 * 60) * 1000 + 250, 0], new arrow.TimeMillisecond());
    const at = arrow.vectorFromArray([new Date('2024-02-29T13:45:30.250Z'), null]);
    const instant = arrow.makeVector(arrow.makeData({ type: new arrow.Timestamp(arrow.TimeUnit.MICROSECOND, 'Europe/Paris'), length: 2, data: BigInt64Array.from([1709214330250001n, 0n]) }));
    const id = BigInt64Array.from([2n, 1n]);
    const input = new arrow.Table({ id: arrow.makeVector(id), price, day, time, at, instant });
    const table = tEnv.fromArrow(input);
    const expected = [
      { id: 1n, price: '-0.0001', day: '1969-12-31', time: '00:00:00.000000', at: null, instant: '1970-01-01T00:00:00.000000Z' },
      { id: 2n, price: '12.3400', day: '2024-02-29', time: '13:45:00.250000', at: '2024-02-29T13:45:30.250', instant: '2024-02-29T13:45:30.250001Z' },
    ];
    // An engine stage gives TIME back at DuckDB's precision, microseconds.
    expect(await table.orderBy('id').execute().collect()).toEqual(expected);
    expect(await table.select('time').execute().collect()).toEqual([{ time: '13:45:00.250' }, { time: '00:00:00.000' }]);
    expect(await table.where("day < DATE '2000-01-01'").select('id, price').execute().collect()).toEqual([{ id: 1n, price: '-0.0001' }]);
    const types = (await table.execute().toArrow()).schema.fields.map((f) => String(f.type));
    expect(types).toEqual(['Int64', 'Decimal[10e+4]', 'Date32<DAY>', 'Time32<MILLISECOND>', 'Timestamp<MILLISECOND>', 'Timestamp<MICROSECOND, UTC>']);
    const nanos = arrow.makeVector(arrow.makeData({ type: new arrow.TimestampNanosecond(), length: 1, data: BigInt64Array.from([1n]) }));
    expect(() => tEnv.fromArrow(new arrow.Table({ n: nanos }))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/column "n" is Timestamp<NANOSECOND>/) }));
  } finally {
    await tEnv.close();
  }
});

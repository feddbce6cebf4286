// A large CSV file whose rows go straight into Python functions is loaded by
// the engine while the workers start: the rows are those of a load after the
// start, a file the engine's reader refuses falls back to csv-parse with its
// errors, and after a job that failed before it read its table the next job
// reads every row. A file over the size loaded whole is checked whole and then
// streamed, so that memory does not grow with it.
import fs from 'node:fs';
import path from 'node:path';
import { CsvFormatError, DataTypes, FileSystem, OldCsv, PyUdfError, TableEnvironment, udf } from '../../src/index.js';
import { valueAt } from '../../src/batches/vectors.js';
import { loadCsvInEngine, type LoadedCsv } from '../../src/engine/csv-tables.js';
import { DuckdbEngine } from '../../src/engine/duckdb-engine.js';
import { fileTableDefinition, type CsvTableDefinition } from '../../src/table/descriptors.js';
import { expectNothingLeft, isolateTempRoot, recordingLogger, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();
let files = 0;

describe('a large file feeding Python functions (loaded by the engine while the workers start)', () => {
  const BIGINT = DataTypes.BIGINT();
  const LINES = 42_000;
  const good = Array.from({ length: LINES }, (_, i) => `${i},${String(i * 2).padStart(20, '0')}\n`).join('');

  function environmentOver(content: string) {
    const file = path.join(dir, `py${files++}.csv`);
    fs.writeFileSync(file, content);
    expect(fs.statSync(file).size).toBeGreaterThan(1 << 20);
    const tEnv = TableEnvironment.create({ logger: recordingLogger() });
    tEnv.connect(new FileSystem().path(file)).withFormat(new OldCsv().field('a', BIGINT).field('b', BIGINT)).createTemporaryTable('src');
    tEnv.registerFunction('add', udf('lambda a, b: a + b', [BIGINT, BIGINT], BIGINT));
    return tEnv;
  }

  test('every row, in order; a table read twice in one job is read whole both times', async () => {
    const tEnv = environmentOver(good);
    try {
      const sums = await tEnv.fromPath('src').select('add(a, b) AS s').execute().collect();
      expect(sums.map((r) => r.s)).toEqual(Array.from({ length: LINES }, (_, i) => BigInt(3 * i)));
      const twice = tEnv.fromPath('src').select('add(a, b) AS s').unionAll(tEnv.fromPath('src').select('add(b, a) AS s'));
      expect(await twice.execute().count()).toBe(2 * LINES);
    } finally {
      await tEnv.close();
    }
    expectNothingLeft(tempRoot);
  });

  test('a malformed line: csv-parse reads the file and names the line, as without Python', async () => {
    const tEnv = environmentOver(good + '1,oops\n');
    try {
      const error = await tEnv.fromPath('src').select('add(a, b) AS s').execute().collect().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CsvFormatError);
      expect((error as Error).message).toContain(`:${LINES + 1}: column 2 ("b"): "oops" is not an integer`);
    } finally {
      await tEnv.close();
    }
    expectNothingLeft(tempRoot);
  });

  test('a job whose function cannot load fails with that error, and the next job reads every row', async () => {
    const tEnv = environmentOver(good);
    try {
      tEnv.registerFunction('missing', udf('no_such_module.f', [BIGINT], BIGINT));
      const error = await tEnv.fromPath('src').select('missing(a) AS m').execute().collect().catch((e: unknown) => e);
      expect((error as Error).message).toContain('no_such_module');
      expect(await tEnv.fromPath('src').select('add(a, b) AS s').execute().count()).toBe(LINES);
    } finally {
      await tEnv.close();
    }
    expectNothingLeft(tempRoot);
  });
});

describe('a file over the size loaded whole: checked whole, then streamed', () => {
  const engine = new DuckdbEngine();
  afterAll(() => engine.close());
  const BIGINT = DataTypes.BIGINT();

  function table(content: string) {
    const file = path.join(dir, `streamed${files++}.csv`);
    fs.writeFileSync(file, content);
    return { file, table: fileTableDefinition(file, 'csv', {}, [{ name: 'a', type: BIGINT }, { name: 'b', type: DataTypes.STRING() }], 't') as CsvTableDefinition };
  }

  async function rowsOf(loaded: LoadedCsv): Promise<unknown[][]> {
    const rows: unknown[][] = [];
    for await (const batch of loaded.batches(1000)) for (let i = 0; i < batch.numRows; i++) rows.push(batch.columns.map((c) => valueAt(c, i)));
    return rows;
  }

  const text = Array.from({ length: 5000 }, (_, i) => `${i},w${i}\n`).join('');

  test('the rows of a whole load, in order', async () => {
    const { table: t } = table(text);
    const streamed = await loadCsvInEngine(engine, t, 0);
    const whole = await loadCsvInEngine(engine, t);
    expect(await rowsOf(streamed!)).toEqual(await rowsOf(whole!));
    expect((await rowsOf((await loadCsvInEngine(engine, t, 0))!))[4999]).toEqual([4999n, 'w4999']);
  });

  test('a line the check refuses leaves the file to csv-parse', async () => {
    const { table: t } = table(`${text}x,y\n`);
    expect(await loadCsvInEngine(engine, t, 0)).toBeNull();
  });

  test('a file that changes between the check and the stream fails with IO, naming it', async () => {
    const { file, table: t } = table(text);
    const streamed = await loadCsvInEngine(engine, t, 0);
    fs.appendFileSync(file, '5000,late\n');
    const error = await rowsOf(streamed!).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PyUdfError);
    expect(error).toMatchObject({ code: 'IO' });
    expect((error as Error).message).toContain(file);
  });
});

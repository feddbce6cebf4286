// Columnar and streaming sources, and the three ways to take a job's rows:
// collect(), streaming iteration, count().
import { DataTypes, PyUdfError, TableEnvironment, udf } from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, recordingLogger } from '../support.js';

const tempRoot = isolateTempRoot();
const BIGINT = DataTypes.BIGINT();

describe('sources and results', () => {
  const logger = recordingLogger();
  const tEnv = TableEnvironment.create({ logger, bundleSize: 100 });
  tEnv.registerFunction('add', udf('lambda i, j: i + j', [BIGINT, BIGINT], BIGINT));

  afterAll(async () => {
    await tEnv.close();
    expect(pythonWorkers()).toEqual([]);
    expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
  });

  test('fromColumns takes typed arrays and plain arrays, checked against the schema', async () => {
    const a = BigInt64Array.from([1n, 2n ** 62n, -5n]);
    const rows = await tEnv.fromColumns({ a, b: [10, 20, null], s: ['x', 'y', 'z'] }, { a: BIGINT, b: DataTypes.INT(), s: DataTypes.STRING() })
      .select('add(a, 1) AS a1, b, s').execute().collect();
    expect(rows).toEqual([
      { a1: 2n, b: 10, s: 'x' },
      { a1: 2n ** 62n + 1n, b: 20, s: 'y' },
      { a1: -4n, b: null, s: 'z' },
    ]);
    expect(() => tEnv.fromColumns({ a, b: [1, 2] }, { a: BIGINT, b: DataTypes.INT() })).toThrow(PyUdfError);
    expect(() => tEnv.fromColumns({ a }, { a: BIGINT, b: DataTypes.INT() })).toThrow(/no column "b"/);
    expect(() => tEnv.fromColumns({ b: [1.5] }, { b: DataTypes.INT() })).toThrow(/column "b", row 0/);
  });

  test('count() runs the job and keeps no rows', async () => {
    const n = 10_000;
    const a = BigInt64Array.from({ length: n }, (_, i) => BigInt(i));
    const count = await tEnv.fromColumns({ a, b: a }, { a: BIGINT, b: BIGINT }).where('a % 3 = 0').select('add(a, b) AS s').execute().count();
    expect(count).toBe(Math.ceil(n / 3));
  });

  test('iterating a result streams rows in order as batches finish', async () => {
    const n = 1_000;
    const a = BigInt64Array.from({ length: n }, (_, i) => BigInt(i));
    let expected = 0n;
    for await (const row of tEnv.fromColumns({ a, b: a }, { a: BIGINT, b: BIGINT }).select('add(a, b) AS s').execute()) {
      expect(row.s).toBe(expected);
      expected += 2n;
    }
    expect(expected).toBe(BigInt(2 * n));
  });

  test('breaking out of the iteration cancels the job and stops its workers', async () => {
    const a = BigInt64Array.from({ length: 5_000 }, (_, i) => BigInt(i));
    let seen = 0;
    for await (const row of tEnv.fromColumns({ a, b: a }, { a: BIGINT, b: BIGINT }).select('add(a, b) AS s').execute()) {
      expect(row.s).toBe(BigInt(2 * seen));
      if (++seen === 10) break;
    }
    expect(seen).toBe(10);
    expect(pythonWorkers()).toEqual([]);
  });

  test('fromStream: rows that arrive over time reach the result before the stream ends', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    async function* rows() {
      yield [1n, 1n];
      yield [2n, 2n];
      await gate; // the stream stays open until the first result came back
      yield [3n, 3n];
    }
    const got: bigint[] = [];
    for await (const row of tEnv.fromStream(rows(), { a: BIGINT, b: BIGINT }).select('add(a, b) AS s').execute()) {
      got.push(row.s as bigint);
      if (got.length === 1) release();
    }
    expect(got).toEqual([2n, 4n, 6n]);
  });

  test('fromStream: with nothing in flight a row goes at once, however long the bundle time', async () => {
    // Each row is produced only after the previous one's result came back: were
    // rows held for the bundle time (10 minutes here), this job would not finish.
    const patient = TableEnvironment.create({ bundleTimeMs: 600_000, bundleSize: 1_000, logger: recordingLogger() });
    patient.registerFunction('add', udf('lambda a, b: a + b', [BIGINT, BIGINT], BIGINT));
    const answered: (() => void)[] = [];
    async function* rows() {
      for (let i = 1n; i <= 5n; i++) {
        yield [i, i];
        await new Promise<void>((resolve) => answered.push(resolve));
      }
    }
    const got: bigint[] = [];
    try {
      for await (const row of patient.fromStream(rows(), { a: BIGINT, b: BIGINT }).select('add(a, b) AS s').execute()) {
        got.push(row.s as bigint);
        answered.shift()?.();
      }
    } finally {
      await patient.close();
    }
    expect(got).toEqual([2n, 4n, 6n, 8n, 10n]);
  }, 20_000);

  test('fromStream checks each row against the schema', async () => {
    const error = await tEnv.fromStream([[1n, 2n], [1n, 'x']], { a: BIGINT, b: BIGINT }).select('add(a, b) AS s').execute().collect()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PyUdfError);
    expect((error as PyUdfError).code).toBe('INVALID_ARGUMENT');
    expect((error as Error).message).toContain('row 1, column "b"');
  });
});

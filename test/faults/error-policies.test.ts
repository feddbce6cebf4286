// Row-level error policies: per job (onUdfError) and per function (onError,
// which wins): null, skip, deadLetter, fail. Exactly the failing rows are
// affected, counted in the job's result; dead letters are JSON Lines, appended.
import fs from 'node:fs';
import path from 'node:path';
import {
  DataTypes, FileSystem, OldCsv, TableEnvironment, UdfError, udf,
  type DeadLetter, type ErrorPolicy, type Row, type TableEnvironmentOptions,
} from '../../src/index.js';
import { closedAfterAll, isolateTempRoot, pythonWorkers, tempDir } from '../support.js';
import { checkNothingLeftAfterEach, expectNothingLeft, partFiles, watchingLogger } from './fault-support.js';

const tempRoot = isolateTempRoot();
checkNothingLeftAfterEach(tempRoot);
const dir = tempDir('udf-faults-policies-');
const BIGINT = DataTypes.BIGINT();
const STRING = DataTypes.STRING();
const BOOLEAN = DataTypes.BOOLEAN();

const modulePath = path.join(dir, 'policies.py');
fs.writeFileSync(modulePath, `import os


class Unlucky(ValueError):
    pass


def picky(a, s):
    if a % 7 == 3:
        raise Unlucky("unlucky %d (%s)" % (a, s))
    return a * 10


def picky_dies_once(a, s, marker):
    """picky, but the first worker to reach row 600 dies there (os._exit(1)), once."""
    if a == 600:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            os._exit(1)
        except FileExistsError:
            pass
    return picky(a, s)


def guard(a):
    if a % 10 == 4:
        raise KeyError(a)
    return a % 2 == 0


def never(a):
    raise RuntimeError("never works: %d" % a)
`);
const RAISE_LINE = 10; // `raise Unlucky(...)` in policies.py

const N = 1000;
const ROWS = Array.from({ length: N }, (_, i) => [BigInt(i), `row-${i}`]);
const SCHEMA = { a: BIGINT, s: STRING };
const fails = (a: number) => a % 7 === 3;
const FAILING = Array.from({ length: N }, (_, a) => a).filter(fails);
const PASSING = Array.from({ length: N }, (_, a) => a).filter((a) => !fails(a));

const picky = (onError?: ErrorPolicy) => udf('policies.picky', [BIGINT, STRING], BIGINT, onError ? { onError } : {});

function environment(options: TableEnvironmentOptions = {}): TableEnvironment {
  const tEnv = TableEnvironment.create({ parallelism: 2, bundleSize: 100, logger: watchingLogger(), ...options });
  tEnv.addPythonFile(modulePath);
  return tEnv;
}

async function withEnvironment<T>(options: TableEnvironmentOptions, body: (tEnv: TableEnvironment) => Promise<T>): Promise<T> {
  const tEnv = environment(options);
  try {
    return await body(tEnv);
  } finally {
    await tEnv.close();
    expectNothingLeft(tempRoot);
  }
}

function sinkTable(tEnv: TableEnvironment, name: string, file: string): void {
  tEnv.connect(new FileSystem().path(file)).withFormat(new OldCsv().field('a', BIGINT).field('r', BIGINT)).createTemporaryTable(name);
}

function readDeadLetters(file: string): DeadLetter[] {
  const text = fs.readFileSync(file, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n').map((line) => JSON.parse(line) as DeadLetter);
}

/** The dead letter picky(a, s) must produce. */
function expectPickyLetter(letter: DeadLetter, a: number): void {
  expect(letter.function).toBe('picky');
  expect(letter.arguments).toEqual([String(a), `row-${a}`]); // BIGINT as a decimal string
  expect(letter.exceptionType).toBe('policies.Unlucky');
  expect(letter.message).toBe(`unlucky ${a} (row-${a})`);
  expect(letter.sourceLocation).toBe(`${modulePath}:${RAISE_LINE}`);
  expect(letter.traceback).toContain(`File "${modulePath}", line ${RAISE_LINE}, in picky`);
  expect(letter.traceback).toContain('raise Unlucky("unlucky %d (%s)" % (a, s))');
  expect(letter.traceback).toContain(`policies.Unlucky: unlucky ${a} (row-${a})`);
  expect(letter.traceback).not.toContain('pyudf/worker');
}

describe('per job: TableEnvironment.create({ onUdfError })', () => {
  test("'null': NULL in exactly the failing rows, counted in TableResult.udfErrors after collect()", async () => {
    await withEnvironment({ onUdfError: 'null' }, async (tEnv) => {
      tEnv.registerFunction('picky', picky());
      const result = tEnv.fromElements(ROWS, SCHEMA).select('a, picky(a, s) AS r').execute();
      expect(result.udfErrors).toBeUndefined();
      const rows = await result.collect();
      expect(rows).toEqual(ROWS.map(([a]) => ({ a, r: fails(Number(a)) ? null : (a as bigint) * 10n })));
      expect(result.udfErrors).toEqual({ picky: { policy: 'null', rows: FAILING.length } });
      expect(result.skippedInputLines).toEqual({});
    });
  });

  test("'skip': the failing rows are dropped, counted in JobResult.udfErrors (executeInsert)", async () => {
    const outDir = path.join(dir, 'skip-out');
    const output = path.join(outDir, 'out.csv');
    await withEnvironment({ onUdfError: 'skip' }, async (tEnv) => {
      tEnv.registerFunction('picky', picky());
      sinkTable(tEnv, 'sink', output);
      const result = await tEnv.fromElements(ROWS, SCHEMA).select('a, picky(a, s) AS r').executeInsert('sink');
      expect(result.udfErrors).toEqual({ picky: { policy: 'skip', rows: FAILING.length } });
      expect(result.sinks).toEqual([{ table: 'sink', rows: PASSING.length }]);
    });
    expect(fs.readFileSync(output, 'utf8')).toBe(PASSING.map((a) => `${a},${a * 10}\n`).join(''));
    expect(fs.readdirSync(outDir)).toEqual(['out.csv']);
  });

  test("'deadLetter': rows dropped, one JSON line per failing row; a second job appends", async () => {
    const letters = path.join(dir, 'letters', 'dead.jsonl');
    const output = path.join(dir, 'dl-out', 'out.csv');
    await withEnvironment({ onUdfError: 'deadLetter', deadLetterPath: letters }, async (tEnv) => {
      tEnv.registerFunction('picky', picky());
      sinkTable(tEnv, 'sink', output);
      tEnv.fromElements(ROWS, SCHEMA).select('a, picky(a, s) AS r').insertInto('sink');
      const result = await tEnv.execute('dead letters');
      expect(result.udfErrors).toEqual({ picky: { policy: 'deadLetter', rows: FAILING.length } });
      expect(result.sinks).toEqual([{ table: 'sink', rows: PASSING.length }]);
    });
    expect(fs.readFileSync(output, 'utf8')).toBe(PASSING.map((a) => `${a},${a * 10}\n`).join(''));
    const first = readDeadLetters(letters);
    expect(first).toHaveLength(FAILING.length);
    // Batches run on two workers: letters arrive batch by batch, each row once.
    const byRow = new Map(first.map((l) => [Number(l.arguments[0]), l]));
    expect([...byRow.keys()].sort((x, y) => x - y)).toEqual(FAILING);
    for (const a of FAILING) expectPickyLetter(byRow.get(a)!, a);
    const firstText = fs.readFileSync(letters, 'utf8');

    // A second job (another environment, same file) appends after the first job's letters.
    await withEnvironment({ parallelism: 1, deadLetterPath: letters }, async (tEnv) => {
      tEnv.registerFunction('picky', picky('deadLetter'));
      const result = tEnv.fromElements([[3n, 'again'], [4n, 'fine'], [10n, 'again too']], SCHEMA).select('picky(a, s) AS r').execute();
      expect(await result.collect()).toEqual([{ r: 40n }]);
      expect(result.udfErrors).toEqual({ picky: { policy: 'deadLetter', rows: 2 } });
    });
    const text = fs.readFileSync(letters, 'utf8');
    expect(text.startsWith(firstText)).toBe(true);
    const appended = readDeadLetters(letters).slice(FAILING.length);
    expect(appended.map((l) => l.arguments)).toEqual([['3', 'again'], ['10', 'again too']]);
    expect(appended.map((l) => l.message)).toEqual(['unlucky 3 (again)', 'unlucky 10 (again too)']);
  });

  test("'deadLetter' with a worker dying mid-job: every failing row's letter exactly once, every other row once", async () => {
    const letters = path.join(dir, 'crash.jsonl');
    const marker = path.join(dir, 'dies-once');
    const logger = watchingLogger();
    await withEnvironment({ onUdfError: 'deadLetter', deadLetterPath: letters, logger }, async (tEnv) => {
      tEnv.registerFunction('picky', udf(`lambda a, s: __import__('policies').picky_dies_once(a, s, ${JSON.stringify(marker)})`, [BIGINT, STRING], BIGINT));
      const result = tEnv.fromElements(ROWS, SCHEMA).select('a, picky(a, s) AS r').execute();
      expect(await result.collect()).toEqual(PASSING.map((a) => ({ a: BigInt(a), r: BigInt(a * 10) })));
      expect(result.udfErrors).toEqual({ picky: { policy: 'deadLetter', rows: FAILING.length } });
    });
    expect(fs.existsSync(marker)).toBe(true);
    expect(logger.entries.filter((e) => e.message.includes('starting a new worker'))).toHaveLength(1);
    const all = readDeadLetters(letters);
    expect(all.map((l) => Number(l.arguments[0])).sort((x, y) => x - y)).toEqual(FAILING);
  });

  test("'fail' is the default: UDF_FAILED with the row; the sink file is not written", async () => {
    const outDir = path.join(dir, 'fail-out');
    const output = path.join(outDir, 'out.csv');
    const error = await withEnvironment({}, async (tEnv) => {
      tEnv.registerFunction('picky', picky());
      sinkTable(tEnv, 'sink', output);
      return tEnv.fromElements(ROWS, SCHEMA).select('a, picky(a, s) AS r').executeInsert('sink').catch((e: unknown) => e);
    });
    expect(error).toBeInstanceOf(UdfError);
    expect(error).toMatchObject({
      code: 'UDF_FAILED', functionName: 'picky', pythonType: 'policies.Unlucky', pythonMessage: 'unlucky 3 (row-3)',
      row: [3n, 'row-3'], sourceLocation: `${modulePath}:${RAISE_LINE}`,
    });
    expect(fs.existsSync(output)).toBe(false);
    expect(partFiles(outDir)).toEqual([]);
  });

  test("'deadLetter' without deadLetterPath: INVALID_ARGUMENT before any worker starts", async () => {
    await withEnvironment({ onUdfError: 'deadLetter' }, async (tEnv) => {
      tEnv.registerFunction('picky', picky());
      const job = tEnv.fromElements(ROWS, SCHEMA).select('picky(a, s) AS r').execute().collect();
      expect(pythonWorkers()).toEqual([]);
      await expect(job).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: 'function "picky" sends failing rows to dead letters, but no deadLetterPath is set (TableEnvironment.create({ deadLetterPath }))',
      });
    });
    await withEnvironment({}, async (tEnv) => {
      tEnv.registerFunction('picky', picky('deadLetter'));
      await expect(tEnv.fromElements(ROWS, SCHEMA).select('picky(a, s) AS r').execute().collect())
        .rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });
  });
});

describe('per function: udf(..., { onError }) wins over the job', () => {
  test("job 'skip', function 'null': NULLs; job 'null', function 'skip': rows dropped; counts per function", async () => {
    await withEnvironment({ onUdfError: 'skip' }, async (tEnv) => {
      tEnv.registerFunction('picky', picky('null'));
      const result = tEnv.fromElements(ROWS, SCHEMA).select('a, picky(a, s) AS r').execute();
      expect((await result.collect()).filter((r) => r.r === null).map((r) => Number(r.a))).toEqual(FAILING);
      expect(result.udfErrors).toEqual({ picky: { policy: 'null', rows: FAILING.length } });
    });
    await withEnvironment({ onUdfError: 'null' }, async (tEnv) => {
      tEnv.registerFunction('picky', picky('skip'));
      tEnv.registerFunction('lenient', udf('policies.picky', [BIGINT, STRING], BIGINT));
      const result = tEnv.fromElements(ROWS, SCHEMA).select('a, picky(a, s) AS r, lenient(a + 1, s) AS l').execute();
      const rows = await result.collect();
      // picky drops rows a % 7 == 3; lenient (the job's 'null') gives NULL where (a + 1) % 7 == 3.
      expect(rows.map((r) => Number(r.a))).toEqual(PASSING);
      expect(rows.filter((r) => r.l === null).map((r) => Number(r.a))).toEqual(PASSING.filter((a) => fails(a + 1)));
      expect(result.udfErrors).toEqual({
        picky: { policy: 'skip', rows: FAILING.length },
        lenient: { policy: 'null', rows: ROWS.filter(([a]) => fails(Number(a) + 1)).length },
      });
    });
  });

  test("job 'null', function 'fail': the job fails", async () => {
    await withEnvironment({ onUdfError: 'null' }, async (tEnv) => {
      tEnv.registerFunction('picky', picky('fail'));
      await expect(tEnv.fromElements(ROWS, SCHEMA).select('picky(a, s) AS r').execute().collect())
        .rejects.toMatchObject({ code: 'UDF_FAILED', functionName: 'picky', row: [3n, 'row-3'] });
    });
  });

  test('counts of a job with two inserts (tEnv.execute) add up over both', async () => {
    const letters = path.join(dir, 'two-inserts.jsonl');
    await withEnvironment({ deadLetterPath: letters }, async (tEnv) => {
      tEnv.registerFunction('picky', picky('deadLetter'));
      sinkTable(tEnv, 'one', path.join(dir, 'two', 'one.csv'));
      sinkTable(tEnv, 'two', path.join(dir, 'two', 'two.csv'));
      tEnv.fromElements(ROWS.slice(0, 500), SCHEMA).select('a, picky(a, s) AS r').insertInto('one');
      tEnv.fromElements(ROWS.slice(500), SCHEMA).select('a, picky(a, s) AS r').insertInto('two');
      const result = await tEnv.execute('two inserts');
      expect(result.udfErrors).toEqual({ picky: { policy: 'deadLetter', rows: FAILING.length } });
      expect(result.sinks).toEqual([
        { table: 'one', rows: PASSING.filter((a) => a < 500).length },
        { table: 'two', rows: PASSING.filter((a) => a >= 500).length },
      ]);
    });
    expect(readDeadLetters(letters)).toHaveLength(FAILING.length);
  });
});

describe('policies inside where()', () => {
  // The policies are the functions' own, so the queries share one environment, re-registering them.
  const letters = path.join(dir, 'where.jsonl');
  const shared = closedAfterAll(environment({ deadLetterPath: letters }), tempRoot);
  const collectWhere = async (policy: ErrorPolicy, predicate: string) => {
    shared.registerFunction('picky', picky(policy));
    shared.registerFunction('guard', udf('policies.guard', [BIGINT], BOOLEAN, { onError: policy }));
    const result = shared.fromElements(ROWS, SCHEMA).where(predicate).select('a').execute();
    const rows = await result.collect();
    return { as: rows.map((r: Row) => Number(r.a)), udfErrors: result.udfErrors };
  };

  test("'skip' drops the failing row from the filter's result; 'null' makes the predicate NULL", async () => {
    // IS NULL would keep exactly the failing rows, if they were not dropped.
    expect(await collectWhere('skip', 'picky(a, s) IS NULL')).toEqual({ as: [], udfErrors: { picky: { policy: 'skip', rows: FAILING.length } } });
    expect(await collectWhere('null', 'picky(a, s) IS NULL')).toEqual({ as: FAILING, udfErrors: { picky: { policy: 'null', rows: FAILING.length } } });
    expect(await collectWhere('skip', 'picky(a, s) > 5000')).toEqual({
      as: PASSING.filter((a) => a > 500), udfErrors: { picky: { policy: 'skip', rows: FAILING.length } },
    });
  });

  test("'deadLetter' in a where clause", async () => {
    const out = await collectWhere('deadLetter', 'picky(a, s) IS NOT NULL');
    expect(out).toEqual({ as: PASSING, udfErrors: { picky: { policy: 'deadLetter', rows: FAILING.length } } });
    const byRow = new Map(readDeadLetters(letters).map((l) => [Number(l.arguments[0]), l]));
    expect([...byRow.keys()].sort((x, y) => x - y)).toEqual(FAILING);
  });

  test('in a short-circuited OR: only the rows the function was called on can fail, and the right ones are dropped', async () => {
    // guard raises where a % 10 == 4, else says "a is even"; the left side decides every a >= 500,
    // so guard never sees 504, 514, ...: those rows stay.
    const expected = Array.from({ length: N }, (_, a) => a).filter((a) => a >= 500 || (a % 2 === 0 && a % 10 !== 4));
    const raisedOn = Array.from({ length: 500 }, (_, a) => a).filter((a) => a % 10 === 4);
    expect(await collectWhere('skip', 'a >= 500 OR guard(a)')).toEqual({ as: expected, udfErrors: { guard: { policy: 'skip', rows: raisedOn.length } } });
    // Under 'null' the same rows are NULL OR FALSE = NULL: exactly they satisfy IS NULL.
    expect(await collectWhere('null', '(a >= 500 OR guard(a)) IS NULL')).toEqual({ as: raisedOn, udfErrors: { guard: { policy: 'null', rows: raisedOn.length } } });
    // And AND: the right side only where the left is not FALSE.
    expect(await collectWhere('skip', 'a < 500 AND guard(a)')).toEqual({
      as: expected.filter((a) => a < 500), udfErrors: { guard: { policy: 'skip', rows: raisedOn.length } },
    });
  });
});

test("a UDF that raises on every row, with 'null': every result NULL, every row counted", async () => {
  await withEnvironment({ onUdfError: 'null' }, async (tEnv) => {
    tEnv.registerFunction('never', udf('policies.never', [BIGINT], BIGINT));
    const result = tEnv.fromElements(ROWS, SCHEMA).select('a, never(a) AS r, never(a) IS NULL AS n').execute();
    expect(await result.collect()).toEqual(ROWS.map(([a]) => ({ a, r: null, n: true })));
    // never is called twice per row: both calls count.
    expect(result.udfErrors).toEqual({ never: { policy: 'null', rows: 2 * N } });
  });
});

test("a UDF that raises on every row, with 'skip': no row at all, every row counted", async () => {
  await withEnvironment({}, async (tEnv) => {
    tEnv.registerFunction('never', udf('policies.never', [BIGINT], BIGINT, { onError: 'skip' }));
    const result = tEnv.fromElements(ROWS, SCHEMA).select('never(a) AS r').execute();
    expect(await result.collect()).toEqual([]);
    expect(result.udfErrors).toEqual({ never: { policy: 'skip', rows: N } });
  });
});

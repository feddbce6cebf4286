// Table functions (udtf, TableFunction) joined with joinLateral and
// leftOuterJoinLateral, run in real workers: rows per input row in order,
// NULLs, lifecycle, errors, error policies, crashes and parallelism.
import fs from 'node:fs';
import path from 'node:path';
import {
  DataTypes, ExpressionError, PyUdfError, TableEnvironment, UdfError, udf, udtf, type Row, type TableEnvironmentOptions,
} from '../../src/index.js';
import { closedAfterAll, expectNothingLeft, isolateTempRoot, recordingLogger, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();
const STRING = DataTypes.STRING();
const BIGINT = DataTypes.BIGINT();
const INT = DataTypes.INT();

const markers = path.join(dir, 'markers');
fs.mkdirSync(markers);
const MODULE = path.join(dir, 'words.py');
const SOURCE = `import os

from pyudf import DataTypes, TableFunction, udtf

MARKERS = ${JSON.stringify(markers)}


@udtf(result_types=[DataTypes.STRING(), DataTypes.INT()])
def split(line):
    if line is None:
        return
    for word in line.split():
        yield word, len(word)


@udtf(input_types=[DataTypes.STRING()], result_types=[DataTypes.STRING(), DataTypes.INT()])
def null_aware(line):
    if line is None:
        yield None, 0
    else:
        yield line, len(line)


@udtf(result_types=[DataTypes.BIGINT()])
def nothing(x):
    return []


class Repeat(TableFunction):
    def open(self, function_context):
        self.times = int(function_context.get_job_parameter('times', '2'))
        print('open', os.getpid())

    def eval(self, s):
        for i in range(self.times):
            yield s, i

    def close(self):
        print('close', os.getpid())


repeat = udtf(Repeat(), [DataTypes.STRING()], [DataTypes.STRING(), DataTypes.INT()])


@udtf(result_types=[DataTypes.BIGINT()])
def checked(n):
    if n == 13:
        raise ValueError('unlucky %d' % n)
    yield n
    yield -n


@udtf(result_types=[DataTypes.STRING(), DataTypes.INT()])
def too_wide(s):
    yield s, len(s), 'extra'


@udtf(result_types=[DataTypes.STRING(), DataTypes.INT()])
def badly_typed(s):
    yield s, len(s) if s != 'b' else 'two'


@udtf(result_types=[DataTypes.BIGINT(), DataTypes.BIGINT()])
def with_pid(n):
    yield n, os.getpid()


def first_time(name):
    try:
        os.close(os.open(os.path.join(MARKERS, name), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False


@udtf(result_types=[DataTypes.BIGINT()])
def dies_once(n):
    if n == 700 and first_time('dies_once'):
        os._exit(9)
    for i in range(n % 3):
        yield n * 10 + i


@udtf(result_types=[DataTypes.BIGINT()])
def poison(n):
    if n == 424:
        os._exit(7)
    yield n
`;
fs.writeFileSync(MODULE, SOURCE);
const lineOf = (text: string) => SOURCE.split('\n').findIndex((l) => l.includes(text)) + 1;

const LINES = ['the quick brown fox', '', 'jumps', null, 'over  the lazy dog', 'a'];
const LINE_ROWS = LINES.map((line, i) => [BigInt(i), line]);
const LINE_SCHEMA = { id: BIGINT, line: STRING };

function environment(options: TableEnvironmentOptions = {}): TableEnvironment {
  const tEnv = TableEnvironment.create({ bundleSize: 2, logger: recordingLogger(), ...options });
  tEnv.addPythonFile(MODULE);
  for (const name of ['split', 'null_aware', 'nothing', 'repeat', 'checked', 'too_wide', 'badly_typed', 'with_pid', 'dies_once', 'poison']) {
    tEnv.registerFunction(name, udf(`words.${name}`));
  }
  return tEnv;
}

async function withEnvironment<T>(run: (tEnv: TableEnvironment) => Promise<T>, options?: TableEnvironmentOptions): Promise<T> {
  const tEnv = environment(options);
  try {
    return await run(tEnv);
  } finally {
    await tEnv.close();
  }
}

/** What split produces, computed here: each line's words in order, with their lengths. */
function expectedWords(outer: boolean): Row[] {
  return LINE_ROWS.flatMap(([id, line]): Row[] => {
    const words = line === null ? [] : (line as string).split(/\s+/).filter((w) => w !== '');
    if (words.length === 0) return outer ? [{ id, line, word: null, length: null }] : [];
    return words.map((word) => ({ id, line, word, length: word.length }));
  });
}

// Tests that leave their environment as they found it share one, as a job's
// later queries share their TableEnvironment; it is closed after them, leaving nothing.
describe('on one shared environment', () => {
  const shared = closedAfterAll(environment(), tempRoot);
  const onShared = <T>(run: (tEnv: TableEnvironment) => Promise<T>): Promise<T> => run(shared);

  test('joinLateral joins each row with each of its rows, in input order; rows with none are left out', async () => {
    const rows = await onShared((tEnv) => tEnv.fromElements(LINE_ROWS, LINE_SCHEMA)
      .joinLateral('split(line) AS (word, length)').execute().collect());
    expect(rows).toEqual(expectedWords(false));
    expect(rows.map((r) => r.word)).toEqual(['the', 'quick', 'brown', 'fox', 'jumps', 'over', 'the', 'lazy', 'dog', 'a']);
  });

  test('leftOuterJoinLateral keeps a row that got no row (an empty line, a NULL), once, with NULLs', async () => {
    const rows = await onShared((tEnv) => tEnv.fromElements(LINE_ROWS, LINE_SCHEMA)
      .leftOuterJoinLateral('split(line) AS (word, length)').execute().collect());
    expect(rows).toEqual(expectedWords(true));
    expect(rows.filter((r) => r.word === null).map((r) => r.id)).toEqual([1n, 3n]);
  });

  test('a NULL argument reaches the function as None; what it yields for it is joined', async () => {
    const rows = await onShared((tEnv) => tEnv.fromElements(LINE_ROWS, LINE_SCHEMA)
      .joinLateral('null_aware(line) AS (copy, n)').select('id, copy, n').execute().collect());
    expect(rows).toEqual(LINE_ROWS.map(([id, line]) => ({ id, copy: line, n: line === null ? 0 : (line as string).length })));
  });

  test('a function that yields nothing for every row: no rows joined, every row kept by the outer join', async () => {
    await onShared(async (tEnv) => {
      const numbers = tEnv.fromElements(Array.from({ length: 7 }, (_, i) => [BigInt(i)]), { n: BIGINT });
      expect(await numbers.joinLateral('nothing(n) AS x').execute().collect()).toEqual([]);
      expect(await numbers.joinLateral('nothing(n) AS x').execute().count()).toBe(0);
      expect(await numbers.leftOuterJoinLateral('nothing(n) AS x').execute().collect())
        .toEqual(Array.from({ length: 7 }, (_, i) => ({ n: BigInt(i), x: null })));
    });
  });

  test('the joined table goes on: select, where, and a join predicate over its columns', async () => {
    await onShared(async (tEnv) => {
      const joined = tEnv.fromElements(LINE_ROWS, LINE_SCHEMA).joinLateral('split(line) AS (word, length)');
      expect(await joined.where('length > 3').select('word, length * 2 AS doubled').execute().collect())
        .toEqual(expectedWords(false).filter((r) => (r.length as number) > 3).map((r) => ({ word: r.word, doubled: (r.length as number) * 2 })));
      const predicate = await tEnv.fromElements(LINE_ROWS, LINE_SCHEMA)
        .leftOuterJoinLateral('split(line) AS (word, length)', 'length = 5').select('id, word').execute().collect();
      // Rows whose every word fails the predicate are kept once, with NULLs.
      expect(predicate).toEqual([
        { id: 0n, word: 'quick' }, { id: 0n, word: 'brown' }, { id: 1n, word: null }, { id: 2n, word: 'jumps' },
        { id: 3n, word: null }, { id: 4n, word: null }, { id: 5n, word: null },
      ]);
    });
  });

  test('a table function declared in TypeScript: columns named f0.. unless aliased', async () => {
    await onShared(async (tEnv) => {
      tEnv.registerFunction('chars', udtf('lambda s: ((c, ord(c)) for c in s)', [STRING], [STRING, INT]));
      const table = tEnv.fromElements([['ab'], ['c']], { s: STRING });
      expect(table.joinLateral('chars(s)').columns).toEqual(['s', 'f0', 'f1']);
      expect(await table.joinLateral('chars(s)').execute().collect()).toEqual([
        { s: 'ab', f0: 'a', f1: 97 }, { s: 'ab', f0: 'b', f1: 98 }, { s: 'c', f0: 'c', f1: 99 },
      ]);
      expect(await table.joinLateral('chars(s) AS (ch, code)').select('code').execute().collect())
        .toEqual([{ code: 97 }, { code: 98 }, { code: 99 }]);
    });
  });

  test('a raising eval fails the job with UDF_FAILED naming the function, the row and the line', async () => {
    const error = await onShared((tEnv) => tEnv.fromElements([[1n], [13n], [2n]], { n: BIGINT })
      .joinLateral('checked(n) AS m').execute().collect()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UdfError);
    const e = error as UdfError;
    expect([e.code, e.functionName, e.phase, e.pythonType, e.pythonMessage]).toEqual(['UDF_FAILED', 'checked', 'eval', 'ValueError', 'unlucky 13']);
    expect(e.row).toEqual([13n]);
    expect(e.message).toContain('call: checked(13n)');
    expect(e.sourceLocation).toBe(`${MODULE}:${lineOf("raise ValueError('unlucky")}`);
    expect(e.pythonTraceback).toContain("raise ValueError('unlucky %d' % n)");
  });

  test('a yielded row of the wrong arity or type fails with UDF_RESULT_TYPE naming the row', async () => {
    await onShared(async (tEnv) => {
      const letters = tEnv.fromElements([['a'], ['b'], ['c']], { s: STRING });
      const arity = await letters.joinLateral('too_wide(s) AS (t, n)').execute().collect().catch((e: unknown) => e) as UdfError;
      expect([arity.code, arity.functionName, arity.phase]).toEqual(['UDF_RESULT_TYPE', 'too_wide', 'result']);
      expect(arity.row).toEqual(['a']);
      expect(arity.message).toContain("yielded ('a', 1, 'extra') (tuple), 3 values, but it has 2 result column(s) (STRING, INT) for row 0");
      const typed = await letters.joinLateral('badly_typed(s) AS (t, n)').execute().collect().catch((e: unknown) => e) as UdfError;
      expect([typed.code, typed.functionName]).toEqual(['UDF_RESULT_TYPE', 'badly_typed']);
      expect(typed.row).toEqual(['b']);
      expect(typed.message).toContain("result column 2 (INT) cannot hold 'two' (str)");
    });
  });

  test('a scalar function in joinLateral, a table function in select or where: ExpressionError before data flows', async () => {
    await onShared(async (tEnv) => {
      tEnv.registerFunction('plus1', udf('lambda x: x + 1', [BIGINT], BIGINT));
      const numbers = tEnv.fromElements([[1n]], { n: BIGINT });
      for (const [table, message] of [
        [numbers.joinLateral('plus1(n) AS m'), '"plus1" is a scalar function; joinLateral takes a table function (udtf)'],
        [numbers.select('split(n) AS w'), '"split" is a table function, which cannot be called in an expression'],
        [numbers.where('checked(n) > 0'), '"checked" is a table function, which cannot be called in an expression'],
        [numbers.joinLateral('checked(n) AS (a, b)'), 'table function "checked" has 1 result column(s) (BIGINT), but "checked(n) AS (a, b)" names 2 (a, b)'],
      ] as const) {
        const error = await table.execute().collect().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ExpressionError);
        expect((error as ExpressionError).code).toBe('EXPRESSION_TYPE');
        expect((error as Error).message).toContain(message);
      }
      // Unknown names and unnamed columns are refused when the table is built.
      expect(() => numbers.joinLateral('nope(n) AS m')).toThrow(expect.objectContaining({ code: 'UNKNOWN_FUNCTION' }));
      expect(() => numbers.joinLateral('checked(n)')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      expect(() => numbers.joinLateral('checked(n) AS n')).toThrow(/column "n" would appear twice/);
      expect(() => numbers.joinLateral('checked(n) + 1 AS m')).toThrow(PyUdfError);
    });
  });
});

describe('on an environment of its own', () => {
  afterEach(() => expectNothingLeft(tempRoot));

  test('open() and close() run once per worker per job, with the job parameters', async () => {
    const logger = recordingLogger();
    const rows = await withEnvironment(async (tEnv) => {
      tEnv.setJobParameter('times', '3');
      return tEnv.fromElements([['x'], ['y']], { s: STRING }).joinLateral('repeat(s) AS (t, i)').execute().collect();
    }, { parallelism: 2, logger });
    expect(rows).toEqual(['x', 'y'].flatMap((s) => [0, 1, 2].map((i) => ({ s, t: s, i }))));
    const lines = logger.entries.filter((e) => e.source === 'udf' && e.functionName === 'repeat').map((e) => e.message.split(' ')[0]);
    expect(lines.filter((l) => l === 'open')).toHaveLength(2);
    expect(lines.filter((l) => l === 'close')).toHaveLength(2);
  });

  test('error policies: null joins a row of NULLs, skip drops the row, deadLetter writes it down', async () => {
    const deadLetterPath = path.join(dir, 'dead-letters.jsonl');
    await withEnvironment(async (tEnv) => {
      tEnv.registerFunction('as_null', udf('words.checked', null, null, { onError: 'null' }));
      tEnv.registerFunction('skipping', udf('words.checked', null, null, { onError: 'skip' }));
      tEnv.registerFunction('lettered', udf('words.checked', null, null, { onError: 'deadLetter' }));
      const numbers = tEnv.fromElements([[1n], [13n], [2n]], { n: BIGINT });
      const nulled = numbers.joinLateral('as_null(n) AS m').execute();
      expect(await nulled.collect()).toEqual([{ n: 1n, m: 1n }, { n: 1n, m: -1n }, { n: 13n, m: null }, { n: 2n, m: 2n }, { n: 2n, m: -2n }]);
      expect(nulled.udfErrors).toEqual({ as_null: { policy: 'null', rows: 1 } });
      for (const method of ['joinLateral', 'leftOuterJoinLateral'] as const) {
        expect(await numbers[method]('skipping(n) AS m').select('n').execute().collect())
          .toEqual([{ n: 1n }, { n: 1n }, { n: 2n }, { n: 2n }]);
      }
      const lettered = numbers.joinLateral('lettered(n) AS m').execute();
      expect((await lettered.collect()).map((r) => r.n)).toEqual([1n, 1n, 2n, 2n]);
      expect(lettered.udfErrors).toEqual({ lettered: { policy: 'deadLetter', rows: 1 } });
    }, { deadLetterPath });
    const letters = fs.readFileSync(deadLetterPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ function: 'lettered', arguments: ['13'], exceptionType: 'ValueError', message: 'unlucky 13' });
  });

  test('parallelism 2 spreads batches over two workers and gives the rows of parallelism 1, in order', async () => {
    const N = 3000;
    const rows = Array.from({ length: N }, (_, i) => [BigInt(i)]);
    const run = (parallelism: number) => withEnvironment(async (tEnv) => {
      const numbers = tEnv.fromElements(rows, { n: BIGINT });
      const joined = await numbers.where('n <> 13').joinLateral('checked(n) AS m').execute().collect();
      const pids = await numbers.joinLateral('with_pid(n) AS (same, pid)').execute().collect();
      return { joined, pids };
    }, { parallelism, bundleSize: 250 });
    const [one, two] = await Promise.all([run(1), run(2)]);
    const expected = rows.filter(([n]) => n !== 13n).flatMap(([n]) => [{ n, m: n }, { n, m: -(n as bigint) }]);
    expect(one.joined).toEqual(expected);
    expect(two.joined).toEqual(expected);
    expect(two.pids.map((r) => r.n)).toEqual(rows.map(([n]) => n));
    expect(new Set(one.pids.map((r) => r.pid)).size).toBe(1);
    expect(new Set(two.pids.map((r) => r.pid)).size).toBe(2);
  });

  test('a worker that dies under a table function is replaced and every row comes out once, in order', async () => {
    const logger = recordingLogger();
    const rows = Array.from({ length: 2000 }, (_, i) => [BigInt(i)]);
    const joined = await withEnvironment((tEnv) => tEnv.fromElements(rows, { n: BIGINT })
      .joinLateral('dies_once(n) AS m').execute().collect(), { logger, bundleSize: 100, parallelism: 2 });
    expect(joined).toEqual(rows.flatMap(([n]) => Array.from({ length: Number((n as bigint) % 3n) }, (_, i) => ({ n, m: (n as bigint) * 10n + BigInt(i) }))));
    expect(fs.existsSync(path.join(markers, 'dies_once'))).toBe(true);
    expect(logger.entries.filter((e) => e.message.includes('starting a new worker'))).toHaveLength(1);
  });

  test('a row that kills its worker every time is searched for and named: UDF_CRASHED', async () => {
    // Small batches: each halving of the poisoned batch costs a worker.
    const rows = Array.from({ length: 1000 }, (_, i) => [BigInt(i)]);
    const error = await withEnvironment((tEnv) => tEnv.fromElements(rows, { n: BIGINT })
      .joinLateral('poison(n) AS m').execute().collect(), { bundleSize: 20, maxWorkerRestarts: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UdfError);
    expect([(error as UdfError).code, (error as UdfError).functionName, (error as UdfError).row]).toEqual(['UDF_CRASHED', 'poison', [424n]]);
    expect((error as Error).message).toContain('the row that does it: poison(424n)');
  }, 60_000);
});

// CSV sinks are all or nothing: a job that fails (or is cancelled, or its
// environment closed) half-way, after thousands of rows reached the sink's
// part file, leaves no sink file and no part file; an existing sink file from
// an earlier job keeps its exact content.
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, FileSystem, OldCsv, PyUdfError, TableEnvironment, UdfError, udf, type LogEntry } from '../../src/index.js';
import { isolateTempRoot, tempDir } from '../support.js';
import { checkNothingLeftAfterEach, expectNothingLeft, partFiles, sha256, watchingLogger } from './fault-support.js';

const tempRoot = isolateTempRoot();
checkNothingLeftAfterEach(tempRoot);
const dir = tempDir('udf-faults-atomic-');
const BIGINT = DataTypes.BIGINT();

const N = 20_000;
const ROWS = Array.from({ length: N }, (_, i) => [BigInt(i)]);
const FAIL_AT = 15_000;
/** The part file must hold at least this many rows before the UDF fails the job. */
const MIN_PART_ROWS = 5_000;

const probePath = path.join(dir, 'probe.py');
fs.writeFileSync(probePath, `import os
import time


def part_file(directory):
    parts = [n for n in os.listdir(directory) if n.endswith(".part")]
    return os.path.join(directory, parts[0]) if len(parts) == 1 else None


def fail_after_part_has(x, at, directory, min_rows):
    """On row \`at\`: waits until the sink's part file holds min_rows rows, says so, and raises."""
    if x != at:
        return x * 3 + 1
    deadline = time.time() + 20
    rows = 0
    while time.time() < deadline:
        part = part_file(directory)
        if part is not None:
            with open(part, "rb") as f:
                rows = f.read().count(b"\\n")
            if rows >= min_rows:
                break
        time.sleep(0.01)
    print("part", os.path.basename(part or "-"), rows, flush=True)
    raise RuntimeError("failing half-way at row %d" % x)
`);

function environment(logger = watchingLogger()): TableEnvironment {
  const tEnv = TableEnvironment.create({ bundleSize: 500, logger });
  tEnv.addPythonFile(probePath);
  return tEnv;
}

function sink(tEnv: TableEnvironment, name: string, file: string): void {
  tEnv.connect(new FileSystem().path(file)).withFormat(new OldCsv().field('y', BIGINT)).createTemporaryTable(name);
}

/** What the UDF saw of the part file when it failed the job: its name and rows. */
function partReport(entries: readonly LogEntry[]): { name: string; rows: number } {
  const line = entries.find((e) => e.source === 'udf' && e.message.startsWith('part '));
  expect(line).toBeDefined();
  const [, name, rows] = line!.message.split(' ');
  return { name: name!, rows: Number(rows) };
}

const expectedContent = (n: number) => Array.from({ length: n }, (_, i) => `${i * 3 + 1}\n`).join('');

/** A successful job writing `output`: the "earlier job" whose file later failures must not touch. */
async function writeOnce(output: string, n: number): Promise<{ hash: string; mtimeMs: number }> {
  const tEnv = environment();
  try {
    tEnv.registerFunction('f', udf('lambda x: x * 3 + 1', [BIGINT], BIGINT));
    sink(tEnv, 'sink', output);
    await tEnv.fromElements(ROWS.slice(0, n), { x: BIGINT }).select('f(x) AS y').executeInsert('sink');
  } finally {
    await tEnv.close();
  }
  expect(fs.readFileSync(output, 'utf8')).toBe(expectedContent(n));
  return { hash: sha256(output), mtimeMs: fs.statSync(output).mtimeMs };
}

describe('a job failing half-way', () => {
  test('after thousands of rows reached the part file: no sink file, no part file', async () => {
    const outDir = path.join(dir, 'fresh');
    const output = path.join(outDir, 'out.csv');
    const logger = watchingLogger();
    const tEnv = environment(logger);
    let error: unknown;
    try {
      tEnv.registerFunction('f', udf(`lambda x: __import__('probe').fail_after_part_has(x, ${FAIL_AT}, ${JSON.stringify(outDir)}, ${MIN_PART_ROWS})`, [BIGINT], BIGINT));
      sink(tEnv, 'sink', output);
      await tEnv.fromElements(ROWS, { x: BIGINT }).select('f(x) AS y').executeInsert('sink');
    } catch (e) {
      error = e;
    } finally {
      await tEnv.close();
    }
    expect(error).toBeInstanceOf(UdfError);
    expect(error).toMatchObject({ code: 'UDF_FAILED', functionName: 'f', row: [BigInt(FAIL_AT)], pythonMessage: `failing half-way at row ${FAIL_AT}` });
    // The sink was writing beside its target when the job failed...
    const part = partReport(logger.entries);
    expect(part.name).toMatch(/^\.out\.csv\.pyudf-\d+-[0-9a-f]{12}\.part$/);
    expect(part.rows).toBeGreaterThanOrEqual(MIN_PART_ROWS);
    // ...and none of it is left.
    expect(fs.existsSync(output)).toBe(false);
    expect(fs.readdirSync(outDir)).toEqual([]);
    expectNothingLeft(tempRoot);
  }, 60_000);

  test('an existing sink file from an earlier successful job is left untouched', async () => {
    const outDir = path.join(dir, 'existing');
    const output = path.join(outDir, 'out.csv');
    const earlier = await writeOnce(output, 1234);
    const logger = watchingLogger();
    const tEnv = environment(logger);
    try {
      tEnv.registerFunction('f', udf(`lambda x: __import__('probe').fail_after_part_has(x, ${FAIL_AT}, ${JSON.stringify(outDir)}, ${MIN_PART_ROWS})`, [BIGINT], BIGINT));
      sink(tEnv, 'sink', output);
      await expect(tEnv.fromElements(ROWS, { x: BIGINT }).select('f(x) AS y').executeInsert('sink')).rejects.toMatchObject({ code: 'UDF_FAILED' });
    } finally {
      await tEnv.close();
    }
    expect(partReport(logger.entries).rows).toBeGreaterThanOrEqual(MIN_PART_ROWS);
    expect(sha256(output)).toBe(earlier.hash);
    expect(fs.statSync(output).mtimeMs).toBe(earlier.mtimeMs);
    expect(fs.readdirSync(outDir)).toEqual(['out.csv']);
    expectNothingLeft(tempRoot);
  }, 60_000);

  test('of two inserts, the second failing: neither sink is published, the existing first one untouched', async () => {
    const outDir = path.join(dir, 'two');
    const first = path.join(outDir, 'first.csv');
    const second = path.join(outDir, 'second.csv');
    const earlier = await writeOnce(first, 10);
    const tEnv = environment();
    try {
      tEnv.registerFunction('f', udf('lambda x: x * 3 + 1', [BIGINT], BIGINT));
      tEnv.registerFunction('g', udf('lambda x: 1 // (x - 9999)', [BIGINT], BIGINT));
      sink(tEnv, 'first', first);
      sink(tEnv, 'second', second);
      tEnv.fromElements(ROWS, { x: BIGINT }).select('f(x) AS y').insertInto('first');
      tEnv.fromElements(ROWS, { x: BIGINT }).select('g(x) AS y').insertInto('second');
      await expect(tEnv.execute('two inserts')).rejects.toMatchObject({ code: 'UDF_FAILED', functionName: 'g', row: [9999n] });
    } finally {
      await tEnv.close();
    }
    expect(sha256(first)).toBe(earlier.hash);
    expect(fs.readdirSync(outDir)).toEqual(['first.csv']);
    expectNothingLeft(tempRoot);
  });
});

test('a job writing its own input file is refused before it runs (INVALID_ARGUMENT): the input stays byte-identical', async () => {
  const file = path.join(dir, 'in-place', 'data.csv');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, Array.from({ length: N }, (_, i) => `${i}\n`).join(''));
  const before = sha256(file);
  const tEnv = environment();
  try {
    tEnv.registerFunction('f', udf('lambda x: x * 3 + 1', [BIGINT], BIGINT));
    sink(tEnv, 'data', file);
    tEnv.connect(new FileSystem().path(file)).withFormat(new OldCsv().field('x', BIGINT)).createTemporaryTable('src');
    await expect(tEnv.fromPath('src').select('f(x) AS y').executeInsert('data')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  } finally {
    await tEnv.close();
  }
  expect(sha256(file)).toBe(before);
  expect(fs.readdirSync(path.dirname(file))).toEqual(['data.csv']);
  expectNothingLeft(tempRoot);
});

describe('a job whose output cannot be put in place', () => {
  test('the sink path is a directory: INVALID_ARGUMENT before the job, and no part file is left beside it', async () => {
    const outDir = path.join(dir, 'target-is-dir');
    const output = path.join(outDir, 'out.csv');
    fs.mkdirSync(output, { recursive: true });
    fs.writeFileSync(path.join(output, 'keep.txt'), 'mine');
    const tEnv = environment();
    let error: unknown;
    try {
      tEnv.registerFunction('f', udf('lambda x: x * 3 + 1', [BIGINT], BIGINT));
      sink(tEnv, 'sink', output);
      await tEnv.fromElements(ROWS, { x: BIGINT }).select('f(x) AS y').executeInsert('sink');
    } catch (e) {
      error = e;
    } finally {
      await tEnv.close();
    }
    expect(error).toBeInstanceOf(PyUdfError);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((error as Error).message).toContain(`${output} is a directory, not a regular file`);
    expect(fs.readdirSync(outDir)).toEqual(['out.csv']);
    expect(fs.readdirSync(output)).toEqual(['keep.txt']);
    expectNothingLeft(tempRoot);
  });

  test('of three sinks, the second cannot be put in place: refused before the job, no file or part file of any', async () => {
    const outDir = path.join(dir, 'second-is-dir');
    const first = path.join(outDir, 'first.csv');
    const second = path.join(outDir, 'second.csv');
    fs.mkdirSync(second, { recursive: true });
    const tEnv = environment();
    try {
      tEnv.registerFunction('f', udf('lambda x: x * 3 + 1', [BIGINT], BIGINT));
      sink(tEnv, 'first', first);
      sink(tEnv, 'second', second);
      sink(tEnv, 'third', path.join(outDir, 'third.csv'));
      tEnv.fromElements(ROWS, { x: BIGINT }).select('f(x) AS y').insertInto('first');
      tEnv.fromElements(ROWS, { x: BIGINT }).select('f(x) AS y').insertInto('second');
      tEnv.fromElements(ROWS, { x: BIGINT }).select('f(x) AS y').insertInto('third');
      await expect(tEnv.execute('three sinks')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    } finally {
      await tEnv.close();
    }
    expect(partFiles(outDir)).toEqual([]);
    expect(fs.existsSync(first)).toBe(false);
    expect(fs.existsSync(path.join(outDir, 'third.csv'))).toBe(false);
    expect(fs.readdirSync(second)).toEqual([]);
    expectNothingLeft(tempRoot);
  });
});

describe.each(['abort', 'close'] as const)('a job stopped half-way (%s)', (how) => {
  test('leaves an existing sink file untouched and no part file', async () => {
    const outDir = path.join(dir, `stopped-${how}`);
    const output = path.join(outDir, 'out.csv');
    const earlier = await writeOnce(output, 777);
    const tEnv = environment();
    const controller = new AbortController();
    let error: unknown;
    try {
      // 2 ms a row: the job runs for ~40 s unless stopped.
      tEnv.registerFunction('f', udf(`lambda x: __import__('time').sleep(0.002) or x * 3 + 1`, [BIGINT], BIGINT));
      sink(tEnv, 'sink', output);
      const job = tEnv.fromElements(ROWS, { x: BIGINT }).select('f(x) AS y').executeInsert('sink', { signal: controller.signal })
        .then(() => undefined, (e: unknown) => { error = e; });
      // Stop once the part file holds rows: the job is writing.
      for (;;) {
        const [part] = partFiles(outDir);
        if (part !== undefined && fs.statSync(path.join(outDir, part)).size > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      if (how === 'abort') controller.abort(new Error('stop'));
      else await tEnv.close();
      await job;
    } finally {
      await tEnv.close();
    }
    expect(error).toBeInstanceOf(PyUdfError);
    expect(error).toMatchObject({ code: 'CLOSED' });
    expect(sha256(output)).toBe(earlier.hash);
    expect(fs.statSync(output).mtimeMs).toBe(earlier.mtimeMs);
    expect(fs.readdirSync(outDir)).toEqual(['out.csv']);
    expectNothingLeft(tempRoot);
  }, 60_000);
});

// Output files are checked before a job starts: a sink that is a source of the
// same job (by path, symlink or hard link) would overwrite the input; a target
// on a kernel file system, a FIFO or a directory would fail late or hang.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, FileSystem, OldCsv, PyUdfError, Schema, TableEnvironment, udf } from '../../src/index.js';
import { isolateTempRoot, recordingLogger, tempDir } from '../support.js';
import { expectNothingLeft, sha256 } from './fault-support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir('output-targets-');
const BIGINT = DataTypes.BIGINT();
afterEach(() => expectNothingLeft(tempRoot));

function declare(tEnv: TableEnvironment, name: string, file: string): void {
  tEnv.connect(new FileSystem().path(file)).withFormat(new OldCsv().field('x', BIGINT)).withSchema(new Schema().field('x', BIGINT)).createTemporaryTable(name);
}

/** The job's error, or 'hung' when it has not settled in 20 s (a FIFO with no reader blocks a writer forever). */
async function failure(job: () => Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    job().then(() => new Error('expected the job to fail'), (e: unknown) => e),
    new Promise((resolve) => { timer = setTimeout(() => resolve('hung'), 20_000); }),
  ]).finally(() => clearTimeout(timer));
}

function input(name: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, '1\n2\n3\n');
  return file;
}

test.each([
  ['the same path', (source: string) => source],
  ['a symlink to it', (source: string) => { const link = `${source}.link`; fs.symlinkSync(source, link); return link; }],
  ['a hard link to it', (source: string) => { const link = `${source}.hard`; fs.linkSync(source, link); return link; }],
  ['the same path spelt differently', (source: string) => path.join(path.dirname(source), '.', '..', path.basename(path.dirname(source)), path.basename(source))],
])('a sink that is its source (%s) is refused with INVALID_ARGUMENT and the input is untouched', async (_how, sinkPathOf) => {
  const source = input(`in-${Math.random().toString(36).slice(2)}.csv`);
  const before = sha256(source);
  const tEnv = TableEnvironment.create({ logger: recordingLogger() });
  try {
    declare(tEnv, 'src', source);
    declare(tEnv, 'sink', sinkPathOf(source));
    tEnv.registerFunction('f', udf('lambda x: x * 2', [BIGINT], BIGINT));
    const error = await failure(() => tEnv.fromPath('src').select('f(x) AS x').executeInsert('sink'));
    expect(error).toBeInstanceOf(PyUdfError);
    expect((error as PyUdfError).code).toBe('INVALID_ARGUMENT');
    expect((error as Error).message).toContain('is the file source table "src" reads');
    expect(sha256(source)).toBe(before);
  } finally {
    await tEnv.close();
  }
});

test('a sink beside its source, not the same file, still runs', async () => {
  const source = input('beside.csv');
  const tEnv = TableEnvironment.create({ logger: recordingLogger() });
  try {
    declare(tEnv, 'src', source);
    declare(tEnv, 'sink', path.join(dir, 'beside-out.csv'));
    const result = await tEnv.fromPath('src').select('x').executeInsert('sink');
    expect(result.sinks).toEqual([{ table: 'sink', rows: 3 }]);
  } finally {
    await tEnv.close();
  }
});

test.each([
  ['under /proc', () => '/proc/self/pyudf-out.csv', 'IO', /kernel's proc file system/],
  ['under /sys', () => '/sys/kernel/pyudf-out.csv', 'IO', /kernel's sysfs file system/],
  ['a directory', () => fs.mkdtempSync(path.join(dir, 'a-dir-')), 'INVALID_ARGUMENT', /is a directory, not a regular file/],
  ['a FIFO', () => { const fifo = path.join(dir, `sink-fifo-${Date.now()}`); execFileSync('mkfifo', [fifo]); return fifo; }, 'INVALID_ARGUMENT', /is a FIFO/],
  ['below a regular file', () => path.join(input('not-a-dir.csv'), 'out.csv'), 'INVALID_ARGUMENT', /is not a directory/],
])('a sink %s is refused before the job starts', async (_where, target, code, message) => {
  const tEnv = TableEnvironment.create({ logger: recordingLogger() });
  try {
    declare(tEnv, 'sink', target());
    tEnv.registerFunction('f', udf('lambda x: x', [BIGINT], BIGINT));
    const error = await failure(() => tEnv.fromElements([[1n]], { x: BIGINT }).select('f(x) AS x').executeInsert('sink'));
    expect((error as PyUdfError).code).toBe(code);
    expect((error as Error).message).toMatch(message);
  } finally {
    await tEnv.close();
  }
});

test.each([
  ['under /proc', () => '/proc/self/pyudf-letters.jsonl', 'IO', /kernel's proc file system/],
  ['a FIFO nobody reads', () => { const fifo = path.join(dir, `letters-fifo-${Date.now()}`); execFileSync('mkfifo', [fifo]); return fifo; }, 'INVALID_ARGUMENT', /is a FIFO/],
])('a deadLetterPath %s is refused before the job starts, never hangs', async (_where, target, code, message) => {
  const tEnv = TableEnvironment.create({ logger: recordingLogger(), onUdfError: 'deadLetter', deadLetterPath: target() });
  try {
    tEnv.registerFunction('f', udf('lambda x: 1 // 0 if x == 2 else x', [BIGINT], BIGINT));
    const error = await failure(() => tEnv.fromElements([[1n], [2n]], { x: BIGINT }).select('f(x)').execute().collect());
    expect(error).not.toBe('hung');
    expect((error as PyUdfError).code).toBe(code);
    expect((error as Error).message).toMatch(message);
  } finally {
    await tEnv.close();
  }
});

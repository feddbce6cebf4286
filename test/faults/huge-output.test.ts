// What a function writes must not take the host down: a line of hundreds of
// megabytes on fd 1, a huge print(), raw fd 2 output of C code or a
// subprocess. Each reaches the logger, capped, its truncation stated, and
// later output is not lost.
import { DataTypes, TableEnvironment, udf } from '../../src/index.js';
import { isolateTempRoot, recordingLogger, tempDir } from '../support.js';
import { checkNothingLeftAfterEach } from './fault-support.js';
import fs from 'node:fs';
import path from 'node:path';

const tempRoot = isolateTempRoot();
checkNothingLeftAfterEach(tempRoot);
const dir = tempDir('udf-faults-output-');
const BIGINT = DataTypes.BIGINT();
const MB = 1 << 20;
const LIMIT = 64 * 1024;

const loud = path.join(dir, 'loud.py');
fs.writeFileSync(loud, `import os
import sys


def raw_line(x, megabytes):
    """megabytes of 'x' on fd 1 with no newline, then a newline and a normal print."""
    chunk = b"x" * (1 << 20)
    for _ in range(megabytes):
        os.write(1, chunk)
    os.write(1, b"\\n")
    print("after the raw line")
    return x


def huge_print(x, megabytes):
    print("y" * (megabytes << 20))
    print("after the huge print")
    return x


def raw_stderr(x, lines):
    os.system(f"for i in $(seq {lines}); do echo err$i >&2; done")
    return x
`);

async function run(fn: string) {
  const logger = recordingLogger();
  const tEnv = TableEnvironment.create({ logger });
  try {
    tEnv.addPythonFile(loud);
    tEnv.registerFunction('f', udf(fn, [BIGINT], BIGINT));
    const rows = await tEnv.fromElements([[7n]], { x: BIGINT }).select('f(x) AS y').execute().collect();
    expect(rows).toEqual([{ y: 7n }]);
  } finally {
    await tEnv.close();
  }
  return logger.entries.filter((e) => e.source === 'udf');
}

test('600 MB on fd 1 without a newline: one capped line saying what was cut, and the next print arrives', async () => {
  const entries = await run(`lambda x: __import__('loud').raw_line(x, 600)`);
  const raw = entries.filter((e) => e.pythonLogger === 'stdout' && e.message.startsWith('xxx'));
  expect(raw).toHaveLength(1);
  expect(raw[0]!.message).toBe(`${'x'.repeat(LIMIT)} [line truncated: ${600 * MB - LIMIT} more bytes not shown]`);
  expect(raw[0]!.functionName).toBe('f');
  expect(raw[0]!.workerPid).toEqual(expect.any(Number));
  expect(entries.filter((e) => e.message === 'after the raw line')).toHaveLength(1);
}, 120_000);

test('a 100 MB print(): capped, truncation stated, and later prints are not lost', async () => {
  const entries = await run(`lambda x: __import__('loud').huge_print(x, 100)`);
  const huge = entries.filter((e) => e.message.startsWith('yyy'));
  expect(huge).toHaveLength(1);
  expect(huge[0]!.message).toBe(`${'y'.repeat(LIMIT)} [line truncated: ${100 * MB - LIMIT} more characters not shown]`);
  expect(huge[0]!.functionName).toBe('f');
  expect(entries.filter((e) => e.message === 'after the huge print')).toHaveLength(1);
}, 120_000);

test('raw fd 2 output of a subprocess reaches the logger, every line, tagged', async () => {
  const entries = await run(`lambda x: __import__('loud').raw_stderr(x, 10000)`);
  const lines = entries.filter((e) => e.pythonLogger === 'stderr' && /^err\d+$/.test(e.message));
  expect(lines.map((e) => e.message)).toEqual(Array.from({ length: 10000 }, (_, i) => `err${i + 1}`));
  expect(new Set(lines.map((e) => `${e.level} ${e.functionName} ${typeof e.workerPid}`))).toEqual(new Set(['warn f number']));
}, 120_000);

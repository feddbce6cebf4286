// Memory exhaustion under workerMemoryLimitMb: a MemoryError fails the job at
// once as UDF_OUT_OF_MEMORY naming the function, the limit and the row; a
// worker that dies with its memory at the limit is recognised, and the job
// fails fast instead of searching the batch row by row.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { DataTypes, TableEnvironment, UdfOutOfMemoryError, udf } from '../../src/index.js';
import { isolateTempRoot, tempDir } from '../support.js';
import { checkNothingLeftAfterEach, restartWarnings, watchingLogger } from './fault-support.js';

const tempRoot = isolateTempRoot();
checkNothingLeftAfterEach(tempRoot);
const dir = tempDir('udf-faults-memory-');
const BIGINT = DataTypes.BIGINT();
const LIMIT_MB = 1024;
fs.writeFileSync(path.join(dir, 'hungry.py'), `import mmap
import os
import resource
import signal
import time

_held = []


def grab(x, at, mb):
    """Asks for \`mb\` MiB on row \`at\`."""
    if x == at:
        return len(bytearray(mb << 20))
    return x


def _data_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmData:")) >> 10


def fill_and_die_on(x, at):
    if x == at:
        fill_and_die(x)
    return x


def fill_and_die(x):
    """What the OOM killer does to a worker at its limit: memory up to the limit, then SIGKILL.

    Private writable mappings count against the limit without a page being touched:
    the machine's memory is not really used.
    """
    limit_mb = resource.getrlimit(resource.RLIMIT_DATA)[0] >> 20
    try:
        while _data_mb() < limit_mb * 0.95:
            _held.append(mmap.mmap(-1, 16 << 20, flags=mmap.MAP_PRIVATE))
    except (MemoryError, OSError):
        pass
    time.sleep(0.75)  # the host reads a worker's memory four times a second
    os.kill(os.getpid(), signal.SIGKILL)
`);

async function failingJob(expression: string, rows: number, logger = watchingLogger()): Promise<UdfOutOfMemoryError> {
  const tEnv = TableEnvironment.create({ bundleSize: 10, workerMemoryLimitMb: LIMIT_MB, maxWorkerRestarts: 3, logger });
  try {
    tEnv.addPythonFile(path.join(dir, 'hungry.py'));
    tEnv.registerFunction('f', udf(`lambda x: __import__('hungry').${expression}`, [BIGINT], BIGINT));
    await tEnv.fromElements(Array.from({ length: rows }, (_, i) => [BigInt(i)]), { x: BIGINT }).select('f(x) AS y').execute().collect();
  } catch (error) {
    expect(error).toBeInstanceOf(UdfOutOfMemoryError);
    return error as UdfOutOfMemoryError;
  } finally {
    await tEnv.close();
  }
  throw new Error('the job did not fail');
}

test('a MemoryError past the limit: UDF_OUT_OF_MEMORY with the function, the limit, the row and advice, no restart', async () => {
  const logger = watchingLogger();
  const e = await failingJob('grab(x, 37, 4096)', 50, logger);
  expect(e.code).toBe('UDF_OUT_OF_MEMORY');
  expect(e.functionName).toBe('f');
  expect(e.memoryLimitMb).toBe(LIMIT_MB);
  expect(e.row).toEqual([37n]);
  expect(e.evidence).toBe('MemoryError');
  expect(e.message).toMatch(/Python function "f" ran out of memory \(MemoryError\) on the row f\(37n\)/);
  expect(e.message).toMatch(/memory limit is 1024 MiB \(workerMemoryLimitMb\): raise it, or lower bundleSize/);
  expect(restartWarnings(logger.entries)).toEqual([]);
}, 60_000);

test('a MemoryError fails the job under the skip policy too: memory is no row\'s data', async () => {
  const tEnv = TableEnvironment.create({ bundleSize: 10, workerMemoryLimitMb: LIMIT_MB, onUdfError: 'skip' });
  try {
    tEnv.addPythonFile(path.join(dir, 'hungry.py'));
    tEnv.registerFunction('f', udf(`lambda x: __import__('hungry').grab(x, 3, 4096)`, [BIGINT], BIGINT));
    await expect(tEnv.fromElements([[1n], [3n]], { x: BIGINT }).select('f(x) AS y').execute().collect())
      .rejects.toMatchObject({ code: 'UDF_OUT_OF_MEMORY', row: [3n] });
  } finally {
    await tEnv.close();
  }
}, 60_000);

test('workers killed with their memory at the limit on every batch: UDF_OUT_OF_MEMORY after one retry and one halving, no row blamed', async () => {
  const logger = watchingLogger();
  const e = await failingJob('fill_and_die(x)', 10, logger);
  expect(e.code).toBe('UDF_OUT_OF_MEMORY');
  expect(e.functionName).toBe('f');
  expect(e.row).toBeUndefined();
  expect(e.evidence).toMatch(/^it died by SIGKILL with its memory at \d+ MiB of its 1024 MiB limit$/);
  expect(e.message).toMatch(/ran its worker out of memory 4 time\(s\): it died by SIGKILL with its memory at \d+ MiB of its 1024 MiB limit; both halves of the batch ran it out of memory too, so no single row is to blame/);
  expect(e.message).toContain('workerMemoryLimitMb');
  // One batch: two deaths on it, one on each half, a worker started after each.
  expect(restartWarnings(logger.entries)).toHaveLength(4);
}, 90_000);

test('a worker killed at the limit by one row only: the halving goes on to that row', async () => {
  const logger = watchingLogger();
  const e = await failingJob('fill_and_die_on(x, 7)', 10, logger);
  expect(e.code).toBe('UDF_OUT_OF_MEMORY');
  expect(e.row).toEqual([7n]);
  expect(e.message).toMatch(/ran its worker out of memory 5 time\(s\): it died by SIGKILL with its memory at \d+ MiB of its 1024 MiB limit; the row it ran out on alone: f\(7n\)/);
  // Two deaths on the batch of 10, then one on each half holding row 7: rows 5-9, 5-7, 7.
  expect(restartWarnings(logger.entries)).toHaveLength(5);
}, 90_000);

/**
 * A memory cgroup of the test's own with a limit, or null where none can be
 * made (not root, or cgroups read-only): v1's memory hierarchy, else v2's.
 */
function memoryCgroup(limitMb: number): { dir: string; procs: string } | null {
  const name = `pyudf-test-${process.pid}`;
  const candidates = [
    { dir: path.join('/sys/fs/cgroup/memory', name), limit: 'memory.limit_in_bytes' },
    { dir: path.join('/sys/fs/cgroup', name), limit: 'memory.max' },
  ];
  for (const candidate of candidates) {
    try {
      fs.mkdirSync(candidate.dir);
    } catch {
      continue;
    }
    try {
      fs.writeFileSync(path.join(candidate.dir, candidate.limit), String(limitMb * 1024 * 1024));
      return { dir: candidate.dir, procs: path.join(candidate.dir, 'cgroup.procs') };
    } catch {
      fs.rmdirSync(candidate.dir);
    }
  }
  return null;
}

const cgroup = memoryCgroup(400);
afterAll(() => { if (cgroup) fs.rmdirSync(cgroup.dir); });

(cgroup ? test : test.skip)('the kernel\'s OOM killer ends a worker in a memory cgroup: UDF_OUT_OF_MEMORY from the cgroup\'s count, naming the row', async () => {
  // The host (and so its workers) runs in a cgroup of 400 MiB; pyudf sets no limit of its own.
  const fixture = fileURLToPath(new URL('../fixtures/host-out-of-memory.mjs', import.meta.url));
  const run = await execa('sh', ['-c', `echo $$ > "${cgroup!.procs}" && exec "${process.execPath}" "${fixture}"`], {
    reject: false, env: { ...process.env, NODE_OPTIONS: '' }, stdin: 'ignore',
  });
  expect(run.exitCode).toBe(0);
  const outcome = JSON.parse(run.stdout.trim().split('\n').pop()!) as { code: string; row?: string[]; evidence?: string; message?: string };
  expect(outcome.code).toBe('UDF_OUT_OF_MEMORY');
  expect(outcome.row).toEqual(['7']);
  expect(outcome.evidence).toMatch(/^the kernel's OOM killer killed it \(oom_kill of its memory cgroup went from \d+ to \d+\)$/);
  expect(outcome.message).toContain('has no memory limit of its own (workerMemoryLimitMb), so the machine\'s or container\'s memory ran out');
  expect(fs.readFileSync(cgroup!.procs, 'utf8').trim()).toBe(''); // nothing of the job is left in it
}, 90_000);

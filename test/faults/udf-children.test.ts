// A function's own children (a background subprocess, a forked loop, a
// double fork that leaves the worker's session) hold the worker's stdout and
// stderr open and would outlive it: the job's end, close() and cancellation
// must not wait for them, and none of them is left alive after the job.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { DataTypes, TableEnvironment, udf } from '../../src/index.js';
import { isolateTempRoot, tempDir } from '../support.js';
import { checkNothingLeftAfterEach, isGone, markerPid, writeFaultModule } from './fault-support.js';

const tempRoot = isolateTempRoot();
checkNothingLeftAfterEach(tempRoot);
const dir = tempDir('udf-faults-children-');
const markers = path.join(dir, 'markers');
writeFaultModule(dir, markers);
const BIGINT = DataTypes.BIGINT();
const HOST_CLOSES = fileURLToPath(new URL('../fixtures/host-closes-with-children.mjs', import.meta.url));

/** Each starts one long-lived process, once per job (marker), records its pid in the marker and returns x. */
const childrenModule = path.join(dir, 'children.py');
fs.writeFileSync(childrenModule, `import os
import subprocess
import time

from faults import first_time, mark


def popen_sleep(x, marker):
    if first_time(marker + ".taken"):
        child = subprocess.Popen(["sleep", "600"])
        mark(marker, str(child.pid))
    return x


def fork_loop(x, marker):
    if first_time(marker + ".taken"):
        pid = os.fork()
        if pid == 0:
            while True:
                time.sleep(1)
        mark(marker, str(pid))
    return x


def double_fork(x, marker):
    """The grandchild leaves the worker's session and is orphaned at once."""
    if first_time(marker + ".taken"):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.setsid()
            grandchild = os.fork()
            if grandchild == 0:
                while True:
                    time.sleep(1)
            os.write(w, str(grandchild).encode())
            os._exit(0)
        os.waitpid(pid, 0)
        os.close(w)
        mark(marker, os.read(r, 64).decode())
        os.close(r)
    return x
`);

const KINDS = ['popen_sleep', 'fork_loop', 'double_fork'] as const;
const ROWS = Array.from({ length: 50 }, (_, i) => [BigInt(i)]);

async function awaitGone(pid: number, withinMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (!isGone(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return isGone(pid);
}

describe.each(KINDS)('a function that starts a child (%s)', (kind) => {
  test.each([0, 60_000])('the job ends, close() returns and the child is gone (workerIdleTimeoutMs %i)', async (idle) => {
    const marker = `${kind}-idle${idle}`;
    const tEnv = TableEnvironment.create({ bundleSize: 10, workerIdleTimeoutMs: idle });
    try {
      tEnv.addPythonFile(path.join(dir, 'faults.py'));
      tEnv.addPythonFile(childrenModule);
      tEnv.registerFunction('f', udf(`lambda x: __import__('children').${kind}(x, ${JSON.stringify(marker)})`, [BIGINT], BIGINT));
      const rows = await tEnv.fromElements(ROWS, { x: BIGINT }).select('f(x) AS y').execute().collect();
      expect(rows).toEqual(ROWS.map(([x]) => ({ y: x })));
      const child = await markerPid(markers, marker);
      // The job is over, even with its worker kept warm: what its functions started is gone.
      expect(await awaitGone(child)).toBe(true);
    } finally {
      await tEnv.close();
    }
  }, 60_000);

  test('cancelling the job while the child runs stops everything', async () => {
    const marker = `${kind}-cancel`;
    const tEnv = TableEnvironment.create({ bundleSize: 1 });
    const controller = new AbortController();
    try {
      tEnv.addPythonFile(path.join(dir, 'faults.py'));
      tEnv.addPythonFile(childrenModule);
      tEnv.registerFunction('f', udf(
        `lambda x: (__import__('children').${kind}(x, ${JSON.stringify(marker)}), __import__('time').sleep(0.05))[0]`,
        [BIGINT], BIGINT,
      ));
      const job = tEnv.fromElements(ROWS, { x: BIGINT }).select('f(x) AS y').execute({ signal: controller.signal }).collect();
      const child = await markerPid(markers, marker);
      controller.abort();
      await expect(job).rejects.toMatchObject({ code: 'CLOSED' });
      expect(await awaitGone(child)).toBe(true);
    } finally {
      await tEnv.close();
    }
  }, 60_000);
});

test('a program ends only after close() has returned, children or not', async () => {
  const marker = 'host-closes';
  const result = await execa('node', [HOST_CLOSES, dir, marker], { reject: false, env: { TMPDIR: tempRoot }, timeout: 50_000 });
  expect(result.stderr).toBe('');
  expect(result.stdout.split('\n')).toEqual(['rows 3', 'closed']);
  expect(result.exitCode).toBe(0);
  expect(await awaitGone(await markerPid(markers, marker))).toBe(true);
}, 60_000);

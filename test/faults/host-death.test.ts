// A host that dies (SIGKILL, SIGINT, SIGTERM) while its worker cannot react:
// stuck in C code holding the GIL, or stopped by SIGSTOP. The worker and its
// private directory go with the host all the same.
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { isolateTempRoot, isGone, leftoverPyudfDirs } from '../support.js';

const tempRoot = isolateTempRoot();
const HOST = fileURLToPath(new URL('../fixtures/host-with-stuck-worker.mjs', import.meta.url));

async function startHost(mode: 'regex' | 'sleep') {
  const host = execa('node', [HOST, mode], { reject: false, env: { TMPDIR: tempRoot } });
  const lines = readline.createInterface({ input: host.stdout! });
  const workerPid = await new Promise<number>((resolve) => {
    lines.on('line', (line) => {
      const match = /^worker-pid (\d+)$/.exec(line);
      if (match) resolve(Number(match[1]));
    });
  });
  return { host, workerPid };
}

/** Polls (the kernel and the worker's guard act on their own) for at most `withinMs`. */
async function within(withinMs: number, done: () => boolean): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return done();
}

const CASES = [
  ['regex', 'SIGKILL'], ['regex', 'SIGINT'], ['regex', 'SIGTERM'],
  ['sigstop', 'SIGKILL'], ['sigstop', 'SIGINT'],
] as const;

test.each(CASES)('a worker %s when the host gets %s is gone within 2 s, and so is the private directory', async (stuck, signal) => {
  const { host, workerPid } = await startHost(stuck === 'regex' ? 'regex' : 'sleep');
  if (stuck === 'sigstop') process.kill(workerPid, 'SIGSTOP');
  await new Promise((r) => setTimeout(r, 300)); // into the regex
  host.kill(signal);
  expect((await host).signal).toBe(signal);
  expect(await within(2_000, () => isGone(workerPid))).toBe(true);
  expect(await within(2_000, () => leftoverPyudfDirs(tempRoot).length === 0)).toBe(true);
}, 60_000);

test('SIGINT of the host, four times over: no private directory is ever left', async () => {
  for (let i = 0; i < 4; i++) {
    const { host, workerPid } = await startHost('sleep');
    host.kill('SIGINT');
    await host;
    expect(await within(2_000, () => isGone(workerPid))).toBe(true);
    expect(await within(2_000, () => leftoverPyudfDirs(tempRoot).length === 0)).toBe(true);
  }
}, 120_000);

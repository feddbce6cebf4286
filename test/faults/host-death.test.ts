// A host that dies (SIGKILL, SIGINT, SIGTERM) while its worker cannot react:
// stuck in C code holding the GIL, or stopped by SIGSTOP. The worker and its
// private directory go with the host all the same.
import { fileURLToPath } from 'node:url';
import { isolateTempRoot, isGone, leftoverPyudfDirs, startHostFixture, within } from '../support.js';

const tempRoot = isolateTempRoot();
const HOST = fileURLToPath(new URL('../fixtures/host-with-stuck-worker.mjs', import.meta.url));

const CASES = [
  ['regex', 'SIGKILL'], ['regex', 'SIGINT'], ['regex', 'SIGTERM'],
  ['sigstop', 'SIGKILL'], ['sigstop', 'SIGINT'],
] as const;

test.each(CASES)('a worker %s when the host gets %s is gone within 2 s, and so is the private directory', async (stuck, signal) => {
  const { host, workerPid } = await startHostFixture(HOST, [stuck === 'regex' ? 'regex' : 'sleep'], tempRoot);
  if (stuck === 'sigstop') process.kill(workerPid, 'SIGSTOP');
  await new Promise((r) => setTimeout(r, 300)); // into the regex
  host.kill(signal);
  expect((await host).signal).toBe(signal);
  expect(await within(2_000, () => isGone(workerPid))).toBe(true);
  expect(await within(2_000, () => leftoverPyudfDirs(tempRoot).length === 0)).toBe(true);
}, 60_000);

test('SIGINT of the host, four times over: no private directory is ever left', async () => {
  for (let i = 0; i < 4; i++) {
    const { host, workerPid } = await startHostFixture(HOST, ['sleep'], tempRoot);
    host.kill('SIGINT');
    await host;
    expect(await within(2_000, () => isGone(workerPid))).toBe(true);
    expect(await within(2_000, () => leftoverPyudfDirs(tempRoot).length === 0)).toBe(true);
  }
}, 120_000);

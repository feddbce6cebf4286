import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import readline from 'node:readline';
import { execa } from 'execa';
import type { LogEntry, Logger } from '../src/index.js';

/** Live child processes of this (jest worker) process: workers must not outlive their job. */
export function childProcesses(): { pid: number; command: string }[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when there are none
  }
  return out.split('\n').map((l) => l.trim()).filter(Boolean)
    .map((l) => ({ pid: Number(l.split(/\s+/, 1)[0]), command: l.slice(l.indexOf(' ') + 1) }))
    .filter((p) => !p.command.startsWith('ps '));
}

/** Whether process `pid` has exited (gone from /proc, or a zombie nobody reaped yet). */
export function isGone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

export function pythonWorkers(): { pid: number; command: string }[] {
  return childProcesses().filter((p) => p.command.includes('pyudf.worker'));
}

/** Polls `done` (for things the kernel or another process does on its own) for at most `withinMs`; its last answer. */
export async function within(withinMs: number, done: () => boolean): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return done();
}

/**
 * Starts a host fixture (a Node script under test/fixtures that runs a job and
 * prints `worker-pid N` once its worker is up), with TMPDIR at `tempRoot`;
 * resolves once that line arrives.
 */
export async function startHostFixture(script: string, args: readonly string[], tempRoot: string) {
  const host = execa('node', [script, ...args], { reject: false, env: { TMPDIR: tempRoot } });
  const lines = readline.createInterface({ input: host.stdout! });
  const workerPid = await new Promise<number>((resolve) => {
    lines.on('line', (line) => {
      const match = /^worker-pid (\d+)$/.exec(line);
      if (match) resolve(Number(match[1]));
    });
  });
  return { host, workerPid };
}

/** A fresh directory, removed after the test file. */
export function tempDir(prefix = 'udf-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Points this test file's temp root (TMPDIR, which pyudf's private worker
 * directories go under) at a fresh directory, so leftovers can be counted.
 *
 * Jest gives each test file a copy of process.env, which the real
 * os.tmpdir() (used by the `tmp` package that makes pyudf's private
 * directories) never reads: so os.tmpdir itself is pointed at the root too,
 * for this test file only. TMPDIR still reaches the Python workers, which
 * inherit this copy of the environment.
 */
export function isolateTempRoot(): string {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'pyudf-test-root-')));
  const previous = process.env.TMPDIR;
  const previousTmpdir = os.tmpdir;
  process.env.TMPDIR = root;
  os.tmpdir = () => root;
  afterAll(() => {
    os.tmpdir = previousTmpdir;
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    fs.rmSync(root, { recursive: true, force: true });
  });
  return root;
}

/** pyudf's private directories (sockets, job files) still present under `root`. */
export function leftoverPyudfDirs(root: string): string[] {
  return fs.readdirSync(root).filter((n) => n.startsWith('pyudf-'));
}

/** A logger that keeps what it is given, for asserting UDF output. */
export function recordingLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return { entries, log: (entry) => { entries.push(entry); } };
}

/** The wheels the test set-up downloaded (test/fixtures/wheelhouse/requirements.txt): the offline tests' cached dir. */
export const WHEELHOUSE = process.env.PYUDF_TEST_WHEELHOUSE ?? '';

/**
 * pyudf's modules (the public API and the environment internals tests use),
 * imported so that jest's ESM loader cannot trip over them.
 *
 * pyudf's environment modules (and its job runner) load both execa (ESM,
 * whose modules `import process from 'node:process'`) and proper-lockfile, whose CommonJS signal-exit adds
 * `process.__signal_exit_emitter__` when it loads. Jest makes its
 * 'node:process' module from process's keys when it links it and fills it in
 * a moment later: if signal-exit loads in between, the test file fails with
 * "Export '__signal_exit_emitter__' is not defined in module" (seen when a
 * test file is the first in a jest worker). Importing pyudf here, after the
 * key exists, makes the order irrelevant: test files that use this import
 * pyudf's values only through it (`import type` is fine).
 */
export async function importPyudf() {
  const sandboxProcess = process as unknown as Record<string, unknown>;
  if (!('__signal_exit_emitter__' in sandboxProcess)) sandboxProcess.__signal_exit_emitter__ = undefined; // signal-exit fills it
  // One after the other: jest links concurrent dynamic imports of a shared module badly ("request for 'execa' is not in cache").
  const api = await import('../src/index.js');
  const catalog = await import('../src/environments/catalog.js');
  const cacheDir = await import('../src/environments/cache-dir.js');
  const interpreter = await import('../src/environments/interpreter.js');
  const workerRuntime = await import('../src/environments/worker-runtime.js');
  return { ...api, ...catalog, ...cacheDir, ...interpreter, ...workerRuntime };
}

/** Directories made by freshCacheDir and wheelhouseCopy (which may be called inside tests), removed after the test file. */
const madeDirs: string[] = [];
afterAll(() => {
  for (const dir of madeDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * A fresh, empty pyudf cache directory (removed after the test file) that
 * still finds the already-built worker runtime: its `runtimes` directory holds
 * one symlink per runtime of the real cache (cacheRoot() with no argument),
 * after ensureWorkerRuntime has made sure there is one. A symlink per runtime,
 * not one for the whole `runtimes` directory, so that `pyudf env prune --all`
 * on the fresh cache removes the links and never the real runtimes behind them.
 */
export async function freshCacheDir(prefix = 'udf-cache-'): Promise<string> {
  const { cacheRoot, chooseInterpreter, ensureWorkerRuntime } = await importPyudf();
  await ensureWorkerRuntime(chooseInterpreter(), { logger: { log: () => undefined } });
  const real = path.join(cacheRoot(), 'runtimes');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  madeDirs.push(dir);
  fs.mkdirSync(path.join(dir, 'runtimes'));
  for (const name of fs.readdirSync(real)) {
    if (name.endsWith('.lock') || name.includes('.staging-')) continue;
    fs.symlinkSync(path.join(real, name), path.join(dir, 'runtimes', name));
  }
  return dir;
}

/** A writable copy of the wheelhouse's wheels (or of the named files), removed after the test file. */
export function wheelhouseCopy(names?: readonly string[], prefix = 'udf-cached-'): string {
  if (!WHEELHOUSE) throw new Error('PYUDF_TEST_WHEELHOUSE is not set: run the tests through jest, whose global set-up downloads the wheelhouse');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  madeDirs.push(dir);
  for (const name of names ?? fs.readdirSync(WHEELHOUSE).filter((n) => n.endsWith('.whl'))) {
    fs.copyFileSync(path.join(WHEELHOUSE, name), path.join(dir, name));
    fs.chmodSync(path.join(dir, name), 0o644);
  }
  return dir;
}

/** That no Python worker of this test file runs, and no private directory of pyudf is left under `tempRoot`. */
export function expectNothingLeft(tempRoot: string): void {
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
}

let sharedOpen = 0;

/**
 * `tEnv`, shared by the enclosing block's tests and closed after them; then
 * nothing of it may be left (expectNothingLeft). Until then its workers and
 * private directory are expected: see sharedEnvironmentOpen.
 */
export function closedAfterAll<T extends { close(): Promise<void> }>(tEnv: T, tempRoot: string): T {
  beforeAll(() => { sharedOpen++; });
  afterAll(async () => {
    await tEnv.close();
    sharedOpen--;
    expectNothingLeft(tempRoot);
  });
  return tEnv;
}

/** Whether an environment of closedAfterAll is open: per-test checks for leftovers wait for its afterAll. */
export function sharedEnvironmentOpen(): boolean {
  return sharedOpen > 0;
}

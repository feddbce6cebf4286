import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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

export function pythonWorkers(): { pid: number; command: string }[] {
  return childProcesses().filter((p) => p.command.includes('pyudf.worker'));
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

export const WHEELHOUSE = fileURLToPath(new URL('../../shared/wheelhouse', import.meta.url));

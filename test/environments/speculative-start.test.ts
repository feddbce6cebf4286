// The first job of a process starts its workers on the runtime the
// interpreter led to last time, while the interpreter is probed again (through
// a version manager's shim, a probe takes 0.3-0.5 s); a wrong guess's workers
// are stopped and the job runs on the right runtime.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { freshCacheDir, importPyudf, isGone, isolateTempRoot, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir('speculative-start-');
const FIXTURE = new URL('../fixtures/first-job.mjs', import.meta.url).pathname;
const REAL_PYTHON = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
const probeLog = path.join(dir, 'probes.log');
const importLog = path.join(dir, 'imports.log');
const moduleFile = path.join(dir, 'module.py');

/**
 * An interpreter command with a shim in front, as a version manager has. When
 * told to, it holds the probe until a file is written (at most 30 s), so that
 * what is started meanwhile is known; it logs when it hands over to Python.
 */
const shim = path.join(dir, 'python-shim');
fs.writeFileSync(shim, [
  '#!/bin/sh',
  'i=0',
  'while [ -n "$SHIM_WAITS_FOR" ] && [ ! -s "$SHIM_WAITS_FOR" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done',
  `echo "$(date +%s%N)" >> ${probeLog}`,
  `exec ${REAL_PYTHON} "$@"`,
].join('\n'), { mode: 0o755 });
fs.writeFileSync(moduleFile, [
  'import os, time',
  `with open(${JSON.stringify(importLog)}, "a") as log:`,
  '    log.write("%d\\n" % time.time_ns())',
  'def worker_pid(x):',
  '    return os.getpid() + x',
].join('\n'));

function lastLine(file: string): bigint {
  return BigInt(fs.readFileSync(file, 'utf8').trim().split('\n').at(-1)!);
}

async function firstJob(cacheDir: string, options: { pidFile?: string; probeWaitsFor?: string } = {}): Promise<{ pid: number; otherAlive: boolean | null }> {
  const args = JSON.stringify({ cacheDir, pythonExecutable: shim, moduleFile, pidFile: options.pidFile });
  fs.rmSync(importLog, { force: true });
  const { stdout } = await execa('node', [FIXTURE, args], { env: { TMPDIR: tempRoot, SHIM_WAITS_FOR: options.probeWaitsFor ?? '' } });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

test('a remembered interpreter: the workers import the functions before the probe has answered', async () => {
  const cacheDir = await freshCacheDir();
  const first = await firstJob(cacheDir); // probes, then starts workers; remembers the answer
  expect(isGone(first.pid)).toBe(true);
  expect(lastLine(importLog)).toBeGreaterThan(lastLine(probeLog));

  const second = await firstJob(cacheDir, { probeWaitsFor: importLog });
  expect(second.pid).not.toBe(first.pid);
  expect(lastLine(importLog)).toBeLessThan(lastLine(probeLog));
  expect(isGone(second.pid)).toBe(true);
}, 60_000);

test('a wrong guess: its workers are stopped, and the job runs on the runtime the probe names', async () => {
  const { chooseInterpreter, ensureWorkerRuntime, runtimeDir } = await importPyudf();
  const { COMPLETE_MARKER } = await import('../../src/environments/published-dir.js');
  const cacheDir = await freshCacheDir();
  await firstJob(cacheDir);
  // Say the shim led to another Python last time, whose runtime is a program that only records its pid.
  const [record] = fs.readdirSync(path.join(cacheDir, 'interpreters')).map((name) => path.join(cacheDir, 'interpreters', name));
  const remembered = JSON.parse(fs.readFileSync(record!, 'utf8'));
  const other = { ...remembered, version: '3.99.0' };
  fs.writeFileSync(record!, JSON.stringify(other));
  const otherRuntime = runtimeDir(other, cacheDir);
  const pidFile = path.join(dir, 'other.pid');
  fs.mkdirSync(path.join(otherRuntime, 'bin'), { recursive: true });
  fs.writeFileSync(path.join(otherRuntime, 'bin', 'python'), `#!/bin/sh\necho $$ > ${pidFile}\nexec sleep 60\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(otherRuntime, COMPLETE_MARKER), '{}');

  const job = await firstJob(cacheDir, { pidFile, probeWaitsFor: pidFile });
  expect(fs.existsSync(pidFile)).toBe(true); // the guess was started...
  expect(job.otherAlive).toBe(false); // ...and stopped once the probe disagreed
  const real = await ensureWorkerRuntime(chooseInterpreter(), { logger: { log: () => undefined } });
  expect(real.interpreter.version).not.toBe('3.99.0');
  // The record now holds the probe's answer again.
  expect(JSON.parse(fs.readFileSync(record!, 'utf8')).version).toBe(remembered.version);
}, 60_000);

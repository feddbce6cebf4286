// Helpers shared by the fault-injection tests: real processes, real signals,
// and checks that a job left nothing behind.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { LogEntry, Logger } from '../../src/index.js';
import { expectNothingLeft, sharedEnvironmentOpen } from '../support.js';

export { expectNothingLeft };

export { isGone } from '../support.js';

export function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Part files a CSV sink writes beside its target (`.name.pyudf-<pid>-<random>.part`). */
export function partFiles(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.part')) : [];
}

/** Every `.part` file anywhere under `root`. */
export function partFilesUnder(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return (fs.readdirSync(root, { recursive: true }) as string[]).filter((p) => p.endsWith('.part'));
}

/**
 * After each test of the file: no worker process, no private directory under
 * `tempRoot` (once no shared environment is open), no part file of a CSV sink
 * anywhere under `outputRoot`.
 */
export function checkNothingLeftAfterEach(tempRoot: string, outputRoot: string = tempRoot): void {
  afterEach(() => {
    if (!sharedEnvironmentOpen()) expectNothingLeft(tempRoot);
    expect(partFilesUnder(outputRoot)).toEqual([]);
  });
}

/**
 * A Python module of fault-injecting helpers. `first_time(name)` is true
 * exactly once per marker name across every worker process of the test file
 * (an O_EXCL create in `markerDir`); the marker holds the pid that took it.
 */
export function writeFaultModule(dir: string, markerDir: string, name = 'faults'): string {
  fs.mkdirSync(markerDir, { recursive: true });
  const file = path.join(dir, `${name}.py`);
  fs.writeFileSync(file, `import os
import signal
import time

from pyudf import DataTypes, ScalarFunction, udf

MARKERS = ${JSON.stringify(markerDir)}


def first_time(name):
    try:
        fd = os.open(os.path.join(MARKERS, name), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return False
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    return True


def mark(name, text):
    with open(os.path.join(MARKERS, name), "w") as f:
        f.write(text)


def slow_reporting_pid(x, at, pause=2.0):
    """Says its pid (print, to the job's logger) when it reaches row \`at\`, then
    pauses \`pause\` seconds in that row: whatever the host does on reading the
    line (a signal) lands while the job is still running that row."""
    if x == at:
        print("pid", os.getpid(), flush=True)
        time.sleep(pause)
    return x * 3 + 1


def exit_once(x, at, marker):
    """os._exit(1) on row \`at\`, the first time any worker gets there."""
    if x == at and first_time(marker):
        os._exit(1)
    return x * 3 + 1


def oom_kill_once(x, at, marker):
    """What the kernel's OOM killer does: SIGKILL, no chance to clean up; once."""
    if x == at and first_time(marker):
        os.kill(os.getpid(), signal.SIGKILL)
    return x * 3 + 1


def segfault_once(x, at, marker):
    """A crash in C code: SIGSEGV, once."""
    if x == at and first_time(marker):
        import ctypes
        ctypes.string_at(0)
    return x * 3 + 1


def exit_on(a, s, d, at, code):
    """Kills its worker (os._exit(code)) every time it sees row \`at\`."""
    if a == at:
        os._exit(code)
    return a


def sigkill_on(a, at):
    if a == at:
        os.kill(os.getpid(), signal.SIGKILL)
    return a


_rows_seen = 0


def crash_after_rows(x, limit):
    """Dies (exit code 9) once this process has seen \`limit\` rows: no single row is to blame."""
    global _rows_seen
    _rows_seen += 1
    if _rows_seen >= limit:
        os._exit(9)
    return x


class OpensOnce(ScalarFunction):
    """open() works in one worker only (a licence the first holder never gives back); row 100 kills it."""

    def open(self, function_context):
        if not first_time(function_context.get_job_parameter("open_marker", "")):
            raise RuntimeError("the licence is held by a worker that died")

    def eval(self, x):
        if x == 100:
            os._exit(9)
        return x


opens_once = udf(OpensOnce(), [DataTypes.BIGINT()], DataTypes.BIGINT())


def hang_on(x, at, marker):
    """Sleeps forever on row \`at\`, after writing its pid to the marker."""
    if x == at:
        mark(marker, str(os.getpid()))
        while True:
            time.sleep(3600)
    return x
`);
  return file;
}

/** Reads a marker's pid, waiting for it to appear (a worker writes it). */
export async function markerPid(markerDir: string, name: string, withinMs = 30_000): Promise<number> {
  const file = path.join(markerDir, name);
  const deadline = Date.now() + withinMs;
  for (;;) {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (/^\d+$/.test(text)) return Number(text);
    if (Date.now() > deadline) throw new Error(`marker ${file} did not appear within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A recording logger that also calls `onEntry` as entries arrive. */
export function watchingLogger(onEntry: (entry: LogEntry) => void = () => undefined): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    log(entry) {
      entries.push(entry);
      onEntry(entry);
    },
  };
}

/** pyudf's own warnings about replaced workers. */
export function restartWarnings(entries: readonly LogEntry[]): string[] {
  return entries.filter((e) => e.source === 'pyudf' && e.level === 'warn' && e.message.includes('starting a new worker')).map((e) => e.message);
}

import fs from 'node:fs';
import path from 'node:path';
import { PyUdfError } from '../errors.js';

// statfs(2) magic numbers of kernel file systems: a file there is an interface
// to the kernel, not storage. Writing to one can block forever or change the
// machine (/proc/sysrq-trigger), and nothing written there can be read back.
const KERNEL_FILE_SYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'], [0x62656572, 'sysfs'], [0x1cd1, 'devpts'], [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'], [0x27e0eb, 'cgroup'], [0x63677270, 'cgroup2'], [0x73636673, 'securityfs'],
  [0xcafe4a11, 'bpf'], [0x6e736673, 'nsfs'], [0x42494e4d, 'binfmt_misc'], [0x50495045, 'pipefs'],
]);

/** Whether two paths are the same file (by device and inode, so links count): false when either does not exist. */
export function sameFile(a: string, b: string): boolean {
  let first: fs.Stats;
  let second: fs.Stats;
  try {
    first = fs.statSync(a);
    second = fs.statSync(b);
  } catch {
    return false;
  }
  return first.dev === second.dev && first.ino === second.ino;
}

function nearestExisting(file: string): string {
  let at = file;
  while (!fs.existsSync(at)) {
    const parent = path.dirname(at);
    if (parent === at) break;
    at = parent;
  }
  return at;
}

/**
 * Checks, before a job starts, that `file` can be an output file: on a file
 * system that stores data, a regular file if it exists, in a directory pyudf
 * may write to. Otherwise a job would fail late, or hang on a FIFO or a
 * kernel file that never completes a write.
 */
export function checkOutputTarget(file: string, what: string): void {
  const target = path.resolve(file);
  const existing = nearestExisting(target);
  let kind: string | undefined;
  try {
    kind = KERNEL_FILE_SYSTEMS.get(Number(fs.statfsSync(existing).type));
  } catch (error) {
    throw new PyUdfError('IO', `${what} ${target}: cannot check where it is: ${(error as Error).message}`, { cause: error });
  }
  if (kind !== undefined) {
    throw new PyUdfError('IO', `cannot write ${target} (${what}): it is on the kernel's ${kind} file system, which holds no files pyudf can write`);
  }
  if (existing === target) {
    const stat = fs.statSync(target);
    if (!stat.isFile()) {
      const type = stat.isDirectory() ? 'a directory' : stat.isFIFO() ? 'a FIFO' : stat.isSocket() ? 'a socket' : 'a device';
      throw new PyUdfError('INVALID_ARGUMENT', `${what} ${target} is ${type}, not a regular file`);
    }
  }
  // The file itself is appended to (dead letters) or replaced from its directory (a sink's part file).
  const directory = nearestExisting(path.dirname(target));
  if (!fs.statSync(directory).isDirectory()) {
    throw new PyUdfError('INVALID_ARGUMENT', `${what} ${target}: ${directory} is not a directory`);
  }
  for (const place of existing === target ? [directory, target] : [directory]) {
    try {
      fs.accessSync(place, fs.constants.W_OK);
    } catch (error) {
      throw new PyUdfError('IO', `${what} ${target}: ${place} is not writable: ${(error as Error).message}`, { cause: error });
    }
  }
}

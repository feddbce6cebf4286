import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EnvironmentError } from '../errors.js';

/** Where pyudf keeps built environments: PYUDF_CACHE_DIR, else the user's cache directory. */
export function cacheRoot(explicit?: string): string {
  if (explicit) return path.resolve(explicit);
  if (process.env.PYUDF_CACHE_DIR) return path.resolve(process.env.PYUDF_CACHE_DIR);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'pyudf');
}

/**
 * Refuses a cache directory another user could have written to, as ssh
 * refuses such keys: the workers import from it (a `.pth` file planted in an
 * environment runs as the job's user). Each of `dirs` that exists must be
 * owned by this user or root and writable by neither group nor others.
 */
export function checkTrustedDirs(dirs: readonly string[], what: string): void {
  const uid = process.getuid?.();
  if (uid === undefined) return; // no owners to compare on this platform
  for (const dir of dirs) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(dir);
    } catch {
      continue; // not made yet: pyudf makes it, private
    }
    const shown = fs.realpathSync(dir) === dir ? dir : `${dir} (${fs.realpathSync(dir)})`;
    if (stat.uid !== uid && stat.uid !== 0) {
      throw new EnvironmentError('ENVIRONMENT_BUILD_FAILED',
        `${what} ${shown} is owned by uid ${stat.uid}, not by this user (uid ${uid}) or root: pyudf will not run code from it. ` +
        'Use a cache directory of your own (PYUDF_CACHE_DIR or the cacheDir option).', {});
    }
    if ((stat.mode & 0o022) !== 0) {
      throw new EnvironmentError('ENVIRONMENT_BUILD_FAILED',
        `${what} ${shown} is writable by ${(stat.mode & 0o002) !== 0 ? 'others' : 'its group'} (mode ${(stat.mode & 0o777).toString(8)}): ` +
        `pyudf will not run code from it. Fix it with: chmod go-w ${fs.realpathSync(dir)}`, {});
    }
  }
}

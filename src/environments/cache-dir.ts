import os from 'node:os';
import path from 'node:path';

/** Where pyudf keeps built environments: PYUDF_CACHE_DIR, else the user's cache directory. */
export function cacheRoot(explicit?: string): string {
  if (explicit) return path.resolve(explicit);
  if (process.env.PYUDF_CACHE_DIR) return path.resolve(process.env.PYUDF_CACHE_DIR);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'pyudf');
}

import fs from 'node:fs';
import path from 'node:path';
import lockfile from 'proper-lockfile';

/** A lock younger than this is held by a live builder (proper-lockfile refreshes it). */
const LOCK_STALE_MS = 5_000;
/** How long to wait for another process's build of the same directory. */
const LOCK_WAIT_RETRIES = 1_200;
const COMPLETE_MARKER = '.pyudf-complete.json';

export function isPublished(dir: string): boolean {
  return fs.existsSync(path.join(dir, COMPLETE_MARKER));
}

/**
 * Builds `finalDir` once, across processes: under a file lock, into a private
 * staging directory, published by one atomic rename with a completion marker
 * written last. A build killed half-way leaves only a staging directory that
 * no reader mistakes for a finished one, removed by the next build.
 */
export async function publishOnce(
  finalDir: string,
  build: (stagingDir: string) => Promise<Record<string, unknown>>,
): Promise<{ built: boolean }> {
  if (isPublished(finalDir)) return { built: false };
  const parent = path.dirname(finalDir);
  fs.mkdirSync(parent, { recursive: true });
  const release = await lockfile.lock(finalDir, {
    realpath: false,
    stale: LOCK_STALE_MS,
    lockfilePath: `${finalDir}.lock`,
    retries: { retries: LOCK_WAIT_RETRIES, factor: 1, minTimeout: 100, maxTimeout: 500 },
  });
  try {
    if (isPublished(finalDir)) return { built: false };
    const name = path.basename(finalDir);
    for (const leftover of fs.readdirSync(parent)) {
      if (leftover.startsWith(`${name}.staging-`)) fs.rmSync(path.join(parent, leftover), { recursive: true, force: true });
    }
    // An unfinished directory at the final path (no marker) is never trusted.
    fs.rmSync(finalDir, { recursive: true, force: true });
    const staging = path.join(parent, `${name}.staging-${process.pid}`);
    try {
      const manifest = await build(staging);
      fs.writeFileSync(path.join(staging, COMPLETE_MARKER), JSON.stringify({ ...manifest, builtAt: new Date().toISOString() }, null, 2));
      fs.renameSync(staging, finalDir);
    } catch (error) {
      fs.rmSync(staging, { recursive: true, force: true });
      throw error;
    }
    return { built: true };
  } finally {
    await release();
  }
}

import fs from 'node:fs';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { EnvironmentError, PyUdfError } from '../errors.js';

/** A lock younger than this is held by a live builder (proper-lockfile refreshes it). */
const LOCK_STALE_MS = 5_000;
/** How long to wait for another process's build of the same directory (a cold runtime build on a slow network). */
export const LOCK_WAIT_MS = 30 * 60_000;
const LOCK_POLL_MS = 200;
export const COMPLETE_MARKER = '.pyudf-complete.json';

function lockOptions(finalDir: string) {
  return { realpath: false, stale: LOCK_STALE_MS, lockfilePath: `${finalDir}.lock` };
}

/** Whether a live process holds the build lock of `finalDir`. */
export function isBeingBuilt(finalDir: string): boolean {
  try {
    return lockfile.checkSync(finalDir, lockOptions(finalDir));
  } catch {
    return false;
  }
}

/**
 * Takes the build lock, waiting while another process holds it. Returns null
 * when that other process published the directory meanwhile.
 */
async function acquire(finalDir: string, signal: AbortSignal | undefined, onCompromised: (error: Error) => void) {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      return await lockfile.lock(finalDir, { ...lockOptions(finalDir), onCompromised });
    } catch (error) {
      if ((error as { code?: string }).code !== 'ELOCKED') {
        throw new EnvironmentError('ENVIRONMENT_BUILD_FAILED', `cannot lock ${finalDir}.lock: ${(error as Error).message}`, { cause: error });
      }
    }
    if (isPublished(finalDir)) return null;
    if (signal?.aborted) throw new PyUdfError('CLOSED', 'the job was cancelled while waiting for another build', { cause: signal.reason });
    if (Date.now() > deadline) {
      throw new EnvironmentError('ENVIRONMENT_BUILD_FAILED', `another process has been building ${finalDir} for over ${LOCK_WAIT_MS / 60_000} minutes; if none is, remove ${finalDir}.lock`, {});
    }
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
}

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
  signal?: AbortSignal,
): Promise<{ built: boolean }> {
  if (isPublished(finalDir)) return { built: false };
  const parent = path.dirname(finalDir);
  fs.mkdirSync(parent, { recursive: true });
  // Losing the lock (the event loop stalled past its staleness) must not crash
  // the process, but the build is not published: another may have started.
  let compromised: Error | null = null;
  const release = await acquire(finalDir, signal, (error) => { compromised = error; });
  if (release === null) return { built: false };
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
      if (compromised) {
        throw new EnvironmentError('ENVIRONMENT_BUILD_FAILED', `lost the build lock of ${finalDir} (${(compromised as Error).message}); run the job again`, { cause: compromised });
      }
      fs.writeFileSync(path.join(staging, COMPLETE_MARKER), JSON.stringify({ ...manifest, builtAt: new Date().toISOString() }, null, 2));
      fs.renameSync(staging, finalDir);
    } catch (error) {
      fs.rmSync(staging, { recursive: true, force: true });
      throw error;
    }
    return { built: true };
  } finally {
    await release().catch(() => undefined); // a compromised lock is already gone
  }
}

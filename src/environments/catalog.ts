import fs from 'node:fs';
import path from 'node:path';
import { cacheRoot } from './cache-dir.js';
import { LAST_USED_FILE } from './job-environment.js';
import { isBeingBuilt, isPublished } from './published-dir.js';

/** One cached directory: a worker runtime or a job environment. */
export interface CachedEnvironment {
  readonly kind: 'runtime' | 'env';
  readonly name: string;
  readonly dir: string;
  readonly bytes: number;
  /** When a job last used it (job environments), else when it was built. */
  readonly lastUsed: Date;
  /** A build that never finished (a staging directory or an unmarked one). */
  readonly incomplete: boolean;
  /** A live process is building it now: prune leaves it alone. */
  readonly building: boolean;
  readonly requirementsFile?: string;
}

function sizeOf(target: string): number {
  const stat = fs.lstatSync(target);
  if (!stat.isDirectory()) return stat.size;
  return fs.readdirSync(target).reduce((sum, name) => sum + sizeOf(path.join(target, name)), 0);
}

/** Everything pyudf keeps in its cache directory. */
export function listCachedEnvironments(cacheDir?: string): CachedEnvironment[] {
  const root = cacheRoot(cacheDir);
  const found: CachedEnvironment[] = [];
  for (const kind of ['runtime', 'env'] as const) {
    const parent = path.join(root, kind === 'runtime' ? 'runtimes' : 'envs');
    if (!fs.existsSync(parent)) continue;
    for (const name of fs.readdirSync(parent).sort()) {
      const dir = path.join(parent, name);
      try {
        if (name.endsWith('.lock') || !fs.statSync(dir).isDirectory()) continue;
      } catch {
        continue; // renamed or removed by a build meanwhile
      }
      const complete = isPublished(dir);
      let manifest: { requirementsFile?: string } = {};
      try {
        manifest = JSON.parse(fs.readFileSync(path.join(dir, '.pyudf-complete.json'), 'utf8')) as typeof manifest;
      } catch { /* incomplete */ }
      const lastUsedFile = path.join(dir, LAST_USED_FILE);
      let bytes: number;
      let lastUsed: Date;
      try {
        lastUsed = fs.existsSync(lastUsedFile) ? fs.statSync(lastUsedFile).mtime : fs.statSync(dir).mtime;
        bytes = sizeOf(dir);
      } catch {
        continue; // published (renamed) or removed while we looked
      }
      const staging = name.includes('.staging-');
      found.push(Object.freeze({
        kind, name, dir, bytes, lastUsed, incomplete: !complete || staging,
        building: isBeingBuilt(staging ? path.join(parent, name.slice(0, name.indexOf('.staging-'))) : dir),
        requirementsFile: manifest.requirementsFile,
      }));
    }
  }
  return found;
}

/**
 * Removes job environments unused for `olderThanDays` (all of them with
 * `all`), and every unfinished build. Worker runtimes go only with `all`.
 */
export function pruneCachedEnvironments(options: { cacheDir?: string; olderThanDays: number; all: boolean }): CachedEnvironment[] {
  const cutoff = Date.now() - options.olderThanDays * 86_400_000;
  const removed: CachedEnvironment[] = [];
  for (const entry of listCachedEnvironments(options.cacheDir)) {
    const stale = entry.kind === 'env' && entry.lastUsed.getTime() < cutoff;
    if (entry.building) continue;
    if (options.all || entry.incomplete || stale) {
      fs.rmSync(entry.dir, { recursive: true, force: true });
      removed.push(entry);
    }
  }
  return removed;
}

import fs from 'node:fs';
import { onExit } from 'signal-exit';

/**
 * What the host kills and removes as it exits, however it exits short of
 * SIGKILL (then the kernel ends the workers: they asked for PR_SET_PDEATHSIG):
 * every live worker's process group, then the private directories. Runs
 * synchronously in the exit handler, so it holds nothing but pids and paths.
 */
const liveGroups = new Set<number>();
const liveDirs = new Set<string>();
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  onExit(() => {
    for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
    for (const dir of liveDirs) {
      try {
        fs.rmSync(dir, { recursive: true, force: true });
      } catch {
        // Nothing more can be done from an exit handler.
      }
    }
  });
}

/** Sends `signal` to a worker's whole process group; false when none is left. */
export function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function trackGroup(pid: number): void {
  install();
  liveGroups.add(pid);
}

export function untrackGroup(pid: number): void {
  liveGroups.delete(pid);
}

export function trackDir(dir: string): void {
  install();
  liveDirs.add(dir);
}

export function untrackDir(dir: string): void {
  liveDirs.delete(dir);
}

/** Worker processes of this host alive now, across every pool. */
export function liveWorkerCount(): number {
  return liveGroups.size;
}

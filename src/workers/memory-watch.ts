import fs from 'node:fs';

/**
 * What a worker's memory looked like before it died: whether the kernel's
 * OOM killer took it, or it died by a signal with its memory at its limit.
 * Linux only; elsewhere (or where /proc or the cgroup files cannot be read)
 * it sees nothing and a death stays a plain crash.
 */

/** How often a worker under a memory limit has its memory read. */
const SAMPLE_INTERVAL_MS = 250;
/** Memory at this share of the limit or more counts as at the limit. */
const NEAR_LIMIT = 0.9;
/** Signals a process dies of when memory runs out: the OOM killer's, and C code failing an allocation. */
const MEMORY_DEATH_SIGNALS = new Set(['SIGKILL', 'SIGABRT', 'SIGSEGV', 'SIGBUS']);

export interface MemorySample {
  readonly rssMb: number;
  readonly dataMb: number;
}

/** VmRSS and VmData of a live process, in MiB. */
export function readMemory(pid: number): MemorySample | null {
  let status: string;
  try {
    status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  const rss = kb('VmRSS');
  const data = kb('VmData');
  return Number.isFinite(rss) && Number.isFinite(data) ? { rssMb: rss / 1024, dataMb: data / 1024 } : null;
}

/**
 * The file where the kernel counts OOM kills in the process's memory cgroup:
 * cgroup v2 `memory.events`, else v1 `memory.oom_control`; null when neither is readable.
 */
export function oomKillFile(pid: number): string | null {
  let cgroups: string;
  try {
    cgroups = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return null;
  }
  const files: string[] = [];
  for (const line of cgroups.split('\n')) {
    const [id, controllers, dir] = line.split(':');
    if (dir === undefined) continue;
    if (id === '0' && controllers === '') {
      files.push(`/sys/fs/cgroup${dir}/memory.events`, `/sys/fs/cgroup/unified${dir}/memory.events`);
    } else if (controllers!.split(',').includes('memory')) {
      files.push(`/sys/fs/cgroup/memory${dir}/memory.oom_control`);
    }
  }
  return files.find((file) => oomKills(file) !== null) ?? null;
}

/** The oom_kill count of a cgroup file oomKillFile() found. */
export function oomKills(file: string): number | null {
  try {
    const found = /^oom_kill (\d+)$/m.exec(fs.readFileSync(file, 'utf8'));
    return found ? Number(found[1]) : null;
  } catch {
    return null; // not this hierarchy, or the cgroup is gone
  }
}

/**
 * Watches one worker process: its cgroup's OOM-kill count at start, and,
 * under a memory limit, its memory every 250 ms while it lives.
 */
export class MemoryWatch {
  readonly limitMb: number | null;
  readonly #pid: number;
  readonly #oomKillFile: string | null;
  readonly #oomKillsAtStart: number | null;
  #last: MemorySample | null = null;
  #timer: NodeJS.Timeout | undefined;

  constructor(pid: number, limitMb: number | null) {
    this.#pid = pid;
    this.limitMb = limitMb;
    this.#oomKillFile = oomKillFile(pid);
    this.#oomKillsAtStart = this.#oomKillFile === null ? null : oomKills(this.#oomKillFile);
    if (limitMb !== null) {
      this.#timer = setInterval(() => this.#sample(), SAMPLE_INTERVAL_MS);
      this.#timer.unref();
    }
  }

  #sample(): void {
    const sample = readMemory(this.#pid);
    if (sample) this.#last = sample;
  }

  /** Called once the process is gone; before, `exhaustion` cannot tell. */
  stop(): void {
    clearInterval(this.#timer);
  }

  /**
   * Why a process that died by `signal` is thought to have run out of memory,
   * or null when nothing says so. Read right after its death (the cgroup's
   * count moves on with later kills of other processes).
   */
  exhaustion(signal: string | null): string | null {
    if (signal === null || !MEMORY_DEATH_SIGNALS.has(signal)) return null;
    if (signal === 'SIGKILL' && this.#oomKillFile !== null && this.#oomKillsAtStart !== null) {
      const now = oomKills(this.#oomKillFile);
      if (now !== null && now > this.#oomKillsAtStart) {
        return `the kernel's OOM killer killed it (oom_kill of its memory cgroup went from ${this.#oomKillsAtStart} to ${now})`;
      }
    }
    const last = this.#last;
    if (this.limitMb !== null && last !== null) {
      const usedMb = Math.max(last.rssMb, last.dataMb);
      if (usedMb >= this.limitMb * NEAR_LIMIT) {
        return `it died by ${signal} with its memory at ${Math.round(usedMb)} MiB of its ${this.limitMb} MiB limit`;
      }
    }
    return null;
  }
}

import type * as arrow from 'apache-arrow';
import type { WorkerError } from '../errors.js';
import { QueuedBehindCrash, type CallOutcome } from './worker-client.js';

/** One try of a call: the answer, or the crash that killed its worker (already replaced). */
export type Attempt = { kind: 'answered'; outcome: CallOutcome } | { kind: 'crashed'; crash: WorkerError };

/** Sends these argument columns (`numRows` rows) to the worker once. */
export type TryCall = (args: readonly arrow.Vector[], numRows: number) => Promise<Attempt>;

/** What the memory-exhaustion search found: the row (an index into the searched batch), or why none. */
export type MemorySearch = { readonly row: number } | { readonly row: null; readonly bothHalves: boolean };

/**
 * Halves the batch until one row alone kills the worker: that row's index
 * (counted from `offset`), or null when no single row does.
 */
export async function findPoisonRow(tryCall: TryCall, args: readonly arrow.Vector[], offset: number, numRows: number): Promise<number | null> {
  if (numRows === 1) return offset;
  const half = Math.ceil(numRows / 2);
  for (const [start, length] of [[0, half], [half, numRows - half]] as const) {
    if (length === 0) continue;
    const part = args.map((a) => a.slice(start, start + length));
    const attempt = await tryOwnCall(tryCall, part, length);
    if (attempt.kind === 'crashed') return findPoisonRow(tryCall, part, offset + start, length);
  }
  return null;
}

/**
 * The memory-exhaustion search: halves the batch, trying both halves; when
 * both run the worker out of memory, it stops (no one row is to blame).
 * Each death of a worker on the way is counted in `deaths`.
 */
export async function findMemoryRow(
  tryCall: TryCall, args: readonly arrow.Vector[], offset: number, numRows: number, deaths: { count: number },
): Promise<MemorySearch> {
  if (numRows === 1) return { row: offset };
  const half = Math.ceil(numRows / 2);
  const died: { start: number; length: number; part: arrow.Vector[] }[] = [];
  for (const [start, length] of [[0, half], [half, numRows - half]] as const) {
    if (length === 0) continue;
    const part = args.map((a) => a.slice(start, start + length));
    const attempt = await tryOwnCall(tryCall, part, length);
    if (attempt.kind === 'crashed') {
      deaths.count++;
      died.push({ start, length, part });
    }
  }
  if (died.length === 2) return { row: null, bothHalves: true };
  if (died.length === 0) return { row: null, bothHalves: false };
  const [culprit] = died;
  return findMemoryRow(tryCall, culprit!.part, offset + culprit!.start, culprit!.length, deaths);
}

/** A try that died queued behind another call's crash says nothing of these rows: it is sent again. */
async function tryOwnCall(tryCall: TryCall, part: readonly arrow.Vector[], length: number): Promise<Attempt> {
  let attempt = await tryCall(part, length);
  while (attempt.kind === 'crashed' && attempt.crash instanceof QueuedBehindCrash) attempt = await tryCall(part, length);
  return attempt;
}

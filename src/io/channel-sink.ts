import type { Batch } from '../batches/vectors.js';
import type { Sink } from './sink.js';

/**
 * A sink that hands batches to a reader as they come, holding at most
 * `capacity` unread: a slow reader slows the job down instead of filling memory.
 */
export class ChannelSink implements Sink {
  readonly #queue: Batch[] = [];
  readonly #capacity: number;
  #done = false;
  #rows = 0;
  #readerWaiting: (() => void) | null = null;
  #writerWaiting: (() => void) | null = null;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  async write(batch: Batch): Promise<void> {
    while (this.#queue.length >= this.#capacity && !this.#done) await new Promise<void>((resolve) => { this.#writerWaiting = resolve; });
    if (this.#done) return; // the reader is gone
    this.#queue.push(batch);
    this.#rows += batch.numRows;
    this.#wakeReader();
  }

  async finish(): Promise<number> {
    this.#done = true;
    this.#wakeReader();
    return this.#rows;
  }

  publish(): void {}

  async abort(): Promise<void> {
    this.#done = true;
    this.#queue.length = 0;
    this.#wakeReader();
    const writer = this.#writerWaiting;
    this.#writerWaiting = null;
    writer?.();
  }

  /** The next batch, or null once the job has finished (or failed: the job's promise says which). */
  async take(): Promise<Batch | null> {
    for (;;) {
      const batch = this.#queue.shift();
      if (batch) {
        const writer = this.#writerWaiting;
        this.#writerWaiting = null;
        writer?.();
        return batch;
      }
      if (this.#done) return null;
      await new Promise<void>((resolve) => { this.#readerWaiting = resolve; });
    }
  }

  #wakeReader(): void {
    const reader = this.#readerWaiting;
    this.#readerWaiting = null;
    reader?.();
  }
}

/** Counts rows and keeps nothing. */
export function countingSink(): Sink {
  let rows = 0;
  return {
    async write(batch) { rows += batch.numRows; },
    async finish() { return rows; },
    publish() {},
    async abort() {},
  };
}

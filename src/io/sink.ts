import type { Batch } from '../batches/vectors.js';

/**
 * Where a job's rows go. `finish` completes the output out of sight,
 * `publish` makes it visible (a job with several sinks publishes only once
 * all of them finished), `abort` leaves no trace, also after `finish`.
 */
export interface Sink {
  write(batch: Batch): Promise<void>;
  /** Returns the number of rows written. */
  finish(): Promise<number>;
  publish(): void;
  abort(): Promise<void>;
}

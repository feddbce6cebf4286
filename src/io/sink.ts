import type { Batch } from '../execution/vectors.js';

/** Where a job's rows go. `commit` makes them visible; `abort` leaves no trace. */
export interface Sink {
  write(batch: Batch): Promise<void>;
  /** Returns the number of rows written. */
  commit(): Promise<number>;
  abort(): Promise<void>;
}

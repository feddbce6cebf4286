/** How a source cuts rows arriving over time into batches. */
export interface Batching {
  readonly batchSize: number;
  /** A batch goes out once its first row is this old, full or not. */
  readonly batchTimeMs: number;
  readonly signal?: AbortSignal;
  /**
   * Whether no batch is being processed. A source about to wait for input
   * sends the rows it holds at once when nothing is in flight: holding them
   * for the bundle time would only add latency, as nothing else is going on.
   */
  readonly pipelineIdle?: () => boolean;
}

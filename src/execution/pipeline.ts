import { PyUdfError } from '../errors.js';
import type { Batch } from '../batches/vectors.js';
import type { Sink } from '../io/sink.js';
import type { WorkerPool } from '../workers/worker-pool.js';
import { batchContext } from './batch-context.js';
import type { CompiledPlan, RunOptions } from './operator.js';

/**
 * Runs a compiled plan into a sink: batches flow through the operators with
 * up to `maxInFlight` at once (spread over the workers) and reach the sink in
 * source order. The first failure stops the source and fails the run. The
 * sink is finished, not published: the caller publishes once the job succeeded.
 */
export async function runPlan(compiled: CompiledPlan, pool: WorkerPool | null, sink: Sink, options: RunOptions): Promise<number> {
  const inFlight: Promise<Batch>[] = [];
  let sequence = 0;
  let sourceDone = false;
  let failure: { error: unknown } | null = null;
  // The reader and the writer run side by side: a finished batch reaches the
  // sink at once (a trickle is not held back by a half-empty window), and the
  // reader waits only while `maxInFlight` batches are being processed.
  let wakeReader: (() => void) | null = null;
  let wakeWriter: (() => void) | null = null;
  const wake = (which: 'reader' | 'writer') => {
    const fn = which === 'reader' ? wakeReader : wakeWriter;
    if (which === 'reader') wakeReader = null;
    else wakeWriter = null;
    fn?.();
  };
  // A failure also stops the source, which may be waiting on a quiet input.
  const stopSource = new AbortController();
  let signalFailure!: () => void;
  const failed = new Promise<null>((resolve) => { signalFailure = () => resolve(null); });
  const fail = (error: unknown) => {
    failure ??= { error };
    stopSource.abort();
    signalFailure();
    wake('reader');
    wake('writer');
  };
  const source = compiled.source({
    ...options,
    pipelineIdle: () => inFlight.length === 0,
    signal: options.signal ? AbortSignal.any([options.signal, stopSource.signal]) : stopSource.signal,
  }, pool);
  const abortError = () => new PyUdfError('CLOSED', 'the job was cancelled', { cause: options.signal?.reason });
  const onAbort = () => fail(abortError());
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const read = async () => {
    try {
      for await (const batch of source) {
        if (failure) return;
        if (options.signal?.aborted) throw abortError();
        const worker = sequence++;
        let work = Promise.resolve(batch);
        // Each operator gets its own context: rows it drops are counted in its input.
        for (const operator of compiled.operators) work = work.then((b) => operator(b, batchContext(pool, worker, options.udfErrors, options.metrics)));
        work.catch(() => undefined); // awaited in order by the writer; this keeps a later failure from going unhandled
        inFlight.push(work);
        wake('writer');
        while (inFlight.length >= options.maxInFlight && !failure) await new Promise<void>((resolve) => { wakeReader = resolve; });
      }
    } catch (error) {
      fail(error);
    } finally {
      sourceDone = true;
      wake('writer');
    }
  };

  const write = async () => {
    try {
      for (;;) {
        if (failure) return;
        const next = inFlight[0];
        if (next === undefined) {
          if (sourceDone) return;
          await new Promise<void>((resolve) => { wakeWriter = resolve; });
          continue;
        }
        // A failure elsewhere (the source, a cancellation) must not wait for this batch.
        const batch = await Promise.race([next, failed]);
        if (batch === null) return;
        inFlight.shift();
        wake('reader');
        if (!failure) await sink.write(batch);
      }
    } catch (error) {
      fail(error);
    }
  };

  await Promise.all([read(), write()]);
  options.signal?.removeEventListener('abort', onAbort);
  if (!failure && options.signal?.aborted) failure = { error: abortError() };
  if (failure) {
    // Batches still in flight are left to fail when the workers are stopped;
    // each has a catch handler, and nothing writes to the sink any more.
    await source.return(undefined);
    await sink.abort();
    throw (failure as { error: unknown }).error;
  }
  return sink.finish();
}

// How a stream source cuts rows into batches: full batches of rows already at
// hand, whatever the pipeline behind it; a row that has to be waited for goes
// at once when nothing is in flight.
import { DataTypes } from '../../src/index.js';
import { readStream } from '../../src/io/stream-source.js';

const BIGINT = DataTypes.BIGINT();
const SCHEMA = [{ name: 'x', type: BIGINT }];
const ROWS = Array.from({ length: 1000 }, (_, i) => [BigInt(i)]);

async function* fromMemory(rows: readonly (readonly unknown[])[]) {
  for (const row of rows) yield row;
}

/**
 * Reads the source as a pipeline that is done with each batch before it asks
 * for the next (a job whose plan calls no Python function): nothing is ever
 * in flight while the source reads.
 */
async function batchSizes(rows: AsyncIterable<readonly unknown[]> | Iterable<readonly unknown[]>, batchTimeMs: number): Promise<number[]> {
  let inFlight = 0;
  const sizes: number[] = [];
  for await (const batch of readStream({ kind: 'stream', rows, schema: SCHEMA }, { batchSize: 100, batchTimeMs, pipelineIdle: () => inFlight === 0 })) {
    inFlight++;
    sizes.push(batch.numRows);
    await Promise.resolve();
    inFlight--;
  }
  return sizes;
}

test.each([
  ['an array', () => ROWS],
  ['an async generator over memory', () => fromMemory(ROWS)],
])('rows at hand (%s) go in full batches though nothing is in flight', async (_, rows) => {
  expect(await batchSizes(rows(), 5)).toEqual(Array.from({ length: 10 }, () => 100));
});

test('a row that has to be waited for goes at once when nothing is in flight, however long the bundle time', async () => {
  async function* trickle() {
    for (const row of ROWS.slice(0, 3)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      yield row;
    }
  }
  // A bundle time of ten minutes: were rows held for it, this would not finish.
  expect(await batchSizes(trickle(), 600_000)).toEqual([1, 1, 1]);
});

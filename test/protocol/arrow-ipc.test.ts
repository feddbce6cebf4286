// The argument batch: each distinct column once, whatever apache-arrow's IPC
// writer makes of a batch holding the same memory twice.
import * as arrow from 'apache-arrow';
import { encodeArguments, joinPayload } from '../../src/protocol/arrow-ipc.js';
import { DataTypes, TableEnvironment, udf } from '../../src/index.js';
import { isolateTempRoot, pythonWorkers } from '../support.js';

isolateTempRoot();

const readable = (bytes: Uint8Array) => arrow.tableFromIPC(bytes);

test('a column passed twice is sent once, and the batch reads back', () => {
  const values = BigInt64Array.from({ length: 1000 }, (_, i) => BigInt(i));
  const column = arrow.makeVector(values).slice(100, 200);
  const sameMemory = arrow.makeVector(values).slice(100, 200);
  const other = arrow.makeVector(BigInt64Array.from({ length: 100 }, (_, i) => BigInt(-i)));
  const encoded = encodeArguments([column, sameMemory, other, column]);
  expect(encoded.argumentColumns).toEqual([0, 0, 1, 0]);
  const table = readable(joinPayload(encoded.payload));
  expect(table.numCols).toBe(2);
  expect(table.getChildAt(0)!.get(0)).toBe(100n);
  expect(table.getChildAt(1)!.get(99)).toBe(-99n);
});

test('distinct columns over one buffer stay distinct', () => {
  const values = Float64Array.from({ length: 200 }, (_, i) => i);
  const encoded = encodeArguments([arrow.makeVector(values.subarray(0, 100)), arrow.makeVector(values.subarray(100))]);
  expect(encoded.argumentColumns).toEqual([0, 1]);
  expect(readable(joinPayload(encoded.payload)).getChildAt(1)!.get(0)).toBe(100);
});

test('f(a, a) end to end', async () => {
  const tEnv = TableEnvironment.create({ bundleSize: 64 });
  tEnv.registerFunction('add', udf('lambda i, j: i + j', [DataTypes.BIGINT(), DataTypes.BIGINT()], DataTypes.BIGINT()));
  const a = BigInt64Array.from({ length: 500 }, (_, i) => BigInt(i));
  const rows = await tEnv.fromColumns({ a }, { a: DataTypes.BIGINT() }).select('add(a, a) AS s').execute().collect();
  await tEnv.close();
  expect(rows.map((r) => r.s)).toEqual(Array.from({ length: 500 }, (_, i) => BigInt(2 * i)));
  expect(pythonWorkers()).toEqual([]);
});

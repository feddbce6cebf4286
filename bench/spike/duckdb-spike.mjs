// Engine spike: DuckDB (@duckdb/node-api) on the queries the engine must run fast.
// Run: node bench/spike/duckdb-spike.mjs [rows]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const rows = Number(process.argv[2] ?? 10_000_000);
let t = performance.now();
const { DuckDBInstance, DuckDBDataChunk, BIGINT } = await import('@duckdb/node-api');
const importMs = performance.now() - t;
const dir = mkdtempSync(join(tmpdir(), 'pyudf-spike-'));
const instance = await DuckDBInstance.create(':memory:', { temp_directory: join(dir, 'spill') });
const con = await instance.connect();
const time = async (label, fn, n = rows) => {
  const s = performance.now();
  const out = await fn();
  const ms = performance.now() - s;
  console.log(`${label}: ${ms.toFixed(0)} ms, ${(n / ms / 1000).toFixed(1)}M rows/s`);
  return out;
};
console.log(`import @duckdb/node-api: ${importMs.toFixed(0)} ms`);
await con.run(`CREATE TABLE t AS SELECT i AS a, i * 3 AS b FROM range(${rows}) r(i)`);
// (a) where/select, draining every result chunk's BIGINT column as a typed array
await time('(a) where(a > 10).select(a + b * 2), chunks drained', async () => {
  const result = await con.stream('SELECT a + b * 2 AS c FROM t WHERE a > 10');
  let n = 0;
  for (let c = await result.fetchChunk(); c && c.rowCount > 0; c = await result.fetchChunk()) n += c.rowCount;
  return n;
});
await time('(a) same, materialized result, chunks read as BigInt64Array', async () => {
  const result = await con.run('SELECT a + b * 2 AS c FROM t WHERE a > 10');
  let n = 0;
  for (let i = 0; i < result.chunkCount; i++) n += result.getChunk(i).getColumnVector(0).items.length;
  return n;
});
await time('(a) same, aggregated inside DuckDB (no chunks to JS)', () => con.run('SELECT sum(a + b * 2) FROM t WHERE a > 10'));
// (b) CSV scan
const csv = join(dir, 'two.csv');
await con.run(`COPY t TO '${csv}' (HEADER false)`);
await time('(b) CSV scan of two BIGINT columns (count)', () => con.run(`SELECT count(*), sum(a), sum(b) FROM read_csv('${csv}', columns = {'a': 'BIGINT', 'b': 'BIGINT'}, header = false)`));
// (c) out: chunks as typed vectors
const out = await time('(c) out: stream chunks, BIGINT columns as BigInt64Array', async () => {
  const result = await con.stream('SELECT a, b FROM t');
  const cols = [];
  for (let c = await result.fetchChunk(); c && c.rowCount > 0; c = await result.fetchChunk()) {
    cols.push([c.getColumnVector(0).items, c.getColumnVector(1).items]);
  }
  return cols;
});
// (c) in: the same chunks appended back
await con.run('CREATE TABLE back (a BIGINT, b BIGINT)');
await time('(c) in: appender, one data chunk per 2048 rows', async () => {
  const app = await con.createAppender('back');
  const chunk = DuckDBDataChunk.create([BIGINT, BIGINT]);
  for (const [a, b] of out) {
    chunk.rowCount = a.length;
    const va = chunk.getColumnVector(0); const vb = chunk.getColumnVector(1);
    va.items.set(a); vb.items.set(b); va.flush(); vb.flush();
    app.appendDataChunk(chunk);
  }
  app.flushSync(); app.closeSync();
});
await time('(c) in: INSERT from Parquet file written by DuckDB', async () => {
  await con.run(`COPY t TO '${join(dir, 't.parquet')}' (FORMAT parquet)`);
  await con.run(`CREATE TABLE back2 AS SELECT * FROM '${join(dir, 't.parquet')}'`);
});
con.closeSync(); instance.closeSync();
rmSync(dir, { recursive: true, force: true });

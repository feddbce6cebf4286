// Engine cases: relational work that runs in the embedded DuckDB, no Python.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as arrow from 'apache-arrow';
import { DataTypes, FileSystem, Parquet, Schema, TableEnvironment } from '../dist/index.js';

/** A Parquet file of `n` rows (a, b BIGINT), written by pyudf itself from Arrow columns. */
async function bigintParquet(tEnv, n, dir) {
  const file = path.join(dir, `ab-${n}.parquet`);
  const a = new BigInt64Array(n);
  const b = new BigInt64Array(n);
  for (let i = 0; i < n; i++) { a[i] = BigInt(i % 1000); b[i] = BigInt(i); }
  tEnv.connect(new FileSystem().path(file)).withFormat(new Parquet())
    .withSchema(new Schema().field('a', DataTypes.BIGINT()).field('b', DataTypes.BIGINT())).createTemporaryTable('ab');
  await tEnv.fromArrow(arrow.tableFromArrays({ a, b })).executeInsert('ab');
  return file;
}

/** where('a > 10').select('a + b * 2') over a Parquet table, counted. */
export async function engineWhereSelect({ n }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyudf-bench-'));
  const tEnv = TableEnvironment.create();
  try {
    await bigintParquet(tEnv, n, dir);
    const table = tEnv.fromPath('ab').where('a > 10').select('a + b * 2 AS c');
    await table.execute().count();
    const started = performance.now();
    const rows = await table.execute().count();
    return { rows: n, outputRows: rows, seconds: (performance.now() - started) / 1000 };
  } finally {
    await tEnv.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** collect() of an engine stage's rows (two BIGINT columns) into JavaScript objects. */
export async function engineCollect({ n }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyudf-bench-'));
  const tEnv = TableEnvironment.create();
  try {
    await bigintParquet(tEnv, n, dir);
    const table = tEnv.fromPath('ab').where('a >= 0');
    const started = performance.now();
    const rows = await table.execute().collect();
    return { rows: rows.length, seconds: (performance.now() - started) / 1000 };
  } finally {
    await tEnv.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

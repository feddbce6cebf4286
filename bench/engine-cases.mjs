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

/** where('a > 10').select('a + b * 2') over in-memory BIGINT columns (`fromColumns`), counted: no Python, no file. */
export async function columnsWhereSelect({ n }) {
  const tEnv = TableEnvironment.create();
  try {
    const a = new BigInt64Array(n);
    const b = new BigInt64Array(n);
    for (let i = 0; i < n; i++) { a[i] = BigInt(i % 1000); b[i] = BigInt(i); }
    const table = tEnv.fromColumns({ a, b }, { a: DataTypes.BIGINT(), b: DataTypes.BIGINT() }).where('a > 10').select('a + b * 2 AS c');
    const started = performance.now();
    const rows = await table.execute().count();
    return { rows: n, outputRows: rows, seconds: (performance.now() - started) / 1000 };
  } finally {
    await tEnv.close();
  }
}

/** A CSV file of `n` rows of two BIGINT columns, written in chunks. */
export async function bigintCsv(file, n) {
  const out = fs.createWriteStream(file);
  for (let i = 0; i < n; i += 10_000) {
    let chunk = '';
    for (let j = i; j < Math.min(n, i + 10_000); j++) chunk += `${j},${n - j}\n`;
    if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
}

/** A CSV source of two BIGINT columns scanned and counted: the reader alone, no Python. */
export async function csvScan({ n }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyudf-bench-'));
  const tEnv = TableEnvironment.create();
  try {
    const file = path.join(dir, 'ab.csv');
    await bigintCsv(file, n);
    const { OldCsv } = await import('../dist/index.js');
    tEnv.connect(new FileSystem().path(file)).withFormat(new OldCsv().field('a', DataTypes.BIGINT()).field('b', DataTypes.BIGINT())).createTemporaryTable('ab');
    const started = performance.now();
    const rows = await tEnv.fromPath('ab').execute().count();
    return { rows, seconds: (performance.now() - started) / 1000 };
  } finally {
    await tEnv.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

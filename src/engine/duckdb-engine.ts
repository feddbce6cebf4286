import fs from 'node:fs';
import path from 'node:path';
import tmp from 'tmp';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { PyUdfError } from '../errors.js';
import { ARITHMETIC_MACROS } from './flink-arithmetic.js';
import { FLINK_MACROS } from './flink-sql.js';

/**
 * The embedded DuckDB of one TableEnvironment: opened when the first job with
 * a relational stage needs it, closed with the environment. Its spill files go
 * to a private directory that close() removes.
 */
export class DuckdbEngine {
  #opening: Promise<{ instance: DuckDBInstance; connection: DuckDBConnection; dir: tmp.DirResult }> | null = null;
  #relations = 0;
  #closed = false;

  /** The one connection jobs run their stages on (DuckDB parallelises each query itself). */
  async connection(): Promise<DuckDBConnection> {
    if (this.#closed) throw new PyUdfError('CLOSED', 'the engine is closed');
    this.#opening ??= open();
    return (await this.#opening).connection;
  }

  /** A connection of its own, for a reader streaming its rows while the jobs' stages run queries; the caller closes it. */
  async connect(): Promise<DuckDBConnection> {
    if (this.#closed) throw new PyUdfError('CLOSED', 'the engine is closed');
    this.#opening ??= open();
    return (await this.#opening).instance.connect();
  }

  /**
   * Starts opening the engine without waiting for it, so that loading DuckDB
   * overlaps other start-up work; a failure surfaces at the first use.
   */
  startOpening(): void {
    if (this.#closed || this.#opening) return;
    this.#opening = open();
    this.#opening.catch(() => undefined);
  }

  /** A fresh name for a job's intermediate relation. */
  relationName(): string {
    return `pyudf_stage_${++this.#relations}`;
  }

  /** Drops a job's relations once it ended. */
  async drop(relations: string[]): Promise<void> {
    if (relations.length === 0 || this.#closed || !this.#opening) return;
    const { connection } = await this.#opening;
    for (const name of relations.splice(0)) await connection.run(`DROP TABLE IF EXISTS ${name}`).catch(() => undefined);
  }

  get opened(): boolean {
    return this.#opening !== null;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const opened = await this.#opening?.catch(() => null);
    if (!opened) return;
    opened.connection.closeSync();
    opened.instance.closeSync();
    opened.dir.removeCallback();
  }
}

async function open(): Promise<{ instance: DuckDBInstance; connection: DuckDBConnection; dir: tmp.DirResult }> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const dir = tmp.dirSync({ prefix: 'pyudf-engine-', mode: 0o700, unsafeCleanup: true });
  const spill = path.join(dir.name, 'spill');
  fs.mkdirSync(spill);
  let instance: DuckDBInstance | null = null;
  try {
    instance = await DuckDBInstance.create(':memory:', { temp_directory: spill });
    const connection = await instance.connect();
    // Flink's semantics where DuckDB's defaults differ (docs/sql-semantics.md).
    await connection.run('SET integer_division = true');
    await connection.run("SET default_null_order = 'nulls_first_on_asc_last_on_desc'");
    for (const macro of [...FLINK_MACROS, ...ARITHMETIC_MACROS]) await connection.run(macro);
    return { instance, connection, dir };
  } catch (error) {
    instance?.closeSync();
    dir.removeCallback();
    throw error;
  }
}

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PyUdfError } from '../errors.js';
import type { Batch } from '../batches/vectors.js';
import type { Sink } from '../io/sink.js';
import type { DuckdbEngine } from './duckdb-engine.js';
import { duckdbTypeOf, quoteName } from './duckdb-types.js';
import { appendBatch } from './engine-stages.js';
import { sqlString, type FileTableDefinition } from './file-tables.js';

/**
 * Writes a job's rows to a Parquet or JSON-lines file: the rows gather in an
 * engine table, DuckDB writes them beside the final path, and publish()
 * renames the file into place, so a failed job leaves no partial file.
 */
export function fileSink(engine: DuckdbEngine, table: FileTableDefinition): Sink {
  const finalPath = path.resolve(table.path);
  const partPath = path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.${crypto.randomBytes(6).toString('hex')}.part`);
  const relation = engine.relationName();
  let appending: Promise<{ write: (batch: Batch) => void; close: () => void }> | null = null;
  let rows = 0;
  const open = async () => {
    const connection = await engine.connection();
    await connection.run(`CREATE TEMP TABLE ${relation} (${table.schema.map((f) => `${quoteName(f.name)} ${duckdbTypeOf(f.type, f.name)}`).join(', ')})`);
    const appender = await connection.createAppender(relation);
    return { write: (batch: Batch) => appendBatch(appender, batch, table.schema.map((f) => f.type)), close: () => appender.closeSync() };
  };
  const drop = async () => {
    if (!appending) return;
    const connection = await engine.connection();
    await connection.run(`DROP TABLE IF EXISTS ${relation}`).catch(() => undefined);
  };
  return {
    async write(batch: Batch) {
      appending ??= open();
      (await appending).write(batch);
      rows += batch.numRows;
    },
    async finish() {
      appending ??= open();
      (await appending).close();
      const connection = await engine.connection();
      try {
        fs.mkdirSync(path.dirname(finalPath), { recursive: true });
        const options = table.format === 'parquet' ? 'FORMAT parquet' : 'FORMAT json';
        // JSON numbers would pass through a double: DECIMALs are written as exact strings, which the reader casts back.
        const columns = table.schema.map((f) => (table.format === 'json' && f.type.name === 'DECIMAL' ? `CAST(${quoteName(f.name)} AS VARCHAR) AS ${quoteName(f.name)}` : quoteName(f.name)));
        await connection.run(`COPY (SELECT ${columns.join(', ')} FROM ${relation}) TO ${sqlString(partPath)} (${options})`);
      } catch (error) {
        throw new PyUdfError('IO', `cannot write ${finalPath}: ${(error as Error).message}`, { cause: error });
      } finally {
        await drop();
      }
      return rows;
    },
    publish() {
      try {
        fs.renameSync(partPath, finalPath);
      } catch (error) {
        throw new PyUdfError('IO', `cannot write ${finalPath}: ${(error as Error).message}`, { cause: error });
      }
    },
    async abort() {
      await appending?.then((a) => { try { a.close(); } catch { /* closed by finish */ } }).catch(() => undefined);
      await drop();
      fs.rmSync(partPath, { force: true });
    },
  };
}

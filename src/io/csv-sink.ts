import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { stringify } from 'csv-stringify';
import { PyUdfError } from '../errors.js';
import type { CsvTableDefinition } from '../table/descriptors.js';
import { valueAt, type Batch } from '../execution/vectors.js';
import { formatField } from './csv-values.js';
import type { Sink } from './sink.js';

/**
 * Writes a CSV table file beside its final path and renames it into place
 * only when the job succeeds: a failed job never leaves a partial file.
 */
export function csvSink(table: CsvTableDefinition): Sink {
  const finalPath = path.resolve(table.path);
  const partPath = path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.${process.pid}.${Date.now()}.part`);
  const { fieldDelimiter, quoteCharacter, nullLiteral } = table.format.options;
  let file: fs.WriteStream | null = null;
  let writer: ReturnType<typeof stringify> | null = null;
  let rows = 0;

  const open = () => {
    fs.mkdirSync(path.dirname(finalPath), { recursive: true });
    file = fs.createWriteStream(partPath);
    writer = stringify({ delimiter: fieldDelimiter, quote: quoteCharacter, record_delimiter: 'unix' });
    writer.pipe(file);
    return writer;
  };

  return {
    async write(batch: Batch) {
      const out = writer ?? open();
      for (let i = 0; i < batch.numRows; i++) {
        const record = batch.columns.map((column) => formatField(valueAt(column, i), nullLiteral));
        if (!out.write(record)) await once(out, 'drain');
      }
      rows += batch.numRows;
    },
    async commit() {
      const out = writer ?? open();
      out.end();
      await once(file!, 'close');
      try {
        fs.renameSync(partPath, finalPath);
      } catch (error) {
        throw new PyUdfError('IO', `cannot write ${finalPath}: ${(error as Error).message}`, { cause: error });
      }
      return rows;
    },
    async abort() {
      // Destroying streams with writes pending makes them emit 'error': without
      // a listener that would be an uncaught exception. The file is removed once
      // closed: an open still in progress would otherwise create it afterwards.
      const stream = file as fs.WriteStream | null;
      const closed = stream && !stream.closed ? new Promise<void>((resolve) => stream.once('close', () => resolve())) : null;
      writer?.on('error', () => undefined);
      stream?.on('error', () => undefined);
      writer?.destroy();
      stream?.destroy();
      await closed;
      fs.rmSync(partPath, { force: true });
    },
  };
}

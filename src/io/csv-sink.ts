import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { stringify } from 'csv-stringify';
import { PyUdfError } from '../errors.js';
import type { CsvTableDefinition } from '../table/descriptors.js';
import { valueAt, type Batch } from '../execution/vectors.js';
import { formatField } from './csv-values.js';
import type { Sink } from './sink.js';

/** Waits for room in the writer, or for the file to close on an error; leaves no listener behind. */
function drainedOrClosed(out: NodeJS.EventEmitter, file: fs.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      file.off('close', done);
      resolve();
    };
    out.once('drain', done);
    file.once('close', done);
  });
}

/**
 * Writes a CSV table file beside its final path and renames it into place
 * only when the job succeeds: a failed job never leaves a partial file.
 */
export function csvSink(table: CsvTableDefinition): Sink {
  const finalPath = path.resolve(table.path);
  const partPath = path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.${crypto.randomBytes(6).toString('hex')}.part`);
  const { fieldDelimiter, quoteCharacter, nullLiteral } = table.format.options;
  const types = table.schema.map((f) => f.type);
  let file: fs.WriteStream | null = null;
  let writer: ReturnType<typeof stringify> | null = null;
  let rows = 0;
  // A write stream reports failures (cannot open, disk full) asynchronously:
  // kept here and thrown from the next call, as an IO error naming the file.
  let failure: unknown = null;
  const ioError = (error: unknown) =>
    new PyUdfError('IO', `cannot write ${finalPath}: ${(error as Error).message}`, { cause: error });
  const check = () => {
    if (failure) throw ioError(failure);
  };

  const open = () => {
    try {
      fs.mkdirSync(path.dirname(finalPath), { recursive: true });
    } catch (error) {
      throw ioError(error);
    }
    // 'wx': never follow or reuse something already at the part file's path.
    file = fs.createWriteStream(partPath, { flags: 'wx' });
    file.on('error', (error) => { failure ??= error; });
    writer = stringify({
      delimiter: fieldDelimiter, quote: quoteCharacter, record_delimiter: 'unix',
      // NULL is the null literal unquoted; a value that reads the same is
      // quoted, so the source tells them apart: '' is `""` when NULL is empty.
      cast: {
        null: () => nullLiteral,
        string: (text) => (text === nullLiteral ? { value: text, quoted: true, quoted_empty: true } : text),
      },
    });
    writer.on('error', (error) => { failure ??= error; });
    writer.pipe(file);
    return writer;
  };

  return {
    async write(batch: Batch) {
      check();
      const out = writer ?? open();
      for (let i = 0; i < batch.numRows; i++) {
        const record = batch.columns.map((column, c) => formatField(valueAt(column, i), types[c]));
        if (!out.write(record)) await drainedOrClosed(out, file!);
        check();
      }
      rows += batch.numRows;
    },
    async finish() {
      check();
      const out = writer ?? open();
      const stream = file!;
      const closed = stream.closed ? Promise.resolve() : once(stream, 'close');
      out.end();
      await closed.catch(() => undefined); // a stream error rejects once(); `failure` holds it
      check();
      return rows;
    },
    publish() {
      try {
        fs.renameSync(partPath, finalPath);
      } catch (error) {
        throw ioError(error);
      }
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

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { onExit } from 'signal-exit';
import { PyUdfError } from '../errors.js';
import type { CsvTableDefinition } from '../table/descriptors.js';
import type { Batch } from '../batches/vectors.js';
import { csvText } from './csv-format.js';
import type { Sink } from './sink.js';

/** Waits for room in the file's buffer, or for the file to close on an error; leaves no listener behind. */
function drained(file: fs.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      file.off('drain', done);
      file.off('close', done);
      resolve();
    };
    file.once('drain', done);
    file.once('close', done);
  });
}

// `.<target>.pyudf-<pid>-<random>.part`: the pid says whose it is, so a
// later run can tell a part file of a dead process from one being written.
const PART_FILE = /^\..+\.pyudf-(\d+)-[0-9a-f]+\.part$/;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the part files in `dir` left by processes that are gone (a host
 * killed with SIGKILL has no chance to remove its own).
 */
export function removeStalePartFiles(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const owner = PART_FILE.exec(name);
    if (owner && Number(owner[1]) !== process.pid && !isAlive(Number(owner[1]))) fs.rmSync(path.join(dir, name), { force: true });
  }
}

/**
 * Writes a CSV table file beside its final path and renames it into place
 * only when the job succeeds: a failed job never leaves a partial file, nor
 * does a host stopped by a signal (removed on the way out), and one killed
 * outright leaves it to the next job writing to that directory.
 */
export function csvSink(table: CsvTableDefinition): Sink {
  const finalPath = path.resolve(table.path);
  const partPath = path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.pyudf-${process.pid}-${crypto.randomBytes(6).toString('hex')}.part`);
  let removeOnExit: (() => void) | null = null;
  const forgetPartFile = () => {
    removeOnExit?.();
    removeOnExit = null;
  };
  const { fieldDelimiter, quoteCharacter, nullLiteral } = table.format.options;
  const spelling = { fieldDelimiter, quoteCharacter, nullLiteral };
  const types = table.schema.map((f) => f.type);
  let file: fs.WriteStream | null = null;
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
    removeStalePartFiles(path.dirname(finalPath));
    removeOnExit = onExit(() => { fs.rmSync(partPath, { force: true }); });
    // 'wx': never follow or reuse something already at the part file's path.
    file = fs.createWriteStream(partPath, { flags: 'wx' });
    file.on('error', (error) => { failure ??= error; });
    return file;
  };

  return {
    async write(batch: Batch) {
      check();
      const out = file ?? open();
      if (batch.numRows > 0 && !out.write(csvText(batch, types, spelling))) await drained(out);
      check();
      rows += batch.numRows;
    },
    async finish() {
      check();
      const stream = file ?? open();
      const closed = stream.closed ? Promise.resolve() : once(stream, 'close');
      stream.end();
      await closed.catch(() => undefined); // a stream error rejects once(); `failure` holds it
      check();
      return rows;
    },
    publish() {
      try {
        fs.renameSync(partPath, finalPath);
      } catch (error) {
        throw ioError(error);
      } finally {
        forgetPartFile();
      }
    },
    async abort() {
      // Destroying streams with writes pending makes them emit 'error': without
      // a listener that would be an uncaught exception. The file is removed once
      // closed: an open still in progress would otherwise create it afterwards.
      const stream = file as fs.WriteStream | null;
      const closed = stream && !stream.closed ? new Promise<void>((resolve) => stream.once('close', () => resolve())) : null;
      stream?.on('error', () => undefined);
      stream?.destroy();
      await closed;
      fs.rmSync(partPath, { force: true });
      forgetPartFile();
    },
  };
}

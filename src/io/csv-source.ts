import fs from 'node:fs';
import { parse, CsvError, type Parser } from 'csv-parse';
import { CsvFormatError, PyUdfError } from '../errors.js';
import type { CsvTableDefinition } from '../table/descriptors.js';
import type { SqlValue } from '../types/values.js';
import type { Batching } from './batching.js';
import { vectorOf, type Batch } from '../batches/vectors.js';
import { parseField } from './csv-values.js';
import { prescanCsv, type CsvPrescan } from './csv-prescan.js';

/**
 * Streams a CSV file as batches of at most `batchSize` rows, memory bounded by
 * the batch. A batch is also cut once its first row is `batchTimeMs` old, so a
 * slowly written input (a pipe, a growing file) does not wait for a full batch.
 */
export async function* readCsv(
  table: CsvTableDefinition,
  batching: Batching,
  onSkippedLine: (error: CsvFormatError) => void = () => undefined,
  onBlankLines: (count: number) => void = () => undefined,
): AsyncGenerator<Batch> {
  const { batchSize, batchTimeMs, signal } = batching;
  const pipelineIdle = batching.pipelineIdle ?? (() => false);
  const { path: file, format, schema } = table;
  const { fieldDelimiter, quoteCharacter, ignoreFirstLine, nullLiteral, ignoreParseErrors } = format.options;
  let input: fs.ReadStream;
  let prescan: CsvPrescan;
  try {
    await fs.promises.access(file, fs.constants.R_OK);
    // Before the stream opens: nothing may come between it and its error listener below.
    prescan = await prescanCsv(file, { quoteCharacter, fieldDelimiter, nullLiteral });
    input = fs.createReadStream(file);
  } catch (error) {
    throw new PyUdfError('IO', `cannot read CSV table file ${file}: ${(error as Error).message}`, { cause: error });
  }
  const parser = input.pipe(parse({
    delimiter: fieldDelimiter,
    quote: quoteCharacter,
    from_line: ignoreFirstLine ? 2 : 1,
    relax_column_count: true, // we check the count ourselves, to name the file and line
    // In a one-column table an empty line is a row: its one field is empty
    // (how a sink writes NULL when the null literal is ''). Elsewhere it is
    // no row, skipped and counted.
    skip_empty_lines: schema.length !== 1,
    info: true,
    ...(prescan.recordDelimiter === null ? {} : { record_delimiter: prescan.recordDelimiter }),
    // A quoted field equal to the null literal is that text, not NULL. Telling it needs csv-parse's
    // context of every field, built anew for each (half of the parse): only where it can occur.
    ...(prescan.quotesNullLiteral
      ? { cast: (value: string, context: { quoting: boolean }) => (context.quoting && value === nullLiteral ? QUOTED_NULL_LITERAL : value) }
      : {}),
  }));
  input.on('error', (error) => parser.destroy(error));
  // csv-parse counts the end of a file after its last line break as one more empty line.
  let endsWithLineBreak = false;
  input.on('data', (chunk) => { if (chunk.length > 0) endsWithLineBreak = chunk[chunk.length - 1] === 0x0a || chunk[chunk.length - 1] === 0x0d; });

  let columns: SqlValue[][] = schema.map(() => []);
  let count = 0;
  let batchStarted = 0;
  // Where the last record ended, to place an error found past it (an unterminated quote).
  let lastLine = ignoreFirstLine ? 1 : 0;
  let lastEmptyLines = 0;
  const records = recordReader(parser, signal);
  const parseRecord = (record: (string | typeof QUOTED_NULL_LITERAL)[], line: number): SqlValue[] | CsvFormatError => {
    if (record.length !== schema.length) {
      return new CsvFormatError(`${file}:${line}: expected ${schema.length} field(s) (${schema.map((f) => f.name).join(', ')}), found ${record.length}`, { file, line });
    }
    const values = new Array<SqlValue>(schema.length);
    for (let c = 0; c < schema.length; c++) {
      const quoted = record[c] === QUOTED_NULL_LITERAL;
      const parsed = parseField(quoted ? nullLiteral : record[c] as string, schema[c]!.type, quoted ? null : nullLiteral);
      if ('error' in parsed) {
        return new CsvFormatError(`${file}:${line}: column ${c + 1} ("${schema[c]!.name}"): ${parsed.error}`, { file, line, column: c + 1 });
      }
      values[c] = parsed.value;
    }
    return values;
  };
  try {
    for (;;) {
      // Records already parsed are taken synchronously; we only wait (and race the bundle time) when none are.
      const deadline = count > 0 ? batchStarted + batchTimeMs : Infinity;
      const next = await records.next(deadline, count > 0 ? pipelineIdle : undefined);
      if (next === 'timeout') {
        yield toBatch(columns, count, table);
        columns = schema.map(() => []);
        count = 0;
        continue;
      }
      if (next === null) break;
      const { record, info } = next;
      const line = info.lines;
      lastLine = line;
      lastEmptyLines = info.empty_lines;
      const values = parseRecord(record, line);
      if (values instanceof CsvFormatError) {
        if (!ignoreParseErrors) throw values;
        onSkippedLine(values);
        continue;
      }
      for (let c = 0; c < schema.length; c++) columns[c]!.push(values[c]!);
      if (count++ === 0) batchStarted = Date.now();
      if (count === batchSize) {
        yield toBatch(columns, count, table);
        columns = schema.map(() => []);
        count = 0;
      }
    }
  } catch (error) {
    if (error instanceof CsvError) {
      const context = error as CsvError & { lines?: number; empty_lines?: number };
      if (error.code === 'CSV_QUOTE_NOT_CLOSED') {
        // csv-parse notices at the end of the input: name the line the quoted field opens on,
        // the first non-empty line after the last record.
        const line = lastLine + 1 + ((context.empty_lines ?? 0) - lastEmptyLines);
        throw new CsvFormatError(`${file}:${line}: malformed CSV: a quoted field opened on this line is never closed`, { file, line, cause: error });
      }
      const line = context.lines ?? 0;
      throw new CsvFormatError(`${file}:${line}: malformed CSV: ${error.message}`, { file, line, cause: error });
    }
    if (error instanceof PyUdfError) throw error;
    throw new PyUdfError('IO', `reading ${file} failed: ${(error as Error).message}`, { cause: error });
  } finally {
    input.destroy();
  }
  const blankLines = (parser.info as { empty_lines: number }).empty_lines - (endsWithLineBreak ? 1 : 0);
  if (blankLines > 0) onBlankLines(blankLines);
  if (count > 0) yield toBatch(columns, count, table);
}

/** What the parser gives for a quoted field that reads as the null literal. */
const QUOTED_NULL_LITERAL = Symbol('quoted null literal');

interface ParsedRecord {
  record: (string | typeof QUOTED_NULL_LITERAL)[];
  info: { lines: number; empty_lines: number };
}

/** Pull-style access to a csv-parse stream, waiting for more input at most until a deadline. */
function recordReader(parser: Parser, signal?: AbortSignal) {
  let ended = false;
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  // A quiet input (a pipe nobody writes to) must not keep a cancelled job waiting.
  signal?.addEventListener('abort', () => {
    failure ??= new PyUdfError('CLOSED', 'the job was cancelled', { cause: signal.reason });
    wake?.();
  }, { once: true });
  parser.on('readable', () => wake?.());
  parser.on('end', () => { ended = true; wake?.(); });
  parser.on('error', (error) => { failure = error; wake?.(); });
  return {
    /** The next record; 'timeout' at the deadline, or at once when it would wait and `sendEarly()` says so. */
    async next(deadline: number, sendEarly?: () => boolean): Promise<ParsedRecord | null | 'timeout'> {
      for (;;) {
        if (failure) throw failure;
        const record = parser.read() as ParsedRecord | null;
        if (record !== null) return record;
        if (ended) return null;
        if (sendEarly?.()) return 'timeout';
        const wait = deadline - Date.now();
        if (wait <= 0) return 'timeout';
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await new Promise<boolean>((resolve) => {
          wake = () => resolve(false);
          if (Number.isFinite(wait)) timer = setTimeout(() => resolve(true), wait);
        });
        wake = null;
        clearTimeout(timer);
        if (timedOut) return 'timeout';
      }
    },
  };
}

function toBatch(columns: SqlValue[][], numRows: number, table: CsvTableDefinition): Batch {
  return { numRows, columns: columns.map((values, c) => vectorOf(values, table.schema[c]!.type)) };
}

import fs from 'node:fs';
import { parse, CsvError } from 'csv-parse';
import { CsvFormatError, PyUdfError } from '../errors.js';
import type { CsvTableDefinition } from '../table/descriptors.js';
import type { SqlValue } from '../types/values.js';
import { vectorOf, type Batch } from '../execution/vectors.js';
import { parseField } from './csv-values.js';

/** Streams a CSV file as batches of at most `batchSize` rows; memory stays bounded by the batch. */
export async function* readCsv(table: CsvTableDefinition, batchSize: number): AsyncGenerator<Batch> {
  const { path: file, format, schema } = table;
  const { fieldDelimiter, quoteCharacter, ignoreFirstLine, nullLiteral } = format.options;
  let input: fs.ReadStream;
  try {
    await fs.promises.access(file, fs.constants.R_OK);
    input = fs.createReadStream(file);
  } catch (error) {
    throw new PyUdfError('IO', `cannot read CSV table file ${file}: ${(error as Error).message}`, { cause: error });
  }
  const parser = input.pipe(parse({
    delimiter: fieldDelimiter,
    quote: quoteCharacter,
    from_line: ignoreFirstLine ? 2 : 1,
    relax_column_count: true, // we check the count ourselves, to name the file and line
    skip_empty_lines: true,
    info: true,
  }));
  input.on('error', (error) => parser.destroy(error));

  let columns: SqlValue[][] = schema.map(() => []);
  let count = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const line = info.lines;
      if (record.length !== schema.length) {
        throw new CsvFormatError(`${file}:${line}: expected ${schema.length} field(s) (${schema.map((f) => f.name).join(', ')}), found ${record.length}`, { file, line });
      }
      for (let c = 0; c < schema.length; c++) {
        const parsed = parseField(record[c]!, schema[c]!.type, nullLiteral);
        if ('error' in parsed) {
          throw new CsvFormatError(`${file}:${line}: column ${c + 1} ("${schema[c]!.name}"): ${parsed.error}`, { file, line, column: c + 1 });
        }
        columns[c]!.push(parsed.value);
      }
      if (++count === batchSize) {
        yield toBatch(columns, count, table);
        columns = schema.map(() => []);
        count = 0;
      }
    }
  } catch (error) {
    if (error instanceof CsvError) {
      const line = (error as CsvError & { lines?: number }).lines ?? 0;
      throw new CsvFormatError(`${file}:${line}: malformed CSV: ${error.message}`, { file, line, cause: error });
    }
    if (error instanceof CsvFormatError) throw error;
    throw new PyUdfError('IO', `reading ${file} failed: ${(error as Error).message}`, { cause: error });
  } finally {
    input.destroy();
  }
  if (count > 0) yield toBatch(columns, count, table);
}

function toBatch(columns: SqlValue[][], numRows: number, table: CsvTableDefinition): Batch {
  return { numRows, columns: columns.map((values, c) => vectorOf(values, table.schema[c]!.type)) };
}

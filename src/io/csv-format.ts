import { isTemporalType, type DataType } from '../types/data-types.js';
import type { SqlValue } from '../types/values.js';
import type { Batch } from '../batches/vectors.js';
import { columnValues } from './collect-sink.js';
import { formatField } from './csv-values.js';

/** How a CSV sink spells its fields: Flink's csv options. */
export interface CsvSpelling {
  readonly fieldDelimiter: string;
  readonly quoteCharacter: string;
  readonly nullLiteral: string;
}

/**
 * A batch as CSV text, one line per row, each ending in "\n". A field is
 * quoted when it holds the delimiter, the quote character or a line break; a
 * quote inside is doubled (and, with another quote character, `"` is the
 * escape, as the reader expects). NULL is the null literal, unquoted; a text
 * equal to the null literal is quoted, so the reader tells them apart (`""`
 * when NULL is the empty field). Numbers are spelled straight from their
 * typed arrays: a batch is formatted column by column, not value by value.
 */
export function csvText(batch: Batch, types: readonly DataType[], spelling: CsvSpelling): string {
  const fields = batch.columns.map((column, c) => columnFields(columnValues(column), types[c]!, batch.numRows, spelling));
  const width = fields.length;
  let text = '';
  for (let i = 0; i < batch.numRows; i++) {
    let line = fields[0]![i]!;
    for (let c = 1; c < width; c++) line += spelling.fieldDelimiter + fields[c]![i]!;
    text += line + '\n';
  }
  return text;
}

const ESCAPE = '"';
/** What a number's text may hold: a delimiter or quote among them would call for quoting. */
const NUMBER_CHARACTERS = /[0-9.+\-eEInfinityNa]/;

function columnFields(values: ArrayLike<SqlValue>, type: DataType, numRows: number, spelling: CsvSpelling): string[] {
  const out = new Array<string>(numRows);
  const nullField = quotedIfNeeded(spelling.nullLiteral, spelling);
  // A DECIMAL or temporal sink column takes its own digits (7 as "7.00"): formatField knows how.
  const plainNumbers = !(type.name === 'DECIMAL' || isTemporalType(type)) && ArrayBuffer.isView(values) &&
    !NUMBER_CHARACTERS.test(spelling.fieldDelimiter + spelling.quoteCharacter);
  for (let i = 0; i < numRows; i++) {
    const value = values[i]!;
    if (plainNumbers) {
      const text = String(value);
      out[i] = text === spelling.nullLiteral ? quote(text, spelling) : text;
      continue;
    }
    const text = formatField(value, type);
    if (text === null) out[i] = nullField;
    else if (text === spelling.nullLiteral) out[i] = quote(text, spelling);
    else out[i] = quotedIfNeeded(text, spelling);
  }
  return out;
}

function quotedIfNeeded(text: string, spelling: CsvSpelling): string {
  if (text === '') return text;
  const { fieldDelimiter, quoteCharacter } = spelling;
  const hasQuote = quoteCharacter !== '' && text.includes(quoteCharacter);
  const needsQuotes = hasQuote || holdsSeparator(text, fieldDelimiter) || text.includes('\n') || text.includes('\r');
  return needsQuotes ? quote(text, spelling) : text;
}

function quote(text: string, spelling: CsvSpelling): string {
  const { quoteCharacter } = spelling;
  let body = text;
  if (quoteCharacter !== ESCAPE && body.includes(ESCAPE)) body = body.replaceAll(ESCAPE, ESCAPE + ESCAPE);
  if (quoteCharacter !== '' && body.includes(quoteCharacter)) body = body.replaceAll(quoteCharacter, ESCAPE + quoteCharacter);
  return quoteCharacter + body + quoteCharacter;
}

/** Whether the delimiter occurs in the text, or (one longer than a character) begins at its end. */
function holdsSeparator(text: string, separator: string): boolean {
  if (separator.length === 0) return false;
  if (text.includes(separator)) return true;
  return separator.length > 1 && (text + separator).indexOf(separator) < text.length;
}

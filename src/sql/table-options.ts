import { SqlError } from '../errors.js';
import { Json, OldCsv, Parquet, type FileFormat } from '../table/descriptors.js';
import { lineColumn } from './sql-text.js';

/** A CREATE TABLE's WITH options, read as Flink's filesystem connector and csv format read them. */
export interface FileTableOptions {
  readonly path: string;
  readonly format: FileFormat;
}

type CsvSetter = (format: OldCsv, value: string, fail: (message: string) => never) => OldCsv;

const BOOLEAN = (value: string, fail: (message: string) => never): boolean => {
  if (value.toLowerCase() === 'true') return true;
  if (value.toLowerCase() === 'false') return false;
  return fail(`expected 'true' or 'false', got '${value}'`);
};

/** Flink's csv format options, each onto the CSV format's own setting. */
const CSV_OPTIONS: Readonly<Record<string, CsvSetter>> = {
  'csv.field-delimiter': (format, value, fail) => {
    // Flink writes a tab as '\t' in the option's text.
    const delimiter = value === '\\t' ? '\t' : value;
    if (delimiter.length !== 1) fail(`expected one character, got '${value}'`);
    return format.fieldDelimiter(delimiter);
  },
  'csv.quote-character': (format, value, fail) => {
    if (value.length !== 1) fail(`expected one character, got '${value}'`);
    return format.quoteCharacter(value);
  },
  'csv.null-literal': (format, value) => format.nullLiteral(value),
  'csv.ignore-parse-errors': (format, value, fail) => format.ignoreParseErrors(BOOLEAN(value, fail)),
  // Accepted when off, their default; what they turn on is not read here.
  'csv.allow-comments': (format, value, fail) => (BOOLEAN(value, fail) ? fail('lines starting with # are not skipped here: only \'false\' is supported') : format),
  'csv.disable-quote-character': (format, value, fail) => (BOOLEAN(value, fail) ? fail('quoting cannot be turned off here: only \'false\' is supported') : format),
};

const CONNECTOR_OPTIONS = ['connector', 'path', 'format'];

/**
 * The table definition a CREATE TABLE's options describe: the filesystem
 * connector with the csv, parquet or json format. Unknown options fail, naming the known ones,
 * as in Flink.
 */
export function fileTableOptions(
  statement: string,
  options: ReadonlyMap<string, string>,
  offsets: ReadonlyMap<string, number>,
  tableOffset: number,
): FileTableOptions {
  const fail = (key: string | null, message: string): never => {
    const offset = key === null ? tableOffset : offsets.get(key) ?? tableOffset;
    throw new SqlError('INVALID_ARGUMENT', message, { statement, ...lineColumn(statement, offset) });
  };
  const connector = options.get('connector');
  if (connector === undefined) fail(null, "CREATE TABLE needs WITH ('connector' = 'filesystem', 'path' = '...', 'format' = 'csv')");
  if (connector !== 'filesystem') fail('connector', `connector '${connector}' is not supported: only 'filesystem' is`);
  const path = options.get('path');
  if (path === undefined || path === '') fail(null, "the filesystem connector needs a 'path'");
  const formatName = options.get('format');
  if (formatName === undefined) fail(null, "the filesystem connector needs a 'format' ('csv', 'parquet' or 'json')");
  if (formatName === 'parquet' || formatName === 'json') {
    const extra = [...options.keys()].find((key) => !CONNECTOR_OPTIONS.includes(key));
    if (extra !== undefined) fail(extra, `unsupported option '${extra}' for format '${formatName}'; supported options: ${CONNECTOR_OPTIONS.join(', ')}`);
    return { path: path!, format: formatName === 'parquet' ? new Parquet() : new Json() };
  }
  if (formatName !== 'csv') {
    fail('format', `format '${formatName}' is not supported; formats: 'csv', 'parquet', 'json'`);
  }
  let format = new OldCsv();
  for (const [key, value] of options) {
    if (CONNECTOR_OPTIONS.includes(key)) continue;
    const setter = CSV_OPTIONS[key];
    if (setter === undefined) {
      fail(key, `unsupported option '${key}'; supported options: ${[...CONNECTOR_OPTIONS, ...Object.keys(CSV_OPTIONS)].join(', ')}`);
    }
    format = setter!(format, value, (message) => fail(key, `option '${key}': ${message}`));
  }
  return { path: path!, format };
}

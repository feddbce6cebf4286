// The record delimiter found ahead of csv-parse must be the one csv-parse
// discovers itself: csv-parse, left to discover, is the oracle, over tricky
// first lines and thousands of random ones. And a first line of megabytes no
// longer costs seconds (csv-parse's discovery allocates per byte of it).
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { RecordDelimiterFinder, prescanCsv } from '../../src/io/csv-prescan.js';
import { DataTypes, FileSystem, OldCsv, TableEnvironment } from '../../src/index.js';
import { closedAfterAll, isolateTempRoot, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir('csv-prescan-');

/** What csv-parse makes of `text`: records, line counts, or its error code. */
function parsed(text: string, delimiter: string, recordDelimiter?: string): unknown {
  try {
    const records = parse(text, {
      delimiter, quote: '"', relax_column_count: true, skip_empty_lines: true, info: true,
      ...(recordDelimiter === undefined ? {} : { record_delimiter: recordDelimiter }),
    }) as unknown as { record: string[]; info: { lines: number } }[];
    return records.map(({ record, info }) => ({ record, line: info.lines }));
  } catch (error) {
    return { error: (error as { code?: string }).code };
  }
}

/** The finder's answer for `text` pushed in pieces of `piece` bytes. */
function found(text: string, delimiter: string, piece: number): string | null {
  const finder = RecordDelimiterFinder.for('"', delimiter)!;
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length && !finder.done; i += piece) finder.push(bytes.subarray(i, i + piece));
  return finder.end();
}

function expectSameParse(text: string, delimiter = ','): void {
  const auto = parsed(text, delimiter);
  for (const piece of [1, 2, 3, 1 << 20]) {
    const recordDelimiter = found(text, delimiter, piece);
    if (recordDelimiter === null) continue; // csv-parse discovers it then
    const explicit = parsed(text, delimiter, recordDelimiter);
    if (JSON.stringify(explicit) !== JSON.stringify(auto)) {
      throw new Error(`${JSON.stringify(text)} (pieces of ${piece}): ${JSON.stringify(recordDelimiter)} parses as ${JSON.stringify(explicit)}, csv-parse discovers ${JSON.stringify(auto)}`);
    }
  }
}

test.each([
  'a,b\nc,d\n', 'a,b\r\nc,d\r\n', 'a,b\rc,d\r', 'a,b\r\rc\n', 'a\rb\nc\r\n', 'a,b', '', '\n\na\n', '\r\n\r\n', '\r',
  '"a\nb",c\r\nd,e\r\n', '"a\r\nb"\rc\r', '"a""\n",b\nc', '"a"\r\n', '"a"', '"', '"a', '"a\n', 'a"b\nc\n', '"a"b\nc\n',
  ',"x\ny",\r\nz', '"","\r"\n', '""""\r\n', 'x,"y"\r', 'x;"y\n";z\r\n',
])('%j: the delimiter csv-parse discovers', (text) => {
  expectSameParse(text);
  expectSameParse(text.replace(/,/g, ';'), ';');
});

test('thousands of random first lines of quotes, delimiters and line breaks', () => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const alphabet = ['a', ',', '"', '\r', '\n', '""'];
  for (let n = 0; n < 5000; n++) {
    const length = Math.floor(random() * 10);
    expectSameParse(Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''));
  }
});

test('only the simple case is followed: another quote character or a multi-byte delimiter leaves discovery to csv-parse', async () => {
  expect(RecordDelimiterFinder.for("'", ',')).toBeNull();
  expect(RecordDelimiterFinder.for('"', '||')).toBeNull();
  expect(RecordDelimiterFinder.for('"', '\t')).not.toBeNull();
  const file = path.join(dir, 'quoted-null.csv');
  fs.writeFileSync(file, 'a,"NULL"\r\nb,c\r\n');
  expect(await prescanCsv(file, { quoteCharacter: '"', fieldDelimiter: ',', nullLiteral: 'NULL' })).toEqual({ quotesNullLiteral: true, recordDelimiter: '\r\n' });
  expect(await prescanCsv(file, { quoteCharacter: '"', fieldDelimiter: ',', nullLiteral: '' })).toEqual({ quotesNullLiteral: false, recordDelimiter: '\r\n' });
  expect(await prescanCsv(file, { quoteCharacter: "'", fieldDelimiter: ',', nullLiteral: '' })).toEqual({ quotesNullLiteral: false, recordDelimiter: null });
  expect(await prescanCsv(dir, { quoteCharacter: '"', fieldDelimiter: ',', nullLiteral: '' })).toEqual({ quotesNullLiteral: true, recordDelimiter: null });
});

describe('a table whose first line is megabytes long', () => {
  const tEnv = closedAfterAll(TableEnvironment.create(), tempRoot);

  test.each([['\n'], ['\r\n'], ['\r']])('line breaks %j: every row, the long field whole', async (lineBreak) => {
    const long = `"${'x,'.repeat(2 << 20)}\n"`;
    const file = path.join(dir, `long-${lineBreak.length}-${lineBreak.charCodeAt(0)}.csv`);
    fs.writeFileSync(file, `1,${long}${lineBreak}2,"b${lineBreak}c"${lineBreak}3,d${lineBreak}`);
    const name = `long_${lineBreak.length}_${lineBreak.charCodeAt(0)}`;
    tEnv.connect(new FileSystem().path(file)).withFormat(new OldCsv().field('n', DataTypes.INT()).field('s', DataTypes.STRING())).createTemporaryTable(name);
    const rows = await tEnv.fromPath(name).execute().collect();
    expect(rows.map((r) => r.n)).toEqual([1, 2, 3]);
    expect(rows[0]!.s).toBe(`${'x,'.repeat(2 << 20)}\n`);
    expect(rows.slice(1).map((r) => r.s)).toEqual([`b${lineBreak}c`, 'd']);
  });
});

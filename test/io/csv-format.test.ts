// The CSV sink spells every field as csv-stringify did (the library it used
// to write through, kept here as the oracle), for every option and awkward
// value, and what it writes reads back as the same values. One deliberate
// difference: a field holding a carriage return alone is quoted, where
// csv-stringify left it bare and the file could not be read back.
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { DataTypes, FileSystem, OldCsv, TableEnvironment, type DataType } from '../../src/index.js';
import { formatField } from '../../src/io/csv-values.js';
import { isolateTempRoot, tempDir } from '../support.js';

isolateTempRoot();
const dir = tempDir('udf-csv-format-');

const SCHEMA: Record<string, DataType> = {
  s: DataTypes.STRING(), b: DataTypes.BIGINT(), d: DataTypes.DOUBLE(), i: DataTypes.INT(), ok: DataTypes.BOOLEAN(),
  dec: DataTypes.DECIMAL(10, 2), day: DataTypes.DATE(), ts: DataTypes.TIMESTAMP(3), raw: DataTypes.BYTES(),
};
const TEXTS = ['plain', '', 'NULL', 'null', '0', 'a,b', 'a;b', 'a|b', 'say "hi"', "it's", 'line\nbreak', 'cr\rhere',
  'crlf\r\nx', ' padded ', '"', "'", '""', 'ab', 'xab', 'abx', 'a.b', '-1', 'ünï €😀', '1e5', 'x,y'];
const ROWS = TEXTS.map((s, r) => [
  r % 7 === 3 ? null : s,
  r % 5 === 1 ? null : BigInt(r * 1_000_003 - 7_000_000) * (r % 2 ? -1n : 1n),
  [0.5, -0, 1e21, 1e-7, NaN, Infinity, -Infinity, 0.1 + 0.2][r % 8]!,
  r % 4 === 2 ? null : r - 12,
  r % 3 === 0 ? null : r % 2 === 0,
  r % 6 === 5 ? null : `${r}.5`,
  r % 9 === 8 ? null : `2024-02-${String((r % 28) + 1).padStart(2, '0')}`,
  `2024-02-29T13:45:${String(r % 60).padStart(2, '0')}.250`,
  r % 8 === 7 ? null : new Uint8Array([r, 255, 0]),
]);
// Columns without NULLs, so that the typed-array path of the numbers is taken too.
const DENSE_ROWS = Array.from({ length: 40 }, (_, r) => [BigInt(r - 20) * 10_000_000_000n, r / 3 - 5, r - 20]);
const DENSE_SCHEMA: Record<string, DataType> = { b: DataTypes.BIGINT(), d: DataTypes.DOUBLE(), i: DataTypes.INT() };

const SPELLINGS = [
  { fieldDelimiter: ',', quoteCharacter: '"', nullLiteral: '' },
  { fieldDelimiter: ';', quoteCharacter: "'", nullLiteral: 'NULL' },
  { fieldDelimiter: '|', quoteCharacter: '"', nullLiteral: 'null' },
  { fieldDelimiter: '.', quoteCharacter: '"', nullLiteral: '0' },
  { fieldDelimiter: 'ab', quoteCharacter: '"', nullLiteral: 'x,y' },
  { fieldDelimiter: '\t', quoteCharacter: "'", nullLiteral: '' },
];

/** What csv-stringify wrote for these rows, configured as the sink configured it (and quoting a lone "\r"). */
function oracle(rows: readonly (readonly unknown[])[], types: readonly DataType[], spelling: typeof SPELLINGS[number]): string {
  const { fieldDelimiter, quoteCharacter, nullLiteral } = spelling;
  const records = rows.map((row) => row.map((value, c) => formatField(value as never, types[c])));
  return stringify(records, {
    delimiter: fieldDelimiter, quote: quoteCharacter, record_delimiter: 'unix', quoted_match: /\r/,
    cast: {
      null: () => nullLiteral,
      string: (text: string) => (text === nullLiteral ? { value: text, quoted: true, quoted_empty: true } : text),
    },
  });
}

function csvFormat(schema: Record<string, DataType>, spelling: typeof SPELLINGS[number]): OldCsv {
  let format = new OldCsv().fieldDelimiter(spelling.fieldDelimiter).quoteCharacter(spelling.quoteCharacter).nullLiteral(spelling.nullLiteral);
  for (const [name, type] of Object.entries(schema)) format = format.field(name, type);
  return format;
}

describe.each(SPELLINGS)('delimiter %j', (spelling) => {
  const tEnv = TableEnvironment.create();
  afterAll(() => tEnv.close());
  const tag = Buffer.from(JSON.stringify(spelling)).toString('hex');

  test.each([
    ['awkward values of every scalar type', ROWS, SCHEMA],
    ['number columns without NULLs', DENSE_ROWS, DENSE_SCHEMA],
  ] as const)('%s: byte for byte what csv-stringify wrote, and read back as written', async (what, rows, schema) => {
    const file = path.join(dir, `${tag}-${what.length}.csv`);
    const format = csvFormat(schema, spelling);
    const name = `t${what.length}_${tag}`;
    tEnv.connect(new FileSystem().path(file)).withFormat(format).createTemporaryTable(name);
    const types = Object.values(schema);
    await tEnv.fromElements(rows as unknown[][], schema).executeInsert(name);
    expect(fs.readFileSync(file, 'utf8')).toBe(oracle(rows as unknown[][], types, spelling));
    const readBack = await tEnv.fromPath(name).execute().collect();
    const expected = await tEnv.fromElements(rows as unknown[][], schema).execute().collect();
    // A DOUBLE NaN reads back as NaN: compare the spelled values.
    expect(readBack.map((r) => Object.values(r).map(String))).toEqual(expected.map((r) => Object.values(r).map(String)));
  });
});

test('a quoted null literal is text and an unquoted one NULL, also where the quoted one straddles 1 MiB of the file', async () => {
  const tEnv = TableEnvironment.create();
  try {
    const file = path.join(dir, 'straddle.csv');
    // `"NULL"` starts 3 bytes before the 1 MiB mark: the reader looks for it a megabyte at a time.
    const before = (1 << 20) - 3;
    const line = `${'x'.repeat(1000)}\n`;
    const full = Math.floor(before / line.length);
    const head = line.repeat(full) + `${'x'.repeat(before - full * line.length - 1)}\n`;
    expect(head.length).toBe(before);
    fs.writeFileSync(file, `${head}"NULL"\nNULL\n`);
    tEnv.connect(new FileSystem().path(file)).withFormat(new OldCsv().field('s', DataTypes.STRING()).nullLiteral('NULL')).createTemporaryTable('straddle');
    const rows = await tEnv.fromPath('straddle').execute().collect();
    expect(rows).toHaveLength(full + 3);
    expect(rows.slice(-2)).toEqual([{ s: 'NULL' }, { s: null }]);
  } finally {
    await tEnv.close();
  }
});

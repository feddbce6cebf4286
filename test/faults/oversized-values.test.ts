// Values and batches beyond gRPC's default 4 MiB message: a 16 MiB string
// (and 16 MiB of bytes) round-trips exactly through an identity UDF, and a
// batch of 8 MiB goes to a worker and back in one piece.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, FileSystem, OldCsv, TableEnvironment, udf } from '../../src/index.js';
import { isolateTempRoot, tempDir } from '../support.js';
import { checkNothingLeftAfterEach, expectNothingLeft, watchingLogger } from './fault-support.js';

const tempRoot = isolateTempRoot();
checkNothingLeftAfterEach(tempRoot);
const dir = tempDir('udf-faults-big-');
const STRING = DataTypes.STRING();
const BYTES = DataTypes.BYTES();
const BIGINT = DataTypes.BIGINT();
const MiB = 1024 * 1024;

/**
 * 16 MiB of UTF-8 in 2^20 distinct 16-byte chunks (a counter and 1-, 2-, 3- and
 * 4-byte characters): any lost, doubled or reordered piece changes it.
 */
function bigString(): string {
  const chunks: string[] = [];
  for (let i = 0; i < MiB; i++) chunks.push(`${i.toString(16).padStart(5, '0')}é€😀--`);
  return chunks.join('');
}

const BIG = bigString();
const sha = (data: string | Uint8Array) => crypto.createHash('sha256').update(data).digest('hex');

test('the test string is 16 MiB of UTF-8', () => {
  expect(Buffer.byteLength(BIG, 'utf8')).toBe(16 * MiB);
});

test('a 16 MiB string through an identity UDF round-trips exactly; Python saw every byte', async () => {
  const tEnv = TableEnvironment.create({ logger: watchingLogger() });
  try {
    tEnv.registerFunction('same', udf('lambda s: s', [STRING], STRING));
    tEnv.registerFunction('utf8_len', udf('lambda s: len(s.encode("utf-8"))', [STRING], BIGINT));
    tEnv.registerFunction('digest', udf('lambda s: __import__("hashlib").sha256(s.encode("utf-8")).hexdigest()', [STRING], STRING));
    const rows = await tEnv.fromElements([['small'], [BIG], ['after']], { s: STRING })
      .select('same(s) AS s, utf8_len(s) AS n, digest(s) AS h').execute().collect();
    expect(rows).toHaveLength(3);
    const big = rows[1]!.s as string;
    expect(big.length).toBe(BIG.length);
    expect(big === BIG).toBe(true); // not toEqual: a failure must not print 16 MiB
    expect(rows[1]!.n).toBe(BigInt(16 * MiB));
    expect(rows[1]!.h).toBe(sha(BIG));
    expect([rows[0]!.s, rows[2]!.s]).toEqual(['small', 'after']);
  } finally {
    await tEnv.close();
  }
  expectNothingLeft(tempRoot);
}, 120_000);

test('16 MiB of BYTES through an identity UDF round-trips exactly', async () => {
  const data = new Uint8Array(crypto.randomBytes(16 * MiB));
  const tEnv = TableEnvironment.create({ logger: watchingLogger() });
  try {
    tEnv.registerFunction('same', udf('lambda b: b', [BYTES], BYTES));
    const rows = await tEnv.fromElements([[data]], { b: BYTES }).select('same(b) AS b').execute().collect();
    const back = rows[0]!.b as Uint8Array;
    expect(back.length).toBe(data.length);
    expect(Buffer.compare(Buffer.from(back), Buffer.from(data))).toBe(0);
  } finally {
    await tEnv.close();
  }
  expectNothingLeft(tempRoot);
}, 120_000);

test('a 16 MiB quoted CSV field (with commas, quotes and newlines) from a CSV file to a CSV file', async () => {
  const tricky = `${BIG.slice(0, 4 * MiB)},"quoted"\n${BIG.slice(4 * MiB)}`;
  const input = path.join(dir, 'big.csv');
  const output = path.join(dir, 'big-out', 'out.csv');
  const csvField = (s: string) => `"${s.replace(/"/g, '""')}"`;
  fs.writeFileSync(input, `1,${csvField(tricky)}\n2,tail\n`);
  const tEnv = TableEnvironment.create({ logger: watchingLogger() });
  try {
    tEnv.registerFunction('same', udf('lambda s: s', [STRING], STRING));
    tEnv.connect(new FileSystem().path(input)).withFormat(new OldCsv().field('id', BIGINT).field('s', STRING)).createTemporaryTable('src');
    tEnv.connect(new FileSystem().path(output)).withFormat(new OldCsv().field('id', BIGINT).field('s', STRING)).createTemporaryTable('sink');
    const result = await tEnv.fromPath('src').select('id, same(s) AS s').executeInsert('sink');
    expect(result.sinks).toEqual([{ table: 'sink', rows: 2 }]);
  } finally {
    await tEnv.close();
  }
  expect(sha(fs.readFileSync(output))).toBe(sha(`1,${csvField(tricky)}\n2,tail\n`));
  expectNothingLeft(tempRoot);
}, 120_000);

test.each([1, 2])('one batch of 2,000 rows of 4 KiB strings (8 MiB, over gRPC\'s 4 MiB default) with bundleSize 2000, parallelism %i', async (parallelism) => {
  const rows = Array.from({ length: 6000 }, (_, i) => [BigInt(i), `${String(i).padStart(8, '0')}${'x'.repeat(4096 - 8)}`]);
  const tEnv = TableEnvironment.create({ parallelism, bundleSize: 2000, logger: watchingLogger() });
  try {
    tEnv.registerFunction('same', udf('lambda s: s', [STRING], STRING));
    tEnv.registerFunction('tag', udf('lambda i, s: s[:8] + ":" + str(i) + s[8:]', [BIGINT, STRING], STRING));
    const out = await tEnv.fromElements(rows, { i: BIGINT, s: STRING }).select('i, same(s) AS s, tag(i, s) AS t').execute().collect();
    expect(out).toHaveLength(rows.length);
    out.forEach((row, k) => {
      const [i, s] = rows[k]! as [bigint, string];
      if (row.i !== i || row.s !== s || row.t !== `${s.slice(0, 8)}:${i}${s.slice(8)}`) {
        throw new Error(`row ${k} differs: ${String(row.i)} ${String(row.s).slice(0, 20)}...`);
      }
    });
  } finally {
    await tEnv.close();
  }
  expectNothingLeft(tempRoot);
}, 120_000);

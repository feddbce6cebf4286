// STRING columns are encoded in one pass instead of through apache-arrow's
// builder: the vectors must hold the builder's values, also once written as
// Arrow IPC, for ASCII, multi-byte text, lone surrogates, empty strings and NULLs.
import * as arrow from 'apache-arrow';
import { valueAt, vectorOf } from '../../src/batches/vectors.js';
import { DataTypes } from '../../src/types/data-types.js';
import type { SqlValue } from '../../src/types/values.js';

const STRING = DataTypes.STRING();

function expectBuilderBytes(values: readonly SqlValue[]): void {
  const ours = vectorOf(values, STRING);
  const builder = arrow.vectorFromArray(values as unknown[], new arrow.Utf8());
  expect(ours.type).toBeInstanceOf(arrow.Utf8);
  expect(ours.length).toBe(values.length);
  expect(ours.nullCount).toBe(builder.nullCount);
  expect(Array.from({ length: ours.length }, (_, i) => valueAt(ours, i))).toEqual(Array.from({ length: builder.length }, (_, i) => builder.get(i)));
  // What the workers receive: written as Arrow IPC and read back, the builder's values.
  const sent = arrow.tableFromIPC(arrow.tableToIPC(new arrow.Table({ s: ours }))).getChild('s')!;
  expect(sent.nullCount).toBe(builder.nullCount);
  expect(sent.toArray()).toEqual(builder.toArray());
}

test.each<[string, SqlValue[]]>([
  ['ASCII', ['a', 'bc', '', 'def', ' ']],
  ['with NULLs', [null, 'x', null, '', 'yz', null, null, null, null, 'last']],
  ['only NULLs', [null, null]],
  ['empty column', []],
  ['multi-byte', ['é', '日本語', '🙂', 'a🙂b', '']],
  ['lone surrogates, split pairs', ['\ud83d', '\ude42', 'x\ud800', '\udc00y', '\ud83d\ude42']],
  ['mixed with NULLs', ['ñ', null, 'plain', '\u0000', null]],
])('%s: the builder\'s vector', (_, values) => {
  expectBuilderBytes(values);
});

test('thousands of random strings', () => {
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pieces = ['a', 'Z', '0', ' ', 'é', '€', '🙂', '\ud800', '\udfff', ''];
  const values = Array.from({ length: 5000 }, (): SqlValue => (random() < 0.1 ? null
    : Array.from({ length: Math.floor(random() * 6) }, () => pieces[Math.floor(random() * pieces.length)]).join('')));
  expectBuilderBytes(values);
  expectBuilderBytes(values.map((v) => (v === null ? null : (v as string).replace(/[^\x00-\x7f]/g, 'q'))));
});

test('a value that is not a string is left to the builder', () => {
  const builder = arrow.vectorFromArray([1, 'a'] as unknown[], new arrow.Utf8());
  const ours = vectorOf([1 as unknown as SqlValue, 'a'], STRING);
  expect([valueAt(ours, 0), valueAt(ours, 1)]).toEqual([builder.get(0), builder.get(1)]);
});

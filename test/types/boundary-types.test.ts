// Every SQL type across the TypeScript/Python boundary, NULL included, through
// an identity UDF in a real worker; and results that do not fit their type.
import { DataType, DataTypes, TableEnvironment, UdfError, udf, type SqlValue } from '../../src/index.js';
import { closedAfterAll, expectNothingLeft, isolateTempRoot } from '../support.js';

const tempRoot = isolateTempRoot();

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

const CASES: ReadonlyArray<{ type: DataType; values: SqlValue[] }> = [
  { type: DataTypes.BOOLEAN(), values: [true, false, null] },
  { type: DataTypes.TINYINT(), values: [0, -128, 127, -1, null] },
  { type: DataTypes.SMALLINT(), values: [0, -32768, 32767, 1000, null] },
  { type: DataTypes.INT(), values: [0, -2147483648, 2147483647, 123456, null] },
  {
    type: DataTypes.BIGINT(),
    values: [0n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n, -(2n ** 53n) - 3n, 9007199254740993n * 1000n + 7n, null],
  },
  {
    type: DataTypes.FLOAT(),
    values: [0, 1.5, Math.fround(3.14), -Math.fround(1e30), Math.fround(1e-40), NaN, Infinity, -Infinity, -0, null],
  },
  {
    type: DataTypes.DOUBLE(),
    values: [0, 0.1, -2.5e-300, 1.7976931348623157e308, 5e-324, 2 ** 53 + 2, NaN, Infinity, -Infinity, -0, null],
  },
  {
    type: DataTypes.STRING(),
    values: ['', 'plain', 'Grüße 你好 🎉', 'a,b"c\nd\te', '\u0000nul inside', 'x'.repeat(10_000), null],
  },
  { type: DataTypes.BYTES(), values: [new Uint8Array(0), ALL_BYTES, Uint8Array.of(0), Uint8Array.of(255, 0, 255), null] },
];

describe('identity UDF round trip', () => {
  const tEnv = closedAfterAll(TableEnvironment.create(), tempRoot);

  test.each(CASES.map((c) => [c.type.name, c] as const))('%s values and NULL come back unchanged', async (_name, { type, values }) => {
    tEnv.registerFunction('ident', udf('lambda x: x', [type], type));
    // The Python side sees the right Python type (None for NULL).
    tEnv.registerFunction('pytype', udf('lambda x: type(x).__name__', [type], DataTypes.STRING()));
    const rows = await tEnv.fromElements(values.map((v) => [v]), { v: type })
      .select('ident(v) AS res, v, pytype(v) AS t').execute().collect();
    expect(rows.map((r) => r.res)).toEqual(values);
    expect(rows.map((r) => r.v)).toEqual(values);
    const pythonType = ({ BOOLEAN: 'bool', TINYINT: 'int', SMALLINT: 'int', INT: 'int', BIGINT: 'int', FLOAT: 'float', DOUBLE: 'float', STRING: 'str', BYTES: 'bytes' } as Partial<Record<string, string>>)[type.name];
    expect(rows.map((r) => r.t)).toEqual(values.map((v) => (v === null ? 'NoneType' : pythonType)));
    for (const row of rows) {
      if (row.res !== null) {
        expect(typeof row.res).toBe(typeof values[0]);
        if (type.name === 'BYTES') expect(row.res).toBeInstanceOf(Uint8Array);
      }
    }
  });

  test('BIGINT values above 2**53 reach Python exactly', async () => {
    tEnv.registerFunction('as_text', udf('lambda x: None if x is None else str(x)', [DataTypes.BIGINT()], DataTypes.STRING()));
    tEnv.registerFunction('succ', udf('lambda x: x + 1', [DataTypes.BIGINT()], DataTypes.BIGINT()));
    const values = [2n ** 53n + 1n, 2n ** 63n - 2n, -(2n ** 63n), 12345678901234567n];
    const rows = await tEnv.fromElements(values.map((v) => [v]), { v: DataTypes.BIGINT() })
      .select('as_text(v) AS txt, succ(v) AS nxt').execute().collect();
    expect(rows).toEqual(values.map((v) => ({ txt: String(v), nxt: v + 1n })));
  });

  test('BYTES 0..255 reach Python byte for byte', async () => {
    tEnv.registerFunction('byte_list', udf("lambda b: ','.join(str(x) for x in b)", [DataTypes.BYTES()], DataTypes.STRING()));
    tEnv.registerFunction('str_len', udf('lambda s: len(s)', [DataTypes.STRING()], DataTypes.INT()));
    const rows = await tEnv.fromElements([[ALL_BYTES, 'Grüße 你好 🎉'], [new Uint8Array(0), '']], { b: DataTypes.BYTES(), s: DataTypes.STRING() })
      .select('byte_list(b) AS blist, str_len(s) AS nchars').execute().collect();
    expect(rows).toEqual([
      { blist: Array.from(ALL_BYTES).join(','), nchars: 10 }, // Python counts code points: 'ü', 'ß' and the emoji are one each
      { blist: '', nchars: 0 },
    ]);
  });
});

describe('results that do not fit their declared type', () => {
  const tEnv = closedAfterAll(TableEnvironment.create(), tempRoot);

  async function failure(name: string, fn: ReturnType<typeof udf>, type: DataType, values: SqlValue[]): Promise<UdfError> {
    tEnv.registerFunction(name, fn);
    const error = await tEnv.fromElements(values.map((v) => [v]), { v: type }).select(`${name}(v) AS res`).execute().collect()
      .then(() => { throw new Error('expected the job to fail'); }, (e: unknown) => e);
    expect(error).toBeInstanceOf(UdfError);
    expectNothingLeft(tempRoot);
    return error as UdfError;
  }

  test('1.5 for BIGINT', async () => {
    const error = await failure('half', udf('lambda x: 1.5 if x == 3 else x', [DataTypes.BIGINT()], DataTypes.BIGINT()),
      DataTypes.BIGINT(), [1n, 2n, 3n, 4n]);
    expect(error.code).toBe('UDF_RESULT_TYPE');
    expect(error.functionName).toBe('half');
    expect(error.phase).toBe('result');
    expect(error.row).toEqual([3n]);
    expect(error.message).toContain('"half"');
    expect(error.message).toContain('1.5 (float)');
    expect(error.message).toContain('half(3n)');
    expect(error.sourceLocation).toBe('<udf half>:1');
  });

  test('300 for TINYINT', async () => {
    const error = await failure('times100', udf('lambda x: x * 100', [DataTypes.TINYINT()], DataTypes.TINYINT()),
      DataTypes.TINYINT(), [0, 1, 3, 1]);
    expect(error.code).toBe('UDF_RESULT_TYPE');
    expect(error.functionName).toBe('times100');
    expect(error.row).toEqual([3]);
    expect(error.message).toContain('300 (int)');
    expect(error.message).toContain('TINYINT');
  });

  test('a str for INT', async () => {
    const error = await failure('as_str', udf('lambda x: str(x) if x > 1 else x', [DataTypes.INT()], DataTypes.INT()),
      DataTypes.INT(), [0, 1, 2, 3]);
    expect(error.code).toBe('UDF_RESULT_TYPE');
    expect(error.functionName).toBe('as_str');
    expect(error.row).toEqual([2]);
    expect(error.message).toContain("'2' (str)");
  });

  test('a bool for BIGINT, and 2**63 for BIGINT', async () => {
    const bool = await failure('is_big', udf('lambda x: x > 5', [DataTypes.BIGINT()], DataTypes.BIGINT()),
      DataTypes.BIGINT(), [7n]);
    expect(bool.code).toBe('UDF_RESULT_TYPE');
    expect(bool.row).toEqual([7n]);
    const overflow = await failure('overflow', udf('lambda x: x + 1', [DataTypes.BIGINT()], DataTypes.BIGINT()),
      DataTypes.BIGINT(), [1n, 2n ** 63n - 1n]);
    expect(overflow.code).toBe('UDF_RESULT_TYPE');
    expect(overflow.functionName).toBe('overflow');
    expect(overflow.row).toEqual([2n ** 63n - 1n]);
  });

  test('1e39 for FLOAT (beyond float32) and a str for BYTES', async () => {
    const huge = await failure('huge', udf('lambda x: x * 1e39', [DataTypes.FLOAT()], DataTypes.FLOAT()),
      DataTypes.FLOAT(), [0, 0.5, 1]);
    expect(huge.code).toBe('UDF_RESULT_TYPE');
    expect(huge.row).toEqual([0.5]);
    expect(huge.message).toContain('out of range for FLOAT');
    const text = await failure('text', udf("lambda b: b.decode('latin-1')", [DataTypes.BYTES()], DataTypes.BYTES()),
      DataTypes.BYTES(), [Uint8Array.of(104, 105)]);
    expect(text.code).toBe('UDF_RESULT_TYPE');
    expect(text.row).toEqual([Uint8Array.of(104, 105)]);
    expect(text.message).toContain("'hi' (str)");
  });

  test('None for a NOT NULL result', async () => {
    const error = await failure('nothing', udf('lambda x: None', [DataTypes.INT()], DataTypes.INT(false)),
      DataTypes.INT(), [5]);
    expect(error.code).toBe('UDF_RESULT_TYPE');
    expect(error.row).toEqual([5]);
  });
});

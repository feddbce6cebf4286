// SQL type text, as types travel between TypeScript and Python: printed and
// read on both sides, and checked against each other by real workers.
import { DataTypes, PyUdfError, TableEnvironment, UdfError, udf, type DataType } from '../../src/index.js';
import { chooseInterpreter } from '../../src/environments/interpreter.js';
import { ensureWorkerRuntime } from '../../src/environments/worker-runtime.js';
import { parseDataType } from '../../src/types/type-text.js';
import { WorkerPool } from '../../src/workers/worker-pool.js';
import { closedAfterAll, isolateTempRoot, recordingLogger } from '../support.js';

const tempRoot = isolateTempRoot();
const D = DataTypes;

const CANONICAL = [
  'DECIMAL(38, 10)', 'DECIMAL(1, 0) NOT NULL', 'DATE', 'TIME(0)', 'TIME(6)', 'TIMESTAMP(3)',
  'TIMESTAMP(6) NOT NULL', 'TIMESTAMP_LTZ(0)', 'TIMESTAMP_LTZ(6)', 'ARRAY<INT>', 'ARRAY<INT NOT NULL> NOT NULL',
  'MAP<STRING, BIGINT>', 'MAP<DATE, ARRAY<DECIMAL(5, 2)>>', 'ROW<a INT, b STRING>',
  'ARRAY<ROW<a INT, b STRING NOT NULL>>', 'ROW<`a b` INT, `x``y` DATE, nested ROW<t TIMESTAMP(6)>>',
  'MAP<STRING, ARRAY<MAP<INT, ROW<v DOUBLE>>>>',
];

describe('type text in TypeScript', () => {
  test.each(CANONICAL)('%s reads and prints back the same', (text) => {
    const type = parseDataType(text);
    expect(String(type)).toBe(text);
    expect(parseDataType(String(type)).equals(type)).toBe(true);
  });

  test('the factory prints what Python prints', () => {
    const row = D.ROW([D.FIELD('a', D.INT()), D.FIELD('b', D.STRING(false))]);
    const cases: [DataType, string][] = [
      [D.DECIMAL(38, 10), 'DECIMAL(38, 10)'],
      [D.DECIMAL(5, 2, false), 'DECIMAL(5, 2) NOT NULL'],
      [D.DATE(), 'DATE'],
      [D.TIME(), 'TIME(0)'],
      [D.TIME(6), 'TIME(6)'],
      [D.TIMESTAMP(), 'TIMESTAMP(6)'],
      [D.TIMESTAMP(3, false), 'TIMESTAMP(3) NOT NULL'],
      [D.TIMESTAMP_LTZ(), 'TIMESTAMP_LTZ(6)'],
      [D.TIMESTAMP_WITH_LOCAL_TIME_ZONE(3), 'TIMESTAMP_LTZ(3)'],
      [D.LOCAL_ZONED_TIMESTAMP(0), 'TIMESTAMP_LTZ(0)'],
      [D.ARRAY(row), 'ARRAY<ROW<a INT, b STRING NOT NULL>>'],
      [D.MAP(D.STRING(), D.ARRAY(D.INT())), 'MAP<STRING, ARRAY<INT>>'],
      [D.ROW([D.FIELD('a b', D.INT())]).notNull(), 'ROW<`a b` INT> NOT NULL'],
    ];
    for (const [type, text] of cases) expect(String(type)).toBe(text);
    expect(D.DECIMAL(12, 3).notNull().withNullability(true).toString()).toBe('DECIMAL(12, 3)');
    expect(row.fields!.map((f) => f.name)).toEqual(['a', 'b']);
    expect(D.DECIMAL(12, 3)).toMatchObject({ name: 'DECIMAL', precision: 12, scale: 3 });
  });

  test.each([
    ['decimal(5,2) not null', 'DECIMAL(5, 2) NOT NULL'],
    ['DECIMAL', 'DECIMAL(10, 0)'],
    ['NUMERIC(7)', 'DECIMAL(7, 0)'],
    ['TIME(3) WITHOUT TIME ZONE', 'TIME(3)'],
    ['TIMESTAMP', 'TIMESTAMP(6)'],
    ['TIMESTAMP(3) WITH LOCAL TIME ZONE NOT NULL', 'TIMESTAMP_LTZ(3) NOT NULL'],
    ['ROW(a INT, b VARCHAR(10))', 'ROW<a INT, b VARCHAR(10)>'],
    ["ROW<a INT 'the a field', b STRING>", 'ROW<a INT, b STRING>'],
    ['row<camelCase int null>', 'ROW<camelCase INT>'],
  ])('%s reads as %s', (text, canonical) => {
    expect(String(parseDataType(text))).toBe(canonical);
  });

  test.each([
    ['ARRAY<UUID>', 'unknown SQL type "UUID" in "ARRAY<UUID>"; known types: ARRAY, BIGINT,'],
    ['DECIMAL(39, 1)', 'cannot read SQL type "DECIMAL(39, 1)": DECIMAL precision must be an integer from 1 to 38, got 39'],
    ['TIME(9)', "TIME precision must be an integer from 0 to 6 (Python's datetime holds microseconds), got 9"],
    ['MAP<ARRAY<INT>, INT>', 'MAP keys must be of a scalar type, not ARRAY<INT>'],
    ['ROW<a INT, a STRING>', 'a ROW type has duplicate field names: a'],
    ['ROW<>', 'expected a field name, found ">" at position 5'],
    ['ARRAY<INT', 'expected ">", found the end'],
    ['INT INT', 'unexpected "INT" at position 5'],
  ])('%s is refused', (text, message) => {
    let error: unknown;
    try {
      parseDataType(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PyUdfError);
    expect((error as PyUdfError).code).toBe('INVALID_ARGUMENT');
    expect((error as Error).message).toContain(message);
  });

  test.each([
    [() => D.DECIMAL(0, 0), 'DECIMAL precision must be an integer from 1 to 38, got 0'],
    [() => D.DECIMAL(10, 11), 'DECIMAL scale must be an integer from 0 to 10, got 11'],
    [() => D.TIMESTAMP(9), 'TIMESTAMP precision must be an integer from 0 to 6'],
    [() => D.TIME(1.5), 'TIME precision must be an integer from 0 to 6'],
    [() => D.MAP(D.ARRAY(D.INT()), D.INT()), 'MAP keys must be of a scalar type, not ARRAY<INT>'],
    [() => D.ROW([]), 'a ROW type needs at least one field'],
    [() => D.ROW([D.FIELD('a', D.INT()), D.FIELD('a', D.INT())]), 'a ROW type has duplicate field names: a'],
    [() => D.ROW([D.FIELD('', D.INT())]), 'ROW field 0 must be made with DataTypes.FIELD(name, type)'],
    [() => D.ARRAY('INT' as unknown as DataType), 'the ARRAY element type must be a DataType'],
  ])('invalid factory arguments are refused (%#)', (make, message) => {
    expect(make).toThrow(message);
  });
});

describe('type text between TypeScript and Python workers', () => {
  const tEnv = closedAfterAll(TableEnvironment.create(), tempRoot);

  // The same type declared on both sides: the worker reads TypeScript's text and
  // refuses the function (UDF_SIGNATURE_MISMATCH) unless it equals Python's.
  const BOTH_SIDES: [DataType, string, unknown][] = [
    [D.DECIMAL(38, 10), 'DataTypes.DECIMAL(38, 10)', '-12.5'],
    [D.TIMESTAMP(6, false), 'DataTypes.TIMESTAMP(6, False)', '2024-02-29T12:00:00.000001'],
    [D.TIMESTAMP_LTZ(3), 'DataTypes.TIMESTAMP_WITH_LOCAL_TIME_ZONE(3)', '2024-02-29T12:00:00.001Z'],
    [D.TIME(), 'DataTypes.TIME()', '12:00:00'],
    [D.ARRAY(D.ROW([D.FIELD('a', D.INT()), D.FIELD('b b', D.STRING())])),
      "DataTypes.ARRAY(DataTypes.ROW([DataTypes.FIELD('a', DataTypes.INT()), DataTypes.FIELD('b b', DataTypes.STRING())]))",
      [{ a: 1, 'b b': 'x' }]],
    [D.MAP(D.STRING(), D.ARRAY(D.DATE(false))), 'DataTypes.MAP(DataTypes.STRING(), DataTypes.ARRAY(DataTypes.DATE(nullable=False)))',
      new Map([['k', ['2024-02-29']]])],
  ];

  test.each(BOTH_SIDES.map(([type, python, value]) => [String(type), type, python, value] as const))(
    '%s declared in TypeScript and in Python agrees', async (_text, type, python, value) => {
      tEnv.registerFunction('both', udf(`udf(lambda x: x, [${python}], ${python})`, [type], type));
      const rows = await tEnv.fromElements([[value]], { v: type }).select('both(v) AS a, v').execute().collect();
      expect(rows[0]!.a).toEqual(rows[0]!.v);
    });

  test('types declared in Python only read in TypeScript as the same types', async () => {
    const runtime = await ensureWorkerRuntime(chooseInterpreter(), { logger: recordingLogger() });
    const functions = BOTH_SIDES.map(([, python], i) => ({
      name: `f${i}`, callable: `udf(lambda x: x, [${python}], ${python})`, inputTypes: [], hasInputTypes: false, resultType: '', continueOnError: false,
    }));
    const pool = await WorkerPool.start({ python: runtime.python, parallelism: 1, logger: recordingLogger(), functions, pythonFiles: [], jobParameters: {} });
    try {
      BOTH_SIDES.forEach(([type], i) => {
        const signature = pool.signatures.get(`f${i}`)!;
        expect(String(signature.resultType)).toBe(String(type));
        expect(signature.inputTypes!.map(String)).toEqual([String(type)]);
        expect(signature.resultType!.equals(type)).toBe(true);
      });
    } finally {
      await pool.close();
    }
  });

  test('a type that differs between the sides is refused before any row runs', async () => {
    tEnv.registerFunction('differs', udf('udf(lambda x: x, [DataTypes.DECIMAL(10, 3)], DataTypes.DECIMAL(10, 3))',
      [D.DECIMAL(10, 2)], D.DECIMAL(10, 2)));
    const error = await tEnv.fromElements([['1.5']], { v: D.DECIMAL(10, 2) }).select('differs(v)').execute().collect()
      .then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(UdfError);
    expect((error as UdfError).code).toBe('UDF_SIGNATURE_MISMATCH');
    expect((error as Error).message).toContain('TypeScript declares [DECIMAL(10, 2)], Python declares [DECIMAL(10, 3)]');
  });
});

// Expressions that cannot run are refused synchronously by select()/where(),
// naming what is wrong and what exists instead, and no worker is started.
import fs from 'node:fs';
import {
  DataTypes, ExpressionError, FileSystem, OldCsv, PyUdfError, Schema, TableEnvironment, udf, type Table,
} from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers } from '../support.js';

const tempRoot = isolateTempRoot();
const BIGINT = DataTypes.BIGINT();

function thrown(fn: () => unknown): ExpressionError {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ExpressionError);
  expect(error).toBeInstanceOf(PyUdfError);
  // Refused before anything ran.
  expect(pythonWorkers()).toEqual([]);
  return error as ExpressionError;
}

describe('expression errors', () => {
  let tEnv: TableEnvironment;
  let table: Table;

  beforeAll(() => {
    tEnv = TableEnvironment.create();
    tEnv.registerFunction('add', udf('lambda i, j: i + j', [BIGINT, BIGINT], BIGINT));
    tEnv.registerFunction('is_even', udf('lambda v: v % 2 == 0', [BIGINT], DataTypes.BOOLEAN()));
    table = tEnv.fromElements([[1n, 2n, 'x']], { a: BIGINT, b: BIGINT, s: DataTypes.STRING() });
  });

  afterAll(async () => {
    await tEnv.close();
    expect(pythonWorkers()).toEqual([]);
    expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
  });

  test.each([
    ['select', 'nope(a)', 'nope'],
    ['select', 'a, add(a, mul(a, b)) AS x', 'mul'],
    ['where', 'nope(a) > 1', 'nope'],
    ['where', 'a > 0 AND NOT is_odd(a)', 'is_odd'],
    ['filter', 'cube(a) > 1', 'cube'],
  ] as const)('%s("%s") -> UNKNOWN_FUNCTION %s, candidates the registered functions', (method, text, name) => {
    const e = thrown(() => table[method](text));
    expect(e.code).toBe('UNKNOWN_FUNCTION');
    expect(e.unknownName).toBe(name);
    expect(e.candidates).toEqual(['add', 'is_even']);
    expect(e.expression).toBe(text);
    expect(e.message).toContain(`unknown function "${name}"`);
    expect(e.message).toContain('add, is_even');
  });

  test.each([
    ['select', 'a, c', 'c'],
    ['select', 'add(a, zz) AS total', 'zz'],
    ['select', "A", 'A'],
    ['where', 'c > 1', 'c'],
    ['where', 'a > 1 OR missing IS NULL', 'missing'],
  ] as const)('%s("%s") -> UNKNOWN_COLUMN %s, candidates the columns', (method, text, name) => {
    const e = thrown(() => table[method](text));
    expect(e.code).toBe('UNKNOWN_COLUMN');
    expect(e.unknownName).toBe(name);
    expect(e.candidates).toEqual(['a', 'b', 's']);
    expect(e.expression).toBe(text);
    expect(e.message).toContain(`unknown column "${name}"`);
    expect(e.message).toContain('a, b, s');
  });

  test('after a select, only its output columns exist', () => {
    const e = thrown(() => table.select('a AS x, add(a, b) AS total').where('a > 1'));
    expect(e.code).toBe('UNKNOWN_COLUMN');
    expect(e.unknownName).toBe('a');
    expect(e.candidates).toEqual(['x', 'total']);
  });

  test('with no function registered, the candidates are empty', () => {
    const other = TableEnvironment.create();
    const t = other.fromElements([[1n]], { a: BIGINT });
    const e = thrown(() => t.select('add(a, a)'));
    expect(e.code).toBe('UNKNOWN_FUNCTION');
    expect(e.candidates).toEqual([]);
    expect(e.message).toContain('(none)');
  });

  test.each([
    ['select', 'a +'],
    ['select', 'add(a, b'],
    ['select', 'a b c'],
    ['select', ''],
    ['select', '   '],
    ['select', '* AS x'],
    ['select', 'a; DROP TABLE t'],
    ['select', 'x.a'],
    ['select', '"double quoted"'],
    ['where', 'a >'],
    ['where', 'a > 1 AND'],
    ['where', ''],
    ['where', 'a IS 1'],
  ] as const)('%s("%s") -> EXPRESSION_SYNTAX', (method, text) => {
    const e = thrown(() => table[method](text));
    expect(e.code).toBe('EXPRESSION_SYNTAX');
    expect(e.expression).toBe(text);
    expect(e.unknownName).toBeUndefined();
  });

  test('a syntax error names its position', () => {
    const e = thrown(() => table.select('a, b +, s'));
    expect(e.code).toBe('EXPRESSION_SYNTAX');
    expect(e.message).toMatch(/at position \d+/);
  });

  test('other refusals: duplicate output names, unknown tables and sinks, empty jobs', async () => {
    let error: unknown;
    try {
      table.select('a, b AS a');
    } catch (e) {
      error = e;
    }
    expect((error as PyUdfError).code).toBe('INVALID_ARGUMENT');
    expect(() => tEnv.fromPath('nope')).toThrow(expect.objectContaining({ code: 'UNKNOWN_TABLE' }));
    expect(() => table.insertInto('nope')).toThrow(expect.objectContaining({ code: 'UNKNOWN_TABLE' }));
    await expect(tEnv.execute('nothing')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(pythonWorkers()).toEqual([]);
  });

  test('a sink whose columns do not fit: SINK_SCHEMA_MISMATCH, no output', async () => {
    tEnv.connect(new FileSystem().path(`${tempRoot}/never-written.csv`))
      .withFormat(new OldCsv().field('s', DataTypes.STRING()))
      .withSchema(new Schema().field('s', DataTypes.STRING()))
      .createTemporaryTable('strings');
    table.select('add(a, b) AS total').insertInto('strings');
    await expect(tEnv.execute('mismatch')).rejects.toMatchObject({ code: 'SINK_SCHEMA_MISMATCH' });
    expect(pythonWorkers()).toEqual([]);
    expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
    expect(fs.existsSync(`${tempRoot}/never-written.csv`)).toBe(false);
  });
});

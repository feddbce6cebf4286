// SQL details a user relies on: literal typing, NULL literals, short-circuit
// AND/OR, exact integer literals, and arithmetic errors that say where.
import { DataTypes, ExpressionError, TableEnvironment, udf } from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, recordingLogger } from '../support.js';

const tempRoot = isolateTempRoot();

describe('SQL semantics', () => {
  const logger = recordingLogger();
  const tEnv = TableEnvironment.create({ logger });
  tEnv.registerFunction('noisy_positive', udf('lambda x: print("saw", x) or x > 0', [DataTypes.BIGINT()], DataTypes.BOOLEAN()));
  const table = () => tEnv.fromElements(
    [[5n, 0n, 100], [5n, 2n, 1], [null, 1n, 0]],
    { a: DataTypes.BIGINT(), b: DataTypes.BIGINT(), t: DataTypes.TINYINT() },
  );

  afterAll(async () => {
    await tEnv.close();
    expect(pythonWorkers()).toEqual([]);
    expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
  });

  test('a decimal literal keeps arithmetic in DOUBLE', async () => {
    const rows = await table().select('a / 2.0 AS h').execute().collect();
    expect(rows.map((r) => r.h)).toEqual([2.5, 2.5, null]);
  });

  test('an integer literal widens a TINYINT column to INT instead of wrapping it', async () => {
    const rows = await table().select('t + 100 AS s, t * 2 AS m').execute().collect();
    expect(rows).toEqual([{ s: 200, m: 200 }, { s: 101, m: 2 }, { s: 100, m: 0 }]);
  });

  test('NULL literals take their context type', async () => {
    const rows = await table().select('1 + NULL AS n, NOT NULL AS nn, a + NULL AS an').execute().collect();
    expect(rows[0]).toEqual({ n: null, nn: null, an: null });
  });

  test('AND does not evaluate its right side where the left side is FALSE', async () => {
    const rows = await table().where('b <> 0 AND a / b > 1').select('a, b').execute().collect();
    expect(rows).toEqual([{ a: 5n, b: 2n }]);
  });

  test('a guard keeps NULLs away from a UDF: it sees only the rows the left side leaves open', async () => {
    logger.entries.length = 0;
    const rows = await table().where('a IS NULL OR noisy_positive(a)').select('b').execute().collect();
    expect(rows).toEqual([{ b: 0n }, { b: 2n }, { b: 1n }]);
    expect(logger.entries.filter((e) => e.functionName === 'noisy_positive').map((e) => e.message)).toEqual(['saw 5', 'saw 5']);
  });

  test('BIGINT extremes are written exactly; a folded negative literal is refused, not rounded', async () => {
    const rows = await table().select('-(9223372036854775808) AS lo, 9223372036854775807 AS hi').execute().collect();
    expect(rows[0]).toEqual({ lo: -(2n ** 63n), hi: 2n ** 63n - 1n });
    let error: unknown;
    try {
      table().where('a = -9007199254740993');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ExpressionError);
    expect((error as ExpressionError).code).toBe('EXPRESSION_SYNTAX');
    expect((error as ExpressionError).message).toContain('-(digits)');
  });

  test('integer division by zero names the operands and the expression', async () => {
    const error = await table().select('a / b AS q').execute().collect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExpressionError);
    expect(error).toMatchObject({ code: 'ARITHMETIC', expression: 'a / b AS q' });
    expect((error as Error).message).toContain('5 / 0');
  });
});

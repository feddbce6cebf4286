// Rows are typed from the schema given to fromElements/fromColumns, and collect<T>() names
// them where they are not known. `npm run typecheck` (tsc) compiles this file: each line
// marked as an expected error below must be one, or the check fails.
import { DataTypes, TableEnvironment, udf, type Row, type SqlValue } from '../../src/index.js';
import { closedAfterAll, isolateTempRoot } from '../support.js';

const tempRoot = isolateTempRoot();
const BIGINT = DataTypes.BIGINT();

describe('typed rows', () => {
  const tEnv = closedAfterAll(TableEnvironment.create({ parallelism: 1 }), tempRoot);

  test('a schema object types the rows; a misspelt column does not compile', async () => {
    const rows = await tEnv.fromElements([[1n, 2n], [3n, 4n]], { a: BIGINT, b: BIGINT }).where('a > 1').execute().collect();
    const a: SqlValue = rows[0]!.a;
    expect(a).toBe(3n);
    // @ts-expect-error: the table has no column "c"
    expect(rows[0]!.c).toBeUndefined();

    const columns = await tEnv.fromColumns({ x: BigInt64Array.of(5n) }, { x: BIGINT }).execute().collect();
    expect(columns[0]!.x).toBe(5n);
    // @ts-expect-error: the table has no column "y"
    expect(columns[0]!.y).toBeUndefined();
  });

  test('after select, collect<T>() names the rows; without it they are plain Rows', async () => {
    tEnv.registerFunction('add', udf('lambda i, j: i + j', { inputTypes: [BIGINT, BIGINT], resultType: BIGINT }));
    const table = tEnv.fromElements([[1n, 2n]], { a: BIGINT, b: BIGINT }).select('add(a, b) AS s');
    const sums = await table.execute().collect<{ s: bigint }>();
    const s: bigint = sums[0]!.s;
    expect(s).toBe(3n);
    const plain: Row[] = await table.execute().collect();
    expect(plain).toEqual([{ s: 3n }]);
  });
});

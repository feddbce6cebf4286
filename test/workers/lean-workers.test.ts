// A worker that serves row and table functions never imports pandas: pyarrow's
// list conversion would import it on a worker's first result, about half a
// second of that first call. Only vectorized functions (and the result types
// still converted by pyarrow) pay for it.
import { DataTypes, TableEnvironment, udf, udtf } from '../../src/index.js';
import { isolateTempRoot, pythonWorkers } from '../support.js';

isolateTempRoot();
const STRING = DataTypes.STRING();
const BIGINT = DataTypes.BIGINT();
const BOOLEAN = DataTypes.BOOLEAN();

test('after row results of every common type and a table function, the warm worker has not imported pandas', async () => {
  const tEnv = TableEnvironment.create({ parallelism: 1 });
  try {
    tEnv.registerFunction('shout', udf('lambda s: None if s is None else s.upper()', [STRING], STRING));
    tEnv.registerFunction('half', udf('lambda n: None if n % 2 else n // 2', [BIGINT], BIGINT));
    tEnv.registerFunction('even', udf('lambda n: None if n == 3 else n % 2 == 0', [BIGINT], BOOLEAN));
    tEnv.registerFunction('ratio', udf('lambda n: None if n == 0 else 1 / n', [BIGINT], DataTypes.DOUBLE()));
    tEnv.registerFunction('chars', udtf('lambda s: ((c, ord(c)) for c in s or "")', [STRING], [STRING, BIGINT]));
    tEnv.registerFunction('pandas_loaded', udf("lambda n: 'pandas' in __import__('sys').modules", [BIGINT], BOOLEAN));
    const input = tEnv.fromElements([['ab', 0n], [null, 1n], ['c', 2n], ['d', 3n]], { s: STRING, n: BIGINT });
    const rows = await input.select('shout(s) AS s, half(n) AS h, even(n) AS e, ratio(n) AS r').execute().collect();
    expect(rows).toEqual([
      { s: 'AB', h: 0n, e: true, r: null },
      { s: null, h: null, e: false, r: 1 },
      { s: 'C', h: 1n, e: true, r: 0.5 },
      { s: 'D', h: null, e: null, r: 1 / 3 },
    ]);
    expect(await input.joinLateral('chars(s) AS (c, code)').select('c, code').execute().collect())
      .toEqual([{ c: 'a', code: 97n }, { c: 'b', code: 98n }, { c: 'c', code: 99n }, { c: 'd', code: 100n }]);
    const [worker] = pythonWorkers();
    // The same (warm) worker answers: it served every call above.
    expect(await input.select('pandas_loaded(n) AS p').execute().collect()).toEqual([{ p: false }, { p: false }, { p: false }, { p: false }]);
    expect(pythonWorkers()).toEqual([worker]);
  } finally {
    await tEnv.close();
  }
});

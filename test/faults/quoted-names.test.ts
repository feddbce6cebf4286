// A column name may hold any character: quoted in backticks (a doubled
// backtick for one), it can be referenced, aliased and filtered on, a ";"
// included. A ";" outside quotes and strings is still refused.
import { DataTypes, ExpressionError, TableEnvironment, udf } from '../../src/index.js';
import { isolateTempRoot, recordingLogger } from '../support.js';
import { expectNothingLeft } from './fault-support.js';

const tempRoot = isolateTempRoot();
const BIGINT = DataTypes.BIGINT();
afterEach(() => expectNothingLeft(tempRoot));

test('columns named with a backtick and a ";" are selected, aliased, filtered on and passed to a UDF', async () => {
  const tEnv = TableEnvironment.create({ logger: recordingLogger() });
  try {
    tEnv.registerFunction('inc', udf('lambda x: x + 1', [BIGINT], BIGINT));
    const table = tEnv.fromElements([[1n, 10n], [2n, 20n]], { 'a`b': BIGINT, 'x;y': BIGINT });
    const rows = await table.filter('`x;y` > 10').select('`a``b`, inc(`x;y`) AS `s;t`, `a``b` + 1 AS `p``q`').execute().collect();
    expect(rows).toEqual([{ 'a`b': 2n, 's;t': 21n, 'p`q': 3n }]);
    const strings = await table.select("'a;b' AS `c`").execute().collect();
    expect(strings).toEqual([{ c: 'a;b' }, { c: 'a;b' }]);
    expect(() => table.select('`a``b`; DROP TABLE t')).toThrow(ExpressionError);
  } finally {
    await tEnv.close();
  }
});

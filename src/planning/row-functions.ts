import type { FunctionCategory } from '../protocol/contract.js';

/** PyFlink's row-based operations, as Table methods. */
export type RowBasedMethod = 'map' | 'flatMap' | 'aggregate' | 'flatAggregate';

/** The kind of function each row-based operation takes, and how its errors name it. */
export const ROW_FUNCTION_KINDS: Readonly<Record<RowBasedMethod, { category: FunctionCategory; what: string; declare: string }>> = {
  map: { category: 'scalar', what: 'a scalar function (udf) returning a ROW', declare: 'udf' },
  flatMap: { category: 'table', what: 'a table function (udtf)', declare: 'udtf' },
  aggregate: { category: 'aggregate', what: 'an aggregate function (udaf) returning a ROW', declare: 'udaf' },
  flatAggregate: { category: 'table_aggregate', what: 'a table aggregate function (udtaf)', declare: 'udtaf' },
};

const CATEGORY_NAMES: Readonly<Record<FunctionCategory, string>> = {
  scalar: 'a scalar function (udf)',
  table: 'a table function (udtf)',
  aggregate: 'an aggregate function (udaf)',
  table_aggregate: 'a table aggregate function (udtaf)',
};

export function describeCategory(category: FunctionCategory): string {
  return CATEGORY_NAMES[category] ?? category;
}

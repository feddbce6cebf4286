import type { FunctionCategory } from '../protocol/contract.js';
import type { DataType } from '../types/data-types.js';

/** A function's signature once its worker has resolved it: what the workers report and plans are type-checked against. */
export interface FunctionSignature {
  readonly name: string;
  /** null: any number of arguments, passed as they are. */
  readonly inputTypes: readonly DataType[] | null;
  /** null for a table function, whose columns are `resultTypes`. */
  readonly resultType: DataType | null;
  readonly category: FunctionCategory;
  /** "general" (called per row) or "pandas" (called with pandas.Series). */
  readonly kind: string;
  /** A table function's result columns. */
  readonly resultTypes: readonly DataType[] | null;
  /** An aggregate function that can merge accumulators built by different workers. */
  readonly hasMerge: boolean;
}

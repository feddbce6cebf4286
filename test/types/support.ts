import { PyUdfError, UdfError, type DataType, type PythonFunction, type TableEnvironment } from '../../src/index.js';

/**
 * Runs `f(v)` over `values` (a column `v` of type `input`) with `fn` registered as `f`: the
 * job must fail with UDF_RESULT_TYPE from `f`. Returns the error for the caller's own checks.
 */
export async function resultTypeError(tEnv: TableEnvironment, fn: PythonFunction, input: DataType, values: readonly unknown[]): Promise<UdfError> {
  tEnv.registerFunction('f', fn);
  const error = await tEnv.fromElements(values.map((v) => [v]), { v: input }).select('f(v) AS res').execute().collect()
    .then(() => { throw new Error('expected the job to fail'); }, (e: unknown) => e);
  expect(error).toBeInstanceOf(UdfError);
  expect((error as UdfError).code).toBe('UDF_RESULT_TYPE');
  expect((error as UdfError).functionName).toBe('f');
  return error as UdfError;
}

/** The INVALID_ARGUMENT error fromElements must throw, before anything runs, for a row holding `value` in a column `v` of `type`. */
export function fromElementsRefusal(tEnv: TableEnvironment, type: DataType, value: unknown): PyUdfError {
  let error: unknown;
  try {
    tEnv.fromElements([[value]], { v: type });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(PyUdfError);
  expect((error as PyUdfError).code).toBe('INVALID_ARGUMENT');
  return error as PyUdfError;
}

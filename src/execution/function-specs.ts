import { PyUdfError } from '../errors.js';
import type { FunctionSpecMessage } from '../protocol/contract.js';
import type { FunctionSignature } from '../protocol/function-signature.js';
import { resolveFunctionName } from '../planning/validate.js';
import type { PythonFunction } from '../table/python-function.js';
import type { ErrorPolicy } from './udf-errors.js';

/** A job's function as its workers load it, with the error policy it runs under. */
export interface JobFunction {
  readonly spec: FunctionSpecMessage;
  readonly policy: ErrorPolicy;
}

/**
 * The functions called by name in a job, as registered: what the workers
 * (local or on a cluster) load. An unregistered name fails the job before
 * anything starts.
 */
export function jobFunctions(
  names: Iterable<string>,
  functions: ReadonlyMap<string, PythonFunction>,
  registeredNames: readonly string[],
  defaultPolicy: ErrorPolicy,
): JobFunction[] {
  return [...names].map((name) => {
    const registered = resolveFunctionName(name, registeredNames);
    if (registered === undefined) {
      throw new PyUdfError('UNKNOWN_FUNCTION', `unknown function "${name}"; registered functions: ${registeredNames.join(', ') || '(none)'}`);
    }
    const fn = functions.get(registered)!;
    const policy = fn.onError ?? defaultPolicy;
    return {
      policy,
      spec: {
        name: registered,
        callable: fn.callable,
        inputTypes: fn.inputTypes?.map(String) ?? [],
        hasInputTypes: fn.inputTypes !== null,
        resultType: fn.resultType ? String(fn.resultType) : '',
        continueOnError: policy !== 'fail',
        category: fn.category ?? '',
        resultTypes: fn.resultTypes?.map(String) ?? [],
        funcType: fn.funcType ?? '',
        concurrency: fn.concurrency ?? 0,
        ioThreads: fn.ioThreads ?? 0,
      },
    };
  });
}

/**
 * The signatures of functions whose types are all declared in TypeScript,
 * known without loading them; null when one is declared in Python only.
 */
export function declaredSignatures(
  names: Iterable<string>,
  functions: ReadonlyMap<string, PythonFunction>,
  registeredNames: readonly string[],
): Map<string, FunctionSignature> | null {
  const signatures = new Map<string, FunctionSignature>();
  for (const name of names) {
    const registered = resolveFunctionName(name, registeredNames);
    const fn = registered === undefined ? undefined : functions.get(registered);
    if (!fn) continue;
    const category = fn.category ?? 'scalar';
    const declared = category === 'table' ? Boolean(fn.resultTypes) : fn.resultType !== null;
    if (!declared || (fn.category === undefined && fn.inputTypes === null)) return null;
    signatures.set(name, {
      name, inputTypes: fn.inputTypes, resultType: fn.resultType, category, kind: fn.funcType ?? 'general',
      resultTypes: fn.resultTypes ?? null, hasMerge: false,
    } as FunctionSignature);
  }
  return signatures;
}

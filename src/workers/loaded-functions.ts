import type { FunctionCategory, LoadFunctionsReply } from '../protocol/contract.js';
import type { FunctionSignature } from '../protocol/function-signature.js';
import { parseDataType } from '../types/type-text.js';

/** A function the workers loaded, as they resolved it: what a plan calling it is checked against. */
export type LoadedFunction = FunctionSignature;

/** The functions of a LoadFunctions reply, by name. */
export function loadedFunctions(reply: LoadFunctionsReply): Map<string, LoadedFunction> {
  return new Map(reply.functions.map((f) => [f.name, Object.freeze({
    name: f.name,
    inputTypes: f.hasInputTypes ? Object.freeze(f.inputTypes.map(parseDataType)) : null,
    resultType: f.resultType ? parseDataType(f.resultType) : null,
    category: (f.category || 'scalar') as FunctionCategory,
    kind: f.kind,
    resultTypes: f.resultTypes.length > 0 ? Object.freeze(f.resultTypes.map(parseDataType)) : null,
    hasMerge: f.hasMerge,
  })]));
}

/** Whether the reply's functions are all vectorized scalar functions (func_type "pandas"). */
export function onlyVectorized(reply: LoadFunctionsReply): boolean {
  return reply.functions.length > 0 && reply.functions.every((f) => f.category === 'scalar' && f.kind === 'pandas');
}

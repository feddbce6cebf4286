import fs from 'node:fs';
import path from 'node:path';
import { checkOutputTarget } from '../io/output-target.js';
import { PyUdfError } from '../errors.js';
import type { SqlValue } from '../types/values.js';

/**
 * What happens when a Python function raises on a row: `fail` the job (the
 * default), make the result `null`, `skip` the row, or send it to the
 * dead-letter file (`deadLetter`) and go on.
 */
export type ErrorPolicy = 'fail' | 'null' | 'skip' | 'deadLetter';

export const ERROR_POLICIES: readonly ErrorPolicy[] = ['fail', 'null', 'skip', 'deadLetter'];

/** Rows a function's errors affected in one job, by the policy applied. */
export interface UdfErrorCount {
  readonly policy: ErrorPolicy;
  readonly rows: number;
}

/** One line of the dead-letter file (JSON Lines): the row, the function, what it raised. */
export interface DeadLetter {
  readonly function: string;
  readonly arguments: readonly SqlValue[];
  readonly exceptionType: string;
  readonly message: string;
  readonly traceback: string;
  readonly sourceLocation: string;
}

/** The error policies of one job: who gets which, the counts, the dead-letter file. */
export class UdfErrorHandling {
  readonly #policies: ReadonlyMap<string, ErrorPolicy>;
  readonly #deadLetterPath: string | null;
  readonly #counts = new Map<string, number>();
  /** Appends run one after another: concurrent appends of large chunks interleave. */
  #lastAppend: Promise<void> = Promise.resolve();

  constructor(policies: ReadonlyMap<string, ErrorPolicy>, deadLetterPath: string | null) {
    this.#policies = policies;
    this.#deadLetterPath = deadLetterPath;
    for (const [name, policy] of policies) {
      if (policy === 'deadLetter' && deadLetterPath === null) {
        throw new PyUdfError('INVALID_ARGUMENT', `function "${name}" sends failing rows to dead letters, but no deadLetterPath is set (TableEnvironment.create({ deadLetterPath }))`);
      }
    }
    // Checked before the job starts: a FIFO or a kernel file would block the first letter forever.
    if (deadLetterPath !== null && [...policies.values()].includes('deadLetter')) checkOutputTarget(deadLetterPath, 'deadLetterPath');
  }

  policyOf(functionName: string): ErrorPolicy {
    return this.#policies.get(functionName) ?? 'fail';
  }

  count(functionName: string, rows: number): void {
    this.#counts.set(functionName, (this.#counts.get(functionName) ?? 0) + rows);
  }

  /** Appends to the dead-letter file: earlier jobs' letters are kept. */
  send(letters: readonly DeadLetter[]): Promise<void> {
    const file = this.#deadLetterPath!;
    const lines = letters.map((letter) => JSON.stringify(letter, jsonValue)).join('\n');
    const append = this.#lastAppend.then(async () => {
      try {
        await fs.promises.mkdir(path.dirname(file), { recursive: true });
        await fs.promises.appendFile(file, `${lines}\n`);
      } catch (error) {
        throw new PyUdfError('IO', `cannot write dead letters to ${file}: ${(error as Error).message}`, { cause: error });
      }
    });
    this.#lastAppend = append.catch(() => undefined);
    return append;
  }

  counts(): Readonly<Record<string, UdfErrorCount>> {
    const out: Record<string, UdfErrorCount> = {};
    for (const [name, rows] of this.#counts) out[name] = Object.freeze({ policy: this.policyOf(name), rows });
    return Object.freeze(out);
  }
}

/** BIGINT as a decimal string, BYTES as base64, a MAP as [key, value] pairs: JSON has none of them. */
function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Map) return [...value.entries()];
  return value;
}

import { PyUdfError } from '../errors.js';
import type { FileTableDefinition } from '../engine/file-tables.js';
import type { TableDefinition } from '../planning/plan.js';
import { resolveFunctionName } from '../planning/validate.js';
import type { CsvTableDefinition } from './descriptors.js';
import { isPythonFunction, type PythonFunction } from './python-function.js';
import type { TableSchema } from './schema.js';
import { Table } from './table.js';

/**
 * What a TableEnvironment has registered, whichever API registered it (the
 * Table API or SQL DDL): tables by their definition, views as Tables, and
 * Python functions.
 */
export class Catalog {
  readonly #functions = new Map<string, PythonFunction>();
  readonly #tables = new Map<string, TableDefinition>();
  readonly #views = new Map<string, Table>();

  /** The registered functions by name, as jobs load them. */
  get functions(): ReadonlyMap<string, PythonFunction> {
    return this.#functions;
  }

  registerFunction(name: string, fn: PythonFunction): void {
    if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new PyUdfError('INVALID_ARGUMENT', `registerFunction: "${String(name)}" is not a valid function name (letters, digits, _)`);
    }
    if (!isPythonFunction(fn)) {
      throw new PyUdfError('INVALID_ARGUMENT', `registerFunction("${name}"): expected a function made with udf(...), udtf(...) or udaf(...), got ${String(fn)}`);
    }
    this.#functions.set(name, fn);
  }

  registerTable(name: string, definition: TableDefinition): void {
    if (typeof name !== 'string' || name === '') throw new PyUdfError('INVALID_ARGUMENT', 'a table name must be a non-empty string');
    this.#tables.set(name, definition);
  }

  createView(name: string, table: Table): void {
    if (typeof name !== 'string' || name === '') throw new PyUdfError('INVALID_ARGUMENT', 'createTemporaryView: a view name must be a non-empty string');
    if (!(table instanceof Table)) throw new PyUdfError('INVALID_ARGUMENT', `createTemporaryView("${name}"): expected a Table`);
    if (this.#tables.has(name)) throw new PyUdfError('INVALID_ARGUMENT', `createTemporaryView("${name}"): a table of that name exists; drop it first`);
    this.#views.set(name, table);
  }

  view(name: string): Table | undefined {
    return this.#views.get(name);
  }

  table(name: string): TableDefinition | undefined {
    return this.#tables.get(name);
  }

  /** Names of every table and view. */
  tableNames(): string[] {
    return [...this.#tables.keys(), ...this.#views.keys()];
  }

  viewNames(): string[] {
    return [...this.#views.keys()];
  }

  /** Tables declared with a schema, without views. */
  declaredTableNames(): string[] {
    return [...this.#tables.keys()];
  }

  functionNames(): string[] {
    return [...this.#functions.keys()];
  }

  /** The registered function a call names (names resolve as in the planner), as TypeScript declared it. */
  functionDeclaration(name: string): PythonFunction | undefined {
    const registered = resolveFunctionName(name, this.functionNames());
    return registered === undefined ? undefined : this.#functions.get(registered);
  }

  tableSchema(name: string): TableSchema | null {
    return this.#tables.get(name)?.schema ?? null;
  }

  dropTable(name: string): boolean {
    return this.#tables.delete(name);
  }

  dropView(name: string): boolean {
    return this.#views.delete(name);
  }

  dropFunction(name: string): boolean {
    return this.#functions.delete(name);
  }

  /** The table a job writes `name`'s rows to: a CSV or file table. */
  sinkTable(name: string): CsvTableDefinition | FileTableDefinition {
    const table = this.#tables.get(name);
    if (!table) throw new PyUdfError('UNKNOWN_TABLE', `unknown sink table "${name}"; registered tables: ${[...this.#tables.keys()].join(', ') || '(none)'}`);
    if (table.kind !== 'csv' && table.kind !== 'file') throw new PyUdfError('INVALID_ARGUMENT', `table "${name}" cannot be written to`);
    return table;
  }
}

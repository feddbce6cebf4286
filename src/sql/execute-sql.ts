import { ExpressionError, SqlError } from '../errors.js';
import { FLINK_BUILTINS, calledNames, duckdbFunctionName } from '../engine/flink-sql.js';
import { FileSystem, type ConnectTableDescriptor } from '../table/descriptors.js';
import { udf, type PythonFunction } from '../table/python-function.js';
import { Schema, type TableSchema } from '../table/schema.js';
import type { ExecuteOptions, Table } from '../table/table.js';
import { translateQuery, type QueryCatalog } from './query-translator.js';
import { SqlTableResult, okResult } from './sql-result.js';
import { findName, lineColumn } from './sql-text.js';
import { recognizeStatement, type Statement } from './statements.js';
import { fileTableOptions } from './table-options.js';

/** The TableEnvironment as SQL uses it: its catalog and the Table API, nothing else. */
export interface SqlSession extends QueryCatalog {
  connect(fileSystem: FileSystem): ConnectTableDescriptor;
  createTemporaryView(name: string, table: Table): void;
  registerFunction(name: string, fn: PythonFunction): void;
  functionNames(): string[];
  listViews(): string[];
  /** Tables declared with a schema (DDL or connect), without views. */
  listTemporaryTables(): string[];
  /** A declared table's schema; null for a view or an unknown name. */
  tableSchema(name: string): TableSchema | null;
  dropTemporaryTable(name: string): boolean;
  dropTemporaryView(name: string): boolean;
  dropTemporarySystemFunction(name: string): boolean;
}

/** `tEnv.sqlQuery(query)`: the query as a Table, nothing run. */
export function sqlQuery(session: SqlSession, query: string): Table {
  const statement = recognizeStatement(query);
  if (statement.kind !== 'query') {
    throw new SqlError('INVALID_ARGUMENT', 'sqlQuery takes a SELECT query; run other statements with executeSql', { statement: query, line: 1, column: 1 });
  }
  return translateQuery(query, statement.queryOffset, session).table;
}

/** `tEnv.executeSql(statement)`: runs one statement. */
export async function executeSql(session: SqlSession, text: string, options?: ExecuteOptions): Promise<SqlTableResult> {
  const statement = recognizeStatement(text);
  const at = (offset: number) => lineColumn(text, offset);
  const exists = (name: string) => session.lookup(name) !== undefined;
  switch (statement.kind) {
    case 'query': {
      const { table } = translateQuery(text, statement.queryOffset, session);
      await checkTypes(table, text, statement.queryOffset);
      return new SqlTableResult({ resultKind: 'SUCCESS_WITH_CONTENT', columns: table.columns }, table.execute(options));
    }
    case 'insert': {
      if (session.tableSchema(statement.name) === null) {
        const known = session.listTemporaryTables();
        throw new SqlError('UNKNOWN_TABLE', `unknown sink table "${statement.name}"; tables: ${known.join(', ') || '(none)'}`, {
          statement: text, ...at(statement.nameOffset), unknownName: statement.name, candidates: known,
        });
      }
      const { table } = translateQuery(text, statement.queryOffset, session);
      await checkTypes(table, text, statement.queryOffset);
      const jobResult = await table.executeInsert(statement.name, options);
      const rows = jobResult.sinks.map((sink) => ({ table: sink.table, rows: sink.rows }));
      return new SqlTableResult({ resultKind: 'SUCCESS_WITH_CONTENT', columns: ['table', 'rows'], jobResult }, rows);
    }
    case 'createTable': {
      if (exists(statement.name)) {
        if (statement.ifNotExists) return okResult();
        throw alreadyExists(text, statement, 'a table or view');
      }
      const { path, format } = fileTableOptions(text, statement.options, statement.optionOffsets, statement.nameOffset);
      const schema = statement.columns.reduce((s, f) => s.field(f.name, f.type), new Schema());
      session.connect(new FileSystem().path(path)).withFormat(format).withSchema(schema).createTemporaryTable(statement.name);
      return okResult();
    }
    case 'createView': {
      if (exists(statement.name)) {
        if (statement.ifNotExists) return okResult();
        throw alreadyExists(text, statement, 'a table or view');
      }
      session.createTemporaryView(statement.name, translateQuery(text, statement.queryOffset, session).table);
      return okResult();
    }
    case 'createFunction': {
      if (session.functionNames().includes(statement.name)) {
        if (statement.ifNotExists) return okResult();
        throw alreadyExists(text, statement, 'a function');
      }
      if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(statement.callable)) {
        throw new SqlError('INVALID_ARGUMENT', `'${statement.callable}' is not a Python function's dotted name such as 'my_udfs.add'`, { statement: text, ...at(statement.callableOffset) });
      }
      // Its kind (scalar, vectorized, table, aggregate) and types come from the Python declaration, as in PyFlink.
      session.registerFunction(statement.name, udf(statement.callable));
      return okResult();
    }
    case 'drop': {
      const dropped = statement.object === 'FUNCTION'
        ? session.dropTemporarySystemFunction(statement.name)
        : statement.object === 'VIEW'
          ? session.dropTemporaryView(statement.name)
          : session.dropTemporaryTable(statement.name);
      if (!dropped && !statement.ifExists) {
        const known = statement.object === 'FUNCTION' ? session.functionNames() : statement.object === 'VIEW' ? session.listViews() : session.listTemporaryTables();
        const code = statement.object === 'FUNCTION' ? 'UNKNOWN_FUNCTION' : 'UNKNOWN_TABLE';
        throw new SqlError(code, `${statement.object.toLowerCase()} "${statement.name}" does not exist; ${statement.object.toLowerCase()}s: ${known.join(', ') || '(none)'}`, {
          statement: text, ...at(statement.nameOffset), unknownName: statement.name, candidates: known,
        });
      }
      return okResult();
    }
    case 'show': {
      const names = statement.object === 'FUNCTIONS'
        ? [...new Set([...FLINK_BUILTINS.map((name) => name.toLowerCase()), ...session.functionNames()])]
        : statement.object === 'USER FUNCTIONS' ? session.functionNames() : statement.object === 'VIEWS' ? session.listViews() : session.tableNames();
      const column = statement.object.endsWith('FUNCTIONS') ? 'function name' : `${statement.object.toLowerCase().replace(/s$/, '')} name`;
      return new SqlTableResult({ resultKind: 'SUCCESS_WITH_CONTENT', columns: [column] }, [...names].sort().map((name) => ({ [column]: name })));
    }
    case 'describe': {
      const table = session.lookup(statement.name);
      if (!table) {
        const known = session.tableNames();
        throw new SqlError('UNKNOWN_TABLE', `unknown table "${statement.name}"; tables and views: ${known.join(', ') || '(none)'}`, {
          statement: text, ...at(statement.nameOffset), unknownName: statement.name, candidates: known,
        });
      }
      // A view's types are its plan's, found without running it; a Python function whose types only its
      // Python declaration gives (read by a worker) leaves them unknown until a job runs.
      const schema = session.tableSchema(statement.name) ?? await table.describeSchema();
      const rows = schema
        ? schema.map((f) => ({ name: f.name, type: f.type.sqlText, null: !f.type.sqlText.endsWith('NOT NULL') }))
        : table.columns.map((name) => ({ name, type: null, null: true }));
      return new SqlTableResult({ resultKind: 'SUCCESS_WITH_CONTENT', columns: ['name', 'type', 'null'] }, rows);
    }
    case 'explain': {
      const { calls } = translateQuery(text, statement.queryOffset, session);
      const plan = ['== Table API calls ==', ...calls.map((call, i) => `${i === 0 ? '' : '  .'}${call}`)].join('\n');
      return new SqlTableResult({ resultKind: 'SUCCESS_WITH_CONTENT', columns: ['result'] }, [{ result: plan }]);
    }
  }
}

/**
 * Plans the query's types (no row read, no worker started) so that a type
 * error, such as UPPER of a BIGINT or a STRING compared with a number, is a
 * SqlError pointing into the statement before anything runs. Where the types
 * are not known yet (a function typed only in Python), the job checks them as
 * it plans.
 */
async function checkTypes(table: Table, text: string, offset: number): Promise<void> {
  try {
    await table.describeSchema();
  } catch (error) {
    if (!(error instanceof ExpressionError) || error.code !== 'EXPRESSION_TYPE') return; // the job reports it, as before
    // The function the engine found no match for, else the expression's first name.
    const engineName = /argument types '([A-Za-z_][A-Za-z0-9_]*)\(/.exec(error.message)?.[1]?.toLowerCase();
    const first = calledNames(error.expression).find((name) => duckdbFunctionName(name) === engineName)
      ?? /[A-Za-z_][A-Za-z0-9_$]*|`(?:[^`]|``)+`/.exec(error.expression)?.[0]?.replace(/^`|`$/g, '');
    const at = first === undefined ? -1 : findName(text, first, offset);
    throw new SqlError('EXPRESSION_TYPE', error.message.replace(/\n[\s\S]*$/, ''), { statement: text, ...lineColumn(text, at < 0 ? offset : at), cause: error });
  }
}

function alreadyExists(text: string, statement: Statement & { name: string; nameOffset: number }, what: string): SqlError {
  return new SqlError('INVALID_ARGUMENT', `${what} named "${statement.name}" already exists (add IF NOT EXISTS to keep it)`, {
    statement: text, ...lineColumn(text, statement.nameOffset),
  });
}

import { ExpressionError, PyUdfError, SqlError } from '../errors.js';
import type { Table } from '../table/table.js';
import { LATERAL_PREFIX, expressionText, parseQuery, unsupported, type LateralTable, type SqlAst } from './query-parser.js';
import { findName, lineColumn } from './sql-text.js';

/** What a query needs from its TableEnvironment: the catalog's tables and views by name. */
export interface QueryCatalog {
  /** The table or view registered under `name`, or undefined. */
  lookup(name: string): Table | undefined;
  /** Every table and view name, for the error that names an unknown one. */
  tableNames(): string[];
}

/** A query translated into Table API calls: the table, and the calls as text (what EXPLAIN shows). */
export interface TranslatedQuery {
  readonly table: Table;
  readonly calls: readonly string[];
}

/**
 * Translates the query starting at `offset` of `statement` into Table API
 * calls, as Flink's SQL and Table API share one planner: every name it uses
 * is checked on the way, and nothing runs.
 */
export function translateQuery(statement: string, offset: number, catalog: QueryCatalog): TranslatedQuery {
  const { ast, laterals } = parseQuery(statement, offset);
  if (ast.type !== 'select') throw unsupported(statement, offset, `a ${String(ast.type).toUpperCase()} statement as a query`);
  const translator = new QueryTranslator(statement, offset, catalog, laterals);
  const table = translator.query(ast);
  return { table, calls: Object.freeze(translator.calls) };
}

/** The tables a FROM clause brings in, by the names a qualified column may use. */
type Scope = Map<string, readonly string[]>;

class QueryTranslator {
  readonly calls: string[] = [];

  constructor(
    readonly statement: string,
    readonly offset: number,
    readonly catalog: QueryCatalog,
    readonly laterals: ReadonlyMap<string, LateralTable>,
  ) {}

  query(ast: SqlAst): Table {
    if (ast._next) {
      const operation = String(ast.set_op ?? 'union').toUpperCase();
      throw unsupported(this.statement, this.at(operation.split(' ')[0]!), operation);
    }
    if (Array.isArray(ast.with) && ast.with.length > 0) throw unsupported(this.statement, this.at('WITH'), 'WITH');
    const from = ast.from as SqlAst[] | null;
    if (!Array.isArray(from) || from.length === 0) throw unsupported(this.statement, this.at('SELECT'), 'SELECT without FROM');
    const scope: Scope = new Map();
    let table = this.fromItem(from[0]!, scope);
    for (const item of from.slice(1)) table = this.join(table, item, scope);
    if (ast.where) table = this.step(table, 'where', this.expression(ast.where as SqlAst, scope), 'WHERE');
    const groupBy = (ast.groupby as { columns?: SqlAst[] | null } | null)?.columns ?? null;
    const items = this.selectItems(ast.columns as SqlAst[], table.columns, scope);
    if (groupBy && groupBy.length > 0) {
      const keys = groupBy.map((key) => {
        if (key.type !== 'column_ref') throw unsupported(this.statement, this.at('GROUP'), 'GROUP BY an expression (group by a column of a subquery instead)');
        return this.expression(key, scope);
      }).join(', ');
      table = this.grouped(table, keys, items, ast.having as SqlAst | null, scope);
    } else if (ast.having) {
      throw unsupported(this.statement, this.at('HAVING'), 'HAVING without GROUP BY');
    } else {
      table = this.step(table, 'select', items.map((i) => i.text).join(', '), 'SELECT');
    }
    if (ast.distinct) throw unsupported(this.statement, this.at('DISTINCT'), 'DISTINCT');
    if (Array.isArray(ast.orderby) && ast.orderby.length > 0) throw unsupported(this.statement, this.at('ORDER'), 'ORDER BY');
    const limit = (ast.limit as { value?: unknown[] } | null)?.value;
    if (Array.isArray(limit) && limit.length > 0) throw unsupported(this.statement, this.at('LIMIT', 'FETCH', 'OFFSET'), 'LIMIT / OFFSET / FETCH');
    return table;
  }

  /** A table, a view or a subquery in FROM. */
  fromItem(item: SqlAst, scope: Scope): Table {
    if (item.expr && (item.expr as SqlAst).ast) {
      const table = new QueryTranslator(this.statement, this.offset, this.catalog, this.laterals).withCalls(this.calls).query((item.expr as SqlAst).ast as SqlAst);
      if (typeof item.as === 'string') scope.set(item.as, table.columns);
      return table;
    }
    const name = item.table;
    if (typeof name !== 'string') throw unsupported(this.statement, this.at('FROM'), 'this FROM item');
    if (name.startsWith(LATERAL_PREFIX)) throw unsupported(this.statement, this.at('LATERAL'), 'LATERAL TABLE as the first FROM item');
    const table = this.catalog.lookup(name);
    if (!table) {
      const names = this.catalog.tableNames();
      throw new SqlError('UNKNOWN_TABLE', `unknown table "${name}"; tables and views: ${names.join(', ') || '(none)'}`, {
        statement: this.statement, ...this.position(findName(this.statement, name, this.offset)), unknownName: name, candidates: names,
      });
    }
    this.calls.push(`from(${JSON.stringify(name)})`);
    scope.set(name, table.columns);
    if (typeof item.as === 'string') scope.set(item.as, table.columns);
    return table;
  }

  withCalls(calls: string[]): QueryTranslator {
    // A subquery's calls are shown inline, in the order they are made.
    (this as { calls: string[] }).calls = calls;
    return this;
  }

  /** `t, LATERAL TABLE(f(x)) AS T(w)` and `t LEFT JOIN LATERAL TABLE(...) AS T(w) ON TRUE`. */
  join(left: Table, item: SqlAst, scope: Scope): Table {
    const lateral = typeof item.table === 'string' ? this.laterals.get(item.table) : undefined;
    const kind = typeof item.join === 'string' ? item.join.toUpperCase() : null;
    if (!lateral) throw unsupported(this.statement, this.at(kind?.split(' ')[0] ?? 'FROM'), kind ? `${kind} of two tables` : 'a comma join of two tables');
    const outer = kind === 'LEFT JOIN' || kind === 'LEFT OUTER JOIN';
    if (kind !== null && !outer && kind !== 'JOIN' && kind !== 'INNER JOIN' && kind !== 'CROSS JOIN') {
      throw unsupported(this.statement, this.at(kind.split(' ')[0]!), `${kind} LATERAL TABLE`);
    }
    const call = this.callExpression(lateral, scope);
    const aliases = lateral.columns ? ` AS (${lateral.columns.map(quote).join(', ')})` : '';
    const on = item.on as SqlAst | undefined;
    const isTrue = !on || (on.type === 'bool' && on.value === true);
    if (outer && isTrue === false) {
      // Flink allows only ON TRUE here; a predicate goes in WHERE.
      throw unsupported(this.statement, this.at('ON'), 'LEFT JOIN LATERAL TABLE with a condition other than ON TRUE');
    }
    if (lateral.alias !== null && lateral.columns) scope.set(lateral.alias, lateral.columns);
    const argument = `${call}${aliases}`;
    const method = outer ? 'leftOuterJoinLateral' : 'joinLateral';
    if (isTrue) return this.step(left, method, argument, 'LATERAL', lateral.callOffset);
    const lateralScope = new Map(scope);
    const predicate = this.expression(on!, lateralScope);
    this.calls.push(`${method}(${JSON.stringify(argument)}, ${JSON.stringify(predicate)})`);
    return this.guard(() => left.joinLateral(argument, predicate), 'ON');
  }

  callExpression(lateral: LateralTable, scope: Scope): string {
    const { ast } = parseQuery(`SELECT ${lateral.callText}`, 0);
    const columns = (ast.columns as SqlAst[] | undefined) ?? [];
    const expr = columns[0]?.expr as SqlAst | undefined;
    if (columns.length !== 1 || !expr || (expr.type !== 'function' && expr.type !== 'aggr_func')) {
      throw new SqlError('SQL_SYNTAX', 'SQL syntax error: LATERAL TABLE(...) takes one table function call', {
        statement: this.statement, ...this.position(lateral.callOffset),
      });
    }
    return this.expression(expr, scope);
  }

  /** GROUP BY keys with a select list, and HAVING as a filter on hidden aggregate columns. */
  grouped(table: Table, keys: string, items: SelectText[], having: SqlAst | null, scope: Scope): Table {
    const fields = items.map((i) => i.text);
    let predicate: string | null = null;
    if (having) {
      // HAVING may use what the select list computes, or aggregates of its own: each
      // call in it becomes a hidden column of the grouped select, filtered, then dropped.
      const hidden: string[] = [];
      const rewritten = this.replaceCalls(having, scope, items, hidden);
      hidden.forEach((text, i) => fields.push(`${text} AS ${quote(`$having${i}`)}`));
      predicate = expressionText(rewritten);
    }
    this.calls.push(`groupBy(${JSON.stringify(keys)})`);
    const groupedTable = this.guard(() => table.groupBy(keys), 'GROUP');
    const selected = fields.join(', ');
    this.calls.push(`select(${JSON.stringify(selected)})`);
    let result = this.guard(() => groupedTable.select(selected), 'SELECT');
    if (predicate !== null) {
      result = this.step(result, 'where', predicate, 'HAVING');
      result = this.step(result, 'select', items.map((i) => quote(i.name)).join(', '), 'SELECT');
    }
    return result;
  }

  replaceCalls(expr: SqlAst, scope: Scope, items: SelectText[], hidden: string[]): SqlAst {
    if (expr.type === 'function' || expr.type === 'aggr_func') {
      const text = this.expression(expr, scope);
      const item = items.find((i) => i.expression === text);
      if (item) return { type: 'column_ref', table: null, column: item.name };
      hidden.push(text);
      return { type: 'column_ref', table: null, column: `$having${hidden.length - 1}` };
    }
    if (expr.type === 'column_ref') {
      const text = this.expression(expr, scope);
      const item = items.find((i) => i.expression === text);
      return item ? { type: 'column_ref', table: null, column: item.name } : expr;
    }
    const copy: SqlAst = { ...expr };
    for (const key of ['left', 'right', 'expr']) {
      if (copy[key] && typeof copy[key] === 'object') copy[key] = this.replaceCalls(copy[key] as SqlAst, scope, items, hidden);
    }
    return copy;
  }

  selectItems(columns: SqlAst[], input: readonly string[], scope: Scope): SelectText[] {
    const items: SelectText[] = [];
    for (const [i, column] of columns.entries()) {
      const expr = column.expr as SqlAst;
      if (expr.type === 'column_ref' && expr.column === '*') {
        const qualifier = typeof expr.table === 'string' ? expr.table : null;
        const names = qualifier === null ? input : this.scoped(qualifier, scope);
        names.forEach((name) => items.push({ text: quote(name), expression: quote(name), name }));
        continue;
      }
      const expression = this.expression(expr, scope);
      const alias = typeof column.as === 'string' ? column.as : null;
      const name = alias ?? (expr.type === 'column_ref' ? columnName(expr) : `_c${i}`);
      items.push({ text: alias === null ? expression : `${expression} AS ${quote(alias)}`, expression, name });
    }
    return items;
  }

  scoped(qualifier: string, scope: Scope): readonly string[] {
    const columns = scope.get(qualifier);
    if (columns) return columns;
    const names = [...scope.keys()];
    throw new SqlError('UNKNOWN_TABLE', `unknown table "${qualifier}" in a qualified name; tables in FROM: ${names.join(', ') || '(none)'}`, {
      statement: this.statement, ...this.position(findName(this.statement, qualifier, this.offset)), unknownName: qualifier, candidates: names,
    });
  }

  /** An expression as Table API text: qualified names lose their (checked) qualifier. */
  expression(expr: SqlAst, scope: Scope): string {
    return expressionText(this.unqualified(expr, scope));
  }

  unqualified(expr: unknown, scope: Scope): SqlAst {
    if (Array.isArray(expr)) return expr.map((e) => this.unqualified(e, scope)) as unknown as SqlAst;
    if (expr === null || typeof expr !== 'object') return expr as SqlAst;
    const node = expr as SqlAst;
    if (node.type === 'column_ref' && typeof node.table === 'string') {
      const columns = this.scoped(node.table, scope);
      const name = columnName(node);
      if (!columns.includes(name)) {
        throw new SqlError('UNKNOWN_COLUMN', `unknown column "${node.table}.${name}"; columns of ${node.table}: ${columns.join(', ') || '(none)'}`, {
          statement: this.statement, ...this.position(findName(this.statement, name, this.offset)), unknownName: name, candidates: columns,
        });
      }
      return { ...node, table: null };
    }
    const copy: SqlAst = {};
    for (const [key, value] of Object.entries(node)) copy[key] = this.unqualified(value, scope);
    return copy;
  }

  step(table: Table, method: 'where' | 'select' | 'joinLateral' | 'leftOuterJoinLateral', argument: string, clause: string, offset?: number): Table {
    this.calls.push(`${method}(${JSON.stringify(argument)})`);
    return this.guard(() => table[method](argument), clause, offset);
  }

  /** Runs a Table API call, turning its errors into SQL errors that point into the statement. */
  guard<T>(call: () => T, clause: string, offset?: number): T {
    try {
      return call();
    } catch (error) {
      if (!(error instanceof PyUdfError) || error instanceof SqlError) throw error;
      const clauseAt = offset ?? this.at(clause);
      if (error instanceof ExpressionError && error.unknownName !== undefined) {
        const code = error.code === 'UNKNOWN_FUNCTION' ? 'UNKNOWN_FUNCTION' : 'UNKNOWN_COLUMN';
        const what = code === 'UNKNOWN_FUNCTION' ? 'function' : 'column';
        const names = error.candidates;
        const at = findName(this.statement, error.unknownName, this.offset);
        throw new SqlError(code, `unknown ${what} "${error.unknownName}"; ${what === 'function' ? 'registered functions' : 'available columns'}: ${names.join(', ') || '(none)'}`, {
          statement: this.statement, ...this.position(at < 0 ? clauseAt : at), unknownName: error.unknownName, candidates: names, cause: error,
        });
      }
      const code = error.code === 'EXPRESSION_SYNTAX' ? 'SQL_UNSUPPORTED' : error.code === 'EXPRESSION_TYPE' ? 'EXPRESSION_TYPE' : 'INVALID_ARGUMENT';
      throw new SqlError(code, error.message, { statement: this.statement, ...this.position(clauseAt), cause: error });
    }
  }

  /** Where the earliest of these keywords is written in the query; the query's start when none is. */
  at(...keywords: string[]): number {
    const found = keywords.map((keyword) => findName(this.statement, keyword, this.offset)).filter((offset) => offset >= 0);
    return found.length === 0 ? this.offset : Math.min(...found);
  }

  position(offset: number): { line: number; column: number } {
    return lineColumn(this.statement, offset < 0 ? this.offset : offset);
  }
}

interface SelectText {
  /** The item as the Table API's select list takes it. */
  readonly text: string;
  /** The expression alone, to match HAVING's expressions against. */
  readonly expression: string;
  readonly name: string;
}

function columnName(ref: SqlAst): string {
  const column = ref.column;
  if (typeof column === 'string') return column;
  const value = (column as { expr?: { value?: unknown } } | undefined)?.expr?.value;
  return String(value ?? column);
}

function quote(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

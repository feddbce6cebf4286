import { ExpressionError, PyUdfError, SqlError } from '../errors.js';
import type { Table } from '../table/table.js';
import { LATERAL_PREFIX, expressionText, parseQuery, restoreOvers, unsupported, type LateralTable, type OverWindow, type SqlAst } from './query-parser.js';
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
  const { ast, laterals, overs } = parseQuery(statement, offset);
  if (ast.type !== 'select') throw unsupported(statement, offset, `a ${String(ast.type).toUpperCase()} statement as a query`);
  const translator = new QueryTranslator(statement, offset, catalog, laterals, overs);
  const table = translator.query(ast);
  return { table, calls: Object.freeze(translator.calls) };
}

/**
 * The tables a FROM clause brings in, by the names a qualified column may use:
 * each maps a column as its table names it to the column of the joined table
 * (a right side's column named like a left one is renamed, as Flink does: id0).
 */
type Scope = Map<string, ReadonlyMap<string, string>>;

function identity(columns: readonly string[]): ReadonlyMap<string, string> {
  return new Map(columns.map((c) => [c, c]));
}

const SET_OPERATIONS: Readonly<Record<string, 'union' | 'unionAll' | 'intersect' | 'intersectAll' | 'minus' | 'minusAll'>> = {
  'UNION': 'union', 'UNION DISTINCT': 'union', 'UNION ALL': 'unionAll',
  'INTERSECT': 'intersect', 'INTERSECT DISTINCT': 'intersect', 'INTERSECT ALL': 'intersectAll',
  'EXCEPT': 'minus', 'EXCEPT DISTINCT': 'minus', 'EXCEPT ALL': 'minusAll',
};

const JOINS: Readonly<Record<string, 'join' | 'leftOuterJoin' | 'rightOuterJoin' | 'fullOuterJoin'>> = {
  'JOIN': 'join', 'INNER JOIN': 'join', 'CROSS JOIN': 'join',
  'LEFT JOIN': 'leftOuterJoin', 'LEFT OUTER JOIN': 'leftOuterJoin',
  'RIGHT JOIN': 'rightOuterJoin', 'RIGHT OUTER JOIN': 'rightOuterJoin',
  'FULL JOIN': 'fullOuterJoin', 'FULL OUTER JOIN': 'fullOuterJoin',
};

class QueryTranslator {
  readonly calls: string[] = [];

  constructor(
    readonly statement: string,
    readonly offset: number,
    readonly catalog: QueryCatalog,
    readonly laterals: ReadonlyMap<string, LateralTable>,
    readonly overs: ReadonlyMap<string, OverWindow>,
  ) {}

  /** A query: a SELECT, or SELECTs joined by set operations, whose last ORDER BY / LIMIT applies to the whole. */
  query(ast: SqlAst): Table {
    if (Array.isArray(ast.with) && ast.with.length > 0) return this.withQuery(ast);
    if (!ast._next) return this.select(ast);
    const operands: SqlAst[] = [];
    const operations: string[] = [];
    for (let node: SqlAst | undefined = ast; node; node = node._next as SqlAst | undefined) {
      operands.push(node);
      if (node._next) operations.push(String(node.set_op).toUpperCase());
    }
    const last = operands[operands.length - 1]!;
    operands[operands.length - 1] = { ...last, orderby: null, limit: null };
    let table = this.select(operands[0]!);
    operations.forEach((operation, i) => {
      const method = SET_OPERATIONS[operation] ?? (() => { throw unsupported(this.statement, this.at(operation.split(' ')[0]!), operation); })();
      const right = this.select(operands[i + 1]!);
      this.calls.push(`${method}(<the query after ${operation}>)`);
      table = this.guard(() => table[method](right), operation.split(' ')[0]!);
    });
    const columns = table.columns.map((name) => ({ text: quote(name), expression: quote(name), name }));
    const order = this.orderKeys(last.orderby, columns, new Map());
    if (order.hidden.length > 0) {
      throw new SqlError('INVALID_ARGUMENT', `ORDER BY after ${operations[0]} can only use the result's columns: ${table.columns.join(', ')}`, { statement: this.statement, ...this.position(this.at('ORDER')) });
    }
    return this.ordered(table, order.keys, last.limit);
  }

  /**
   * `WITH a AS (...), b AS (...) <query>`: each common table expression is
   * translated once, in order (a later one may read an earlier one), and the
   * query reads them as tables, before the catalog's tables of the same name.
   */
  withQuery(ast: SqlAst): Table {
    const named = new Map<string, Table>();
    const catalog: QueryCatalog = {
      lookup: (name) => named.get(name) ?? this.catalog.lookup(name),
      tableNames: () => [...named.keys(), ...this.catalog.tableNames()],
    };
    for (const item of ast.with as Array<{ name: { value: string }; stmt: { ast: SqlAst }; columns: Array<SqlAst | string> | null }>) {
      const name = item.name.value;
      if (named.has(name)) {
        throw new SqlError('INVALID_ARGUMENT', `WITH names "${name}" twice`, { statement: this.statement, ...this.position(findName(this.statement, name, this.offset)) });
      }
      let table = new QueryTranslator(this.statement, this.offset, catalog, this.laterals, this.overs).withCalls(this.calls).query(item.stmt.ast);
      if (Array.isArray(item.columns) && item.columns.length > 0) {
        const columns = item.columns.map((c) => (typeof c === 'string' ? c : columnName(c)));
        if (columns.length !== table.columns.length) {
          throw new SqlError('INVALID_ARGUMENT', `WITH ${name}(${columns.join(', ')}) names ${columns.length} columns; its query has ${table.columns.length}`, {
            statement: this.statement, ...this.position(findName(this.statement, name, this.offset)),
          });
        }
        const renamed = table;
        const aliases = columns.map(quote).join(', ');
        this.calls.push(`alias(${JSON.stringify(aliases)})`);
        table = this.guard(() => renamed.alias(aliases), 'WITH');
      }
      named.set(name, table);
    }
    return new QueryTranslator(this.statement, this.offset, catalog, this.laterals, this.overs).withCalls(this.calls).query({ ...ast, with: null });
  }

  select(ast: SqlAst): Table {
    const from = ast.from as SqlAst[] | null;
    if (!Array.isArray(from) || from.length === 0) throw unsupported(this.statement, this.at('SELECT'), 'SELECT without FROM');
    const scope: Scope = new Map();
    let table = this.fromItem(from[0]!, scope);
    for (const item of from.slice(1)) table = this.join(table, item, scope);
    if (ast.where) table = this.step(table, 'where', this.expression(ast.where as SqlAst, scope), 'WHERE');
    let groupBy = (ast.groupby as { columns?: SqlAst[] | null } | null)?.columns ?? null;
    if (groupBy && groupBy.some((key) => key.type !== 'column_ref')) {
      ({ table, ast, groupBy } = this.groupKeyColumns(table, ast, groupBy, scope));
    }
    const items = this.selectItems(ast.columns as SqlAst[], table.columns, scope);
    // ORDER BY may sort by what the select list leaves out: such keys are computed as hidden columns, dropped after sorting.
    const order = this.orderKeys(ast.orderby, items, scope);
    if (order.hidden.length > 0 && ast.distinct) {
      throw new SqlError('INVALID_ARGUMENT', 'with SELECT DISTINCT, ORDER BY can only use the selected columns', { statement: this.statement, ...this.position(this.at('ORDER')) });
    }
    const fields = [...items.map((i) => i.text), ...order.hidden.map((text, i) => `${text} AS ${quote(`$order${i}`)}`)];
    let hidden = order.hidden.length > 0;
    if (groupBy && groupBy.length > 0) {
      const keys = groupBy.map((key) => this.expression(key, scope)).join(', ');
      table = this.grouped(table, keys, items, fields, ast.having as SqlAst | null, scope);
      hidden ||= Boolean(ast.having);
    } else if (ast.having) {
      throw unsupported(this.statement, this.at('HAVING'), 'HAVING without GROUP BY');
    } else {
      table = this.step(table, 'select', fields.join(', '), 'SELECT');
    }
    if (ast.distinct) {
      const selected = table;
      this.calls.push('distinct()');
      table = this.guard(() => selected.distinct(), 'DISTINCT');
    }
    table = this.ordered(table, order.keys, ast.limit);
    return hidden ? this.step(table, 'select', items.map((i) => quote(i.name)).join(', '), 'SELECT') : table;
  }

  /**
   * `GROUP BY UPPER(s)`, `GROUP BY a + 1`: each key expression becomes a
   * column computed before grouping, and the select list, HAVING and ORDER BY
   * use that column where they repeat the expression, as Flink's planner
   * projects grouping expressions first. A position (`GROUP BY 1`) is refused,
   * as Flink's default SQL conformance refuses it.
   */
  groupKeyColumns(table: Table, ast: SqlAst, groupBy: SqlAst[], scope: Scope): { table: Table; ast: SqlAst; groupBy: SqlAst[] } {
    const computed: Array<{ text: string; column: string }> = [];
    const keys = groupBy.map((key) => {
      if (key.type === 'column_ref') return key;
      if (key.type === 'number') {
        throw new SqlError('INVALID_ARGUMENT', `GROUP BY ${String(key.value)}: Flink SQL does not group by a select item's position; repeat the expression or name a column`, {
          statement: this.statement, ...this.position(this.at('GROUP')),
        });
      }
      const text = this.expression(key, scope);
      const column = `$group${computed.length}`;
      computed.push({ text, column });
      return { type: 'column_ref', table: null, column } as SqlAst;
    });
    const fields = computed.map((c) => `${c.text} AS ${quote(c.column)}`).join(', ');
    const input = table;
    this.calls.push(`addColumns(${JSON.stringify(fields)})`);
    const withKeys = this.guard(() => input.addColumns(fields), 'GROUP');
    const replace = (expr: unknown): unknown => {
      if (Array.isArray(expr)) return expr.map(replace);
      if (expr === null || typeof expr !== 'object') return expr;
      const node = expr as SqlAst;
      if (node.type !== undefined && node.type !== 'column_ref' && typeof node.type === 'string') {
        let text: string | null = null;
        try { text = this.expression(node, scope); } catch { text = null; }
        const key = computed.find((c) => c.text === text);
        if (key) return { type: 'column_ref', table: null, column: key.column };
      }
      const copy: SqlAst = {};
      for (const [k, v] of Object.entries(node)) copy[k] = replace(v);
      return copy;
    };
    const columns = (ast.columns as SqlAst[]).map((column, i) => {
      const expr = replace(column.expr) as SqlAst;
      // An item that was an expression keeps the name it had (_c0), not the key column's.
      const named = (column.expr as SqlAst).type !== 'column_ref' && typeof column.as !== 'string' ? { as: `_c${i}` } : {};
      return { ...column, expr, ...named };
    });
    const orderby = Array.isArray(ast.orderby) ? (ast.orderby as SqlAst[]).map((o) => ({ ...o, expr: replace(o.expr) })) : ast.orderby;
    return { table: withKeys, ast: { ...ast, columns, having: replace(ast.having), orderby }, groupBy: keys };
  }

  /** ORDER BY's keys as orderBy takes them: a selected expression by its column, anything else as a hidden column. */
  orderKeys(orderby: unknown, items: readonly SelectText[], scope: Scope): { keys: string; hidden: string[] } {
    const orderBy = Array.isArray(orderby) ? orderby as Array<{ expr: SqlAst; type?: string | null }> : [];
    const hidden: string[] = [];
    const keys = orderBy.map((key) => {
      const text = this.expression(key.expr, scope);
      const item = items.find((i) => i.expression === text || (key.expr.type === 'column_ref' && !key.expr.table && i.name === columnName(key.expr)));
      let column: string;
      if (item) {
        column = item.name;
      } else {
        column = `$order${hidden.length}`;
        hidden.push(text);
      }
      return `${quote(column)}${String(key.type ?? '').toUpperCase() === 'DESC' ? ' DESC' : ''}`;
    }).join(', ');
    return { keys, hidden };
  }

  /** ORDER BY (keys over the table's columns) and LIMIT / OFFSET / FETCH. */
  ordered(input: Table, keys: string, limitAst: unknown): Table {
    let table = input;
    if (keys !== '') table = this.step(table, 'orderBy', keys, 'ORDER');
    const limit = limitAst as { seperator?: string; value?: SqlAst[] } | null | undefined;
    const values = Array.isArray(limit?.value) ? limit!.value : [];
    if (values.length > 0) {
      const count = (value: SqlAst | undefined): number | null => {
        if (value === undefined || (value.type === 'origin' && String(value.value).toUpperCase() === 'ALL')) return null;
        if (value.type !== 'number' && value.type !== 'bigint') throw unsupported(this.statement, this.at('LIMIT', 'OFFSET', 'FETCH'), 'a LIMIT or OFFSET that is not a number');
        const n = Number(value.value);
        return Number.isSafeInteger(n) ? n : null;
      };
      // MySQL's "LIMIT offset, count" is not Flink's; "LIMIT count OFFSET offset" is.
      if (limit!.seperator === ',') throw unsupported(this.statement, this.at('LIMIT'), '"LIMIT offset, count" (write LIMIT count OFFSET offset)');
      const fetch = count(values[0]);
      const offset = count(values[1]) ?? 0;
      const limited = table;
      if (offset > 0) {
        this.calls.push(`offset(${offset})`);
        table = this.guard(() => limited.offset(offset), 'OFFSET');
      }
      if (fetch !== null) {
        const offsetTable = table;
        this.calls.push(`fetch(${fetch})`);
        table = this.guard(() => offsetTable.fetch(fetch), 'LIMIT');
      }
    }
    return table;
  }

  /** A table, a view or a subquery in FROM. */
  fromItem(item: SqlAst, scope: Scope): Table {
    if (item.expr && (item.expr as SqlAst).ast) {
      const table = new QueryTranslator(this.statement, this.offset, this.catalog, this.laterals, this.overs).withCalls(this.calls).query((item.expr as SqlAst).ast as SqlAst);
      if (typeof item.as === 'string') scope.set(item.as, identity(table.columns));
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
    const columns = identity(table.columns);
    scope.set(name, columns);
    if (typeof item.as === 'string') scope.set(item.as, columns);
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
    if (!lateral) return this.joinTables(left, item, kind, scope);
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
    if (lateral.alias !== null && lateral.columns) scope.set(lateral.alias, identity(lateral.columns));
    const argument = `${call}${aliases}`;
    const method = outer ? 'leftOuterJoinLateral' : 'joinLateral';
    if (isTrue) return this.step(left, method, argument, 'LATERAL', lateral.callOffset);
    const lateralScope = new Map(scope);
    const predicate = this.expression(on!, lateralScope);
    this.calls.push(`${method}(${JSON.stringify(argument)}, ${JSON.stringify(predicate)})`);
    return this.guard(() => left.joinLateral(argument, predicate), 'ON');
  }

  /** A join of two tables: the right side's columns named like left ones are renamed first (id0), as the Table API's join needs distinct names. */
  joinTables(left: Table, item: SqlAst, kind: string | null, scope: Scope): Table {
    const method = kind === null ? 'join' : JOINS[kind];
    if (method === undefined) throw unsupported(this.statement, this.at(kind!.split(' ')[0]!), kind!);
    const rightScope: Scope = new Map();
    let right = this.fromItem(item, rightScope);
    const taken = new Set(left.columns);
    const renames = new Map<string, string>();
    for (const column of right.columns) {
      let name = column;
      for (let i = 0; taken.has(name); i++) name = `${column}${i}`;
      taken.add(name);
      if (name !== column) renames.set(column, name);
    }
    if (renames.size > 0) {
      right = this.step(right, 'renameColumns', [...renames].map(([from, to]) => `${quote(from)} AS ${quote(to)}`).join(', '), 'JOIN');
    }
    const renamed = new Map<ReadonlyMap<string, string>, ReadonlyMap<string, string>>();
    for (const [qualifier, columns] of rightScope) {
      if (!renamed.has(columns)) renamed.set(columns, new Map([...columns].map(([name, actual]) => [name, renames.get(actual) ?? actual])));
      scope.set(qualifier, renamed.get(columns)!);
    }
    const on = item.on as SqlAst | undefined;
    const predicate = on ? this.expression(on, scope) : undefined;
    if (predicate === undefined && (method !== 'join' || (kind !== null && kind !== 'CROSS JOIN'))) {
      throw new SqlError('SQL_SYNTAX', `SQL syntax error: ${kind} needs ON <condition>`, { statement: this.statement, ...this.position(this.at(kind!.split(' ')[0]!)) });
    }
    const joinedRight = right;
    this.calls.push(`${method}(<${typeof item.table === 'string' ? item.table : 'subquery'}>${predicate === undefined ? '' : `, ${JSON.stringify(predicate)}`})`);
    return this.guard(() => (predicate === undefined ? left.join(joinedRight) : left[method](joinedRight, predicate)), kind?.split(' ')[0] ?? 'FROM');
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
  /** GROUP BY keys with a select list, and HAVING as a filter on hidden aggregate columns (the caller drops them). */
  grouped(table: Table, keys: string, items: SelectText[], selectFields: readonly string[], having: SqlAst | null, scope: Scope): Table {
    const fields = [...selectFields];
    let predicate: string | null = null;
    if (having) {
      // HAVING may use what the select list computes, or aggregates of its own: each
      // call in it becomes a hidden column of the grouped select, filtered on.
      const hidden: string[] = [];
      const rewritten = this.replaceCalls(having, scope, items, hidden);
      hidden.forEach((text, i) => fields.push(`${text} AS ${quote(`$having${i}`)}`));
      predicate = expressionText(rewritten);
    }
    this.calls.push(`groupBy(${JSON.stringify(keys)})`);
    const groupedTable = this.guard(() => table.groupBy(keys), 'GROUP');
    const selected = fields.join(', ');
    this.calls.push(`select(${JSON.stringify(selected)})`);
    const result = this.guard(() => groupedTable.select(selected), 'SELECT');
    return predicate === null ? result : this.step(result, 'where', predicate, 'HAVING');
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
        const names = qualifier === null ? input : [...this.scoped(qualifier, scope).values()];
        names.forEach((name) => items.push({ text: quote(name), expression: quote(name), name }));
        continue;
      }
      const expression = this.expression(expr, scope);
      let alias = typeof column.as === 'string' ? column.as : null;
      if (alias === null && expr.type === 'column_ref') {
        // A column a join renamed (id0) is named as written (id), unless an earlier item has that name.
        const written = columnName(expr);
        const actual = columnName(this.unqualified(expr, scope));
        if (written !== actual && !items.some((item) => item.name === written)) alias = written;
      }
      const name = alias ?? (expr.type === 'column_ref' ? columnName(this.unqualified(expr, scope)) : `_c${i}`);
      items.push({ text: alias === null ? expression : `${expression} AS ${quote(alias)}`, expression, name });
    }
    return items;
  }

  scoped(qualifier: string, scope: Scope): ReadonlyMap<string, string> {
    const columns = scope.get(qualifier);
    if (columns) return columns;
    const names = [...scope.keys()];
    throw new SqlError('UNKNOWN_TABLE', `unknown table "${qualifier}" in a qualified name; tables in FROM: ${names.join(', ') || '(none)'}`, {
      statement: this.statement, ...this.position(findName(this.statement, qualifier, this.offset)), unknownName: qualifier, candidates: names,
    });
  }

  /** An expression as Table API text: qualified names lose their (checked) qualifier. */
  expression(expr: SqlAst, scope: Scope): string {
    return restoreOvers(expressionText(this.unqualified(expr, scope)), this.overs, (qualifier, column) => {
      if (qualifier === null) return quote(column);
      const actual = this.scoped(qualifier, scope).get(column);
      if (actual === undefined) {
        throw new SqlError('UNKNOWN_COLUMN', `unknown column "${qualifier}.${column}" in OVER (...)`, {
          statement: this.statement, ...this.position(findName(this.statement, column, this.offset)), unknownName: column,
        });
      }
      return quote(actual);
    });
  }

  unqualified(expr: unknown, scope: Scope): SqlAst {
    if (Array.isArray(expr)) return expr.map((e) => this.unqualified(e, scope)) as unknown as SqlAst;
    if (expr === null || typeof expr !== 'object') return expr as SqlAst;
    const node = expr as SqlAst;
    if (node.type === 'column_ref' && typeof node.table === 'string') {
      // `r.f` where r is no table but a ROW column: the field f of r, as Flink reads it.
      if (!scope.has(node.table) && [...scope.values()].some((columns) => columns.has(node.table as string))) return node;
      const columns = this.scoped(node.table, scope);
      const name = columnName(node);
      const actual = columns.get(name);
      if (actual === undefined) {
        const names = [...columns.keys()];
        throw new SqlError('UNKNOWN_COLUMN', `unknown column "${node.table}.${name}"; columns of ${node.table}: ${names.join(', ') || '(none)'}`, {
          statement: this.statement, ...this.position(findName(this.statement, name, this.offset)), unknownName: name, candidates: names,
        });
      }
      return { ...node, table: null, column: actual };
    }
    if (node.type === 'column_ref' && node.column !== '*') {
      const name = columnName(node);
      const tables = new Set([...scope.values()].filter((columns) => columns.has(name)));
      if (tables.size > 1) {
        const byTable = new Map([...scope].filter(([, columns]) => columns.has(name)).map(([qualifier, columns]) => [columns, qualifier]));
        const qualifiers = [...byTable.values()].map((qualifier) => `${qualifier}.${name}`);
        throw new SqlError('INVALID_ARGUMENT', `column "${name}" is ambiguous: qualify it (${qualifiers.join(' or ')})`, {
          statement: this.statement, ...this.position(findName(this.statement, name, this.offset)), unknownName: name, candidates: qualifiers,
        });
      }
    }
    const copy: SqlAst = {};
    for (const [key, value] of Object.entries(node)) copy[key] = this.unqualified(value, scope);
    return copy;
  }

  step(table: Table, method: 'where' | 'select' | 'joinLateral' | 'leftOuterJoinLateral' | 'orderBy' | 'renameColumns', argument: string, clause: string, offset?: number): Table {
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

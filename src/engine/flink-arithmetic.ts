import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * Integer `+`, `-` and `*` with Flink's (Java's) overflow: the result wraps
 * around at its type's width, where DuckDB raises an error. DuckDB's own
 * parser reads the translated expression (json_serialize_sql); each operator
 * whose operands are both integers becomes a call of a macro that computes in
 * HUGEINT and wraps into the wider operand type, which is Flink's result type.
 */

const WIDTHS: Readonly<Record<string, { suffix: string; bits: number; rank: number }>> = {
  TINYINT: { suffix: 'i8', bits: 8, rank: 1 },
  SMALLINT: { suffix: 'i16', bits: 16, rank: 2 },
  INTEGER: { suffix: 'i32', bits: 32, rank: 3 },
  BIGINT: { suffix: 'i64', bits: 64, rank: 4 },
};

const OPERATORS: Readonly<Record<string, string>> = { '+': 'add', '-': 'sub', '*': 'mul' };

/**
 * The macros the rewrite calls, defined once per engine. Rows that cannot
 * overflow take DuckDB's own operator; only the others pay for the wide
 * computation: BIGINT operands are checked in DOUBLE (whose error is far below
 * the margin kept to 2^63) and wrapped from HUGEINT by masking to 64 bits;
 * narrower ones are computed in BIGINT, where they cannot overflow, and
 * wrapped by modulo when out of range.
 */
export const ARITHMETIC_MACROS: readonly string[] = Object.entries(WIDTHS).flatMap(([type, { suffix, bits }]) => {
  return Object.entries(OPERATORS).map(([operator, name]) => {
    if (bits === 64) {
      const mask = `CAST('${((1n << 64n) - 1n).toString()}' AS HUGEINT)`;
      const low = `((CAST(a AS HUGEINT) ${operator} CAST(b AS HUGEINT)) & ${mask})`;
      // The low 64 bits, read as signed: minus 2^64 when bit 63 is set.
      const wrapped = `CAST(${low} - (${low} >> 63) * CAST('${(1n << 64n).toString()}' AS HUGEINT) AS BIGINT)`;
      return `CREATE MACRO flink_${name}_${suffix}(a, b) AS CASE WHEN abs(CAST(a AS DOUBLE) ${operator} CAST(b AS DOUBLE)) < 9.2e18 THEN a ${operator} b ELSE ${wrapped} END`;
    }
    const full = 1n << BigInt(bits);
    const half = 1n << BigInt(bits - 1);
    const wide = `(CAST(a AS BIGINT) ${operator} CAST(b AS BIGINT))`;
    return `CREATE MACRO flink_${name}_${suffix}(a, b) AS CASE WHEN ${wide} BETWEEN ${-half} AND ${half - 1n} THEN CAST(${wide} AS ${type}) ` +
      `ELSE CAST(((${wide} + ${half}) % ${full} + ${full}) % ${full} - ${half} AS ${type}) END`;
  });
});

interface AstNode { class?: string; function_name?: string; is_operator?: boolean; children?: AstNode[]; [key: string]: unknown }

/** `sql`, a DuckDB expression over `relation`, with its integer arithmetic wrapping as Flink's does. */
export async function withFlinkArithmetic(sql: string, connection: DuckDBConnection, relation: string | undefined): Promise<string> {
  if (!/[-+*]/.test(sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"/g, "''"))) return sql;
  try {
    return await rewrite(sql, connection, relation);
  } catch {
    // What DuckDB's parser cannot round-trip is left as written: its overflow is then DuckDB's error.
    return sql;
  }
}

async function rewrite(sql: string, connection: DuckDBConnection, relation: string | undefined): Promise<string> {
  const serialized = await scalar(connection, `SELECT json_serialize_sql(${literal(`SELECT ${sql}`)})`);
  // A location past 2^53 (none) would not survive JSON.parse: the locations are not needed.
  const tree = JSON.parse(String(serialized).replace(/"query_location":\d+/g, '"query_location":0')) as { error?: boolean; statements?: Array<{ node: { select_list: AstNode[] } }> };
  const list = tree.statements?.[0]?.node?.select_list;
  if (tree.error || !list || list.length !== 1) return sql;
  const operations: AstNode[] = [];
  collect(list[0]!, operations);
  if (operations.length === 0) return sql;
  const operands = operations.flatMap((node) => node.children!);
  const types = await operandTypes(connection, tree, operands, relation);
  let changed = false;
  operations.forEach((node, i) => {
    const [left, right] = [WIDTHS[types[2 * i] ?? ''], WIDTHS[types[2 * i + 1] ?? '']];
    if (!left || !right) return;
    const width = left.rank >= right.rank ? left : right;
    node.function_name = `flink_${OPERATORS[node.function_name!]}_${width.suffix}`;
    node.is_operator = false;
    changed = true;
  });
  if (!changed) return sql;
  const rewritten = String(await scalar(connection, `SELECT json_deserialize_sql(${literal(JSON.stringify(tree))})`));
  return rewritten.replace(/^SELECT\s+/i, '');
}

function collect(node: unknown, into: AstNode[]): void {
  if (Array.isArray(node)) { node.forEach((n) => collect(n, into)); return; }
  if (node === null || typeof node !== 'object') return;
  const n = node as AstNode;
  if (n.class === 'FUNCTION' && n.is_operator && OPERATORS[n.function_name ?? ''] && n.children?.length === 2) into.push(n);
  for (const value of Object.values(n)) collect(value, into);
}

/** The DuckDB type of each operand; '' where it cannot be told alone (an operand mixing aggregates and columns). */
async function operandTypes(connection: DuckDBConnection, tree: { statements?: Array<{ node: { select_list: AstNode[] } }> }, operands: AstNode[], relation: string | undefined): Promise<string[]> {
  const from = relation === undefined ? '' : ` FROM ${relation}`;
  const describe = async (nodes: AstNode[]): Promise<string[]> => {
    const statement = structuredClone(tree);
    statement.statements![0]!.node.select_list = nodes.map((node) => ({ ...node, alias: '' }));
    const select = String(await scalar(connection, `SELECT json_deserialize_sql(${literal(JSON.stringify(statement))})`));
    const described = await connection.runAndReadAll(`DESCRIBE ${select}${from}`);
    return described.getRows().map((row) => String(row[1]));
  };
  try {
    return await describe(operands);
  } catch {
    return Promise.all(operands.map((operand) => describe([operand]).then((t) => t[0] ?? '', () => '')));
  }
}

async function scalar(connection: DuckDBConnection, sql: string): Promise<unknown> {
  const result = await connection.runAndReadAll(sql);
  return result.getRows()[0]?.[0];
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

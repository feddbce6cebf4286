import { ExpressionError } from '../errors.js';

/**
 * Flink expression text to DuckDB SQL. DuckDB's parser reads Flink's
 * expression syntax; what differs is rewritten here: backtick names, the
 * functions DuckDB names differently or lacks, and the results that differ
 * (CONCAT with NULL, CAST to an integer truncating, AVG of integers keeping
 * the integer type). See docs/sql-semantics.md.
 */

/** Functions DuckDB lacks, defined once per engine in DuckDB's own SQL. */
export const FLINK_MACROS: readonly string[] = [
  // A word is a run of ASCII letters and digits (Java's initcap): its first letter upper case, the others lower; other characters stay.
  `CREATE MACRO flink_initcap(s) AS array_to_string(list_transform(range(1, length(s) + 1), lambda i: CASE ` +
    `WHEN (i = 1 OR NOT regexp_matches(s[i - 1], '[A-Za-z0-9]')) AND regexp_matches(s[i], '[a-z]') THEN upper(s[i]) ` +
    `WHEN i > 1 AND regexp_matches(s[i - 1], '[A-Za-z0-9]') AND regexp_matches(s[i], '[A-Z]') THEN lower(s[i]) ELSE s[i] END), '')`,
  'CREATE MACRO flink_split_index(s, sep, i) AS string_split(s, sep)[i + 1]',
  // Flink: NULL where the length is negative or the padding empty (DuckDB: an empty string, an error).
  'CREATE MACRO flink_lpad(s, n, pad) AS CASE WHEN n >= 0 AND pad <> \'\' THEN lpad(s, n, pad) END',
  'CREATE MACRO flink_rpad(s, n, pad) AS CASE WHEN n >= 0 AND pad <> \'\' THEN rpad(s, n, pad) END',
  // Flink: NULL where nothing matches (DuckDB: an empty string).
  'CREATE MACRO flink_regexp_extract(s, p, g) AS CASE WHEN regexp_matches(s, p) THEN regexp_extract(s, p, g) END',
  // Java's Math.sqrt and Math.log: NaN below zero, -Infinity for the logarithm of zero (DuckDB: an error).
  `CREATE MACRO flink_sqrt(x) AS CASE WHEN x >= 0 THEN sqrt(x) WHEN x < 0 THEN CAST('NaN' AS DOUBLE) END`,
  `CREATE MACRO flink_ln(x) AS CASE WHEN x > 0 THEN ln(x) WHEN x = 0 THEN CAST('-Infinity' AS DOUBLE) WHEN x < 0 THEN CAST('NaN' AS DOUBLE) END`,
  `CREATE MACRO flink_log10(x) AS CASE WHEN x > 0 THEN log10(x) WHEN x = 0 THEN CAST('-Infinity' AS DOUBLE) WHEN x < 0 THEN CAST('NaN' AS DOUBLE) END`,
];

/** Flink built-in function names pyudf accepts in expressions, upper case. */
export const FLINK_BUILTINS: readonly string[] = Object.freeze([
  'COUNT', 'SUM', 'AVG', 'MIN', 'MAX', 'STDDEV_POP', 'STDDEV_SAMP', 'VAR_POP', 'VAR_SAMP', 'LISTAGG',
  'CAST', 'TRY_CAST', 'COALESCE', 'NULLIF', 'IF',
  'UPPER', 'LOWER', 'CHAR_LENGTH', 'CHARACTER_LENGTH', 'SUBSTRING', 'SUBSTR', 'TRIM', 'LTRIM', 'RTRIM', 'CONCAT', 'CONCAT_WS', 'REPLACE',
  'REGEXP_EXTRACT', 'LPAD', 'RPAD', 'INITCAP', 'POSITION', 'SPLIT_INDEX',
  'ABS', 'ROUND', 'FLOOR', 'CEIL', 'CEILING', 'MOD', 'POWER', 'SQRT', 'LN', 'LOG10', 'EXP', 'SIGN', 'TRUNCATE',
  'EXTRACT', 'YEAR', 'QUARTER', 'MONTH', 'WEEK', 'DAYOFMONTH', 'DAYOFYEAR', 'HOUR', 'MINUTE', 'SECOND',
  'DATE_FORMAT', 'TO_DATE', 'TO_TIMESTAMP', 'TIMESTAMPADD', 'TIMESTAMPDIFF', 'CURRENT_DATE', 'CURRENT_TIMESTAMP',
  'ROW_NUMBER', 'RANK', 'DENSE_RANK', 'LEAD', 'LAG', 'FIRST_VALUE', 'LAST_VALUE',
  'CARDINALITY',
]);

/** Words of the expression language that are neither columns nor functions. */
const KEYWORDS = new Set([
  'AND', 'OR', 'NOT', 'IS', 'NULL', 'TRUE', 'FALSE', 'IN', 'BETWEEN', 'LIKE', 'SIMILAR', 'ESCAPE', 'DISTINCT', 'FROM', 'AS', 'CASE',
  'WHEN', 'THEN', 'ELSE', 'END', 'ASC', 'DESC', 'NULLS', 'FIRST', 'LAST', 'BOTH', 'LEADING', 'TRAILING', 'FOR', 'INTERVAL',
  'DATE', 'TIME', 'TIMESTAMP', 'BOOLEAN', 'TINYINT', 'SMALLINT', 'INT', 'INTEGER', 'BIGINT', 'FLOAT', 'DOUBLE', 'PRECISION',
  'DECIMAL', 'NUMERIC', 'STRING', 'VARCHAR', 'CHAR', 'BYTES', 'VARBINARY', 'BINARY', 'YEAR', 'QUARTER', 'MONTH', 'WEEK', 'DAY',
  'HOUR', 'MINUTE', 'SECOND', 'MILLISECOND', 'MICROSECOND', 'DOW', 'DOY', 'EPOCH', 'CURRENT_DATE', 'CURRENT_TIMESTAMP', 'ALL',
  'WITH', 'LOCAL', 'ZONE',
  // OVER windows.
  'OVER', 'PARTITION', 'BY', 'ORDER', 'ROWS', 'RANGE', 'PRECEDING', 'FOLLOWING', 'CURRENT', 'ROW', 'UNBOUNDED',
]);

const RENAMED: Readonly<Record<string, string>> = {
  CHAR_LENGTH: 'length', CHARACTER_LENGTH: 'length', INITCAP: 'flink_initcap', SPLIT_INDEX: 'flink_split_index',
  DAYOFMONTH: 'day', LPAD: 'flink_lpad', RPAD: 'flink_rpad', SQRT: 'flink_sqrt', LN: 'flink_ln', LOG10: 'flink_log10',
};

/** The name DuckDB knows a Flink function by (CHAR_LENGTH: length), lower case. */
export function duckdbFunctionName(name: string): string {
  return (RENAMED[name.toUpperCase()] ?? name).toLowerCase();
}

interface Token { readonly kind: 'word' | 'quoted' | 'string' | 'punct' | 'space'; readonly text: string }

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'") {
      let j = i + 1;
      while (j < text.length && !(text[j] === "'" && text[j + 1] !== "'")) j += text[j] === "'" ? 2 : 1;
      tokens.push({ kind: 'string', text: text.slice(i, j + 1) });
      i = j + 1;
    } else if (c === '`' || c === '"') {
      const j = text.indexOf(c, i + 1);
      if (j < 0) throw new ExpressionError('EXPRESSION_SYNTAX', `unclosed ${c} in "${text}"`, { expression: text });
      tokens.push({ kind: 'quoted', text: text.slice(i + 1, j) });
      i = j + 1;
    } else if (/\s/.test(c)) {
      let j = i;
      while (j < text.length && /\s/.test(text[j]!)) j++;
      tokens.push({ kind: 'space', text: text.slice(i, j) });
      i = j;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i;
      while (j < text.length && /[A-Za-z0-9_$]/.test(text[j]!)) j++;
      tokens.push({ kind: 'word', text: text.slice(i, j) });
      i = j;
    } else {
      tokens.push({ kind: 'punct', text: c });
      i++;
    }
  }
  return tokens;
}

const nextSolid = (tokens: readonly Token[], i: number): Token | undefined => tokens.slice(i + 1).find((t) => t.kind !== 'space');
const prevSolid = (tokens: readonly Token[], i: number): Token | undefined => tokens.slice(0, i).reverse().find((t) => t.kind !== 'space');

/**
 * Checks the names an expression uses, before anything runs: a word followed
 * by "(" must be a built-in or a registered function, any other name a column.
 */
export function checkEngineNames(text: string, columns: readonly string[], functions: readonly string[]): void {
  if (typeof text !== 'string' || text.trim() === '') {
    throw new ExpressionError('EXPRESSION_SYNTAX', 'an expression must be a non-empty string', { expression: String(text) });
  }
  const tokens = tokenize(text);
  if (tokens.some((t) => t.kind === 'punct' && t.text === ';')) throw new ExpressionError('EXPRESSION_SYNTAX', `unexpected ";" in expression "${text}"`, { expression: text });
  const lowerFunctions = functions.map((f) => f.toLowerCase());
  tokens.forEach((token, i) => {
    if (token.kind !== 'word' && token.kind !== 'quoted') return;
    const next = nextSolid(tokens, i);
    const prev = prevSolid(tokens, i);
    if (token.kind === 'word' && next?.text === '(') {
      const upper = token.text.toUpperCase();
      if (FLINK_BUILTINS.includes(upper) || KEYWORDS.has(upper) || lowerFunctions.includes(token.text.toLowerCase())) return;
      throw new ExpressionError('UNKNOWN_FUNCTION', `unknown function "${token.text}" in "${text}"; built-in functions: ${FLINK_BUILTINS.join(', ')}; registered functions: ${functions.join(', ') || '(none)'}`,
        { expression: text, unknownName: token.text, candidates: functions });
    }
    if (token.kind === 'word' && KEYWORDS.has(token.text.toUpperCase())) return;
    // The name given to a result (AS x), and the "desc" of "a.desc", are not column references.
    if (prev?.kind === 'word' && prev.text.toUpperCase() === 'AS') return;
    if (prev?.text === '.') return;
    if (!columns.includes(token.text)) {
      throw new ExpressionError('UNKNOWN_COLUMN', `unknown column "${token.text}" in "${text}"; available columns: ${columns.join(', ') || '(none)'}`,
        { expression: text, unknownName: token.text, candidates: columns });
    }
  });
}

/** Every function name an expression calls. */
export function calledNames(text: string): string[] {
  const tokens = tokenize(text);
  return tokens.filter((t, i) => t.kind === 'word' && nextSolid(tokens, i)?.text === '(').map((t) => t.text);
}

/** Splits a list at its top-level commas. */
export function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const token of tokenize(text)) {
    const raw = token.kind === 'quoted' ? `\`${token.text}\`` : token.text;
    if (token.text === '(' && token.kind === 'punct') depth++;
    if (token.text === ')' && token.kind === 'punct') depth--;
    if (token.kind === 'punct' && token.text === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
    } else {
      current += raw;
    }
  }
  if (current.trim() !== '') parts.push(current.trim());
  return parts;
}

/** An item of a select list: its expression and the name of its result column. */
export function selectItem(text: string, index: number): { expr: string; name: string } {
  const aliased = /^(.*\S)\s+AS\s+(`[^`]+`|"[^"]+"|[A-Za-z_][A-Za-z0-9_$]*)$/is.exec(text);
  if (aliased) return { expr: aliased[1]!, name: aliased[2]!.replace(/^[`"]|[`"]$/g, '') };
  const bare = /^(`[^`]+`|[A-Za-z_][A-Za-z0-9_$]*)$/.exec(text.trim());
  if (bare && !KEYWORDS.has(bare[1]!.toUpperCase())) return { expr: text, name: bare[1]!.replace(/^`|`$/g, '') };
  return { expr: text, name: `_c${index}` };
}

/** The type DuckDB gives an expression over the stage's input, for the rewrites that depend on it. */
export type TypeOf = (sql: string) => Promise<string>;

const INTEGER_TYPES = new Set(['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT']);
const INTEGER_TARGETS = /^(TINYINT|SMALLINT|INT|INTEGER|BIGINT)$/i;

/** Flink expression text as DuckDB SQL; `typeOf` answers what type a sub-expression has. */
export async function toDuckdbSql(text: string, typeOf: TypeOf): Promise<string> {
  const tokens = tokenize(text);
  let out = '';
  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i]!;
    if (token.kind === 'quoted') { out += `"${token.text.replaceAll('"', '""')}"`; i++; continue; }
    if (token.kind !== 'word' || nextSolid(tokens, i)?.text !== '(') { out += token.text; i++; continue; }
    const open = tokens.indexOf(nextSolid(tokens, i)!, i);
    const close = matching(tokens, open);
    const inner = tokens.slice(open + 1, close).map((t) => (t.kind === 'quoted' ? `\`${t.text}\`` : t.text)).join('');
    const upper = token.text.toUpperCase();
    if (upper === 'OVER') {
      // A window no call owns: what follows a rewritten call is consumed with it below.
      throw new ExpressionError('EXPRESSION_SYNTAX', `OVER must follow a function call in "${text}"`, { expression: text });
    }
    const args = async () => Promise.all(splitTopLevel(inner).map((a) => toDuckdbSql(a, typeOf)));
    // `f(x) OVER (spec)`: each aggregate call the rewrites below write gets the window.
    const overToken = nextSolid(tokens, close);
    let over = '';
    let end = close;
    if (overToken?.kind === 'word' && overToken.text.toUpperCase() === 'OVER' && nextSolid(tokens, tokens.indexOf(overToken, close))?.text === '(') {
      const overOpen = tokens.indexOf(nextSolid(tokens, tokens.indexOf(overToken, close))!, close);
      end = matching(tokens, overOpen);
      const spec = tokens.slice(overOpen + 1, end).map((t) => (t.kind === 'quoted' ? `\`${t.text}\`` : t.text)).join('');
      over = ` OVER (${await toDuckdbSql(spec, typeOf)})`;
    }
    const agg = (call: string) => `${call}${over}`;
    if (upper === 'CONCAT') {
      // Flink: NULL if any argument is NULL (DuckDB's concat skips NULLs; || does not).
      out += `(${(await args()).map((a) => `CAST(${a} AS VARCHAR)`).join(' || ')})`;
    } else if (upper === 'CAST' || upper === 'TRY_CAST') {
      const m = /^(.*)\s+AS\s+(.+)$/is.exec(inner);
      if (m && INTEGER_TARGETS.test(m[2]!.trim())) {
        const operand = await toDuckdbSql(m[1]!, typeOf);
        const type = await typeOf(operand);
        // Flink truncates toward zero where DuckDB rounds.
        const exact = /^(DECIMAL|DOUBLE|FLOAT)/.test(type) ? `trunc(${operand})` : operand;
        out += `${upper}(${exact} AS ${m[2]!.trim()})`;
      } else {
        out += `${upper}(${m ? `${await toDuckdbSql(m[1]!, typeOf)} AS ${m[2]!.trim()}` : inner})`;
      }
    } else if (upper === 'DATE_FORMAT' || upper === 'TO_DATE' || upper === 'TO_TIMESTAMP') {
      const [value, format] = await args();
      const pattern = format ?? (upper === 'TO_DATE' ? "'yyyy-MM-dd'" : "'yyyy-MM-dd HH:mm:ss'");
      if (!/^'.*'$/s.test(pattern)) throw new ExpressionError('EXPRESSION_SYNTAX', `${token.text}: the format must be a string literal in "${text}"`, { expression: text });
      const strf = `'${javaFormatToStrftime(pattern.slice(1, -1))}'`;
      // Flink: NULL for a string the pattern does not parse.
      if (upper === 'DATE_FORMAT') out += `strftime(CAST(${value} AS TIMESTAMP), ${strf})`;
      else if (upper === 'TO_DATE') out += `CAST(try_strptime(${value}, ${strf}) AS DATE)`;
      else out += `CAST(try_strptime(${value}, ${strf}) AS TIMESTAMP)`;
    } else if (upper === 'AVG') {
      const [arg] = await args();
      const type = await typeOf(arg!);
      // Flink's AVG of integers is integer division of the sum by the count, in the argument's type.
      const decimal = /^DECIMAL\((\d+),(\d+)\)$/.exec(type.replace(/\s/g, ''));
      if (INTEGER_TYPES.has(type)) {
        out += `CAST(${agg(`sum(${arg})`)} / ${agg(`count(${arg})`)} AS ${type === 'HUGEINT' ? 'BIGINT' : type})`;
      } else if (decimal) {
        // Flink: DECIMAL(38, max(6, s)), the quotient rounded half up; DuckDB's avg gives a DOUBLE.
        const scale = Math.max(6, Number(decimal[2]));
        const unscaled = `CAST(${agg(`sum(${arg})`)} * 1${'0'.repeat(scale)} AS HUGEINT)`;
        const count = agg(`count(${arg})`);
        out += `(CAST((2 * ${unscaled} + sign(${unscaled}) * ${count}) / (2 * ${count}) AS HUGEINT) * 0.${'0'.repeat(scale - 1)}1)`;
      } else {
        out += agg(`avg(${arg})`);
      }
    } else if (VARIANCES.has(upper)) {
      const [arg] = await args();
      out += variance(upper, arg!, await typeOf(arg!), agg);
    } else if (upper === 'ROUND') {
      const [x, digits] = await args();
      out += await round(x!, digits, typeOf);
    } else if (upper === 'REGEXP_EXTRACT') {
      const [s, pattern, group] = await args();
      out += `flink_regexp_extract(${s}, ${pattern}, ${group ?? '0'})`;
    } else if (upper === 'MOD') {
      const [a, b] = await args();
      // Flink (Java's %): a division by zero fails the job (DuckDB: NULL).
      out += `CASE WHEN ${b} = 0 AND ${a} IS NOT NULL THEN error('Out of Range: MOD(' || CAST(${a} AS VARCHAR) || ', 0) divides by zero') ELSE mod(${a}, ${b}) END`;
    } else if (upper === 'SUM') {
      const [arg] = await args();
      const type = await typeOf(arg!);
      // Flink's SUM of integers keeps the argument's type and wraps around past it, as Java's int arithmetic does.
      out += INTEGER_TYPES.has(type) && type !== 'HUGEINT' ? wrapInteger(agg(`sum(${arg})`), type) : agg(`sum(${arg})`);
    } else if (upper === 'CHAR_LENGTH' || upper === 'CHARACTER_LENGTH' || upper === 'POSITION') {
      // Flink: INT (DuckDB: BIGINT).
      // POSITION(a IN b), or POSITION(a, b) as SQL hands it on.
      const parts = splitTopLevel(inner);
      const position = parts.length === 2 ? `${await toDuckdbSql(parts[0]!, typeOf)} IN ${await toDuckdbSql(parts[1]!, typeOf)}` : await toDuckdbSql(inner, typeOf);
      const call = upper === 'POSITION' ? `position(${position})` : `length(${(await args()).join(', ')})`;
      out += `CAST(${call} AS INTEGER)`;
    } else if (upper === 'SIGN') {
      const [arg] = await args();
      const type = await typeOf(arg!);
      // Flink: the argument's type (DuckDB: TINYINT).
      out += `CAST(sign(${arg}) AS ${type})`;
    } else if (upper === 'CARDINALITY') {
      const [arg] = await args();
      // Flink: INT, of an ARRAY or a MAP.
      out += `CAST(${(await typeOf(arg!)).endsWith('[]') ? 'len' : 'cardinality'}(${arg}) AS INTEGER)`;
    } else if (upper === 'TRUNCATE') {
      out += `trunc(${(await args()).join(', ')})`;
    } else if (upper === 'TIMESTAMPADD') {
      const [quotedUnit, n, t] = splitTopLevel(inner);
      const unit = timeUnit(quotedUnit!, text);
      const point = await toDuckdbSql(t!, typeOf);
      const sum = `(${point} + INTERVAL (${await toDuckdbSql(n!, typeOf)}) ${unit})`;
      // Flink: a DATE plus days, weeks, months, quarters or years is a DATE (DuckDB: a TIMESTAMP).
      const dateUnit = /^(DAY|WEEK|MONTH|QUARTER|YEAR)$/i.test(unit);
      out += dateUnit && (await typeOf(point)) === 'DATE' ? `CAST(${sum} AS DATE)` : sum;
    } else if (upper === 'TIMESTAMPDIFF') {
      const [quotedUnit, a, b] = splitTopLevel(inner);
      const unit = timeUnit(quotedUnit!, text);
      // Flink counts whole units elapsed, as DuckDB's date_sub does (date_diff counts boundaries crossed).
      out += `CAST(date_sub('${unit.toLowerCase()}', ${await toDuckdbSql(a!, typeOf)}, ${await toDuckdbSql(b!, typeOf)}) AS INTEGER)`;
    } else if (upper === 'EXTRACT' || upper === 'POSITION' || upper === 'TRIM' || upper === 'SUBSTRING') {
      // Keyword forms (EXTRACT(YEAR FROM d), POSITION(a IN b), ...) DuckDB reads as Flink writes them.
      out += `${token.text}(${await toDuckdbSql(inner, typeOf)})`;
    } else {
      out += agg(`${RENAMED[upper] ?? token.text}(${(await args()).join(', ')})`);
    }
    i = end + 1;
  }
  return out;
}

/** A time unit as SQL hands it on (`'YEAR'`, which its parser reads where `YEAR` would not parse) or as written. */
function timeUnit(text: string, expression: string): string {
  const unit = text.trim().replace(/^'(\w+)'$/, '$1');
  if (!/^(SECOND|MINUTE|HOUR|DAY|WEEK|MONTH|QUARTER|YEAR)$/i.test(unit)) {
    throw new ExpressionError('EXPRESSION_SYNTAX', `"${text.trim()}" is not a time unit (SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER, YEAR) in "${expression}"`, { expression });
  }
  return unit;
}

const VARIANCES = new Set(['STDDEV_POP', 'STDDEV_SAMP', 'VAR_POP', 'VAR_SAMP']);

/**
 * Flink's variances and standard deviations, which its planner reduces to
 * sums (Calcite's AggregateReduceFunctionsRule) in the argument's type: of
 * integers, an integer computed in integer division; of a FLOAT, a FLOAT; of
 * DECIMAL(p, s), DECIMAL(38, max(6, s)). DuckDB gives a DOUBLE.
 */
function variance(name: string, arg: string, type: string, agg: (call: string) => string): string {
  const sample = name.endsWith('_SAMP');
  const root = name.startsWith('STDDEV');
  if (INTEGER_TYPES.has(type)) {
    const sum = agg(`sum(${arg})`);
    const count = agg(`count(${arg})`);
    // (SUM(x * x) - SUM(x) * SUM(x) / COUNT(x)) / COUNT(x), or / (COUNT(x) - 1), NULL for one row.
    const spread = `(${agg(`sum(CAST(${arg} AS HUGEINT) * ${arg})`)} - (CAST(${sum} AS HUGEINT) * ${sum}) // ${count})`;
    const quotient = `(${spread} // ${sample ? `nullif(${count} - 1, 0)` : count})`;
    const target = type === 'HUGEINT' ? 'BIGINT' : type;
    return root ? `CAST(trunc(sqrt(CAST(${quotient} AS DOUBLE))) AS ${target})` : `CAST(${quotient} AS ${target})`;
  }
  const call = agg(`${name.toLowerCase()}(${arg})`);
  const decimal = /^DECIMAL\((\d+),(\d+)\)$/.exec(type.replace(/\s/g, ''));
  if (decimal) return `CAST(${call} AS DECIMAL(38, ${Math.max(6, Number(decimal[2]))}))`;
  return type === 'FLOAT' ? `CAST(${call} AS FLOAT)` : call;
}

/**
 * Flink's ROUND rounds half up (away from zero), a DOUBLE as the decimal
 * Java prints for it (BigDecimal.valueOf): ROUND(0.285, 2) is 0.29, where
 * DuckDB's binary arithmetic gives 0.28. A DOUBLE too large for DECIMAL(38, 18),
 * or digits other than a literal 0 to 17, take DuckDB's round.
 */
async function round(x: string, digits: string | undefined, typeOf: TypeOf): Promise<string> {
  const type = await typeOf(x);
  const n = digits === undefined ? 0 : /^\s*\d+\s*$/.test(digits) ? Number(digits) : null;
  if ((type !== 'DOUBLE' && type !== 'FLOAT') || n === null || n > 17) return `round(${x}${digits === undefined ? '' : `, ${digits}`})`;
  const exact = `round(CAST(CAST(${x} AS VARCHAR) AS DECIMAL(38, 18)), ${n})`;
  return `CASE WHEN abs(${x}) < 1e19 THEN CAST(${exact} AS ${type}) ELSE round(${x}, ${n}) END`;
}

const INTEGER_BITS: Readonly<Record<string, number>> = { TINYINT: 8, SMALLINT: 16, INTEGER: 32, BIGINT: 64 };

/** An integer expression (of any width DuckDB computes it in) wrapped around into `type`, as Java's fixed-width arithmetic does. */
export function wrapInteger(sql: string, type: string): string {
  const bits = INTEGER_BITS[type]!;
  const full = `CAST('${(1n << BigInt(bits)).toString()}' AS HUGEINT)`;
  const half = `CAST('${(1n << BigInt(bits - 1)).toString()}' AS HUGEINT)`;
  return `CAST((((CAST(${sql} AS HUGEINT) + ${half}) % ${full} + ${full}) % ${full} - ${half}) AS ${type})`;
}

function matching(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (tokens[i]!.kind !== 'punct') continue;
    if (tokens[i]!.text === '(') depth++;
    if (tokens[i]!.text === ')' && --depth === 0) return i;
  }
  throw new ExpressionError('EXPRESSION_SYNTAX', 'unbalanced parentheses', { expression: tokens.map((t) => t.text).join('') });
}

/** Flink's (Java's SimpleDateFormat) date patterns as strftime ones. */
function javaFormatToStrftime(pattern: string): string {
  return pattern.replace(/yyyy|MM|dd|HH|mm|ss|SSS/g, (p) => ({ yyyy: '%Y', MM: '%m', dd: '%d', HH: '%H', mm: '%M', ss: '%S', SSS: '%g' })[p]!);
}

const BUILTIN_SYNTAX = /\b(CASE|CAST|TRY_CAST|BETWEEN|IN|LIKE|DISTINCT|INTERVAL|EXTRACT|POSITION|TRIM|OVER|CURRENT_DATE|CURRENT_TIMESTAMP)\b|\b(DATE|TIMESTAMP|TIME)\s*'|\|\||\bIS\s+(NOT\s+)?(TRUE|FALSE|DISTINCT)\b/i;

/** Whether an expression uses SQL the engine evaluates: a built-in function not shadowed by a Python one, or built-in syntax. */
export function usesBuiltinSql(text: string, functions: readonly string[]): boolean {
  const python = functions.map((f) => f.toLowerCase());
  let masked: string;
  try {
    masked = tokenize(text).map((t) => (t.kind === 'string' ? (t.text.length > 0 ? `'s'` : t.text) : t.kind === 'quoted' ? 'q' : t.text)).join('');
  } catch {
    return false;
  }
  if (BUILTIN_SYNTAX.test(masked)) return true;
  return calledNames(text).some((n) => FLINK_BUILTINS.includes(n.toUpperCase()) && !python.includes(n.toLowerCase()));
}

/** A Python call cut out of an expression: its function, its argument expressions, and the column standing for its result. */
export interface PythonCallSite { readonly name: string; readonly args: readonly string[]; readonly column: string }

/**
 * Cuts the innermost Python calls (those with no Python call in their
 * arguments) out of an expression, as Flink's planner splits a PythonCalc
 * from the calc around it: each call is replaced by a column named
 * `column(i)`; its arguments may use built-in SQL, evaluated before it.
 */
export function cutPythonCalls(text: string, functions: readonly string[], column: (i: number) => string): { calls: PythonCallSite[]; rest: string } {
  const python = functions.map((f) => f.toLowerCase());
  const tokens = tokenize(text);
  const render = (t: Token) => (t.kind === 'quoted' ? `\`${t.text}\`` : t.text);
  const calls: PythonCallSite[] = [];
  let rest = '';
  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i]!;
    const next = nextSolid(tokens, i);
    if (token.kind === 'word' && next?.text === '(' && python.includes(token.text.toLowerCase())) {
      const open = tokens.indexOf(next, i);
      const close = matching(tokens, open);
      const inner = tokens.slice(open + 1, close);
      const nested = inner.some((t, j) => t.kind === 'word' && python.includes(t.text.toLowerCase()) && nextSolid(inner, j)?.text === '(');
      if (!nested) {
        const name = column(calls.length);
        calls.push({ name: token.text, args: splitTopLevel(inner.map(render).join('')), column: name });
        rest += `\`${name}\``;
        i = close + 1;
        continue;
      }
    }
    rest += render(token);
    i++;
  }
  return { calls, rest };
}

/** The functions an expression calls that are neither built-in nor registered. */
export function unknownFunctions(text: string, functions: readonly string[]): string[] {
  const python = functions.map((f) => f.toLowerCase());
  return calledNames(text).filter((n) => !FLINK_BUILTINS.includes(n.toUpperCase()) && !KEYWORDS.has(n.toUpperCase()) && !python.includes(n.toLowerCase()));
}

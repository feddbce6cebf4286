// Flink's built-in functions, each through SQL (executeSql) and through a Table
// API expression string (select / groupBy().select()), with the exact value and
// JS type Flink's result type gives, and what a NULL argument gives. One
// environment for the file: built-ins run in the engine and start no worker,
// except the one Python function that shadows a built-in's name.
import { DataTypes, TableEnvironment, udf, type Row } from '../../src/index.js';
import { closedAfterAll, isolateTempRoot } from '../support.js';

const tempRoot = isolateTempRoot();

describe('built-in functions', () => {
  const tEnv = closedAfterAll(TableEnvironment.create({ parallelism: 1 }), tempRoot);

  /** One row: i = -7, n an INT NULL, s = 'hello wORLD', ns a STRING NULL, d = 2.5, nd a DOUBLE NULL. */
  const one = () => tEnv.fromElements([[-7, null, 'hello wORLD', null, 2.5, null]],
    { i: DataTypes.INT(), n: DataTypes.INT(), s: DataTypes.STRING(), ns: DataTypes.STRING(), d: DataTypes.DOUBLE(), nd: DataTypes.DOUBLE() });

  /** Groups: 'a' of five rows, 'b' of one, 'c' of one whose values are all NULL. */
  const groups = () => tEnv.fromElements([
    ['a', 1, 1.0, 'x', '1.50'], ['a', 2, 2.0, 'y', '2.25'], ['a', 3, 3.0, 'x', null], ['a', 4, 4.0, null, '1.00'], ['a', 10, 10.0, 'z', '0.25'],
    ['b', 5, 5.0, null, '3.00'],
    ['c', null, null, null, null],
  ], { k: DataTypes.STRING(), i: DataTypes.INT(), d: DataTypes.DOUBLE(), s: DataTypes.STRING(), m: DataTypes.DECIMAL(5, 2) });

  beforeAll(() => {
    tEnv.createTemporaryView('t', one());
    tEnv.createTemporaryView('g', groups());
  });

  type Cases = Readonly<Record<string, readonly [expression: string, expected: unknown]>>;

  /** The select list of the cases, each named `v_<name>` (a name like `ln` is a reserved word). */
  const selectList = (cases: Cases) => Object.entries(cases).map(([name, [expression]]) => `${expression} AS v_${name}`).join(', ');
  const named = (row: Row) => Object.fromEntries(Object.entries(row).map(([column, value]) => [column.replace(/^v_/, ''), value]));

  /** Each case's expression in one query through SQL and one through the Table API: both rows, and the expected one. */
  async function scalars(cases: Cases): Promise<{ sql: Row; api: Row; expected: Row }> {
    const [sql] = await (await tEnv.executeSql(`SELECT ${selectList(cases)} FROM t`)).collect();
    const [api] = await one().select(selectList(cases)).execute().collect();
    return { sql: named(sql!), api: named(api!), expected: Object.fromEntries(Object.entries(cases).map(([name, [, value]]) => [name, value])) as Row };
  }

  /** Each case's aggregate per group (a, b, c), through SQL's GROUP BY and through groupBy().select(). */
  async function aggregates(cases: Cases): Promise<{ sql: Row[]; api: Row[]; expected: Row[] }> {
    const sql = await (await tEnv.executeSql(`SELECT k, ${selectList(cases)} FROM g GROUP BY k ORDER BY k`)).collect();
    const api = await groups().groupBy('k').select(`k, ${selectList(cases)}`).orderBy('k').execute().collect();
    const expected = ['a', 'b', 'c'].map((k, row) => ({ k, ...Object.fromEntries(Object.entries(cases).map(([name, [, values]]) => [name, (values as unknown[])[row]])) }) as Row);
    return { sql: sql.map(named), api: api.map(named), expected };
  }

  describe('aggregate functions', () => {
    test('COUNT, SUM, AVG, MIN, MAX: BIGINT counts, the argument type kept, NULL over no values', async () => {
      const { sql, api, expected } = await aggregates({
        n: ['COUNT(*)', [5n, 1n, 1n]],
        c: ['COUNT(i)', [5n, 1n, 0n]],
        cd: ['COUNT(DISTINCT s)', [3n, 0n, 0n]],
        si: ['SUM(i)', [20, 5, null]],
        sm: ['SUM(m)', ['5.00', '3.00', null]],
        ai: ['AVG(i)', [4, 5, null]],
        ad: ['AVG(d)', [4, 5, null]],
        am: ['AVG(m)', ['1.250000', '3.000000', null]],
        lo: ['MIN(s)', ['x', null, null]],
        hi: ['MAX(d)', [10, 5, null]],
      });
      expect(sql).toEqual(expected);
      expect(api).toEqual(expected);
    });

    test('STDDEV_POP, STDDEV_SAMP, VAR_POP, VAR_SAMP in the argument type: integers in integer division, DECIMAL as DECIMAL(38, 6), NULL for a sample of one', async () => {
      // Integers 1, 2, 3, 4, 10: (130 - 20 * 20 / 5) = 50, / 5 = 10, / 4 = 12 (12.5 truncated); their roots truncated to 3.
      const { sql, api, expected } = await aggregates({
        vpi: ['VAR_POP(i)', [10, 0, null]],
        vsi: ['VAR_SAMP(i)', [12, null, null]],
        spi: ['STDDEV_POP(i)', [3, 0, null]],
        ssi: ['STDDEV_SAMP(i)', [3, null, null]],
        vpd: ['VAR_POP(d)', [10, 0, null]],
        vsd: ['VAR_SAMP(d)', [12.5, null, null]],
        vpm: ['VAR_POP(m)', ['0.531250', '0.000000', null]],
        vsm: ['VAR_SAMP(m)', ['0.708333', null, null]],
      });
      expect(sql).toEqual(expected);
      expect(api).toEqual(expected);
      const rows = await (await tEnv.executeSql('SELECT STDDEV_POP(d) AS p, STDDEV_SAMP(d) AS s FROM g WHERE k = \'a\'')).collect();
      expect(rows[0]!.p).toBeCloseTo(Math.sqrt(10), 12);
      expect(rows[0]!.s).toBeCloseTo(Math.sqrt(12.5), 12);
    });

    test('LISTAGG joins the non-NULL values with "," or the separator given; NULL when there are none', async () => {
      const { sql, api, expected } = await aggregates({
        l: ['LISTAGG(s)', ['x,y,x,z', null, null]],
        ls: ["LISTAGG(s, '; ')", ['x; y; x; z', null, null]],
      });
      expect(sql).toEqual(expected);
      expect(api).toEqual(expected);
    });
  });

  describe('scalar functions, in SQL and in Table API expressions alike', () => {
    test('conditionals and predicates: CASE, COALESCE, NULLIF, IF, IN, BETWEEN, LIKE, IS [NOT] DISTINCT FROM', async () => {
      const { sql, api, expected } = await scalars({
        cw: ["CASE WHEN i < 0 THEN 'neg' ELSE 'pos' END", 'neg'],
        cn: ["CASE n WHEN 1 THEN 'one' END", null],
        co: ['COALESCE(ns, s)', 'hello wORLD'],
        co0: ['COALESCE(n, 0)', 0],
        ni: ['NULLIF(i, -7)', null],
        ni2: ['NULLIF(i, 0)', -7],
        f: ["IF(i < 0, 'neg', 'pos')", 'neg'],
        fn: ["IF(n > 0, 'yes', 'no')", 'no'],
        inn: ['i IN (1, -7)', true],
        inl: ['n IN (1, 2)', null],
        inm: ['i IN (1, n)', null],
        bt: ['i BETWEEN -10 AND 0', true],
        btn: ['n BETWEEN 0 AND 1', null],
        lk: ["s LIKE 'hel%'", true],
        lk1: ["s LIKE 'h_llo%'", true],
        lkn: ["ns LIKE '%'", null],
        df: ['n IS DISTINCT FROM NULL', false],
        df2: ['i IS DISTINCT FROM n', true],
        nd: ['n IS NOT DISTINCT FROM NULL', true],
      });
      expect(sql).toEqual(expected);
      expect(api).toEqual(expected);
    });

    test('CAST and TRY_CAST: integers truncate, TRY_CAST gives NULL where CAST fails', async () => {
      const { sql, api, expected } = await scalars({
        cs: ['CAST(i AS STRING)', '-7'],
        ci: ["CAST('42' AS INT)", 42],
        cb: ["CAST('42' AS BIGINT)", 42n],
        cd: ['CAST(d AS INT)', 2],
        ct: ['CAST(-2.7 AS INT)', -2],
        cf: ['CAST(i AS DOUBLE)', -7],
        cm: ['CAST(d AS DECIMAL(5, 2))', '2.50'],
        cdt: ["CAST('2024-02-29' AS DATE)", '2024-02-29'],
        cn: ['CAST(n AS STRING)', null],
        ta: ["TRY_CAST('abc' AS INT)", null],
        tb: ["TRY_CAST('12' AS INT)", 12],
        tn: ['TRY_CAST(ns AS INT)', null],
      });
      expect(sql).toEqual(expected);
      expect(api).toEqual(expected);
      const failed = { code: 'EXPRESSION_TYPE', message: expect.stringContaining("Could not convert string 'abc'") };
      await expect(tEnv.executeSql("SELECT CAST('abc' AS INT) AS x FROM t").then((r) => r.collect())).rejects.toMatchObject(failed);
      await expect(one().select("CAST('abc' AS INT) AS x").execute().collect()).rejects.toMatchObject(failed);
    });

    test('strings: UPPER, LOWER, CHAR_LENGTH, SUBSTRING, TRIM, CONCAT, ||, REPLACE, REGEXP_EXTRACT, LPAD, RPAD, INITCAP, POSITION, SPLIT_INDEX', async () => {
      const { sql, api, expected } = await scalars({
        up: ['UPPER(s)', 'HELLO WORLD'],
        upn: ['UPPER(ns)', null],
        lo: ['LOWER(s)', 'hello world'],
        len: ['CHAR_LENGTH(s)', 11],
        lenu: ["CHAR_LENGTH('héllo€')", 6],
        lenn: ['CHAR_LENGTH(ns)', null],
        sub: ['SUBSTRING(s, 1, 5)', 'hello'],
        sub2: ['SUBSTRING(s, 7)', 'wORLD'],
        sub3: ['SUBSTRING(s FROM 2 FOR 3)', 'ell'],
        subn: ['SUBSTRING(ns, 1, 2)', null],
        tr: ["TRIM('  a  ')", 'a'],
        trl: ["TRIM(LEADING 'x' FROM 'xxaxx')", 'axx'],
        trn: ['TRIM(ns)', null],
        cc: ["CONCAT('a', 'b', 'c')", 'abc'],
        ccn: ["CONCAT('a', ns)", null],
        pp: ["'a' || 'b'", 'ab'],
        ppn: ['s || ns', null],
        re: ["REPLACE(s, 'l', 'L')", 'heLLo wORLD'],
        ren: ["REPLACE(ns, 'a', 'b')", null],
        rx: ["REGEXP_EXTRACT('foo123bar', '([a-z]+)([0-9]+)', 2)", '123'],
        rx0: ["REGEXP_EXTRACT('foo123', '[0-9]+')", '123'],
        rxn: ["REGEXP_EXTRACT('foo', '([0-9]+)', 1)", null],
        lp: ["LPAD('hi', 4, '??')", '??hi'],
        lp1: ["LPAD('hi', 1, '?')", 'h'],
        rp: ["RPAD('hi', 5, 'xy')", 'hixyx'],
        lpm: ["LPAD('hi', -1, '?')", null],
        rpn: ["RPAD(ns, 3, 'x')", null],
        ic: ['INITCAP(s)', 'Hello World'],
        icw: ["INITCAP('foo-bar baz_qux 1st')", 'Foo-Bar Baz_Qux 1st'],
        icn: ['INITCAP(ns)', null],
        po: ["POSITION('l' IN s)", 3],
        po0: ["POSITION('z' IN s)", 0],
        pon: ['POSITION(ns IN s)', null],
        sp: ["SPLIT_INDEX('a,b,c', ',', 1)", 'b'],
        spo: ["SPLIT_INDEX('a,b,c', ',', 3)", null],
        spn: ["SPLIT_INDEX(ns, ',', 0)", null],
      });
      expect(sql).toEqual(expected);
      expect(api).toEqual(expected);
    });

    test('math: ABS, ROUND (half up), FLOOR, CEIL, MOD (sign of the dividend), POWER, SQRT, LN, LOG10, EXP', async () => {
      const { sql, api, expected } = await scalars({
        ab: ['ABS(i)', 7],
        abn: ['ABS(n)', null],
        abm: ['ABS(-2.5)', '2.5'],
        r: ['ROUND(2.5)', '3'],
        rm: ['ROUND(-2.5)', '-3'],
        rd: ['ROUND(d)', 3],
        rdm: ['ROUND(-d)', -3],
        rd2: ['ROUND(CAST(0.285 AS DOUBLE), 2)', 0.29],
        rm2: ['ROUND(2.345, 2)', '2.35'],
        ri: ['ROUND(1250, -2)', 1300],
        rn: ['ROUND(nd)', null],
        fl: ['FLOOR(-2.5)', '-3'],
        fld: ['FLOOR(d)', 2],
        ce: ['CEIL(d)', 3],
        ce2: ['CEIL(2.1)', '3'],
        fln: ['FLOOR(nd)', null],
        md: ['MOD(i, 3)', -1],
        md2: ['MOD(7, -3)', 1],
        mdn: ['MOD(n, 3)', null],
        pw: ['POWER(2, 10)', 1024],
        pwd: ['POWER(d, 2)', 6.25],
        pwn: ['POWER(n, 2)', null],
        sq: ['SQRT(16)', 4],
        sqm: ['SQRT(-1)', NaN],
        sqn: ['SQRT(nd)', null],
        ln: ['LN(1)', 0],
        ln0: ['LN(0)', -Infinity],
        lg: ['LOG10(1000)', 3],
        lgn: ['LOG10(n)', null],
        ex: ['EXP(0)', 1],
        exn: ['EXP(nd)', null],
      });
      expect(sql).toEqual(expected);
      expect(api).toEqual(expected);
      const byZero = { code: 'ARITHMETIC', message: expect.stringContaining('MOD(-7, 0) divides by zero') };
      await expect(tEnv.executeSql('SELECT MOD(i, 0) AS x FROM t').then((r) => r.collect())).rejects.toMatchObject(byZero);
      await expect(one().select('MOD(i, 0) AS x').execute().collect()).rejects.toMatchObject(byZero);
    });

    test('time: literals, EXTRACT, YEAR, DATE_FORMAT, TO_DATE, TO_TIMESTAMP (NULL where the pattern does not parse), TIMESTAMPADD, TIMESTAMPDIFF', async () => {
      const { sql, api, expected } = await scalars({
        dl: ["DATE '2024-02-29'", '2024-02-29'],
        tl: ["TIMESTAMP '2024-02-29 13:45:30'", '2024-02-29T13:45:30.000000'],
        ey: ["EXTRACT(YEAR FROM DATE '2024-02-29')", 2024n],
        eh: ["EXTRACT(HOUR FROM TIMESTAMP '2024-02-29 13:45:30')", 13n],
        y: ["YEAR(DATE '2024-02-29')", 2024n],
        yn: ['YEAR(CAST(ns AS DATE))', null],
        df: ["DATE_FORMAT(TIMESTAMP '2024-02-29 13:45:30', 'yyyy/MM/dd HH:mm')", '2024/02/29 13:45'],
        dfn: ["DATE_FORMAT(CAST(ns AS TIMESTAMP), 'yyyy')", null],
        td: ["TO_DATE('2024-02-29')", '2024-02-29'],
        tdf: ["TO_DATE('29.02.2024', 'dd.MM.yyyy')", '2024-02-29'],
        tdx: ["TO_DATE('garbage')", null],
        tdn: ['TO_DATE(ns)', null],
        ts: ["TO_TIMESTAMP('2024-02-29 13:45:30')", '2024-02-29T13:45:30.000000'],
        tsx: ["TO_TIMESTAMP('bad')", null],
        am: ["TIMESTAMPADD(MONTH, 1, DATE '2024-01-31')", '2024-02-29'],
        ah: ["TIMESTAMPADD(HOUR, 2, TIMESTAMP '2024-02-29 23:00:00')", '2024-03-01T01:00:00.000000'],
        an: ["TIMESTAMPADD(DAY, n, DATE '2024-01-01')", null],
        dd: ["TIMESTAMPDIFF(DAY, DATE '2024-02-01', DATE '2024-03-01')", 29],
        dy: ["TIMESTAMPDIFF(YEAR, DATE '2023-03-01', DATE '2024-02-29')", 0],
        dn: ["TIMESTAMPDIFF(DAY, CAST(ns AS DATE), DATE '2024-01-01')", null],
      });
      expect(sql).toEqual(expected);
      expect(api).toEqual(expected);
    });

    test('CURRENT_DATE and CURRENT_TIMESTAMP, alone in a select list', async () => {
      const before = new Date().toISOString().slice(0, 10);
      const [sql] = await (await tEnv.executeSql('SELECT CURRENT_DATE AS today, CURRENT_TIMESTAMP AS now FROM t')).collect();
      const [api] = await one().select('CURRENT_DATE AS today').execute().collect();
      const after = new Date().toISOString().slice(0, 10);
      for (const row of [sql!, api!]) expect([before, after]).toContain(row.today);
      expect(String(sql!.now)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/);
    });
  });

  test('a Python function registered under a built-in name shadows it, in SQL and in the Table API', async () => {
    tEnv.createTemporarySystemFunction('UPPER', udf('lambda s: None if s is None else s[::-1]', [DataTypes.STRING()], DataTypes.STRING()));
    try {
      expect(await (await tEnv.executeSql('SELECT UPPER(s) AS r, LOWER(s) AS l FROM t')).collect()).toEqual([{ r: 'DLROw olleh', l: 'hello world' }]);
      expect(await one().select('upper(s) AS r').execute().collect()).toEqual([{ r: 'DLROw olleh' }]);
    } finally {
      tEnv.dropTemporarySystemFunction('UPPER');
    }
    expect(await one().select('UPPER(s) AS r').execute().collect()).toEqual([{ r: 'HELLO WORLD' }]);
  });
});

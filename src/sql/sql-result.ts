import { TableResult, type CollectedRows, type JobResult } from '../table/table.js';
import type { Row } from '../types/values.js';

/** PyFlink's ResultKind: a statement that only changed the catalog, or one with rows to read. */
export type ResultKind = 'SUCCESS' | 'SUCCESS_WITH_CONTENT';

/**
 * What `executeSql` gives: a SELECT's rows, run when asked for (`collect()`,
 * `for await`); the rows SHOW, DESCRIBE and EXPLAIN produce; or, for INSERT,
 * the finished job (`jobResult`), its sink already published.
 */
export class SqlTableResult extends TableResult {
  readonly resultKind: ResultKind;
  /** The result's column names. */
  readonly columns: readonly string[];
  /** For INSERT: the job that ran. */
  readonly jobResult: JobResult | null;

  constructor(
    parts: { resultKind: ResultKind; columns: readonly string[]; jobResult?: JobResult | null },
    source: TableResult | readonly Row[],
  ) {
    if (source instanceof TableResult) {
      super(
        async (): Promise<CollectedRows> => {
          const rows = await source.collect();
          return { rows, udfErrors: source.udfErrors ?? {}, skippedInputLines: source.skippedInputLines ?? {}, metrics: source.metrics ?? {} };
        },
        async () => ({ rows: await source.count(), metrics: source.metrics ?? {} }),
        () => source[Symbol.asyncIterator](),
        () => source.toArrow(),
      );
    } else {
      const rows = source;
      super(
        async () => ({ rows: rows.map((row) => ({ ...row })), udfErrors: {}, skippedInputLines: {}, metrics: {} }),
        async () => ({ rows: rows.length, metrics: {} }),
        async function* stream() { for (const row of rows) yield { ...row }; },
        async () => (await import('apache-arrow')).tableFromJSON(rows.map((row) => ({ ...row })) as Array<Record<string, unknown>>),
      );
    }
    this.resultKind = parts.resultKind;
    this.columns = Object.freeze([...parts.columns]);
    this.jobResult = parts.jobResult ?? null;
  }

  /**
   * PyFlink's habit after INSERT: `await result.wait()`. The statement's
   * promise has already waited for its job, so this resolves at once.
   */
  async wait(): Promise<void> {}
}

/** The one-row result of a statement that changed the catalog, as Flink prints it. */
export function okResult(): SqlTableResult {
  return new SqlTableResult({ resultKind: 'SUCCESS', columns: ['result'] }, [{ result: 'OK' }]);
}

import type { CsvFormatError } from '../errors.js';
import type { Logger } from '../logging.js';

/** Lines shown one by one before only the count goes on. */
const LOGGED_LINES = 10;

/** Input lines a table with ignoreParseErrors skipped in one job: counted per table, the first few logged. */
export class SkippedInput {
  readonly #logger: Logger;
  readonly #counts = new Map<string, number>();
  #logged = 0;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  skip(table: string, error: CsvFormatError): void {
    this.#counts.set(table, (this.#counts.get(table) ?? 0) + 1);
    if (this.#logged++ < LOGGED_LINES) {
      this.#logger.log({ level: 'warn', source: 'pyudf', message: `skipped ${error.message}${this.#logged === LOGGED_LINES ? ' (further skipped lines are only counted)' : ''}` });
    }
  }

  /** Blank lines of a table of several columns: no rows, but said, so that no line goes uncounted. */
  blankLines(table: string, file: string, count: number): void {
    this.#logger.log({ level: 'info', source: 'pyudf', message: `${file}: skipped ${count} blank line(s) of table ${table}` });
  }

  counts(): Readonly<Record<string, number>> {
    return Object.freeze(Object.fromEntries(this.#counts));
  }
}

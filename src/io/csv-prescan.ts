import fs from 'node:fs';

/** What a read of the whole file ahead of csv-parse tells it. */
export interface CsvPrescan {
  /** Whether the null literal may occur quoted: false only for a regular file in which it never does. */
  readonly quotesNullLiteral: boolean;
  /**
   * The record delimiter csv-parse would discover on its own, or null where
   * that is not certain (then csv-parse discovers it). Passing it spares
   * csv-parse its discovery, which allocates three buffers for every byte of
   * the first line: seconds for a first line of a few megabytes.
   */
  readonly recordDelimiter: string | null;
}

const SCAN_BYTES = 1 << 20;
const CR = 0x0d;
const LF = 0x0a;
const QUOTE = 0x22;

const isSpecial = (byte: number, delimiter: number) => byte === CR || byte === LF || byte === QUOTE || byte === delimiter;

/**
 * Reads `file` once, before csv-parse does. A file that is not a regular file
 * (a pipe, say) is not read: opening it would take a reader's place beside the
 * real one. Any failure answers "not known"; the reader then says what is wrong.
 */
export async function prescanCsv(file: string, options: { quoteCharacter: string; fieldDelimiter: string; nullLiteral: string }): Promise<CsvPrescan> {
  const unknown: CsvPrescan = { quotesNullLiteral: true, recordDelimiter: null };
  const needle = Buffer.from(options.quoteCharacter + options.nullLiteral + options.quoteCharacter);
  const finder = RecordDelimiterFinder.for(options.quoteCharacter, options.fieldDelimiter);
  let handle: fs.promises.FileHandle | null = null;
  try {
    if (!(await fs.promises.stat(file)).isFile()) return unknown;
    handle = await fs.promises.open(file, 'r');
    const chunk = Buffer.alloc(SCAN_BYTES + needle.length);
    let kept = 0;
    let quotesNullLiteral = false;
    for (;;) {
      const { bytesRead } = await handle.read(chunk, kept, SCAN_BYTES, null);
      if (bytesRead === 0) break;
      finder?.push(chunk.subarray(kept, kept + bytesRead));
      const filled = kept + bytesRead;
      if (!quotesNullLiteral && chunk.subarray(0, filled).includes(needle)) quotesNullLiteral = true;
      if (quotesNullLiteral && finder?.done !== false) return { quotesNullLiteral, recordDelimiter: finder?.end() ?? null };
      // The needle may straddle two reads: the tail of this one starts the next.
      kept = Math.min(needle.length - 1, filled);
      chunk.copy(chunk, 0, filled - kept, filled);
    }
    return { quotesNullLiteral, recordDelimiter: finder?.end() ?? null };
  } catch {
    return unknown;
  } finally {
    await handle?.close();
  }
}

/**
 * Follows csv-parse (quote `"`, which is also its escape) through a file's
 * first record to the first line break outside quotes: `\r\n`, `\n` or `\r`,
 * the one csv-parse would discover there. Gives up (null) wherever csv-parse
 * would report an error before reaching it: a quote inside an unquoted field,
 * or text after a closing quote.
 */
export class RecordDelimiterFinder {
  #state: 'field' | 'fieldStart' | 'quoted' | 'quoteInQuoted' | 'afterCr' = 'fieldStart';
  #found: string | null | undefined = undefined;

  private constructor(private readonly delimiter: number) {}

  /** A finder for these options, or none where they are not the simple case it follows. */
  static for(quoteCharacter: string, fieldDelimiter: string): RecordDelimiterFinder | null {
    if (quoteCharacter !== '"') return null;
    const delimiter = Buffer.from(fieldDelimiter);
    if (delimiter.length !== 1 || [CR, LF, QUOTE].includes(delimiter[0]!)) return null;
    return new RecordDelimiterFinder(delimiter[0]!);
  }

  /** Whether the answer is known. */
  get done(): boolean {
    return this.#found !== undefined;
  }

  push(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length && this.#found === undefined; i++) {
      // Quoted text and plain field text are skipped in bulk: a megabyte-long first field is common in this case.
      if (this.#state === 'quoted') {
        const quote = bytes.indexOf(QUOTE, i);
        if (quote < 0) return;
        i = quote;
      } else if (this.#state === 'field') {
        while (i < bytes.length && !isSpecial(bytes[i]!, this.delimiter)) i++;
        if (i === bytes.length) return;
      }
      this.#step(bytes[i]!);
    }
  }

  /** The answer at the end of the file. With no line break outside quotes, any delimiter parses the same. */
  end(): string | null {
    if (this.#found !== undefined) return this.#found;
    if (this.#state === 'afterCr') return '\r';
    return this.#state === 'quoted' ? null : '\n'; // an unclosed quote is csv-parse's error to report
  }

  #step(byte: number): void {
    switch (this.#state) {
      case 'afterCr':
        this.#found = byte === LF ? '\r\n' : '\r';
        return;
      case 'quoted':
        if (byte === QUOTE) this.#state = 'quoteInQuoted';
        return;
      case 'quoteInQuoted':
        // `""` is an escaped quote; a closing quote must be followed by a delimiter or a line break.
        if (byte === QUOTE) this.#state = 'quoted';
        else this.#outside(byte, true);
        return;
      default:
        this.#outside(byte, false);
    }
  }

  #outside(byte: number, afterClosingQuote: boolean): void {
    if (byte === CR) this.#state = 'afterCr';
    else if (byte === LF) this.#found = '\n';
    else if (byte === this.delimiter) this.#state = 'fieldStart';
    else if (afterClosingQuote) this.#found = null;
    else if (byte === QUOTE) {
      if (this.#state === 'fieldStart') this.#state = 'quoted';
      else this.#found = null;
    } else this.#state = 'field';
  }
}

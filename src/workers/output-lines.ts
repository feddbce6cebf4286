/** The longest line of a worker's output that is delivered whole; the rest of it is counted. */
export const MAX_OUTPUT_LINE_BYTES = 64 * 1024;

/**
 * Splits a byte stream into lines, holding at most `maxLineBytes` of a line
 * in memory: a function that writes hundreds of megabytes without a newline
 * costs the host one capped line, never a string it cannot hold. A cut line
 * is delivered with the number of bytes dropped from it.
 */
export class CappedLines {
  readonly #maxLineBytes: number;
  readonly #onLine: (line: string, droppedBytes: number) => void;
  #parts: Buffer[] = [];
  #held = 0;
  #dropped = 0;

  constructor(onLine: (line: string, droppedBytes: number) => void, maxLineBytes = MAX_OUTPUT_LINE_BYTES) {
    this.#onLine = onLine;
    this.#maxLineBytes = maxLineBytes;
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      this.#hold(chunk.subarray(start, end));
      if (newline === -1) return;
      this.#emit();
      start = newline + 1;
    }
  }

  /** Delivers a last line that ended without a newline. */
  end(): void {
    if (this.#held > 0 || this.#dropped > 0) this.#emit();
  }

  #hold(bytes: Buffer): void {
    const room = this.#maxLineBytes - this.#held;
    if (bytes.length <= room) {
      if (bytes.length > 0) this.#parts.push(Buffer.from(bytes));
      this.#held += bytes.length;
      return;
    }
    if (room > 0) this.#parts.push(Buffer.from(bytes.subarray(0, room)));
    this.#held += Math.max(0, room);
    this.#dropped += bytes.length - Math.max(0, room);
  }

  #emit(): void {
    let line = Buffer.concat(this.#parts).toString('utf8');
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const dropped = this.#dropped;
    this.#parts = [];
    this.#held = 0;
    this.#dropped = 0;
    this.#onLine(line, dropped);
  }
}

/** How a cut line reads in the log. */
export function withTruncation(line: string, droppedBytes: number): string {
  return droppedBytes === 0 ? line : `${line} [line truncated: ${droppedBytes} more bytes not shown]`;
}

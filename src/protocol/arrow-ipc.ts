import * as arrow from 'apache-arrow';

/**
 * An Arrow IPC stream as the writer produced it: small metadata pieces, and
 * the columns' own memory by reference. It is copied once, into the gRPC
 * message (see contract.ts), instead of being joined into one buffer first.
 */
export interface IpcPayload {
  readonly chunks: readonly Uint8Array[];
  readonly byteLength: number;
}

export interface EncodedArguments {
  /** One Arrow record batch (IPC stream format) holding each distinct column once. */
  readonly payload: IpcPayload;
  /** For each argument, its column in `payload`. */
  readonly argumentColumns: number[];
}

export function isIpcPayload(value: unknown): value is IpcPayload {
  return typeof value === 'object' && value !== null && Array.isArray((value as IpcPayload).chunks);
}

/** The payload as one buffer. */
export function joinPayload(payload: IpcPayload): Uint8Array {
  const out = new Uint8Array(payload.byteLength);
  let at = 0;
  for (const chunk of payload.chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** Keeps what the IPC writer writes as it comes, instead of queueing it for a joined read. */
class CollectingStreamWriter extends arrow.RecordBatchStreamWriter {
  readonly chunks: Uint8Array[] = [];

  protected override _write(chunk: ArrayBufferView | ArrayBuffer | ArrayLike<number> | Iterable<number>): this {
    if (!this._started) return this;
    const bytes = ArrayBuffer.isView(chunk)
      ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
      : chunk instanceof ArrayBuffer ? new Uint8Array(chunk) : Uint8Array.from(chunk as ArrayLike<number>);
    if (bytes.byteLength > 0) {
      this.chunks.push(bytes);
      this._position += bytes.byteLength;
    }
    return this;
  }
}

function writeIpc(table: arrow.Table): IpcPayload {
  const writer = new CollectingStreamWriter();
  writer.write(table);
  writer.finish();
  return { chunks: writer.chunks, byteLength: writer.chunks.reduce((sum, c) => sum + c.byteLength, 0) };
}

/**
 * The arguments of one call. A column passed twice (`f(a, a)`, or two
 * vectors over the same memory) is sent once: apache-arrow's IPC writer
 * writes a wrong body length for a batch holding the same buffer twice.
 */
export function encodeArguments(columns: readonly arrow.Vector[]): EncodedArguments {
  if (columns.length === 0) return { payload: { chunks: [], byteLength: 0 }, argumentColumns: [] };
  const distinct: arrow.Vector[] = [];
  const keys: string[] = [];
  const regions: Region[] = [];
  const argumentColumns = columns.map((column) => {
    const key = memoryKey(column);
    const found = key === null ? -1 : keys.indexOf(key);
    if (found >= 0) return found;
    const region = valuesRegion(column);
    // Overlapping (not identical) memory trips the same writer bug: such a column goes as a copy.
    const overlaps = region !== null && regions.some((r) => r.buffer === region.buffer && r.start < region.end && region.start < r.end);
    const sent = overlaps ? arrow.vectorFromArray([...column], column.type) as arrow.Vector : column;
    if (region !== null && !overlaps) regions.push(region);
    keys.push(key ?? `unique-${distinct.length}`);
    distinct.push(sent);
    return distinct.length - 1;
  });
  const children: Record<string, arrow.Vector> = {};
  distinct.forEach((column, i) => {
    children[`c${i}`] = column;
  });
  return { payload: writeIpc(new arrow.Table(children)), argumentColumns };
}

interface Region {
  readonly buffer: ArrayBufferLike;
  readonly start: number;
  readonly end: number;
}

function valuesRegion(column: arrow.Vector): Region | null {
  const values = column.data.length === 1 ? column.data[0]!.values as ArrayBufferView | undefined : undefined;
  if (!values || values.byteLength === 0) return null;
  return { buffer: values.buffer, start: values.byteOffset, end: values.byteOffset + values.byteLength };
}

const bufferIds = new WeakMap<ArrayBufferLike, number>();
let nextBufferId = 0;

function region(view: ArrayBufferView | undefined | null): string {
  if (!view || view.byteLength === 0) return '-';
  let id = bufferIds.get(view.buffer);
  if (id === undefined) {
    id = nextBufferId++;
    bufferIds.set(view.buffer, id);
  }
  return `${id}:${view.byteOffset}:${view.byteLength}`;
}

/** Which memory a single-chunk column's buffers occupy; null for columns not worth comparing. */
function memoryKey(column: arrow.Vector): string | null {
  if (column.data.length !== 1) return null;
  return dataKey(column.data[0]!);
}

/** A ROW column has no buffer of its own but its validity: its fields' memory tells it apart. */
function dataKey(data: arrow.Data): string {
  const own = `${String(data.type)}|${data.offset}|${data.length}|${region(data.values)}|${region(data.nullBitmap)}|${region(data.valueOffsets)}`;
  return data.children.length === 0 ? own : `${own}|(${data.children.map(dataKey).join(',')})`;
}

/** The columns of a worker's reply: a scalar function's single "result", a table function's rows; none for a reply without a batch. */
export function decodeColumns(bytes: Uint8Array): arrow.Vector[] {
  if (bytes.length === 0) return [];
  const table = arrow.tableFromIPC(bytes);
  return Array.from({ length: table.numCols }, (_, i) => table.getChildAt(i)!);
}

import * as arrow from 'apache-arrow';
import { WorkerError } from '../errors.js';

export interface EncodedArguments {
  /** One Arrow record batch (IPC stream format) holding each distinct column once. */
  readonly bytes: Uint8Array;
  /** For each argument, its column in `bytes`. */
  readonly argumentColumns: number[];
}

/**
 * The arguments of one call. A column passed twice (`f(a, a)`, or two
 * vectors over the same memory) is sent once: apache-arrow's IPC writer
 * writes a wrong body length for a batch holding the same buffer twice.
 */
export function encodeArguments(columns: readonly arrow.Vector[]): EncodedArguments {
  if (columns.length === 0) return { bytes: new Uint8Array(0), argumentColumns: [] };
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
  return { bytes: arrow.tableToIPC(new arrow.Table(children), 'stream'), argumentColumns };
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
  const data = column.data[0]!;
  return `${String(data.type)}|${data.offset}|${data.length}|${region(data.values)}|${region(data.nullBitmap)}|${region(data.valueOffsets)}`;
}

/** The single "result" column of a worker's reply. */
export function decodeResult(bytes: Uint8Array): arrow.Vector {
  const table = arrow.tableFromIPC(bytes);
  const column = table.getChildAt(0);
  if (column === null) throw new WorkerError('WORKER_CRASHED', 'worker broke the protocol: its reply holds no result column', {});
  return column;
}

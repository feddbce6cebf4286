import * as arrow from 'apache-arrow';
import { WorkerError } from '../errors.js';

/** Arguments of one call as one Arrow record batch (IPC stream format), a column per argument. */
export function encodeArguments(columns: readonly arrow.Vector[]): Uint8Array {
  if (columns.length === 0) return new Uint8Array(0);
  const children: Record<string, arrow.Vector> = {};
  columns.forEach((column, i) => {
    children[`a${i}`] = column;
  });
  return arrow.tableToIPC(new arrow.Table(children), 'stream');
}

/** The single "result" column of a worker's reply. */
export function decodeResult(bytes: Uint8Array): arrow.Vector {
  const table = arrow.tableFromIPC(bytes);
  const column = table.getChildAt(0);
  if (column === null) throw new WorkerError('WORKER_CRASHED', 'worker broke the protocol: its reply holds no result column', {});
  return column;
}

import { PyUdfError } from '../errors.js';
import type { Batch } from '../batches/vectors.js';
import { engineReadsCsv, readCsvInEngine } from '../engine/csv-tables.js';
import { readEngine } from '../engine/engine-stages.js';
import { readColumns } from '../io/columns-source.js';
import { readCsv } from '../io/csv-source.js';
import { readStream } from '../io/stream-source.js';
import type { ScanNode } from '../planning/plan.js';
import type { CsvTableDefinition } from '../table/descriptors.js';
import type { CompiledPlan, RunOptions } from './operator.js';

/** A table's rows as the source of a plan, read by the reader its kind of table has. */
export function compileScan(plan: ScanNode): CompiledPlan {
  const table = plan.table;
  return {
    schema: table.schema,
    source: (options) => {
      switch (table.kind) {
        case 'csv': return readCsvTable(plan.tableName, table, options);
        case 'columns': return readColumns(table, options.batchSize);
        case 'stream': return readStream(table, options);
        case 'engine': return readEngine(table, options.batchSize, options.signal);
        case 'file': throw new PyUdfError('INVALID_ARGUMENT', `table "${plan.tableName}" is read by the engine`);
      }
    },
    operators: [],
  };
}

/** A CSV table's rows: read by the engine when it reads the file as csv-parse does, else by csv-parse. */
async function* readCsvTable(tableName: string, table: CsvTableDefinition, options: RunOptions): AsyncGenerator<Batch> {
  const preloaded = options.csvPreloads?.take(table);
  const inEngine = preloaded
    ? (await preloaded)?.batches(options.batchSize, options.signal)
    : options.engine && engineReadsCsv(table, options.engine) ? await readCsvInEngine(options.engine, table, options.batchSize, options.signal) : null;
  if (inEngine) {
    yield* inEngine;
    return;
  }
  yield* readCsv(table, options, (error) => options.inputErrors.skip(tableName, error), (count) => options.inputErrors.blankLines(tableName, table.path, count));
}

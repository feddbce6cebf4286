import type { ElementsTableDefinition } from '../planning/plan.js';
import { vectorOf, type Batch } from '../execution/vectors.js';

/** In-memory rows, cut into batches. */
export async function* readElements(table: ElementsTableDefinition, batchSize: number): AsyncGenerator<Batch> {
  for (let start = 0; start < table.rows.length; start += batchSize) {
    const rows = table.rows.slice(start, start + batchSize);
    yield {
      numRows: rows.length,
      columns: table.schema.map((field, c) => vectorOf(rows.map((r) => r[c]!), field.type)),
    };
  }
}

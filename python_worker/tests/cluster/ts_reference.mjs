// The TypeScript library's own answers, for tests that must agree with it byte for byte:
//   node ts_reference.mjs csv-scan-sql   (stdin: {"columns": [{"name", "type"}], "options": {...}})
//     prints the DuckDB query the local engine reads such a CSV table with, its file path
//     and skip count replaced by the placeholders {path} and {skip}.
//   node ts_reference.mjs csv-text FILE  (stdin: {"types": [...], "spelling": {...}})
//     prints the CSV text the local CSV sink writes for the rows of the Arrow IPC stream FILE.
// Needs the built library (`npm run build`) in the repository's dist directory.
import fs from 'node:fs';

const dist = (module) => import(new URL(`../../../dist/${module}`, import.meta.url).href);
const { parseDataType } = await dist('types/type-text.js');
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const op = process.argv[2];

if (op === 'csv-scan-sql') {
  const { csvScanSql } = await dist('engine/csv-tables.js');
  const PATH = '/pyudf-path-placeholder';
  const schema = input.columns.map((c) => ({ name: c.name, type: parseDataType(c.type) }));
  const options = { fieldDelimiter: ',', quoteCharacter: '"', ignoreFirstLine: false, nullLiteral: '', ignoreParseErrors: false, ...input.options };
  const sql = csvScanSql({ kind: 'csv', path: PATH, format: { options }, schema });
  if (sql === null) throw new Error('csvScanSql refused this table');
  process.stdout.write(sql.replace(PATH, '{path}').replace(/skip = [01],/, 'skip = {skip},'));
} else if (op === 'csv-text') {
  const arrow = await import('apache-arrow');
  const { csvText } = await dist('io/csv-format.js');
  const table = arrow.tableFromIPC(fs.readFileSync(process.argv[3]));
  const types = input.types.map(parseDataType);
  let text = '';
  for (const batch of table.batches) {
    const columns = batch.schema.fields.map((_, c) => new arrow.Vector([batch.data.children[c]]));
    text += csvText({ numRows: batch.numRows, columns }, types, input.spelling);
  }
  process.stdout.write(text);
} else {
  throw new Error(`unknown operation ${op}`);
}

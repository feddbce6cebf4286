// Runs one case in a fresh Node process and prints its result as JSON, so a
// case's peak memory is its own, not the sum of the cases before it.
import * as cases from './cases.mjs';

const [name, json] = process.argv.slice(2);
const result = await cases[name](JSON.parse(json));
process.stdout.write(`${JSON.stringify(result)}\n`);

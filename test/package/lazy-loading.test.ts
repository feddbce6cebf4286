// `import 'pyudf'` and declaring a job load none of the heavy packages
// (Arrow, gRPC, DuckDB, process and file helpers): they load with the first job.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { isolateTempRoot, tempDir } from '../support.js';
import fs from 'node:fs';

isolateTempRoot();
const scriptDir = tempDir('lazy-');
const REPO_ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const TRACER = path.join(REPO_ROOT, 'test', 'fixtures', 'trace-imports.mjs');

const JOB = `
const { TableEnvironment, DataTypes, udf } = await import(process.argv[2]);
process.stderr.write('step imported\\n');
const tEnv = TableEnvironment.create();
tEnv.registerFunction('add', udf('lambda i, j: i + j', { inputTypes: [DataTypes.BIGINT(), DataTypes.BIGINT()], resultType: DataTypes.BIGINT() }));
const table = tEnv.fromElements([[1n, 2n], [3n, 4n]], { a: DataTypes.BIGINT(), b: DataTypes.BIGINT() }).where('a > 1').select('add(a, b) AS s');
tEnv.fromColumns({ a: new BigInt64Array([1n]) }, { a: DataTypes.BIGINT() });
process.stderr.write('step declared\\n');
const rows = await table.execute().collect();
await tEnv.close();
process.stderr.write('step ran\\n');
process.stdout.write(rows.map((row) => String(row.s)).join(',') + '\\n');
`;

/** The packages loaded in each step of the job above, in order. */
function packagesByStep(stderr: string): Map<string, string[]> {
  const steps = new Map<string, string[]>();
  let loaded: string[] = [];
  for (const line of stderr.split('\n')) {
    if (line.startsWith('loaded ')) loaded.push(line.slice('loaded '.length));
    else if (line.startsWith('step ')) {
      steps.set(line.slice('step '.length), loaded);
      loaded = [];
    }
  }
  return steps;
}

const HEAVY = ['apache-arrow', '@grpc/grpc-js', '@grpc/proto-loader', '@duckdb/node-api', 'execa', 'tar', 'extract-zip', 'csv-parse', 'proper-lockfile', 'tmp'];

test('importing pyudf and declaring a job load no heavy package; the first job loads what it needs', async () => {
  const script = path.join(scriptDir, 'job.mjs');
  fs.writeFileSync(script, JOB);
  const result = await execa(process.execPath, ['--import', TRACER, script, path.join(REPO_ROOT, 'dist', 'index.js')], {
    reject: false, env: { ...process.env, NODE_OPTIONS: '' }, stdin: 'ignore',
  });
  expect(result.exitCode).toBe(0);
  expect(result.stdout.trim()).toBe('7');
  const steps = packagesByStep(result.stderr);
  expect([...steps.keys()]).toEqual(['imported', 'declared', 'ran']);
  expect(steps.get('imported')!.filter((p) => HEAVY.includes(p))).toEqual([]);
  expect(steps.get('declared')!.filter((p) => HEAVY.includes(p))).toEqual([]);
  // The tracer sees them when they do load: the job itself needs Arrow and gRPC.
  expect(steps.get('ran')).toEqual(expect.arrayContaining(['apache-arrow', '@grpc/grpc-js']));
}, 120_000);

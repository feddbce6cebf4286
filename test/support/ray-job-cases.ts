// What the tests of both ways to a Ray cluster (GCS address, Jobs REST API)
// run alike: a host process with one long job, to kill mid-job; a job that
// needs a requirement from a cached dir; waiting for processes to go.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import type { TableEnvironment, Row } from '../../src/index.js';
import { importPyudf, wheelhouseCopy, WHEELHOUSE } from '../support.js';

const BUILT = pathToFileURL(path.join(fileURLToPath(new URL('../..', import.meta.url)), 'dist', 'index.js')).href;

/**
 * Starts `node` on a script that counts a slow function over `input` (a CSV
 * of a, b) on the cluster `clusterOption` names; resolves once its driver
 * said it connected, with the host process to kill (in an object: a promise
 * of the process itself would wait for it to end).
 */
export async function startJobHost(dir: string, clusterOption: Record<string, unknown>, input: string): Promise<{ host: ResultPromise<{ reject: false }> }> {
  const script = path.join(dir, `job-host-${Date.now()}.mjs`);
  fs.writeFileSync(script, [
    `import { TableEnvironment, DataTypes, udf } from ${JSON.stringify(BUILT)};`,
    'const tEnv = TableEnvironment.create({',
    "  logger: { log: (e) => { if (e.message.startsWith('connected to the Ray cluster')) console.log('connected'); } },",
    `  cluster: ${JSON.stringify(clusterOption)},`,
    '});',
    "tEnv.registerFunction('crawl', udf('lambda x: __import__(\"time\").sleep(0.01) or x', [DataTypes.BIGINT()], DataTypes.BIGINT()));",
    `tEnv.executeSql("CREATE TABLE nums (a BIGINT, b BIGINT) WITH ('connector' = 'filesystem', 'path' = '${input}', 'format' = 'csv')");`,
    "await tEnv.fromPath('nums').select('crawl(a)').execute().count();",
  ].join('\n'));
  const host = execa(process.execPath, [script], { reject: false });
  await new Promise<void>((resolve, reject) => {
    host.stdout!.on('data', (chunk: Buffer) => { if (chunk.toString().includes('connected')) resolve(); });
    void host.then((r) => reject(new Error(`the host ended before its job connected: ${r.stderr}`)));
  });
  return { host };
}

/** Waits (up to `withinMs`) until `list` is empty; what it lists then. */
export async function untilNone<T>(list: () => Promise<T[]>, withinMs = 30_000): Promise<T[]> {
  const deadline = Date.now() + withinMs;
  let left = await list();
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    left = await list();
  }
  return left;
}

let requirementFiles = 0;

/**
 * Digits of pi from mpmath, with `requirements` installed from a cached dir
 * that holds mpmath's wheel alone: the job's rows, or its error.
 */
export async function piDigits(tEnv: TableEnvironment, dir: string, requirements: string): Promise<{ rows?: Row[]; error?: unknown }> {
  const { udf, DataTypes } = await importPyudf();
  const cached = wheelhouseCopy(fs.readdirSync(WHEELHOUSE).filter((n) => n.startsWith('mpmath-')));
  const file = path.join(dir, `requirements-${++requirementFiles}.txt`);
  fs.writeFileSync(file, requirements);
  tEnv.setPythonRequirements(file, cached);
  tEnv.registerFunction('digits', udf('lambda n: str(__import__("mpmath").mp.pi)[:int(n)]', [DataTypes.BIGINT()], DataTypes.STRING()));
  return tEnv.fromElements([[3n], [6n]], { n: DataTypes.BIGINT() }).select('digits(n) AS pi').execute().collect()
    .then((rows) => ({ rows }), (error: unknown) => ({ error }));
}

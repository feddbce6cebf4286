// Soak: 200 sequential jobs in one process (a new TableEnvironment every 20
// jobs). Afterwards the open file descriptors are back at the baseline taken
// after a warm-up job, and no child process is left. RSS is logged.
import fs from 'node:fs';
import { DataTypes, TableEnvironment, udf } from '../../src/index.js';
import { childProcesses, isolateTempRoot } from '../support.js';
import { checkNothingLeftAfterEach, expectNothingLeft, watchingLogger } from './fault-support.js';

const tempRoot = isolateTempRoot();
checkNothingLeftAfterEach(tempRoot);
const BIGINT = DataTypes.BIGINT();
const STRING = DataTypes.STRING();
const JOBS = 200;
const JOBS_PER_ENVIRONMENT = 20;
const ROWS = 100;

const openFds = () => fs.readdirSync('/proc/self/fd').length;
const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const rssMiB = () => mib(process.memoryUsage().rss);
const heapMiB = () => mib(process.memoryUsage().heapUsed);

function environment(): TableEnvironment {
  const tEnv = TableEnvironment.create({ logger: watchingLogger() });
  tEnv.registerFunction('add', udf('lambda a, b: a + b', [BIGINT, BIGINT], BIGINT));
  tEnv.registerFunction('label', udf('lambda a, s: "%s-%d" % (s, a)', [BIGINT, STRING], STRING));
  return tEnv;
}

async function runJob(tEnv: TableEnvironment, j: number): Promise<void> {
  const rows = Array.from({ length: ROWS }, (_, i) => [BigInt(i), BigInt(j), `job${j}`]);
  const out = await tEnv.fromElements(rows, { a: BIGINT, b: BIGINT, s: STRING })
    .select('add(a, b) AS n, label(a, s) AS l').execute().collect();
  expect(out).toEqual(rows.map(([a, b, s]) => ({ n: (a as bigint) + (b as bigint), l: `${s as string}-${a as bigint}` })));
}

test(`${JOBS} sequential jobs: file descriptors and child processes back to the baseline`, async () => {
  // Warm-up: the first job loads modules, opens gRPC's and jest's long-lived handles.
  const warmUp = environment();
  await runJob(warmUp, -1);
  await warmUp.close();
  const fdsBefore = openFds();
  const rssBefore = rssMiB();
  const heapBefore = heapMiB();
  expect(childProcesses()).toEqual([]);

  const started = Date.now();
  let tEnv = environment();
  try {
    for (let j = 0; j < JOBS; j++) {
      if (j > 0 && j % JOBS_PER_ENVIRONMENT === 0) {
        await tEnv.close();
        tEnv = environment();
      }
      await runJob(tEnv, j);
    }
  } finally {
    await tEnv.close();
  }
  const tookMs = Date.now() - started;
  const fdsAfter = openFds();
  const rssAfter = rssMiB();
  const heapAfter = heapMiB();

  console.log(`soak: ${JOBS} jobs in ${tookMs} ms (${(tookMs / JOBS).toFixed(0)} ms/job); open fds ${fdsBefore} -> ${fdsAfter}; RSS ${rssBefore} MiB -> ${rssAfter} MiB; heap used ${heapBefore} MiB -> ${heapAfter} MiB`);
  expect(fdsAfter).toBeLessThanOrEqual(fdsBefore + 5);
  expect(childProcesses()).toEqual([]);
  expectNothingLeft(tempRoot);
}, 300_000);

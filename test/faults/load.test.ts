// Load: 20 jobs at once in one Node process, each in its own
// TableEnvironment with its own worker; every result is right, and afterwards
// no worker and no private directory is left.
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, FileSystem, OldCsv, TableEnvironment, udf, type Row } from '../../src/index.js';
import { isolateTempRoot, pythonWorkers, tempDir } from '../support.js';
import { checkNothingLeftAfterEach, expectNothingLeft, partFiles, watchingLogger } from './fault-support.js';

const tempRoot = isolateTempRoot();
checkNothingLeftAfterEach(tempRoot);
const dir = tempDir('udf-faults-load-');
const BIGINT = DataTypes.BIGINT();
const JOBS = 20;
const N = 5000;

interface JobOutcome {
  readonly rows: Row[];
  readonly pids: Set<bigint>;
  readonly peakWorkers: number;
}

/** Job k: y = x * 31 + k over x = 0..N-1, and the pid that computed each row; even k collect, odd k write a CSV file. */
async function job(k: number): Promise<JobOutcome> {
  const tEnv = TableEnvironment.create({ bundleSize: 500, logger: watchingLogger() });
  try {
    tEnv.registerFunction('mix', udf('lambda x, k: x * 31 + k', [BIGINT, BIGINT], BIGINT));
    tEnv.registerFunction('pid', udf('lambda x: __import__("os").getpid()', [BIGINT], BIGINT));
    const rows = Array.from({ length: N }, (_, x) => [BigInt(x), BigInt(k)]);
    const table = tEnv.fromElements(rows, { x: BIGINT, k: BIGINT }).select('x, mix(x, k) AS y, pid(x) AS p');
    let out: Row[];
    if (k % 2 === 0) {
      out = await table.execute().collect();
    } else {
      const file = path.join(dir, `job-${k}`, 'out.csv');
      tEnv.connect(new FileSystem().path(file))
        .withFormat(new OldCsv().field('x', BIGINT).field('y', BIGINT).field('p', BIGINT)).createTemporaryTable('sink');
      const result = await table.executeInsert('sink');
      expect(result.sinks).toEqual([{ table: 'sink', rows: N }]);
      expect(partFiles(path.dirname(file))).toEqual([]);
      out = fs.readFileSync(file, 'utf8').trimEnd().split('\n').map((line) => {
        const [x, y, p] = line.split(',').map(BigInt);
        return { x: x!, y: y!, p: p! };
      });
    }
    return { rows: out.map(({ x, y }) => ({ x, y })), pids: new Set(out.map((r) => r.p as bigint)), peakWorkers: pythonWorkers().length };
  } finally {
    await tEnv.close();
  }
}

const openFds = () => fs.readdirSync('/proc/self/fd').length;
const rssMiB = () => Math.round(process.memoryUsage().rss / 1024 / 1024);

test(`${JOBS} concurrent jobs, each with its own worker: all results right, nothing left afterwards`, async () => {
  const [fdsBefore, rssBefore] = [openFds(), rssMiB()];
  const outcomes = await Promise.all(Array.from({ length: JOBS }, (_, k) => job(k)));
  console.log(`load: ${JOBS} concurrent jobs; workers seen at once up to ${Math.max(...outcomes.map((o) => o.peakWorkers))}, after ${pythonWorkers().length}; open fds ${fdsBefore} -> ${openFds()}; RSS ${rssBefore} MiB -> ${rssMiB()} MiB`);
  outcomes.forEach((outcome, k) => {
    expect(outcome.rows).toEqual(Array.from({ length: N }, (_, x) => ({ x: BigInt(x), y: BigInt(x * 31 + k) })));
    expect(outcome.pids.size).toBe(1); // parallelism 1: one worker per job
  });
  // Each job had a worker of its own: 20 different processes, none of them this one.
  const pids = outcomes.map((o) => [...o.pids][0]!);
  expect(new Set(pids).size).toBe(JOBS);
  expect(pids).not.toContain(BigInt(process.pid));
  // Jobs really overlapped: some job, when it finished, saw other jobs' workers still running.
  expect(Math.max(...outcomes.map((o) => o.peakWorkers))).toBeGreaterThan(1);
  expectNothingLeft(tempRoot);
}, 120_000);

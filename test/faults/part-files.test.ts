// A host stopped mid-job by SIGINT, SIGTERM or SIGHUP removes its sink's part
// file on the way out; one killed by SIGKILL cannot, and the next job writing
// to that directory removes the part files of processes that are gone.
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataTypes, FileSystem, OldCsv, TableEnvironment } from '../../src/index.js';
import { isolateTempRoot, recordingLogger, tempDir } from '../support.js';
import { isGone, partFiles } from './fault-support.js';

isolateTempRoot();
const dir = tempDir('part-files-');
const FIXTURE = fileURLToPath(new URL('../fixtures/host-writes-csv.mjs', import.meta.url));

/** Starts the fixture host writing `dir/out.csv`, waits until its part file holds rows, then sends `signal`. */
async function stopMidJob(outDir: string, signal: NodeJS.Signals): Promise<{ signal: string | undefined; partsBefore: string[] }> {
  const host = execa(process.execPath, [FIXTURE, path.join(outDir, 'out.csv')], { reject: false, buffer: false });
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    host.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('writing row 1000')) resolve();
    });
    host.on('exit', () => reject(new Error(`host exited before writing: ${seen}`)));
  });
  const partsBefore = partFiles(outDir);
  host.kill(signal);
  const result = await host;
  expect(isGone(host.pid!)).toBe(true);
  return { signal: result.signal, partsBefore };
}

test.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)('%s to the host mid-job: it dies by the signal and its part file is gone', async (signal) => {
  const outDir = fs.mkdtempSync(path.join(dir, `${signal}-`));
  const { signal: died, partsBefore } = await stopMidJob(outDir, signal);
  expect(partsBefore).toHaveLength(1);
  expect(partsBefore[0]).toMatch(/^\.out\.csv\.pyudf-\d+-[0-9a-f]{12}\.part$/);
  expect(died).toBe(signal);
  expect(fs.readdirSync(outDir)).toEqual([]);
}, 60_000);

test('SIGKILL leaves the part file; the next job writing to that directory removes it, and keeps a live process\'s', async () => {
  const outDir = fs.mkdtempSync(path.join(dir, 'SIGKILL-'));
  const { signal, partsBefore } = await stopMidJob(outDir, 'SIGKILL');
  expect(signal).toBe('SIGKILL');
  expect(partFiles(outDir)).toEqual(partsBefore);
  expect(partsBefore).toHaveLength(1);
  // A part file of a process still running (this one's parent) is someone's job in progress.
  const live = `.other.csv.pyudf-${process.ppid}-0123456789ab.part`;
  fs.writeFileSync(path.join(outDir, live), 'in progress\n');
  const tEnv = TableEnvironment.create({ logger: recordingLogger() });
  try {
    tEnv.connect(new FileSystem().path(path.join(outDir, 'next.csv'))).withFormat(new OldCsv().field('x', DataTypes.BIGINT())).createTemporaryTable('next');
    await tEnv.fromElements([[1n]], { x: DataTypes.BIGINT() }).executeInsert('next');
  } finally {
    await tEnv.close();
  }
  expect(fs.readdirSync(outDir).sort()).toEqual([live, 'next.csv']);
}, 60_000);

// Imports the built package: globalSetup runs outside jest's module transform (npm test builds first).
// Builds (or finds) the cached worker runtime once, before test files run in parallel, and
// fills the wheelhouse the offline-install tests use as their cached dir.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureWorkerRuntime } from '../dist/environments/worker-runtime.js';
import { chooseInterpreter } from '../dist/environments/interpreter.js';
import { downloadRequirements } from '../dist/environments/download.js';

const REQUIREMENTS = fileURLToPath(new URL('./fixtures/wheelhouse/requirements.txt', import.meta.url));

/**
 * The wheels of test/fixtures/wheelhouse/requirements.txt, downloaded once with
 * `pyudf download` as a user fills a cached dir where an index can be reached.
 * Kept in node_modules' cache folder (a fresh clone or `npm ci` makes it anew),
 * keyed by the requirements' text so that changing the list downloads again.
 */
async function ensureWheelhouse(python: string): Promise<string> {
  const key = crypto.createHash('sha256').update(fs.readFileSync(REQUIREMENTS)).digest('hex').slice(0, 12);
  const dir = fileURLToPath(new URL(`../node_modules/.cache/pyudf-test-wheelhouse-${key}`, import.meta.url));
  if (fs.existsSync(path.join(dir, '.complete'))) return dir;
  const staging = `${dir}.staging-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  await downloadRequirements({ python, requirementsFile: REQUIREMENTS, dest: staging, runtime: false, logger: { log: () => undefined } });
  fs.writeFileSync(path.join(staging, '.complete'), '');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(staging, dir);
  return dir;
}

export default async function globalSetup(): Promise<void> {
  const python = chooseInterpreter();
  await ensureWorkerRuntime(python, { logger: { log: () => undefined } });
  // Test files run in jest workers started after this, which inherit the variable.
  process.env.PYUDF_TEST_WHEELHOUSE = await ensureWheelhouse(python);
}

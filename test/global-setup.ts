// Imports the built package: globalSetup runs outside jest's module transform (npm test builds first).
// Builds (or finds) the cached worker runtime once, before test files run in parallel.
import { ensureWorkerRuntime } from '../dist/environments/worker-runtime.js';
import { chooseInterpreter } from '../dist/environments/interpreter.js';

export default async function globalSetup(): Promise<void> {
  await ensureWorkerRuntime(chooseInterpreter(), { logger: { log: () => undefined } });
}

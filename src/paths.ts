import { fileURLToPath } from 'node:url';
import path from 'node:path';

// dist/paths.js and src/paths.ts both sit one level below the package root.
const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const packagePaths = Object.freeze({
  root: PACKAGE_ROOT,
  proto: path.join(PACKAGE_ROOT, 'proto', 'worker.proto'),
  pythonWorker: path.join(PACKAGE_ROOT, 'python_worker'),
  runtimeRequirements: path.join(PACKAGE_ROOT, 'requirements', 'runtime.txt'),
  rayRequirements: path.join(PACKAGE_ROOT, 'requirements', 'ray.txt'),
});

export const PYUDF_VERSION = '0.1.0';

import { PyUdfError } from '../errors.js';
import type { Logger } from '../logging.js';

/** Placeholder until the Ray runtime builder lands. */
export async function ensureRayRuntime(_pythonCommand: string, _options: { cacheDir?: string; logger: Logger; signal?: AbortSignal }): Promise<{ python: string }> {
  const python = process.env.PYUDF_RAY_PYTHON;
  if (!python) throw new PyUdfError('INVALID_ARGUMENT', 'no Ray runtime');
  return { python };
}

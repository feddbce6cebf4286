import path from 'node:path';
import type { Logger } from '../logging.js';
import { packagePaths } from '../paths.js';
import { probeInterpreter, type Interpreter } from './interpreter.js';
import { ensureRuntime, runtimeDir, type RuntimeKind } from './worker-runtime.js';

/**
 * The Ray runtime: the worker runtime plus Ray (with Ray Data) and the DuckDB
 * the host embeds, from requirements/ray.txt. The driver of a job on a Ray
 * cluster runs in it; a cluster's nodes run Ray from such an environment too.
 */
export const RAY_RUNTIME: RuntimeKind = Object.freeze({
  label: 'Ray runtime',
  contents: 'ray[data], duckdb and the worker runtime',
  requirementsFile: packagePaths.rayRequirements,
  dirPrefix: 'ray-',
  ownPip: true,
});

export interface RayRuntime {
  readonly interpreter: Interpreter;
  /** The virtualenv holding Ray, DuckDB and the worker runtime's packages. */
  readonly dir: string;
  /** Its Python. */
  readonly python: string;
  readonly built: boolean;
  /**
   * What PYTHONPATH must hold for its Python to import `pyudf`: the package
   * is not installed in the (shared, cached) runtime but taken from this
   * pyudf's own `python_worker` directory, as the local workers do.
   */
  readonly pythonPath: readonly string[];
}

/** Where the Ray runtime for `interpreter` lives in the cache. */
export function rayRuntimeDir(interpreter: Interpreter, cacheDir?: string): string {
  return runtimeDir(interpreter, cacheDir, RAY_RUNTIME);
}

/**
 * The cached Ray runtime for `pythonCommand`, built on first use exactly as
 * the worker runtime is (same lock, same staging and publishing, same pip
 * options), keyed by the text of requirements/ray.txt and the files it
 * includes.
 */
export async function ensureRayRuntime(
  pythonCommand: string,
  options: { cacheDir?: string; logger: Logger; signal?: AbortSignal; findLinks?: string },
): Promise<RayRuntime> {
  const interpreter = await probeInterpreter(pythonCommand);
  const runtime = await ensureRuntime(interpreter, RAY_RUNTIME, options);
  return Object.freeze({ ...runtime, pythonPath: Object.freeze([packagePaths.pythonWorker]) });
}

/** The environment variables a process of the Ray runtime needs on top of its own environment (PYTHONPATH with pyudf first). */
export function rayRuntimeEnv(runtime: RayRuntime, base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return { PYTHONPATH: [...runtime.pythonPath, base.PYTHONPATH].filter(Boolean).join(path.delimiter) };
}

import fs from 'node:fs';
import path from 'node:path';
import { EnvironmentError } from '../errors.js';
import { cacheRoot } from '../environments/cache-dir.js';
import { chooseInterpreter, probeInterpreter } from '../environments/interpreter.js';
import { listCachedEnvironments } from '../environments/catalog.js';
import { isPublished } from '../environments/published-dir.js';
import { runtimeDir, runtimeFindLinks } from '../environments/worker-runtime.js';
import { packagePaths } from '../paths.js';

export interface DoctorFinding {
  readonly ok: boolean;
  readonly what: string;
  /** What to do about it, for a problem. */
  readonly fix?: string;
}

/** Checks what a job would need, without building anything. */
export async function diagnose(options: { python?: string; cacheDir?: string }): Promise<DoctorFinding[]> {
  const findings: DoctorFinding[] = [];
  const command = chooseInterpreter(options.python);
  const source = options.python ? '--python' : process.env.PYUDF_PYTHON ? 'PYUDF_PYTHON' : 'python3 on PATH';
  try {
    const interpreter = await probeInterpreter(command);
    findings.push({ ok: true, what: `interpreter: ${interpreter.executable} (Python ${interpreter.version}, chosen by ${source})` });
    findings.push(interpreter.hasVenv
      ? { ok: true, what: 'venv module: present' }
      : { ok: false, what: 'venv module: missing', fix: 'install it (Debian/Ubuntu: apt-get install python3-venv) or choose another interpreter with PYUDF_PYTHON' });
    findings.push(interpreter.hasPip
      ? { ok: true, what: 'pip: present' }
      : { ok: false, what: 'pip: missing', fix: 'install it (Debian/Ubuntu: apt-get install python3-pip) or choose another interpreter with PYUDF_PYTHON' });
    const dir = runtimeDir(interpreter, options.cacheDir);
    findings.push(isPublished(dir)
      ? { ok: true, what: `worker runtime: built, ${dir}` }
      : {
        ok: true,
        what: `worker runtime: not built yet; the first job builds it into ${dir} from ${runtimeFindLinks() ?? 'the package index'} (${packagePaths.runtimeRequirements})`,
        fix: runtimeFindLinks() ? undefined : `without network: run "pyudf download --runtime -d DIR" where there is network, then set PYUDF_RUNTIME_FIND_LINKS=DIR`,
      });
  } catch (error) {
    findings.push({
      ok: false,
      what: `interpreter "${command}" (chosen by ${source}): ${error instanceof EnvironmentError ? error.message.split('\n')[0] : String(error)}`,
      fix: 'install Python 3.9+ or name one with PYUDF_PYTHON or --python',
    });
  }
  const root = cacheRoot(options.cacheDir);
  try {
    fs.mkdirSync(root, { recursive: true });
    fs.accessSync(root, fs.constants.W_OK);
    const entries = listCachedEnvironments(options.cacheDir);
    const envs = entries.filter((e) => e.kind === 'env' && !e.incomplete).length;
    const incomplete = entries.filter((e) => e.incomplete).length;
    findings.push({ ok: true, what: `cache: ${root} (${options.cacheDir ? '--cache-dir' : process.env.PYUDF_CACHE_DIR ? 'PYUDF_CACHE_DIR' : 'default'}), ${envs} job environment(s)` });
    if (incomplete > 0) findings.push({ ok: false, what: `cache: ${incomplete} unfinished build(s) left by interrupted jobs`, fix: 'run "pyudf env prune" to remove them' });
  } catch (error) {
    findings.push({ ok: false, what: `cache: ${root} is not writable (${(error as Error).message})`, fix: `set PYUDF_CACHE_DIR to a writable directory, e.g. ${path.join(process.cwd(), '.pyudf-cache')}` });
  }
  return findings;
}

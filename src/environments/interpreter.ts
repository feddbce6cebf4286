import fs from 'node:fs';
import { EnvironmentError } from '../errors.js';
import { runSetupCommand } from './commands.js';

export interface Interpreter {
  /** As given: an absolute path or a name on PATH. */
  readonly command: string;
  /** sys.executable, resolved. */
  readonly executable: string;
  readonly version: string;
  readonly hasVenv: boolean;
  readonly hasPip: boolean;
}

/** The interpreter a job asks for: setPythonExecutable, else PYUDF_PYTHON, else python3 on PATH. */
export function chooseInterpreter(explicit?: string | null): string {
  return explicit || process.env.PYUDF_PYTHON || 'python3';
}

const PROBE = [
  'import json, sys, os, importlib.util as u',
  'print(json.dumps({"executable": os.path.realpath(sys.executable), "version": "%d.%d.%d" % sys.version_info[:3],',
  '  "venv": u.find_spec("venv") is not None, "pip": u.find_spec("pip") is not None}))',
].join('\n');

const cache = new Map<string, Promise<Interpreter>>();

/** Whether this process probed `command` already: its answer is then at hand. */
export function probedAlready(command: string): boolean {
  return cache.has(command);
}

export function probeInterpreter(command: string): Promise<Interpreter> {
  let probe = cache.get(command);
  if (!probe) {
    probe = (async () => {
      if (command.includes('/') && fs.statSync(command, { throwIfNoEntry: false })?.isDirectory()) {
        throw new EnvironmentError('PYTHON_NOT_FOUND', `Python interpreter "${command}" is a directory, not a program: name the interpreter inside it (e.g. ${command.replace(/\/+$/, '')}/python3) with the pythonExecutable option, tEnv.setPythonExecutable(path) or PYUDF_PYTHON.`, { command: [command] });
      }
      let out: string;
      try {
        out = await runSetupCommand(command, ['-c', PROBE], `probing Python interpreter "${command}"`, {
          hint: 'Set the interpreter with tEnv.setPythonExecutable(path) or PYUDF_PYTHON; it must be CPython 3.9 or newer.',
        });
      } catch (error) {
        if (error instanceof EnvironmentError && error.code === 'PYTHON_NOT_FOUND') {
          throw new EnvironmentError('PYTHON_NOT_FOUND', `Python interpreter "${command}" not found. Install Python 3.9+ or name one with the pythonExecutable option, tEnv.setPythonExecutable(path) or PYUDF_PYTHON.`, { command: [command], cause: error });
        }
        throw error;
      }
      let info: { executable: string; version: string; venv: boolean; pip: boolean };
      try {
        info = JSON.parse(out.trim().split('\n').at(-1) ?? '') as typeof info;
      } catch (error) {
        throw new EnvironmentError('PYTHON_NOT_FOUND', `"${command}" ran but did not answer as a Python interpreter; name a CPython 3.9+ with the pythonExecutable option, tEnv.setPythonExecutable(path) or PYUDF_PYTHON`, { command: [command], output: out, cause: error });
      }
      return Object.freeze({ command, executable: info.executable, version: info.version, hasVenv: info.venv, hasPip: info.pip });
    })();
    cache.set(command, probe);
    probe.catch(() => cache.delete(command));
  }
  return probe;
}

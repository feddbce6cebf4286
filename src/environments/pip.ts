import type { Logger } from '../logging.js';
import os from 'node:os';

/**
 * The environment pip runs in when a job's requirements are installed: none
 * of the machine's PIP_* variables and no configuration file, so that the
 * cached directory is the only source — for pip itself (`--isolated`) and for
 * the pip it starts to set up an sdist's build backend, which does not inherit
 * `--isolated` but does inherit the environment.
 */
export function isolatedPipEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('PIP_')) env[key] = value;
  }
  env.PIP_CONFIG_FILE = os.devNull;
  env.PIP_DISABLE_PIP_VERSION_CHECK = '1';
  env.PIP_NO_INPUT = '1';
  return env;
}

export interface PipFailure {
  /** The requirement pip could not satisfy ("mpmath==1.4.1"), if that was the failure. */
  readonly missing?: string;
  /** What versions pip saw of it ("1.3.0"). */
  readonly available?: string;
  /** A requirements-file line pip could not parse. */
  readonly invalidLine?: { readonly line: number; readonly text: string };
  /** A file named by `-r` inside the requirements that pip could not open. */
  readonly unreadableFile?: string;
}

/** Reads the reason out of pip's output, for an error that names it. */
export function explainPipFailure(output: string): PipFailure {
  const invalid = /Invalid requirement: '?(.*?)'? \(from line (\d+) of/.exec(output)
    ?? /Invalid requirement: '?(.*?)'?\s*\n[\s\S]*?line (\d+)/.exec(output);
  if (invalid) return { invalidLine: { line: Number(invalid[2]), text: invalid[1]! } };
  const unreadable = /Could not open requirements file: (.*)/.exec(output);
  if (unreadable) return { unreadableFile: unreadable[1]!.trim() };
  const missing = /No matching distribution found for (\S+)/.exec(output);
  if (missing) {
    const versions = new RegExp(`requirement ${escape(missing[1]!)}[^\\n]*\\(from versions: ([^)]*)\\)`).exec(output);
    return { missing: missing[1]!, available: versions?.[1] };
  }
  return {};
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The lines of pip's output that mark its steps, one per package: "Collecting x",
 * "Processing x.whl", "Installing collected packages: ...", "Successfully installed ...".
 */
export function pipStep(line: string): string | undefined {
  // " (from -r requirements.txt (line 3))" and a wheel's directory say nothing a reader needs.
  const text = line.trim().replace(/ \(from .*\)$/, '');
  const processing = /^Processing (\S+)$/.exec(text);
  if (processing) return `Processing ${processing[1]!.split('/').at(-1)}`;
  return /^(Collecting|Downloading|Using cached|Building wheel|Installing collected packages|Successfully installed)\b/.test(text) ? text : undefined;
}

/** An onLine for runSetupCommand that logs pip's steps as `pip: <step>`. */
export function logPipSteps(logger: Logger): (line: string) => void {
  return (line) => {
    const step = pipStep(line);
    if (step) logger.log({ level: 'info', source: 'pyudf', message: `pip: ${step}` });
  };
}

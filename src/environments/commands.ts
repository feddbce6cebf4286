import { execa } from 'execa';
import { EnvironmentError } from '../errors.js';

/** Hides the password of `scheme://user:password@host` URLs (pip's --index-url, find-links). */
export function maskCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]+)(?::[^\s/@]*)?@/gi, '$1$2:****@');
}

/** Runs a setup command (venv, pip); a failure carries the command line, exit code and output. */
export async function runSetupCommand(
  file: string,
  args: readonly string[],
  what: string,
  options: {
    env?: Record<string, string>; extendEnv?: boolean; hint?: string; signal?: AbortSignal;
    /** Called with each line the command writes to stdout, as it writes it (pip's progress). */
    onLine?: (line: string) => void;
  } = {},
): Promise<string> {
  const onLine = options.onLine;
  const result = await execa(file, args, {
    ...(onLine ? { stdout: function* (line: unknown) { onLine(maskCredentials(String(line))); yield line; } } : {}),
    all: true,
    reject: false,
    cleanup: true,
    stdin: 'ignore',
    env: options.env,
    extendEnv: options.extendEnv ?? true,
    cancelSignal: options.signal,
  });
  if (result.failed) {
    const output = maskCredentials((result.all ?? '').trim());
    const command = [file, ...args].map(maskCredentials);
    const reason = result.exitCode !== undefined ? `exit code ${result.exitCode}` : (result.signal ? `signal ${result.signal}` : result.shortMessage);
    throw new EnvironmentError(
      result.code === 'ENOENT' ? 'PYTHON_NOT_FOUND' : 'ENVIRONMENT_BUILD_FAILED',
      `${what} failed (${reason}): ${command.join(' ')}${options.hint ? `\n${options.hint}` : ''}${output ? `\n--- output ---\n${output}` : ''}`,
      { command, exitCode: result.exitCode ?? null, output },
    );
  }
  return result.stdout as string;
}

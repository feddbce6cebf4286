/** One log entry: pyudf's own, or a line a UDF printed or logged in Python. */
export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  /** "pyudf" for the library itself, "udf" for output of Python functions. */
  readonly source: 'pyudf' | 'udf';
  /** For "udf": the function whose code printed or logged it ("" outside any function). */
  readonly functionName?: string;
  /** For "udf": the Python logger's name, or "stdout"/"stderr" for print(). */
  readonly pythonLogger?: string;
  /** For "udf" output written to the worker's raw fd 1 or 2 (C code, subprocesses): the worker's pid. */
  readonly workerPid?: number;
}

export interface Logger {
  log(entry: LogEntry): void;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;

/**
 * The default logger writes to stderr: UDF output always (users print to see
 * it), pyudf's own entries from PYUDF_LOG's level on (default "info": what
 * pyudf builds on a first run, step by step; nothing on a run that reuses it).
 */
export function defaultLogger(): Logger {
  const threshold = LEVELS[(process.env.PYUDF_LOG ?? 'info') as keyof typeof LEVELS] ?? LEVELS.info;
  return {
    log(entry) {
      if (entry.source === 'udf') {
        process.stderr.write(`[udf ${entry.functionName || '-'}] ${entry.message}\n`);
      } else if (LEVELS[entry.level] >= threshold) {
        process.stderr.write(`pyudf ${entry.level}: ${entry.message}\n`);
      }
    },
  };
}

const PYTHON_LEVELS: Readonly<Record<string, LogEntry['level']>> = {
  debug: 'debug', info: 'info', warning: 'warn', error: 'error', critical: 'error', stdout: 'info', stderr: 'warn',
};

export function pythonLevel(level: string): LogEntry['level'] {
  return PYTHON_LEVELS[level] ?? 'info';
}

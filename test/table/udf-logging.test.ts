// What Python functions print and log reaches the TableEnvironment's logger,
// tagged with the function that printed or logged it.
import fs from 'node:fs';
import path from 'node:path';
import { DataTypes, TableEnvironment, UdfError, udf, type LogEntry } from '../../src/index.js';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, recordingLogger, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const dir = tempDir();
const BIGINT = DataTypes.BIGINT();

fs.writeFileSync(path.join(dir, 'chatty.py'), `import logging
import sys

from pyudf import DataTypes, ScalarFunction, udf

audit = logging.getLogger('chatty.audit')


@udf(input_types=[DataTypes.BIGINT()], result_type=DataTypes.BIGINT())
def noisy(x):
    print('noisy got', x)
    audit.warning('warned about %d', x)
    audit.debug('not shown: below INFO')
    print('to stderr', x, file=sys.stderr)
    return x


class Lifecycle(ScalarFunction):
    def open(self, function_context):
        print('opening with', function_context.get_job_parameter('greeting', '?'))

    def eval(self, x):
        logging.info('info line %d', x)
        logging.error('error line\\nsecond line')
        print('no newline at the end', end='')
        return x * 2

    def close(self):
        print('closing')


life = udf(Lifecycle(), [DataTypes.BIGINT()], DataTypes.BIGINT())


class ClosesBadly(ScalarFunction):
    def eval(self, x):
        return x

    def close(self):
        raise IOError('flush failed')


closes_badly = udf(ClosesBadly(), [DataTypes.BIGINT()], DataTypes.BIGINT())


@udf(input_types=[DataTypes.BIGINT()], result_type=DataTypes.BIGINT())
def last_words(x):
    print('about to divide', x)
    return 1 // x
`);

const udfEntries = (entries: LogEntry[]) => entries.filter((e) => e.source === 'udf');

describe('UDF output reaches the logger', () => {
  test('print() and logging inside a UDF, tagged with the function name', async () => {
    const logger = recordingLogger();
    const tEnv = TableEnvironment.create({ logger, jobParameters: { greeting: 'hello' } });
    try {
      tEnv.addPythonFile(path.join(dir, 'chatty.py'));
      tEnv.registerFunction('noisy', udf('chatty.noisy'));
      tEnv.registerFunction('life', udf('chatty.life'));
      const rows = await tEnv.fromElements([[1n], [2n]], { x: BIGINT }).select('noisy(x) AS a').execute().collect();
      expect(rows).toEqual([{ a: 1n }, { a: 2n }]);
      expect(udfEntries(logger.entries)).toEqual([
        { level: 'info', message: 'noisy got 1', source: 'udf', functionName: 'noisy', pythonLogger: 'stdout' },
        { level: 'warn', message: 'warned about 1', source: 'udf', functionName: 'noisy', pythonLogger: 'chatty.audit' },
        { level: 'warn', message: 'to stderr 1', source: 'udf', functionName: 'noisy', pythonLogger: 'stderr' },
        { level: 'info', message: 'noisy got 2', source: 'udf', functionName: 'noisy', pythonLogger: 'stdout' },
        { level: 'warn', message: 'warned about 2', source: 'udf', functionName: 'noisy', pythonLogger: 'chatty.audit' },
        { level: 'warn', message: 'to stderr 2', source: 'udf', functionName: 'noisy', pythonLogger: 'stderr' },
      ]);

      logger.entries.length = 0;
      const doubled = await tEnv.fromElements([[5n]], { x: BIGINT }).select('life(x) AS d').execute().collect();
      expect(doubled).toEqual([{ d: 10n }]);
      expect(udfEntries(logger.entries)).toEqual([
        { level: 'info', message: 'opening with hello', source: 'udf', functionName: 'life', pythonLogger: 'stdout' },
        { level: 'info', message: 'info line 5', source: 'udf', functionName: 'life', pythonLogger: 'root' },
        { level: 'error', message: 'error line\nsecond line', source: 'udf', functionName: 'life', pythonLogger: 'root' },
        { level: 'info', message: 'no newline at the end', source: 'udf', functionName: 'life', pythonLogger: 'stdout' },
        { level: 'info', message: 'closing', source: 'udf', functionName: 'life', pythonLogger: 'stdout' },
      ]);
    } finally {
      await tEnv.close();
    }
    expect(pythonWorkers()).toEqual([]);
    expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
  });

  test('with parallelism 2, each worker\'s output arrives, tagged', async () => {
    const logger = recordingLogger();
    const tEnv = TableEnvironment.create({ logger, parallelism: 2, bundleSize: 2 });
    try {
      tEnv.registerFunction('say', udf("lambda x: print('row', x) or x", [BIGINT], BIGINT));
      await tEnv.fromElements([[1n], [2n], [3n], [4n], [5n], [6n]], { x: BIGINT }).select('say(x) AS y').execute().collect();
    } finally {
      await tEnv.close();
    }
    const said = udfEntries(logger.entries);
    expect(said.map((e) => e.message).sort()).toEqual(['row 1', 'row 2', 'row 3', 'row 4', 'row 5', 'row 6']);
    expect(new Set(said.map((e) => e.functionName))).toEqual(new Set(['say']));
    expect(pythonWorkers()).toEqual([]);
  });

  test('close() that raises does not fail the job: it is logged as a warning', async () => {
    const logger = recordingLogger();
    const tEnv = TableEnvironment.create({ logger });
    try {
      tEnv.addPythonFile(path.join(dir, 'chatty.py'));
      tEnv.registerFunction('cb', udf('chatty.closes_badly'));
      expect(await tEnv.fromElements([[3n]], { x: BIGINT }).select('cb(x) AS y').execute().collect()).toEqual([{ y: 3n }]);
    } finally {
      await tEnv.close();
    }
    const warnings = logger.entries.filter((e) => e.source === 'pyudf' && e.level === 'warn');
    expect(warnings.map((e) => e.message)).toEqual(['close() of "cb" raised OSError: flush failed']);
    expect(pythonWorkers()).toEqual([]);
  });

  test('what a UDF printed before it raised still arrives', async () => {
    const logger = recordingLogger();
    const tEnv = TableEnvironment.create({ logger });
    let error: unknown;
    try {
      tEnv.addPythonFile(path.join(dir, 'chatty.py'));
      tEnv.registerFunction('last_words', udf('chatty.last_words'));
      error = await tEnv.fromElements([[2n], [0n]], { x: BIGINT }).select('last_words(x) AS y').execute().collect()
        .catch((e: unknown) => e);
    } finally {
      await tEnv.close();
    }
    expect(error).toBeInstanceOf(UdfError);
    expect((error as UdfError).code).toBe('UDF_FAILED');
    expect(udfEntries(logger.entries)).toEqual([
      { level: 'info', message: 'about to divide 2', source: 'udf', functionName: 'last_words', pythonLogger: 'stdout' },
      { level: 'info', message: 'about to divide 0', source: 'udf', functionName: 'last_words', pythonLogger: 'stdout' },
    ]);
    expect(pythonWorkers()).toEqual([]);
    expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
  });
});

// The pyudf CLI, run as a user would (node dist/cli/main.js): env build / list
// / prune on a fresh cache, doctor, and download with and without network.
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { cacheRoot } from '../../src/environments/cache-dir.js';
import { freshCacheDir, tempDir, wheelhouseCopy } from '../support.js';

const dir = tempDir('cli-');
const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

function pyudf(args: string[], options: { env?: Record<string, string>; extendEnv?: boolean; offline?: boolean } = {}) {
  const [file, argv] = options.offline ? ['unshare', ['-n', process.execPath, CLI, ...args]] : [process.execPath, [CLI, ...args]];
  return execa(file, argv, { reject: false, env: options.env, extendEnv: options.extendEnv ?? true });
}

function requirementsFile(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('env build, list, prune and doctor on one cache', () => {
  let cacheDir: string;
  let cachedDir: string;
  let requirements: string;
  let key = '';

  beforeAll(async () => {
    cacheDir = await freshCacheDir();
    cachedDir = wheelhouseCopy();
    requirements = requirementsFile('requirements.txt', 'mpmath==1.3.0\n');
  });

  test('env build builds the environment, then reuses it; off a terminal it prints a plain line per step', async () => {
    const first = await pyudf(['env', 'build', '-r', requirements, '-d', cachedDir, '--cache-dir', cacheDir]);
    expect(first.exitCode).toBe(0);
    expect(first.stderr.split('\n')).toEqual([
      expect.stringMatching(/^\[\d+\.\ds\] creating Python environment [0-9a-f]{16} for .* — first job with these requirements; later jobs reuse it$/),
      expect.stringMatching(/^\[\d+\.\ds\] installing 1 requirement\(s\) from .*: mpmath==1\.3\.0$/),
      expect.stringMatching(/^\[\d+\.\ds\] pip: Processing mpmath-1\.3\.0-py3-none-any\.whl$/),
      expect.stringMatching(/^\[\d+\.\ds\] pip: Installing collected packages: mpmath$/),
      expect.stringMatching(/^\[\d+\.\ds\] pip: Successfully installed mpmath-1\.3\.0$/),
      expect.stringMatching(/^\[\d+\.\ds\] Python environment [0-9a-f]{16} ready in \d+\.\d s$/),
    ]);
    expect(first.stderr).not.toMatch(/\x1b\[/); // no terminal control codes in a log
    const match = /^built ([0-9a-f]{16}) (.+)$/.exec(first.stdout.trim());
    expect(match).not.toBeNull();
    key = match![1]!;
    expect(match![2]).toBe(path.join(cacheDir, 'envs', key));
    expect(fs.readdirSync(path.join(cacheDir, 'envs', key, 'site'))).toContain('mpmath');

    const second = await pyudf(['env', 'build', '-r', requirements, '-d', cachedDir, '--cache-dir', cacheDir]);
    expect(second.exitCode).toBe(0);
    expect(second.stderr).toBe('');
    expect(second.stdout.trim()).toBe(`reused ${key} ${path.join(cacheDir, 'envs', key)}`);
  });

  test('env build with a requirement the cached dir lacks exits non-zero and says why', async () => {
    const missing = requirementsFile('missing.txt', 'mpmath==1.4.1\n');
    const run = await pyudf(['--cache-dir', cacheDir, 'env', 'build', '-r', missing, '-d', cachedDir]);
    expect(run.exitCode).not.toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`pyudf: requirement mpmath==1.4.1 (from ${missing}) is not in the cached dir ${cachedDir}`);
    expect(run.stderr).toContain('[ENVIRONMENT_BUILD_FAILED]');
  });

  test('--quiet builds without a word on stderr; --verbose adds the commands run', async () => {
    const other = requirementsFile('quiet.txt', 'six==1.17.0\n');
    const quiet = await pyudf(['--quiet', 'env', 'build', '-r', other, '-d', cachedDir, '--cache-dir', cacheDir]);
    expect({ exitCode: quiet.exitCode, stderr: quiet.stderr }).toEqual({ exitCode: 0, stderr: '' });
    expect(quiet.stdout).toMatch(/^built [0-9a-f]{16} /);
    const again = requirementsFile('verbose.txt', 'six==1.17.0\nmpmath==1.3.0\n');
    const verbose = await pyudf(['--verbose', 'env', 'build', '-r', again, '-d', cachedDir, '--cache-dir', cacheDir]);
    expect(verbose.exitCode).toBe(0);
    expect(verbose.stderr).toMatch(/^\[\d+\.\ds\] running .* -m pip install .*--target /m);
  });

  test('on a terminal, env build shows each step and a live line that never wraps; the result goes to stdout', async () => {
    const live = requirementsFile('live.txt', 'sortedcontainers==2.4.0\n');
    const liveCache = await freshCacheDir('udf-cache-live-'); // the other tests count this describe's environments
    // A 40-column terminal (script(1) gives the CLI a pty), no CI variable: the live display is on.
    const command = `stty cols 40 rows 20; exec "${process.execPath}" "${CLI}" --cache-dir "${liveCache}" env build -r "${live}" -d "${cachedDir}"`;
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'CI')) as Record<string, string>;
    const run = await execa('script', ['-qec', command, '/dev/null'], { reject: false, env, extendEnv: false, stdin: 'ignore' });
    expect(run.exitCode).toBe(0);
    const screen = run.stdout;
    expect(screen).toContain('\x1b[?25l'); // the spinner hides the cursor while it runs...
    expect(screen.endsWith('\x1b[?25h') || screen.includes('\x1b[?25hbuilt ')).toBe(true); // ...and shows it again
    expect(screen).not.toContain('\x1b[1A'); // a redraw never had to go up: no line wrapped
    // Each redraw starts at column 1 (ESC[1G); what is drawn there, without colours, is one live line.
    // eslint-disable-next-line no-control-regex
    const strip = (text: string) => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    const plain = strip(screen);
    const spinnerTexts = screen.split(/\x1b\[1G|\r|\n/).map(strip).filter((part) => /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] /.test(part));
    expect(spinnerTexts.some((text) => text.includes('pip: '))).toBe(true);
    expect(spinnerTexts.filter((text) => text.length >= 40)).toEqual([]);
    expect(plain).toMatch(/\[\d+\.\ds\] creating Python environment [0-9a-f]{16}/);
    expect(plain).toMatch(/\[\d+\.\ds\] Python environment [0-9a-f]{16} ready in \d+\.\d s/);
    expect(plain).toMatch(/built [0-9a-f]{16} /);
  });

  test('env list --json gives scripts one JSON array', async () => {
    const run = await pyudf(['env', 'list', '--json', '--cache-dir', cacheDir]);
    expect(run.exitCode).toBe(0);
    const entries = JSON.parse(run.stdout) as { kind: string; name: string; dir: string; bytes: number; lastUsed: string; incomplete: boolean }[];
    expect(entries.filter((e) => e.kind === 'env').map((e) => e.name)).toContain(key);
    const env = entries.find((e) => e.name === key)!;
    expect(env).toEqual(expect.objectContaining({ kind: 'env', dir: path.join(cacheDir, 'envs', key), incomplete: false, requirementsFile: requirements }));
    expect(Number.isNaN(Date.parse(env.lastUsed))).toBe(false);
    expect(env.bytes).toBeGreaterThan(0);
  });

  test('env list shows the environment and the requirements it was built for', async () => {
    expect(key).not.toBe('');
    const run = await pyudf(['env', 'list', '--cache-dir', cacheDir]);
    expect(run.exitCode).toBe(0);
    const envLines = run.stdout.split('\n').filter((l) => l.startsWith('env '));
    expect(envLines).toHaveLength(3);
    const line = envLines.find((l) => l.includes(key))!;
    expect(line).toMatch(new RegExp(`^env +${key} .*last used .*${requirements.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    expect(line).not.toContain('unfinished');
    expect(run.stdout).toMatch(/^runtime /m);
  });

  test('doctor names the interpreter and the cache dir, and exits 0', async () => {
    const { stdout: executable } = await execa('python3', ['-c', 'import os, sys; print(os.path.realpath(sys.executable))']);
    const run = await pyudf(['doctor', '--cache-dir', cacheDir]);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain(`ok      interpreter: ${executable.trim()} (Python `);
    expect(run.stdout).toContain(`ok      cache: ${cacheDir} (--cache-dir), 3 job environment(s)`);
    expect(run.stdout).toContain('ok      worker runtime: built');
    expect(run.stdout).not.toContain('PROBLEM');
  });

  test('env prune --all removes everything from this cache, and nothing from the real one', async () => {
    const realRuntimes = fs.readdirSync(path.join(cacheRoot(), 'runtimes'));
    const run = await pyudf(['env', 'prune', '--all', '--cache-dir', cacheDir]);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^removed \d+ environment\(s\), [\d.]+ MiB$/m);
    expect(fs.existsSync(path.join(cacheDir, 'envs', key))).toBe(false);
    const list = await pyudf(['env', 'list', '--cache-dir', cacheDir]);
    expect(list.exitCode).toBe(0);
    expect(list.stdout.split('\n').filter((l) => l.startsWith('env '))).toEqual([]);
    expect(list.stdout.trim()).toBe('no cached environments');
    // The fresh cache's runtimes were links to the real cache's: those are still there.
    expect(fs.readdirSync(path.join(cacheRoot(), 'runtimes'))).toEqual(realRuntimes);
  });
});

describe('download', () => {
  test('without network it fails, saying it needs network access', async () => {
    // The mirror standing for the network here is a file:// index that `unshare -n` cannot cut off,
    // so pip's configuration of it is hidden too: what is left is the default index, unreachable.
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(process.env)) {
      if (value !== undefined && !name.startsWith('PIP_')) env[name] = value;
    }
    env.PIP_CONFIG_FILE = '/dev/null';
    const dest = path.join(dir, 'offline-download');
    const requirements = requirementsFile('download-offline.txt', 'mpmath==1.3.0\n');
    const run = await pyudf(['download', '-r', requirements, '-d', dest], { offline: true, env, extendEnv: false });
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toContain('pyudf download needs network access to a package index');
    expect(run.stderr).toContain('[ENVIRONMENT_BUILD_FAILED]');
    expect(fs.existsSync(dest) ? fs.readdirSync(dest) : []).toEqual([]);
  });

  test('with the mirror it puts the wheels into the dir, versions the wheelhouse lacks included', async () => {
    const dest = path.join(dir, 'download');
    const requirements = requirementsFile('download.txt', 'mpmath==1.4.1\n');
    const run = await pyudf(['download', '-r', requirements, '-d', dest]);
    expect(run.exitCode).toBe(0);
    expect(run.stderr.split('\n')).toEqual(expect.arrayContaining([
      expect.stringMatching(/^\[\d+\.\ds\] downloading the requirements of .*download\.txt into /),
      expect.stringMatching(/^\[\d+\.\ds\] pip: (Collecting mpmath==1\.4\.1|Processing mpmath-1\.4\.1-py3-none-any\.whl)$/),
    ]));
    expect((await pyudf(['-q', 'download', '-r', requirements, '-d', dest])).stderr).toBe('');
    expect(fs.readdirSync(dest)).toEqual(['mpmath-1.4.1-py3-none-any.whl']);
    expect(run.stdout).toBe(`1 new file(s) in ${dest}:\n  mpmath-1.4.1-py3-none-any.whl`); // execa strips the last newline
  });

  test('a requirements file that does not exist: says so, and runs no pip', async () => {
    const dest = path.join(dir, 'missing-file-download');
    const missing = path.join(dir, 'no-such-requirements.txt');
    const run = await pyudf(['download', '-r', missing, '-d', dest]);
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toBe(`pyudf: requirements file ${missing} does not exist [IO]`);
    expect(fs.existsSync(dest)).toBe(false);
  });

  test('a misspelt package name is not found on the index, which pip did reach', async () => {
    const requirements = requirementsFile('misspelt.txt', 'mpmathh==1.3.0\n');
    const run = await pyudf(['download', '-r', requirements, '-d', path.join(dir, 'misspelt-download')]);
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toContain('pyudf: mpmathh==1.3.0 not found on the package index');
    expect(run.stderr).toContain("check the name's spelling");
    expect(run.stderr).not.toContain('network');
    expect(run.stderr).toContain('[ENVIRONMENT_BUILD_FAILED]');
  });

  test('with neither -r nor --runtime it refuses', async () => {
    const run = await pyudf(['download', '-d', path.join(dir, 'nothing')]);
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toContain('give -r requirements.txt and/or --runtime');
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { EnvironmentError } from '../errors.js';

/**
 * Options a requirements file may hold when pip installs from a cached dir:
 * none of them names a place to fetch from. `-r`/`-c` are allowed too, but
 * only naming a local file, which is itself checked line by line.
 */
const SAFE_OPTIONS = new Set([
  '--hash', '--pre', '--prefer-binary', '--only-binary', '--no-binary', '--require-hashes', '--no-index',
]);

const NESTED_FILE_OPTIONS = new Set(['-r', '--requirement', '-c', '--constraint']);

// What a requirement line may name instead of a package: a path or archive
// outside the cached dir. (A line that is no requirement at all is left to
// pip, whose message names it.)
const LOCAL_PATH = /^[./~]|^[A-Za-z]:[\\/]|\.(whl|zip|tar\.gz|tgz|tar\.bz2|tar\.xz)$/i;

interface Line {
  readonly file: string;
  readonly number: number;
  readonly text: string;
}

/**
 * The logical lines of a requirements file as pip reads them: backslash
 * continuations joined (numbered by their first line), comments removed.
 */
function logicalLines(file: string, text: string): Line[] {
  const lines: Line[] = [];
  const physical = text.split(/\r?\n/);
  for (let i = 0; i < physical.length; i++) {
    const start = i + 1;
    let joined = physical[i]!;
    while (joined.endsWith('\\') && i + 1 < physical.length) joined = joined.slice(0, -1) + physical[++i]!;
    const stripped = joined.replace(/(^|\s)#.*$/, '').trim();
    if (stripped) lines.push({ file, number: start, text: stripped });
  }
  return lines;
}

function refuse(line: Line, why: string): never {
  throw new EnvironmentError(
    'ENVIRONMENT_BUILD_FAILED',
    `${line.file}:${line.number}: ${why} ("${clip(line.text)}"); with a cached dir every package comes from that dir alone: ` +
      'name each requirement by name and version, and put its file in the cached dir (pyudf download -r FILE -d DIR)',
    {},
  );
}

function clip(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** Splits `--opt=value` and `--opt value` / `-rfile` forms into the option and its value. */
function splitOption(text: string): { option: string; value: string } {
  const long = /^(--[A-Za-z-]+)(?:=|\s+)?(.*)$/.exec(text);
  if (long) return { option: long[1]!, value: long[2]!.trim() };
  return { option: text.slice(0, 2), value: text.slice(2).trim() };
}

/**
 * Checks, before pip runs, that a requirements file (and every file it names
 * with `-r`/`-c`, recursively) asks only for packages by name, so that pip
 * `--no-index --find-links DIR` has nothing to fetch from anywhere else: pip
 * honours URLs, VCS links, editable installs, `--index-url`, `--find-links`
 * and nested files by URL even with `--no-index`. Environment variables
 * (`${VAR}`) are refused too: pip expands them, so their value is unchecked.
 */
export function checkOfflineRequirements(requirementsFile: string, seen = new Set<string>()): void {
  const file = path.resolve(requirementsFile);
  if (seen.has(file)) return;
  seen.add(file);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new EnvironmentError('ENVIRONMENT_BUILD_FAILED', `cannot read requirements file ${file}: ${(error as Error).message}`, { cause: error });
  }
  for (const line of logicalLines(file, text)) {
    if (line.text.includes('${')) refuse(line, 'an environment variable, which pip would expand to something unchecked');
    if (line.text.startsWith('-')) {
      const { option, value } = splitOption(line.text);
      if (NESTED_FILE_OPTIONS.has(option)) {
        if (!value || /^[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) refuse(line, `${option} naming a URL, not a local file`);
        checkOfflineRequirements(path.resolve(path.dirname(file), value), seen);
        continue;
      }
      if (option === '-e' || option === '--editable') refuse(line, 'an editable install');
      if (!SAFE_OPTIONS.has(option)) refuse(line, `the option ${option}, which may fetch from outside the cached dir`);
      continue;
    }
    // A requirement may carry per-requirement options after it (`--hash=...`).
    const [requirement, ...options] = line.text.split(/\s+(?=--)/);
    if (requirement!.includes('://') || /^(git|hg|svn|bzr)\+/i.test(requirement!)) refuse(line, 'a URL or VCS link');
    if (/^[^;]*@/.test(requirement!)) refuse(line, 'a direct reference (name @ location)');
    if (LOCAL_PATH.test(requirement!) || /^file:/i.test(requirement!)) refuse(line, 'a path or archive, not a package name');
    for (const option of options) {
      if (splitOption(option).option !== '--hash') refuse(line, `the option ${splitOption(option).option}, which may fetch from outside the cached dir`);
    }
  }
}

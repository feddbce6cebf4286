// docs/sql.md runs as written: its Python block is saved under the name its
// first line gives, its JavaScript blocks make one script, run in an empty
// directory against the built package, with real workers and real files.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isolateTempRoot, leftoverPyudfDirs, pythonWorkers, tempDir } from '../support.js';

const tempRoot = isolateTempRoot();
const repo = fileURLToPath(new URL('../..', import.meta.url));
const DOC = path.join(repo, 'docs', 'sql.md');
const dir = tempDir('sql-docs-');

function blocks(markdown: string, language: string): string[] {
  const pattern = new RegExp('^```' + language + '\\n([\\s\\S]*?)^```$', 'gm');
  return [...markdown.matchAll(pattern)].map((match) => match[1]!);
}

test('every code block of docs/sql.md runs, in order, as one script', () => {
  const markdown = fs.readFileSync(DOC, 'utf8');
  const python = blocks(markdown, 'python');
  expect(python.length).toBeGreaterThan(0);
  for (const block of python) {
    const name = /^# (\S+\.py)\n/.exec(block)?.[1];
    expect(name).toBeDefined();
    fs.writeFileSync(path.join(dir, name!), block);
  }
  const js = blocks(markdown, 'js');
  expect(js.length).toBeGreaterThan(5);
  const built = path.join(repo, 'dist', 'index.js');
  expect(fs.existsSync(built)).toBe(true); // npm run build first
  // The package as a user's project imports it: here, the repository's build.
  const script = js.join('\n').replaceAll("from 'pyudf'", `from ${JSON.stringify(pathToFileURL(built).href)}`);
  fs.writeFileSync(path.join(dir, 'sql-tour.mjs'), script);
  const output = execFileSync(process.execPath, ['sql-tour.mjs'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  expect(output).toContain('apple\npear\n');
  expect(output).toContain('== Table API calls ==\nfrom("orders")');
  expect(pythonWorkers()).toEqual([]);
  expect(leftoverPyudfDirs(tempRoot)).toEqual([]);
}, 180_000);

// Every code block of the README and docs/ runs as written: Python blocks parse (a block
// whose first line is "# name.py" is also written to that file for the page's TypeScript),
// shell blocks parse, and a page's TypeScript blocks run, in order, as one program against
// the built package. Blocks that are not meant to run (output, commands for a clone) are
// marked `text` and skipped.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import ts from 'typescript';
import { WHEELHOUSE, isolateTempRoot, pythonWorkers, tempDir } from '../support.js';

isolateTempRoot();
const REPO = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const RUNNABLE = new Set(['ts', 'js', 'python', 'bash', 'sh']);
/** python3's own executable: a version manager's shim in front of it costs a third of a second a start. */
const realPython = execa('python3', ['-c', 'import sys; print(sys.executable)']).then((r) => r.stdout.trim());

interface Block { lang: string; code: string; line: number }

function blocksOf(file: string): Block[] {
  const text = fs.readFileSync(path.join(REPO, file), 'utf8');
  const blocks: Block[] = [];
  for (const match of text.matchAll(/^ *```(\w*)\n([\s\S]*?)^ *```$/gm)) {
    const indent = /^ */.exec(match[0])![0].length;
    const code = match[2]!.split('\n').map((l) => l.slice(Math.min(indent, /^ */.exec(l)![0].length))).join('\n');
    blocks.push({ lang: match[1]!, code, line: text.slice(0, match.index).split('\n').length });
  }
  return blocks;
}

/** Pages written as one script rather than independent blocks, each run by a test of its own. */
const RUN_AS_ONE_SCRIPT = new Map([['docs/sql.md', 'test/sql/sql-docs.test.ts'], ['docs/ray.md', 'test/cluster/ray-jobs.test.ts (js) and ray-jobs-api.test.ts (ts)']]);

const pages = ['README.md', ...fs.readdirSync(path.join(REPO, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];

test('every fenced block names its language, and is one this test runs or `text`', () => {
  const unknown = pages.flatMap((page) => blocksOf(page)
    .filter((b) => !RUNNABLE.has(b.lang) && b.lang !== 'text')
    .map((b) => `${page}:${b.line} \`\`\`${b.lang}`));
  expect(unknown).toEqual([]);
});

describe.each(pages)('%s', (page) => {
  const dir = tempDir('doc-blocks-');
  const blocks = blocksOf(page);
  const python = blocks.filter((b) => b.lang === 'python');
  const shell = blocks.filter((b) => b.lang === 'bash' || b.lang === 'sh');
  const script = blocks.filter((b) => b.lang === 'ts' || b.lang === 'js');

  test('Python blocks parse', async () => {
    // One interpreter for the page's blocks: each block's SyntaxError, or null.
    const parse = 'import ast, json, sys\nfor code in json.load(sys.stdin):\n    try:\n        ast.parse(code); print("null")\n    except SyntaxError as e:\n        print(json.dumps(repr(e)))';
    const run = await execa(await realPython, ['-c', parse], { input: JSON.stringify(python.map((b) => b.code)) });
    const errors = run.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as string | null);
    expect(python.map((b, i) => ({ at: `${page}:${b.line}`, error: errors[i] })))
      .toEqual(python.map((b) => ({ at: `${page}:${b.line}`, error: null })));
  });

  test('shell blocks parse', async () => {
    for (const block of shell) {
      const run = await execa('bash', ['-n'], { input: block.code, reject: false });
      expect({ at: `${page}:${block.line}`, exitCode: run.exitCode, stderr: run.stderr }).toEqual({ at: `${page}:${block.line}`, exitCode: 0, stderr: '' });
    }
  });

  (script.length && !RUN_AS_ONE_SCRIPT.has(page) ? test : test.skip)('TypeScript blocks run in order as one program', async () => {
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.symlinkSync(REPO, path.join(dir, 'node_modules', 'pyudf'));
    // Shell blocks are only parsed. What a page's `echo ... > requirements.txt` and
    // `pyudf download -r requirements.txt -d DIR` would make is made here, DIR from the test wheelhouse.
    for (const block of shell) {
      const requirement = /^echo "([^"]+)" > requirements\.txt$/m.exec(block.code)?.[1];
      const cachedDir = /pyudf download -r requirements\.txt -d (\S+)/.exec(block.code)?.[1];
      if (requirement) fs.writeFileSync(path.join(dir, 'requirements.txt'), `${requirement}\n`);
      if (cachedDir) fs.cpSync(WHEELHOUSE, path.join(dir, cachedDir), { recursive: true });
    }
    for (const block of python) {
      const name = /^# ([\w.]+\.py)\n/.exec(block.code)?.[1];
      if (name) fs.writeFileSync(path.join(dir, name), block.code);
    }
    const exported = Object.keys(await import(path.join(REPO, 'dist', 'index.js')));
    // Each block in its own scope, as a reader pastes it; blocks that use `tEnv` without
    // making one get a shared environment, closed at the end.
    // Imports move to the top (pyudf's are given whole).
    const IMPORT = /^import .* from '([^']+)';$/gm;
    const imports = [...new Set(script.flatMap((b) => [...b.code.matchAll(IMPORT)].filter((m) => m[1] !== 'pyudf').map((m) => m[0])))];
    const body = script.map((b) => `{ // ${page}:${b.line}\n${b.code.replace(IMPORT, '')}\n}`).join('\n');
    const source = `${imports.join('\n')}\nimport { ${exported.join(', ')} } from 'pyudf';\nconst tEnv = TableEnvironment.create();\ntry {\n${body}\n} finally {\n  await tEnv.close();\n}\n`;
    const { outputText, diagnostics } = ts.transpileModule(source, {
      reportDiagnostics: true,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    expect(diagnostics?.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
    fs.writeFileSync(path.join(dir, 'page.mjs'), outputText);
    const run = await execa('node', ['page.mjs'], { cwd: dir, reject: false, all: true, env: { NODE_OPTIONS: '', PYUDF_LOG: 'warn' } });
    expect({ page, exitCode: run.exitCode, output: run.exitCode === 0 ? '' : run.all }).toEqual({ page, exitCode: 0, output: '' });
    expect(pythonWorkers()).toEqual([]);
  }, 180_000);
});

// The execution layer's folders import one way (docs/architecture.md, "Layers"):
// batches at the bottom, planning above it, execution on top, and no cycle
// among their modules. Read from the sources' import lines, type imports included.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = path.resolve(fileURLToPath(new URL('../../src', import.meta.url)));
const LAYERED = ['batches', 'planning', 'execution'];
const IMPORT = /^\s*(?:import|export)\s[^'";]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/gm;

/** Every module of src/ (as "folder/file.ts") with the src/ modules it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const files = (fs.readdirSync(SRC, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
  for (const file of files) {
    const text = fs.readFileSync(path.join(SRC, file), 'utf8');
    const imported = [...text.matchAll(IMPORT)].map((m) => {
      const target = path.resolve(path.dirname(path.join(SRC, file)), (m[1] ?? m[2])!.replace(/\.js$/, '.ts'));
      return path.relative(SRC, target).split(path.sep).join('/');
    });
    graph.set(file.split(path.sep).join('/'), [...new Set(imported)]);
  }
  return graph;
}

const folderOf = (module: string) => module.split('/')[0]!;

/** The cycles (strongly connected sets of two or more modules) of a graph, by Tarjan's algorithm. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const members: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        members.push(w);
      } while (w !== v);
      if (members.length > 1) found.push(members.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const graph = importGraph();

test('the walk sees the layered modules and their imports', () => {
  expect(graph.get('execution/run-plan.ts')).toContain('execution/aggregation.ts');
  expect(graph.get('execution/aggregation.ts')).toContain('batches/vectors.ts');
  expect(graph.get('planning/aggregates.ts')).toContain('planning/typecheck.ts');
  // The walk finds cycles when there are some.
  expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual([['a', 'b', 'c']]);
});

test('no import cycle among the modules of batches, planning and execution', () => {
  const layered = new Map([...graph]
    .filter(([module]) => LAYERED.includes(folderOf(module)))
    .map(([module, imported]) => [module, imported.filter((m) => LAYERED.includes(folderOf(m)))]));
  expect(cycles(layered)).toEqual([]);
});

test('batches import only types and errors; planning imports neither execution nor batches', () => {
  const offending = [...graph].flatMap(([module, imported]) => imported
    .filter((m) => (folderOf(module) === 'batches' && !['batches', 'types', 'errors.ts'].includes(folderOf(m)))
      || (folderOf(module) === 'planning' && ['execution', 'batches'].includes(folderOf(m))))
    .map((m) => `${module} imports ${m}`));
  expect(offending).toEqual([]);
});

test('aggregation and lateral-join import neither run-plan (which assembles them) nor each other', () => {
  const assembled = ['execution/run-plan.ts', 'execution/aggregation.ts', 'execution/lateral-join.ts'];
  const offending = assembled.slice(1).flatMap((module) => graph.get(module)!
    .filter((m) => assembled.includes(m))
    .map((m) => `${module} imports ${m}`));
  expect(offending).toEqual([]);
});

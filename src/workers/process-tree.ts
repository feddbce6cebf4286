import fs from 'node:fs';

/**
 * The processes below `pid`, from /proc (Linux; empty elsewhere). A worker
 * adopts the orphans of its functions' children (it is their subreaper), so
 * a process that left the worker's group by a double fork and setsid() is
 * still found here, as long as the worker lives.
 */
export function descendantsOf(pid: number): number[] {
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue; // gone meanwhile
    }
    // The command name may hold spaces and parentheses: the fields follow the last ")".
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(parent) ?? [];
    list.push(Number(name));
    children.set(parent, list);
  }
  const found: number[] = [];
  const todo = [...(children.get(pid) ?? [])];
  while (todo.length > 0) {
    const child = todo.pop()!;
    found.push(child);
    todo.push(...(children.get(child) ?? []));
  }
  return found;
}

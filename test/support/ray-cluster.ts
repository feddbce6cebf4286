// A real Ray cluster for tests: a head with no CPUs (it schedules, it does not
// compute) and N worker nodes, each started with `ray start` in a network
// namespace of its own, the namespaces joined by a Linux bridge. The head runs
// on this host, on the bridge's own private address, as a job's host runs on a
// cluster's head node: Ray drivers (pyudf's included) need a raylet of their
// own machine, and the test's pyudf finds the head's. Nothing the cluster says
// leaves the bridge's subnet, which only the test made. Where
// namespaces cannot be had (not root, no `ip netns`), the same cluster as
// separate processes on this host (ray.cluster_utils).
//
// Every process of a node carries PYUDF_RAY_TEST_NODE=<cluster id>/<node> in
// its environment (Ray's processes pass their environment on to the workers
// they start, and Ray renames its processes, so their command lines cannot
// say which node they belong to). A renamed process may have written its new
// title over its environment, though; but each keeps a log file of its node's
// session directory open. Marker, open files and the node's namespace: that is
// how killNode finds all of a node's processes, and how stop() proves none is
// left, even one whose namespace were gone.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * Ray's health checks of nodes (run by the GCS on the head), tightened from
 * Ray's defaults (3 s period, 10 s timeout, 5 misses: ~15-30 s) so that a
 * killed node is marked dead in about 1.5 s: a dead node's address refuses
 * the check at once, so it takes `failure_threshold` periods.
 */
export const HEALTH_CHECKS = Object.freeze({
  health_check_initial_delay_ms: 1000,
  health_check_period_ms: 500,
  health_check_timeout_ms: 1000,
  health_check_failure_threshold: 3,
});

const MARKER = 'PYUDF_RAY_TEST_NODE';
const PROCESSES_HELPER = fileURLToPath(new URL('./ray_cluster_processes.py', import.meta.url));

export interface RayTestNode {
  /** "head", "worker0", "worker1", ... */
  readonly name: string;
  /** Its network namespace; null for the head, and for every node when the cluster runs as processes on this host. */
  readonly namespace: string | null;
  readonly ip: string;
  /** Every live process of the node: its raylet, object store, agents and workers (and, on the head, the GCS). */
  pids(): number[];
}

export interface RayTestCluster {
  /** The GCS address drivers pass to ray.init. */
  readonly address: string;
  /** The dashboard's URL ("http://ip:port"), when started with one. */
  readonly dashboardUrl: string | null;
  readonly isolation: 'netns' | 'processes';
  readonly head: RayTestNode;
  /** The worker nodes. */
  readonly nodes: readonly RayTestNode[];
  /** Where the nodes' session directories (logs) are. */
  readonly tempDir: string;
  /** SIGKILLs every process of worker node `index` at once (again until none is left); the pids it killed. */
  killNode(index: number): Promise<number[]>;
  /** Stops every node (SIGTERM, then SIGKILL), removes namespaces, links and the temp dir; throws if anything is left. */
  stop(): Promise<void>;
  /** What of this cluster is still on the machine: processes, namespaces, links. */
  leftovers(): { pids: number[]; namespaces: string[]; links: string[] };
}

export interface RayClusterOptions {
  /** The Python of an environment with Ray (the Ray runtime). */
  readonly python: string;
  readonly workers?: number;
  readonly workerCpus?: number;
  /** Each node's object store (Ray's minimum is 75 MiB). */
  readonly objectStoreBytes?: number;
  /** Added to every node's environment (its workers inherit it), e.g. PYTHONPATH. */
  readonly env?: Readonly<Record<string, string>>;
  /** "auto": namespaces where they can be had, else processes. */
  readonly isolation?: 'auto' | 'netns' | 'processes';
  /** Whether the head runs Ray's dashboard (and its Jobs REST API): only a Python with ray[default] can. Namespaces only. */
  readonly dashboard?: boolean;
}

/** Clusters not stopped yet: killed when this process exits, whatever the tests did. */
const live = new Set<{ forceStop(): void }>();
let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const cluster of live) cluster.forceStop();
  });
}

/** Whether this process may make network namespaces: root with a working `ip netns`. */
export function namespacesAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = `pyudf-probe-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Processes whose environment holds PYUDF_RAY_TEST_NODE=`marker` (exactly, or as a prefix when it ends with "/"). */
function pidsByMarker(marker: string): number[] {
  const found: number[] = [];
  const wanted = Buffer.from(`${MARKER}=${marker}`);
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let environ: Buffer;
    try {
      environ = fs.readFileSync(`/proc/${name}/environ`);
    } catch {
      continue; // exited, or not ours to read
    }
    let at = environ.indexOf(wanted);
    while (at !== -1) {
      const start = at === 0 || environ[at - 1] === 0;
      const end = environ[at + wanted.length];
      if (start && (marker.endsWith('/') || end === 0 || end === undefined)) {
        found.push(Number(name));
        break;
      }
      at = environ.indexOf(wanted, at + 1);
    }
  }
  return found;
}

/** Processes with a file under `dir` open (every Ray process keeps its logs in its node's session directory open). */
function pidsWithFilesUnder(dir: string): number[] {
  const found: number[] = [];
  const prefix = `${dir}${path.sep}`;
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${name}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = fs.readlinkSync(`/proc/${name}/fd/${fd}`);
      } catch {
        continue;
      }
      if (target.startsWith(prefix)) {
        found.push(Number(name));
        break;
      }
    }
  }
  return found;
}

function netnsPids(namespace: string): number[] {
  try {
    return execFileSync('ip', ['netns', 'pids', namespace], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // no such namespace
  }
}

function signal(pids: readonly number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // gone already
    }
  }
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function quietly(action: () => void): void {
  try {
    action();
  } catch {
    // already gone
  }
}

/** A TCP port free on this host now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs a command to its end; rejects with its output when it fails or outlasts `timeoutMs`. */
function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => { clearTimeout(timer); reject(error); });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${[file, ...args].join(' ')} failed (${sig ?? `exit code ${code}`}):\n${output.slice(-4000)}`));
    });
  });
}

/**
 * Starts a head (0 CPUs) and `workers` worker nodes of `workerCpus` CPUs each,
 * and waits until all are up. Stop it with stop() (an afterAll); a process
 * that exits without doing so kills it on its way out.
 */
export async function startRayCluster(options: RayClusterOptions): Promise<RayTestCluster> {
  const workers = options.workers ?? 3;
  const isolation = options.isolation === 'processes' || (options.isolation !== 'netns' && !namespacesAvailable()) ? 'processes' : 'netns';
  const id = crypto.randomBytes(3).toString('hex');
  // Ray's sockets live under a node's session directory, and a Unix socket's path has at most 107 bytes.
  const tempRoot = os.tmpdir().length <= 24 ? os.tmpdir() : '/tmp';
  const tempDir = fs.mkdtempSync(path.join(tempRoot, `pyudf-ray-${id}-`));
  const names = ['head', ...Array.from({ length: workers }, (_, i) => `worker${i}`)];
  const markers = names.map((name) => `${id}/${name}`);
  // The head (index 0) has no namespace: it is this host's node.
  const namespaces = isolation === 'netns' ? names.map((name, i) => (i === 0 ? '' : `pyudf-ray-${id}-${name}`)) : [];
  const bridge = `prb${id}`;
  const veths = names.slice(1).map((_, i) => `prv${id}${i.toString(36)}`);
  const links = isolation === 'netns' ? [bridge, ...veths] : [];
  let helper: ChildProcess | null = null;

  const allPids = () => [...new Set([
    ...pidsByMarker(`${id}/`), ...pidsWithFilesUnder(tempDir), ...namespaces.filter(Boolean).flatMap(netnsPids),
  ])];
  const existingNamespaces = () => {
    const listed = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]!);
    return namespaces.filter((n) => n && listed.includes(n));
  };
  const existingLinks = () => {
    const listed = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
      .split('\n').map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1]).filter((n): n is string => Boolean(n));
    return links.filter((n) => listed.includes(n));
  };
  const removeNetwork = () => {
    // A namespace's end of each veth goes with the namespace, the host's end with it.
    for (const namespace of namespaces.filter(Boolean)) quietly(() => ip('netns', 'del', namespace));
    quietly(() => ip('link', 'del', bridge));
  };
  const handle = {
    forceStop() {
      for (let round = 0; round < 20; round++) {
        const pids = allPids();
        if (pids.length === 0) break;
        signal(pids, 'SIGKILL');
        execFileSync('sleep', ['0.05']);
      }
      helper?.stdin?.destroy();
      removeNetwork();
      fs.rmSync(tempDir, { recursive: true, force: true });
      live.delete(handle);
    },
  };
  live.add(handle);
  hookExit();

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    RAY_USAGE_STATS_ENABLED: '0',
    ...Object.fromEntries(Object.entries(HEALTH_CHECKS).map(([key, value]) => [`RAY_${key}`, String(value)])),
  };
  delete env[MARKER];
  const objectStoreBytes = options.objectStoreBytes ?? 200_000_000;
  const workerCpus = options.workerCpus ?? 1;

  const node = (index: number, nodeIp: string): RayTestNode => Object.freeze({
    name: names[index]!,
    namespace: namespaces[index] || null,
    ip: nodeIp,
    pids: () => [...new Set([
      ...pidsByMarker(markers[index]!), ...pidsWithFilesUnder(path.join(tempDir, names[index]!)),
      ...(namespaces[index] ? netnsPids(namespaces[index]!) : []),
    ])],
  });

  let address: string;
  let dashboardUrl: string | null = null;
  let nodes: RayTestNode[];
  if (options.dashboard && isolation !== 'netns') throw new Error('a test cluster with a dashboard needs network namespaces');
  try {
    if (isolation === 'netns') {
      // 10.x.y.0/24 from the run's id: distinct runs rarely share one, and need not (their bridges are separate).
      const subnet = `10.${200 + (parseInt(id.slice(0, 2), 16) % 50)}.${parseInt(id.slice(2, 4), 16)}`;
      const ips = names.map((_, i) => `${subnet}.${i + 1}`);
      ip('link', 'add', bridge, 'type', 'bridge');
      ip('addr', 'add', `${ips[0]}/24`, 'dev', bridge);
      ip('link', 'set', bridge, 'up');
      names.forEach((_, i) => {
        if (i === 0) return;
        const ns = namespaces[i]!;
        ip('netns', 'add', ns);
        ip('link', 'add', veths[i - 1]!, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
        ip('link', 'set', veths[i - 1]!, 'master', bridge, 'up');
        ip('-n', ns, 'addr', 'add', `${ips[i]}/24`, 'dev', 'eth0');
        ip('-n', ns, 'link', 'set', 'eth0', 'up');
        ip('-n', ns, 'link', 'set', 'lo', 'up');
      });
      address = `${ips[0]}:${await freePort()}`;
      if (options.dashboard) dashboardUrl = `http://${ips[0]}:${await freePort()}`;
      const rayStart = (i: number, args: string[]) => run(i === 0 ? options.python : 'ip', [
        ...(i === 0 ? [] : ['netns', 'exec', namespaces[i]!, options.python]), '-m', 'ray.scripts.scripts', 'start',
        `--node-ip-address=${ips[i]}`, '--disable-usage-stats', `--object-store-memory=${objectStoreBytes}`,
        `--temp-dir=${path.join(tempDir, names[i]!)}`, ...args,
      ], { ...env, [MARKER]: markers[i]! }, 120_000);
      // The head listens on this host: its fixed ports are free ones, not Ray's defaults another Ray may hold.
      await rayStart(0, [
        '--head', `--port=${address.split(':')[1]}`, '--num-cpus=0',
        ...(dashboardUrl ? ['--include-dashboard=true', `--dashboard-host=${ips[0]}`, `--dashboard-port=${new URL(dashboardUrl).port}`] : ['--include-dashboard=false']),
        `--ray-client-server-port=${await freePort()}`, `--dashboard-agent-listen-port=${await freePort()}`,
      ]);
      // Two at a time: more raylets importing at once on two cores outlast Ray's start-up timeouts.
      for (let i = 1; i < names.length; i += 2) {
        await Promise.all([i, i + 1].filter((j) => j < names.length)
          .map((j) => rayStart(j, [`--address=${address}`, `--num-cpus=${workerCpus}`])));
      }
      nodes = names.map((_, i) => node(i, ips[i]!));
    } else {
      const config = { markers, tempDir, objectStoreBytes, workerCpus, systemConfig: HEALTH_CHECKS };
      const child = spawn(options.python, [PROCESSES_HELPER, JSON.stringify(config)], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      helper = child;
      let output = '';
      child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
      const started = await new Promise<{ address: string; nodes: { name: string; ip: string }[] }>((resolve, reject) => {
        const lines = readline.createInterface({ input: child.stdout! });
        lines.once('line', (line) => resolve(JSON.parse(line) as { address: string; nodes: { name: string; ip: string }[] }));
        child.once('exit', (code) => reject(new Error(`the Ray test cluster's helper exited (${code}):\n${output.slice(-4000)}`)));
      });
      address = started.address;
      nodes = started.nodes.map((n, i) => node(i, n.ip));
    }
  } catch (error) {
    handle.forceStop();
    throw error;
  }

  const leftovers = () => ({ pids: allPids(), namespaces: existingNamespaces(), links: existingLinks() });
  return Object.freeze({
    address,
    dashboardUrl,
    isolation,
    head: nodes[0]!,
    nodes: Object.freeze(nodes.slice(1)),
    tempDir,
    async killNode(index: number) {
      const target = nodes[index + 1];
      if (!target) throw new Error(`no worker node ${index}`);
      const killed = new Set<number>();
      for (let round = 0; round < 50; round++) {
        const pids = target.pids();
        if (pids.length === 0) break;
        signal(pids, 'SIGKILL');
        pids.forEach((pid) => killed.add(pid));
        await sleep(20);
      }
      if (target.pids().length > 0) throw new Error(`node ${target.name} still has processes ${target.pids().join(' ')}`);
      return [...killed];
    },
    async stop() {
      signal(allPids(), 'SIGTERM');
      const deadline = Date.now() + 1000;
      while (allPids().length > 0 && Date.now() < deadline) await sleep(50);
      // The GCS and the autoscaler's monitor do not always heed SIGTERM promptly.
      for (let round = 0; round < 100 && allPids().length > 0; round++) {
        signal(allPids(), 'SIGKILL');
        await sleep(50);
      }
      helper?.stdin?.end();
      if (helper && helper.exitCode === null && helper.signalCode === null) {
        await new Promise((resolve) => { helper!.once('exit', resolve); setTimeout(() => { helper!.kill('SIGKILL'); }, 5000); });
      }
      removeNetwork();
      fs.rmSync(tempDir, { recursive: true, force: true });
      live.delete(handle);
      const left = leftovers();
      if (left.pids.length + left.namespaces.length + left.links.length > 0) {
        handle.forceStop();
        throw new Error(`the Ray test cluster left ${JSON.stringify(left)}`);
      }
    },
    leftovers,
  });
}

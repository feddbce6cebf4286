// A real Ray cluster (a head and three one-CPU worker nodes, each in its own
// network namespace) from pyudf's Ray runtime: jobs run on every worker node,
// a job outlives the SIGKILL of a node whose death Ray notices within
// seconds, and stopping the cluster leaves no process, namespace or link.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chooseInterpreter } from '../../src/environments/interpreter.js';
import { ensureRayRuntime, rayRuntimeEnv, type RayRuntime } from '../../src/environments/ray-runtime.js';
import { recordingLogger } from '../support.js';
import { startRayCluster, type RayTestCluster } from '../support/ray-cluster.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/ray/', import.meta.url));

let runtime: RayRuntime;
let cluster: RayTestCluster | null = null;
const phases: Record<string, string> = {};

beforeAll(async () => {
  runtime = await ensureRayRuntime(chooseInterpreter(), { logger: recordingLogger() });
  const started = Date.now();
  cluster = await startRayCluster({ python: runtime.python, workers: 3, workerCpus: 1, env: rayRuntimeEnv(runtime) });
  phases['cluster start'] = `${((Date.now() - started) / 1000).toFixed(1)} s (${cluster.isolation})`;
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
  console.log(`Ray test cluster: ${Object.entries(phases).map(([k, v]) => `${k} ${v}`).join(', ')}`);
}, 60_000);

/** Runs a fixture job as a driver on the head; calls onLine with each JSON line it prints; resolves with all of them when it exits 0. */
function runJob(script: string, onLine: (line: Record<string, unknown>) => void = () => undefined, extra: string[] = []): Promise<Record<string, unknown>[]> {
  const { file, args } = cluster!.onHead(runtime.python, [path.join(FIXTURES, script), cluster!.address, ...extra]);
  const child = spawn(file, args, { env: { ...process.env, ...rayRuntimeEnv(runtime) }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  readline.createInterface({ input: child.stdout }).on('line', (text) => {
    if (!text.startsWith('{')) return;
    const line = JSON.parse(text) as Record<string, unknown>;
    lines.push(line);
    onLine(line);
  });
  return new Promise((resolve, reject) => {
    child.on('close', (code) => (code === 0 ? resolve(lines) : reject(new Error(`${script} exited ${code}:\n${stderr.slice(-4000)}`))));
  });
}

test('a job runs a task on each of the three worker nodes, none on the head', async () => {
  const started = Date.now();
  const [result] = await runJob('nodes_job.py');
  phases.job = `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const { nodes, reports } = result as { nodes: { id: string; ip: string; cpus: number }[]; reports: { node: string; ip: string }[] };
  expect(nodes).toHaveLength(4);
  expect(nodes.find((n) => n.ip === cluster!.head.ip)?.cpus).toBe(0);
  const workerIps = cluster!.nodes.map((n) => n.ip).sort();
  expect(reports.map((r) => r.ip).sort()).toEqual(workerIps);
  expect(new Set(reports.map((r) => r.node)).size).toBe(3);
  for (const report of reports) expect(nodes.find((n) => n.id === report.node)?.ip).toBe(report.ip);
}, 60_000);

test('a job\'s requirements are installed on the nodes from the bundle\'s wheels/ only; one missing there fails fast with pip\'s message', async () => {
  const bundles = fs.mkdtempSync(path.join(os.tmpdir(), 'pyudf-ray-bundles-'));
  try {
    const started = Date.now();
    const [result] = await runJob('offline_requirements_job.py', () => undefined, [bundles]);
    phases['offline requirements job'] = `${((Date.now() - started) / 1000).toFixed(1)} s`;
    const { found, missing } = result as {
      found: { result?: { answer: number; file: string; prefix: string }; seconds: number };
      missing: { error?: string; message?: string; seconds: number };
    };
    // The package no index has came from the bundle, into the job's own virtualenv on the node.
    expect(found).toMatchObject({ result: { answer: 42 } });
    expect(found.result?.file).toContain(found.result!.prefix);
    expect(found.result?.prefix).not.toBe(runtime.dir);
    expect(missing.error).toBe('RuntimeEnvSetupError');
    expect(missing.message).toMatch(/No matching distribution found for pyudf-offline-absent==1\.0/);
    // pip itself fails at once (no index to wait on); Ray's agent tries the set-up a few times, each cloning the node's venv.
    expect(missing.seconds).toBeLessThan(90);
    phases['missing requirement failure'] = `${missing.seconds.toFixed(1)} s`;
  } finally {
    fs.rmSync(bundles, { recursive: true, force: true });
  }
}, 120_000);

test('a job whose tasks retry completes with the right sum when a worker node is SIGKILLed under it; Ray marks the node dead within seconds', async () => {
  const victim = cluster!.nodes[1]!;
  expect(victim.pids().length).toBeGreaterThanOrEqual(3); // raylet (with its object store), agents, workers
  let killedAt = 0;
  let killed: Promise<number[]> | null = null;
  const lines = await runJob('retried_job.py', (line) => {
    if ('submitted' in line) {
      killedAt = Date.now();
      killed = cluster!.killNode(1);
    }
  });
  expect(killed).not.toBeNull();
  expect((await killed!).length).toBeGreaterThanOrEqual(3);
  expect(victim.pids()).toEqual([]);
  const dead = lines.find((l) => 'dead' in l) as { dead: string; ip: string; at: number } | undefined;
  expect(dead?.ip).toBe(victim.ip);
  const detectionMs = dead!.at * 1000 - killedAt;
  phases['node death detection'] = `${(detectionMs / 1000).toFixed(1)} s`;
  expect(detectionMs).toBeLessThan(5000);
  const end = lines.find((l) => 'sum' in l) as { sum: number; expected: number };
  expect(end.sum).toBe(end.expected);
  // The other nodes still run.
  for (const node of [cluster!.head, cluster!.nodes[0]!, cluster!.nodes[2]!]) expect(node.pids().length).toBeGreaterThan(0);
}, 90_000);

test('stop() leaves no Ray process, namespace or link of the cluster', async () => {
  const stopping = cluster!;
  const { tempDir } = stopping;
  const started = Date.now();
  await stopping.stop();
  cluster = null;
  phases.stop = `${((Date.now() - started) / 1000).toFixed(1)} s`;
  expect(stopping.leftovers()).toEqual({ pids: [], namespaces: [], links: [] });
  const processes = execFileSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' }).split('\n')
    .filter((l) => l.includes(tempDir) && !/^\s*\d+\s+Z/.test(l));
  expect(processes).toEqual([]);
  if (stopping.isolation === 'netns') {
    const id = path.basename(stopping.head.namespace!).split('-')[2]!;
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(id);
    expect(execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })).not.toContain(id);
  }
}, 60_000);

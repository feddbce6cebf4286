// `npm run bench`: runs every case (median of several runs after a warm-up)
// and writes bench/results/latest.json, latest.md and latest.svg.
// `--smoke` runs tiny sizes once: it checks the benchmark works, not speed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureWorkerRuntime } from '../dist/environments/worker-runtime.js';
import { chooseInterpreter } from '../dist/environments/interpreter.js';
import * as cases from './cases.mjs';
import * as engineCases from './engine-cases.mjs';
import { markdownTable, svgChart } from './report.mjs';

const smoke = process.argv.includes('--smoke');
// `--only vectorized` runs just the vectorized and async cases, at full size, and writes no report.
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : null;
const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
const prefix = smoke ? 'smoke' : 'latest';
const SIZES = smoke
  ? { engine: 100_000, engineColumns: 100_000, csvScan: 20_000, tutorial: 10_000, elements: 20_000, collect: 20_000, scalar: 20_000, strings: 10_000, doubles: 20_000, aggregate: 20_000, csv: [10_000], pythonia: 0.5, trickle: 20, vectorized: 20_000, asyncRows: 200, runs: 1 }
  : { engine: 10_000_000, engineColumns: 10_000_000, csvScan: 2_000_000, tutorial: 1_000_000, elements: 1_000_000, collect: 1_000_000, scalar: 5_000_000, strings: 1_000_000, doubles: 5_000_000, aggregate: 1_000_000, csv: [1_000_000, 5_000_000], pythonia: 10, trickle: 200, vectorized: 5_000_000, asyncRows: 1_000, runs: 3 };
const GROUPS = 1000;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** A case run in its own Node process (see child-case.mjs). */
function inChild(name, args) {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'child-case.mjs');
  return JSON.parse(execFileSync(process.execPath, [script, name, JSON.stringify(args)], { encoding: 'utf8' }).trim().split('\n').at(-1));
}

/** A warm-up, then `runs` measured runs; the median run by time is reported. */
async function measure(name, fn, runs = SIZES.runs, notes) {
  if (!smoke) await fn();
  const results = [];
  for (let i = 0; i < runs; i++) results.push(await fn());
  const seconds = median(results.map((r) => r.seconds));
  const picked = results.find((r) => r.seconds === seconds);
  const entry = { name, ...picked, seconds, rowsPerSecond: picked.rows / seconds, runs, notes: typeof notes === 'function' ? notes(picked) : notes };
  process.stderr.write(`${name}: ${Math.round(entry.rowsPerSecond).toLocaleString('en')} rows/s\n`);
  return entry;
}

const runtime = await ensureWorkerRuntime(chooseInterpreter(), { logger: { log: () => undefined } });
const machine = {
  cores: os.cpus().length,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  memoryGb: Math.round(os.totalmem() / 2 ** 30),
  node: process.versions.node,
  python: execFileSync(runtime.python, ['-c', 'import platform; print(platform.python_version())'], { encoding: 'utf8' }).trim(),
};

/** The vectorized a + b, the same pandas expression in one process, and the async sleeper. */
async function vectorizedCases() {
  const doubles = cases.doubleColumns(SIZES.vectorized);
  const vectorized = await measure('vectorized a + b (pandas), DOUBLE', () => cases.vectorizedAdd({ n: SIZES.vectorized, columns: doubles }), SIZES.runs,
    (r) => `warm worker, bundles of ${cases.VECTORIZED_BUNDLE_SIZE.toLocaleString('en')} rows; ${r.inFunctionMs.toFixed(1)} ms inside the function; first job ${r.coldStartMs.toFixed(0)} ms`);
  const pandas = await measure('pandas a + b, one process', () => cases.pandasBaseline({ n: SIZES.vectorized }));
  const sleeper = await measure(`async UDF sleeping 10 ms per row, one worker`, () => cases.asyncSleep({ n: SIZES.asyncRows }), SIZES.runs,
    (r) => `${(r.seconds * 1000).toFixed(0)} ms wall`);
  return { vectorized, pandas, sleeper };
}

function vectorizedTargets({ vectorized, pandas, sleeper }) {
  return [
    { name: 'vectorized a + b, end to end', measured: `${Math.round(vectorized.rowsPerSecond).toLocaleString('en')} rows/s`, goal: '≥ 20,000,000 rows/s', met: vectorized.rowsPerSecond >= 20_000_000 },
    { name: 'vectorized ÷ pandas in one process', measured: (vectorized.rowsPerSecond / pandas.rowsPerSecond).toFixed(3), goal: '—', met: true },
    { name: `async sleeper, ${sleeper.rows.toLocaleString('en')} rows × 10 ms`, measured: `${(sleeper.seconds * 1000).toFixed(0)} ms`, goal: '< 1,000 ms', met: sleeper.seconds < 1 },
  ];
}

/**
 * The engine's figures: relational work without Python, CSV scanning,
 * collect(), and the tutorial job and fromElements → add → collect() beside
 * the same work in plain Python, measured one after the other in this run.
 */
async function speedCases() {
  const tutorial = await measure(`tutorial job, CSV to CSV, ${SIZES.tutorial.toLocaleString('en')} rows`, () => inChild('csvEndToEnd', { n: SIZES.tutorial }), 1, (r) => `default settings; peak RSS ${r.peakRssMb} MB; the CSV file is read by DuckDB's CSV reader`);
  const pythonCsv = await measure(`Python script, csv module + the same lambda, ${SIZES.tutorial.toLocaleString('en')} rows`, () => cases.pythonCsvBaseline({ n: SIZES.tutorial }), 1);
  const elements = await measure(`fromElements → add(a, b) → collect(), ${SIZES.elements.toLocaleString('en')} rows`, () => cases.elementsAddCollect({ n: SIZES.elements }), 1, 'default settings, warm workers; half the time waiting for the worker, most of the rest garbage collection');
  const pythonLoop = await measure(`the same lambda in one Python process, ${SIZES.elements.toLocaleString('en')} rows`, () => cases.pythonBaseline({ n: SIZES.elements }), 1);
  const whereSelect = await measure(`engine where/select, ${SIZES.engine.toLocaleString('en')} BIGINT rows, no Python`, () => engineCases.engineWhereSelect({ n: SIZES.engine }), 1,
    'Parquet table, where(a > 10).select(a + b * 2) counted inside the engine: no row crosses into JavaScript');
  const columnsWhereSelect = await measure(`fromColumns where/select, ${SIZES.engineColumns.toLocaleString('en')} BIGINT rows, no Python`, () => engineCases.columnsWhereSelect({ n: SIZES.engineColumns }), 1,
    'in-memory BigInt64Array columns, where(a > 10).select(a + b * 2) moved into the engine, counted; appending the columns into DuckDB (appendDataChunk) is most of the time');
  const csvScan = await measure(`CSV scan, two BIGINT columns, ${SIZES.csvScan.toLocaleString('en')} rows`, () => engineCases.csvScan({ n: SIZES.csvScan }), 1, 'counted where DuckDB loaded the file: no row crosses into JavaScript');
  const collect = await measure(`engine collect(), ${SIZES.collect.toLocaleString('en')} rows`, () => engineCases.engineCollect({ n: SIZES.collect }), 1,
    'two BIGINT columns of an engine stage, read from DuckDB chunks as bytes, into one object per row; the heap of row objects and bigints (garbage collection) is most of a profile');
  const rate = (c) => `${Math.round(c.rowsPerSecond).toLocaleString('en')} rows/s`;
  const tutorialRatio = pythonCsv.seconds / tutorial.seconds;
  const elementsRatio = elements.rowsPerSecond / pythonLoop.rowsPerSecond;
  const targets = [
    { name: 'tutorial job ÷ Python csv script (speed-up)', measured: `${tutorialRatio.toFixed(2)}×`, goal: '≥ 2×', met: tutorialRatio >= 2 },
    { name: 'fromElements → add → collect() ÷ lambda in one process', measured: elementsRatio.toFixed(2), goal: '≥ 0.8', met: elementsRatio >= 0.8 },
    { name: 'engine where/select (Parquet), no Python', measured: rate(whereSelect), goal: '≥ 50,000,000 rows/s', met: whereSelect.rowsPerSecond >= 50_000_000 },
    { name: 'fromColumns where/select, no Python', measured: rate(columnsWhereSelect), goal: '≥ 50,000,000 rows/s', met: columnsWhereSelect.rowsPerSecond >= 50_000_000 },
    { name: 'CSV scan, two BIGINT columns', measured: rate(csvScan), goal: '≥ 10,000,000 rows/s', met: csvScan.rowsPerSecond >= 10_000_000 },
    { name: 'engine collect()', measured: rate(collect), goal: '≥ 5,000,000 rows/s', met: collect.rowsPerSecond >= 5_000_000 },
  ];
  return { cases: [tutorial, pythonCsv, elements, pythonLoop, whereSelect, columnsWhereSelect, csvScan, collect], targets, ratios: { tutorialVersusPythonCsv: tutorialRatio, elementsCollectVersusPython: elementsRatio } };
}

// `--only engine` runs just the engine and end-to-end speed cases and writes no report.
if (only === 'engine') {
  const speed = await speedCases();
  process.stdout.write(`${markdownTable({ smoke, machine, ...speed })}\n`);
  process.exit(0);
}

if (only === 'vectorized') {
  const picked = await vectorizedCases();
  const partial = { smoke, machine, cases: Object.values(picked), targets: vectorizedTargets(picked) };
  process.stdout.write(`${markdownTable(partial)}\n`);
  process.exit(0);
}

const columns = cases.bigintColumns(SIZES.scalar);
const results = [];
const warmNote = (r) => `warm workers (first job ${Math.round(r.firstJobMs)} ms)`;
const p1 = await measure('scalar add, parallelism 1', () => cases.scalarAdd({ n: SIZES.scalar, parallelism: 1, columns }), SIZES.runs, warmNote);
const p2 = await measure('scalar add, parallelism 2', () => cases.scalarAdd({ n: SIZES.scalar, parallelism: 2, columns }), SIZES.runs, warmNote);
const baseline = await measure('Python loop, one process', () => cases.pythonBaseline({ n: SIZES.scalar }));
const peer = await measure('pythonia, a call per row', () => cases.pythoniaPeer({ seconds: SIZES.pythonia }), 1);
results.push(p1, p2, baseline, peer);
results.push(await measure('upper(s), strings', () => cases.stringUpper({ n: SIZES.strings }), SIZES.runs, warmNote));
results.push(await measure('DOUBLE x * 1.5', () => cases.doubleScale({ n: SIZES.doubles }), SIZES.runs, warmNote));
for (const [variant, pandas] of [['AggregateFunction', false], ['pandas udaf', true]]) {
  results.push(await measure(`groupBy mean, ${variant}`, () => cases.groupedMean({ n: SIZES.aggregate, groups: GROUPS, pandas }), SIZES.runs,
    `${GROUPS.toLocaleString('en')} groups; input rows/s`));
}
const csv = [];
for (const n of SIZES.csv) {
  csv.push(await measure(`CSV to CSV, ${n.toLocaleString('en')} rows`, () => inChild('csvEndToEnd', { n }), 1, (r) => `peak RSS ${r.peakRssMb} MB`));
}
results.push(...csv);
const startUp = await measure('start-up to first row (new workers)', () => cases.startUp(), smoke ? 1 : 5, (r) => `${(r.seconds * 1000).toFixed(0)} ms`);
const startUpWarm = await measure('start-up to first row (warm workers)', () => cases.startUp({ warm: true }), smoke ? 1 : 5, (r) => `${(r.seconds * 1000).toFixed(1)} ms`);
results.push(startUp, startUpWarm);
const latencyNote = (r) => `p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms`;
// In processes of their own: a latency tail must not be a collection of the garbage earlier cases left.
const trickleCold = await measure('trickle, 5 ms apart (new workers)', () => inChild('trickleLatency', { n: SIZES.trickle, gapMs: 5 }), 1, latencyNote);
const trickle = await measure('trickle, 5 ms apart (warm workers)', () => inChild('trickleLatency', { n: SIZES.trickle, gapMs: 5, warm: true }), 1, latencyNote);
results.push(trickleCold, trickle);
const vectorizedResults = await vectorizedCases();
results.push(...Object.values(vectorizedResults));

const speed = await speedCases();
results.push(...speed.cases);

const bridge = p1.rowsPerSecond / baseline.rowsPerSecond;
const vsPeer = p1.rowsPerSecond / peer.rowsPerSecond;
const targets = [
  { name: 'bridge efficiency (parallelism 1 ÷ Python loop)', measured: bridge.toFixed(2), goal: '≥ 0.8', met: bridge >= 0.8 },
  { name: 'parallelism 1 ÷ pythonia', measured: `${Math.round(vsPeer)}×`, goal: '≥ 500×', met: vsPeer >= 500 },
  { name: 'start-up to first row, new workers', measured: `${(startUp.seconds * 1000).toFixed(0)} ms`, goal: '≤ 300 ms', met: startUp.seconds <= 0.3 },
  { name: 'start-up to first row, warm workers', measured: `${(startUpWarm.seconds * 1000).toFixed(1)} ms`, goal: '≤ 20 ms', met: startUpWarm.seconds <= 0.02 },
  { name: 'trickle latency p99, warm workers (new workers: see the table)', measured: `${trickle.p99Ms.toFixed(2)} ms`, goal: '≤ 10 ms', met: trickle.p99Ms <= 10 },
  ...csv.map((c) => ({ name: `CSV peak RSS, ${c.rows.toLocaleString('en')} rows`, measured: `${c.peakRssMb} MB`, goal: '< 300 MB', met: c.peakRssMb < 300 })),
  ...vectorizedTargets(vectorizedResults),
  ...speed.targets,
];
const report = {
  smoke, date: new Date().toISOString(), machine, cases: results, targets,
  ratios: { bridgeEfficiency: bridge, versusPythonia: vsPeer, vectorizedVersusPandas: vectorizedResults.vectorized.rowsPerSecond / vectorizedResults.pandas.rowsPerSecond, ...speed.ratios },
};

fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, `${prefix}.json`), `${JSON.stringify(report, null, 2)}\n`);
const table = markdownTable(report);
fs.writeFileSync(path.join(outDir, `${prefix}.md`), `${table}\n`);
fs.writeFileSync(path.join(outDir, `${prefix}.svg`), `${svgChart(report)}\n`);
process.stdout.write(`${table}\n`);

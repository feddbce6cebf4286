/*
 * The shapes of the protocol's CallStats, FunctionMetrics and MetricReading
 * messages, declared here rather than imported from the protocol module: the
 * public types (FunctionMetrics) must not pull gRPC's type declarations into
 * every program that imports pyudf.
 */

/** What a worker measured running one batch. */
export interface BatchStats {
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly rowsFailed: number;
  readonly functionNanos: number;
}

/** One function's registered metrics in one worker, read at the job's end. */
export interface WorkerFunctionMetrics {
  readonly functionName: string;
  readonly readings: readonly MetricReadingValue[];
}

export interface MetricReadingValue {
  readonly identifier: string;
  readonly kind: string;
  readonly count: number;
  readonly rate: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  readonly number: number;
  readonly text: string;
  readonly isText: boolean;
}

/** A meter's events, combined over the workers. */
export interface MeterReading {
  readonly count: number;
  /** Events per second over the meter's time span (or its life, when shorter), summed over the workers. */
  readonly rate: number;
}

/** A distribution's values, merged over the workers. */
export interface DistributionReading {
  readonly count: number;
  readonly sum: number;
  /** null when no value was recorded. */
  readonly min: number | null;
  readonly max: number | null;
  readonly mean: number | null;
}

/** One worker's reading of a gauge at the job's end. */
export type GaugeReading = number | string;

/**
 * One function's figures in one job. The built-in figures are measured by the
 * workers per batch and count every batch once, including batches answered by
 * a worker that died later. The metrics the function registered
 * (`function_context.get_metric_group()`) are read from each worker at the
 * job's end, by identifier ("group.name"), and combined.
 */
export interface FunctionMetrics {
  /** Rows the function was called on (an aggregate: rows accumulated or attempted). */
  readonly rowsIn: number;
  /** Rows it returned a result for, rowsIn less rowsFailed; a table function: the rows it produced. */
  readonly rowsOut: number;
  /** Rows on which it raised (the error policy decided what became of them). */
  readonly rowsFailed: number;
  /** Batches the function was called on (a row function once per row of each; an aggregate: its accumulating calls). */
  readonly batches: number;
  /**
   * Time spent inside the function, summed over batches and workers (for a
   * table or aggregate function, with the worker's handling of its values).
   */
  readonly timeInFunctionMs: number;
  /** Summed over the workers. */
  readonly counters: Readonly<Record<string, number>>;
  readonly meters: Readonly<Record<string, MeterReading>>;
  readonly distributions: Readonly<Record<string, DistributionReading>>;
  /** One reading per worker that reported the gauge: a gauge's values need not add up, so they are not combined. */
  readonly gauges: Readonly<Record<string, readonly GaugeReading[]>>;
  /** Workers whose registered metrics are combined here. */
  readonly workersReported: number;
  /**
   * Workers whose registered metrics are missing: those that died during the
   * job (their replacements' metrics start again from their own open()), or
   * could not end it. The built-in figures are not lost with them.
   */
  readonly workersLost: number;
}

interface Totals {
  rowsIn: number;
  rowsOut: number;
  rowsFailed: number;
  batches: number;
  nanos: number;
  workersReported: number;
  readonly counters: Map<string, number>;
  readonly meters: Map<string, { count: number; rate: number }>;
  readonly distributions: Map<string, { count: number; sum: number; min: number; max: number }>;
  readonly gauges: Map<string, GaugeReading[]>;
}

/** The figures of one job's functions, collected as batches are answered and workers report. */
export class JobMetrics {
  readonly #functions = new Map<string, Totals>();
  #workersLost = 0;

  constructor(functionNames: Iterable<string>) {
    for (const name of functionNames) this.#functions.set(name, emptyTotals());
  }

  /** One answered batch. */
  recordCall(functionName: string, stats: BatchStats | null): void {
    const totals = this.#functions.get(functionName);
    if (!totals || !stats) return;
    totals.batches++;
    totals.rowsIn += stats.rowsIn;
    totals.rowsOut += stats.rowsOut;
    totals.rowsFailed += stats.rowsFailed;
    totals.nanos += stats.functionNanos;
  }

  /** Batches answered elsewhere (a job on a cluster), already summed: `batches` of them, with their stats' totals. */
  recordCalls(functionName: string, batches: number, stats: BatchStats): void {
    const totals = this.#functions.get(functionName);
    if (!totals || batches <= 0) return;
    totals.batches += batches;
    totals.rowsIn += stats.rowsIn;
    totals.rowsOut += stats.rowsOut;
    totals.rowsFailed += stats.rowsFailed;
    totals.nanos += stats.functionNanos;
  }

  /** What one worker's functions registered, read at the job's end. */
  addWorkerReport(report: readonly WorkerFunctionMetrics[]): void {
    for (const { functionName, readings } of report) {
      const totals = this.#functions.get(functionName);
      if (!totals) continue;
      totals.workersReported++;
      for (const reading of readings) addReading(totals, reading);
    }
  }

  /** Workers that died during the job (their registered metrics with them). */
  recordWorkersLost(count: number): void {
    this.#workersLost = count;
  }

  result(): Readonly<Record<string, FunctionMetrics>> {
    const out: Record<string, FunctionMetrics> = {};
    for (const [name, totals] of this.#functions) out[name] = freeze(totals, this.#workersLost);
    return Object.freeze(out);
  }
}

function emptyTotals(): Totals {
  return {
    rowsIn: 0, rowsOut: 0, rowsFailed: 0, batches: 0, nanos: 0, workersReported: 0,
    counters: new Map(), meters: new Map(), distributions: new Map(), gauges: new Map(),
  };
}

function addReading(totals: Totals, reading: MetricReadingValue): void {
  const id = reading.identifier;
  switch (reading.kind) {
    case 'counter':
      totals.counters.set(id, (totals.counters.get(id) ?? 0) + reading.count);
      break;
    case 'meter': {
      const meter = totals.meters.get(id) ?? { count: 0, rate: 0 };
      meter.count += reading.count;
      meter.rate += reading.rate;
      totals.meters.set(id, meter);
      break;
    }
    case 'distribution': {
      const merged = totals.distributions.get(id) ?? { count: 0, sum: 0, min: Infinity, max: -Infinity };
      if (reading.count > 0) {
        merged.count += reading.count;
        merged.sum += reading.sum;
        merged.min = Math.min(merged.min, reading.min);
        merged.max = Math.max(merged.max, reading.max);
      }
      totals.distributions.set(id, merged);
      break;
    }
    case 'gauge': {
      const readings = totals.gauges.get(id) ?? [];
      readings.push(reading.isText ? reading.text : reading.number);
      totals.gauges.set(id, readings);
      break;
    }
  }
}

function freeze(totals: Totals, workersLost: number): FunctionMetrics {
  const record = <V, R>(map: Map<string, V>, fn: (value: V) => R): Readonly<Record<string, R>> =>
    Object.freeze(Object.fromEntries([...map].map(([id, value]) => [id, fn(value)])));
  return Object.freeze({
    rowsIn: totals.rowsIn,
    rowsOut: totals.rowsOut,
    rowsFailed: totals.rowsFailed,
    batches: totals.batches,
    timeInFunctionMs: totals.nanos / 1e6,
    counters: record(totals.counters, (count) => count),
    meters: record(totals.meters, (meter) => Object.freeze({ ...meter })),
    distributions: record(totals.distributions, (d) => Object.freeze({
      count: d.count,
      sum: d.sum,
      min: d.count > 0 ? d.min : null,
      max: d.count > 0 ? d.max : null,
      mean: d.count > 0 ? d.sum / d.count : null,
    })),
    gauges: record(totals.gauges, (readings) => Object.freeze([...readings])),
    workersReported: totals.workersReported,
    workersLost,
  });
}

// Timing and statistics: closed-loop load, interleaved rounds, medians and percentiles.
import { performance } from 'node:perf_hooks';

export const median = (values: readonly number[]): number => percentile(values, 50);

/** Nearest-rank percentile (p in 0..100); NaN for no values. */
export const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
};

export const round = (value: number, digits = 2): number => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn` and returns how long it took, in milliseconds, with its result. */
export const timed = async <T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> => {
  const started = performance.now();
  const result = await fn();
  return { ms: performance.now() - started, result };
};

export interface LoadResult {
  readonly ops: number;
  readonly errors: number;
  readonly elapsedMs: number;
  /** Completed operations per second. */
  readonly perSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number };
  /**
   * CPU time of this process (all its threads: user + system) per completed operation, in microseconds.
   * Only this process: servers in other processes (the Cosmos-compatible server, Kafka) are not in it.
   */
  readonly cpuUsPerOp: number;
  /** The first error, to tell what failed. */
  readonly firstError?: string;
}

/**
 * Closed-loop load: `concurrency` workers each call `op` back to back until `durationMs` has passed
 * (an operation started before the deadline is waited for and counted).
 */
export const closedLoop = async (
  { concurrency, durationMs }: { concurrency: number; durationMs: number },
  op: (worker: number) => Promise<void>,
): Promise<LoadResult> => {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await op(worker);
          latencies.push(performance.now() - t0);
        } catch (error) {
          errors++;
          firstError ??= error instanceof Error ? error.message : String(error);
        }
      }
    }),
  );
  return loadResult(latencies, errors, firstError, started, cpuBefore);
};

/** What a load run measured: throughput, latency percentiles and the load generator's CPU per operation. */
const loadResult = (
  latencies: number[],
  errors: number,
  firstError: string | undefined,
  started: number,
  cpuBefore: NodeJS.CpuUsage,
): LoadResult => {
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    ops: latencies.length,
    errors,
    elapsedMs,
    perSecond: (latencies.length / elapsedMs) * 1000,
    latencyMs: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)) },
    cpuUsPerOp: latencies.length ? round((cpu.user + cpu.system) / latencies.length, 1) : Number.NaN,
    ...(firstError === undefined ? {} : { firstError }),
  };
};

/**
 * Open-loop load: `op` started at a fixed rate for `durationMs`, whether or not earlier ones finished (as
 * independent clients send); each latency counts from the op's scheduled start, so a server that falls
 * behind shows it (no coordinated omission). Waits for the started ops before returning.
 */
export const openLoop = async (
  { perSecond, durationMs }: { perSecond: number; durationMs: number },
  op: (index: number) => Promise<void>,
): Promise<LoadResult> => {
  const latencies: number[] = [];
  const running: Promise<void>[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const total = Math.floor((durationMs / 1000) * perSecond);
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    running.push(
      op(i).then(
        () => void latencies.push(performance.now() - due),
        (error: unknown) => {
          errors++;
          firstError ??= error instanceof Error ? error.message : String(error);
        },
      ),
    );
  }
  await Promise.all(running);
  return loadResult(latencies, errors, firstError, started, cpuBefore);
};

/** Runs `items` through `worker` with at most `concurrency` in flight. */
export const forEachConcurrent = async <T>(
  items: readonly T[],
  concurrency: number,
  worker: (item: T, index: number) => Promise<void>,
): Promise<void> => {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        await worker(items[index]!, index);
      }
    }),
  );
};

/** One measured round of one side: its throughput, plus whatever it wants recorded. */
export interface RoundSample {
  readonly perSecond: number;
  readonly [detail: string]: unknown;
}

export type Side = (round: number) => Promise<RoundSample>;

/**
 * Measures several sides in the same run, interleaved so that drifts of a shared machine hit them alike:
 * `warmup` unrecorded rounds of each, then `rounds` rounds in which the order alternates (A B, B A, A B...).
 */
export const interleaved = async <K extends string>(
  sides: Readonly<Record<K, Side>>,
  { rounds, warmup = 1, log = true }: { rounds: number; warmup?: number; log?: boolean },
): Promise<Record<K, RoundSample[]>> => {
  const names = Object.keys(sides) as K[];
  const samples = Object.fromEntries(names.map((n) => [n, [] as RoundSample[]])) as Record<K, RoundSample[]>;
  for (let w = 0; w < warmup; w++) for (const name of names) await sides[name](-1 - w);
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 === 0 ? names : [...names].reverse()) {
      const sample = await sides[name](r);
      samples[name].push(sample);
      if (log) console.error(`  round ${r + 1}/${rounds} ${name}: ${round(sample.perSecond, 1)}/s`);
    }
  }
  return samples;
};

/** Median throughput of a side's rounds. */
export const medianRate = (samples: readonly RoundSample[]): number => median(samples.map((s) => s.perSecond));

/** Per-round throughputs, rounded, for the details. */
export const rates = (samples: readonly RoundSample[]): number[] => samples.map((s) => round(s.perSecond, 1));

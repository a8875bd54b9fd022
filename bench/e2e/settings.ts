// Settings and result types of the end-to-end benchmark (bench/e2e/latency.ts runs it). The shapes:
//   services       every context of the registry (contexts.json: orders, inventory, shipping today), one process
//                  each over Kafka, as `npm run start:services` runs them; also gets the overload row
//   kafka          orders + inventory only (the two services the order loop crosses), an extra row
//   monolith       one process, in-process events
//   kafka-history  the services shape on event stores that already hold BENCH_STORED_EVENTS events, beside
//                  the same services on empty stores, in interleaved windows (history must not cost)
import type { RunResult } from './load.js';
import type { WindowCost } from './probes.js';

/**
 * Interleaved windows per side of the history comparison (history, empty, empty, history, ...), together
 * twice a rate step's seconds per side: a p99 of 1,200 orders at 10/s rather than 600, where one slow
 * second of the shared machine in one window moved the ratio from 0.9 to 1.5.
 */
export const HISTORY_ROUNDS = 8;

export type Shape = 'services' | 'kafka' | 'monolith' | 'kafka-history';
export const overKafka = (shape: Shape): boolean => shape !== 'monolith';

export interface E2eOptions {
  /** Measured seconds of each latency run. */
  readonly seconds?: number;
  /** Unmeasured seconds at each rate before its runs. */
  readonly warmupSeconds?: number;
  /** Offered rates, commands/s. */
  readonly rates?: readonly number[];
  /** Rate of the client-polling run (the server-wait runs happen at every rate). */
  readonly clientPollRate?: number;
  readonly clientPollMs?: number;
  readonly shapes?: readonly Shape[];
  /** Shapes that get the memory soak. */
  readonly soakShapes?: readonly Shape[];
  readonly soakSeconds?: number;
  /** Offered rate of the soak; 0 (the default): half the sustainable rate. */
  readonly soakRate?: number;
  readonly sampleEverySeconds?: number;
  /** Distinct SKUs, one per order round-robin. */
  readonly products?: number;
  readonly visibilityTimeoutMs?: number;
  /** Bound for the backlog of a run to drain before the next one. */
  readonly drainTimeoutMs?: number;
  /** A rate passes when its p99 is at most this, every order confirmed and the backlog drained at once. */
  readonly p99TargetMs?: number;
  /** Events written into each event store before the `kafka-history` shape starts (split between services). */
  readonly storedEvents?: number;
  /** The rate of the `kafka-history` shape (compare with the same rate of `services`). */
  readonly historyRate?: number;
  /** Offered rate of the overload row (beyond what the machine sustains; 0: none), and the shapes that get it. */
  readonly overloadRate?: number;
  readonly overloadShapes?: readonly Shape[];
  /** The overload row passes when the p99 of the orders accepted stays under this. */
  readonly overloadP99TargetMs?: number;
  /** Keep this run's Cosmos/Mongo databases and Kafka topics. */
  readonly keep?: boolean;
  readonly log?: (line: string) => void;
}

export type E2eSettings = Required<Omit<E2eOptions, 'log'>>;

const numberEnv = (name: string, fallback: number): number => {
  const value = Number(process.env[name]);
  return process.env[name] && Number.isFinite(value) && value >= 0 ? value : fallback;
};
const listEnv = (name: string, fallback: string): string[] =>
  (process.env[name] || fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Settings from the environment (BENCH_E2E_*, BENCH_SOAK_*, BENCH_OVERLOAD_*), with the defaults of a full run. */
export const e2eOptionsFromEnv = (): E2eOptions => ({
  seconds: numberEnv('BENCH_E2E_SECONDS', 60) || 60,
  soakSeconds: numberEnv('BENCH_SOAK_SECONDS', 300),
  rates: listEnv('BENCH_E2E_RATES', '10,25,50,75,100').map(Number),
  shapes: listEnv('BENCH_E2E_SHAPES', 'services,kafka,monolith,kafka-history') as Shape[],
  storedEvents: numberEnv('BENCH_STORED_EVENTS', 50_000),
  historyRate: numberEnv('BENCH_HISTORY_RATE', 10),
  soakShapes: listEnv('BENCH_SOAK_SHAPES', 'services') as Shape[],
  overloadRate: numberEnv('BENCH_OVERLOAD_RATE', 150),
  overloadShapes: listEnv('BENCH_OVERLOAD_SHAPES', 'services') as Shape[],
  ...(process.env.BENCH_SOAK_RATE ? { soakRate: numberEnv('BENCH_SOAK_RATE', 5) } : {}),
  drainTimeoutMs: numberEnv('BENCH_E2E_DRAIN_SECONDS', 60) * 1000,
  keep: process.env.BENCH_E2E_KEEP === '1',
});

/** The options with every default filled in. */
export const settingsOf = (options: E2eOptions): E2eSettings => ({
  seconds: options.seconds ?? 60,
  warmupSeconds: options.warmupSeconds ?? 5,
  rates: options.rates ?? [10, 25, 50, 75, 100],
  clientPollRate: options.clientPollRate ?? 10,
  clientPollMs: options.clientPollMs ?? 10,
  shapes: options.shapes ?? ['services', 'kafka', 'monolith', 'kafka-history'],
  soakShapes: options.soakShapes ?? ['services'],
  soakSeconds: options.soakSeconds ?? 300,
  soakRate: options.soakRate ?? 0,
  sampleEverySeconds: options.sampleEverySeconds ?? 10,
  products: options.products ?? 400,
  visibilityTimeoutMs: options.visibilityTimeoutMs ?? 15_000,
  drainTimeoutMs: options.drainTimeoutMs ?? 60_000,
  p99TargetMs: options.p99TargetMs ?? 250,
  storedEvents: options.storedEvents ?? 50_000,
  historyRate: options.historyRate ?? 10,
  overloadRate: options.overloadRate ?? 150,
  overloadShapes: options.overloadShapes ?? ['services'],
  overloadP99TargetMs: options.overloadP99TargetMs ?? 1_000,
  keep: options.keep ?? false,
});

export interface MemorySample {
  /** Seconds since the soak started. */
  readonly atSeconds: number;
  readonly rssMb: Record<string, number>;
  /** V8 heap in use and memory outside it (Buffers, native), from each service's GET /metrics. */
  readonly heapUsedMb: Record<string, number>;
  readonly externalMb: Record<string, number>;
  /** The V8 heap in use right after a full collection (the leak signal; the heap in use is a sawtooth). */
  readonly heapAfterGcMb: Record<string, number>;
}

export interface ServiceMemory {
  readonly idleMb: number;
  /** At the end, after the latency runs and the soak. */
  readonly afterRunsMb: number;
  readonly soak?: {
    readonly startMb: number;
    readonly endMb: number;
    readonly maxMb: number;
    /**
     * Slope of the RSS over the second half of the soak, MB per minute: the median of the slopes between
     * every two samples (Theil-Sen), which one step of V8 growing or returning its heap does not decide,
     * unlike a least-squares line over 15 samples (kept beside it).
     */
    readonly slopeMbPerMin: number;
    readonly leastSquaresSlopeMbPerMin: number;
    readonly verdict: 'flat' | 'growing' | 'shrinking';
    /** The same slope of the V8 heap after a full collection, of the heap in use and of external memory. */
    readonly heapAfterGcSlopeMbPerMin: number;
    readonly heapUsedSlopeMbPerMin: number;
    readonly externalSlopeMbPerMin: number;
  };
}

/** A latency run, what it cost, whether it met the target, and how long its backlog took to drain (0 = none). */
export type MeasuredRun = RunResult & {
  readonly drainMs: number;
  readonly behindAfterDrain: number;
  readonly cost: WindowCost;
  readonly passed: boolean;
  /** Pooled runs only (the history comparison): the p99 of each window, in the order they ran. */
  readonly windowP99Ms?: number[];
  /** The overload run, and the run at the lowest rate right after it (recovery). */
  readonly kind?: 'overload' | 'recovery';
};

export interface SoakResult {
  readonly rate: number;
  readonly seconds: number;
  readonly run: RunResult;
  readonly samples: MemorySample[];
  readonly drain?: { drainMs: number; behindAfterDrain: number };
}

export interface ShapeResult {
  readonly shape: Shape;
  readonly transport: 'kafka' | 'inprocess';
  readonly services: Record<string, { readonly pid: number; readonly readyMs: number; readonly log: string }>;
  readonly runs: MeasuredRun[];
  /** Highest server-wait rate that passed (0: none did). */
  readonly sustainedRate: number;
  /** Events already in the event stores when the shape started. */
  readonly storedEventsAtStart: number;
  /** `kafka-history` only: the same rate on empty stores, in windows interleaved with `runs`. */
  readonly emptyTwin?: MeasuredRun;
  readonly memory: Record<string, ServiceMemory>;
  readonly soak?: SoakResult;
}

export interface E2eResult {
  readonly settings: E2eSettings;
  readonly shapes: ShapeResult[];
}

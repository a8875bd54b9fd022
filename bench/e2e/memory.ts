// Memory of the services during the end-to-end benchmark: a soak at a steady rate, sampling every few seconds
// the RSS (/proc), the V8 heap in use and external memory (GET /metrics) and the heap right after a full
// collection (SIGWINCH, see op-counter.mjs). The verdict is the slope over the second half of the soak, as the
// median of pairwise slopes (one step of V8 growing its heap does not decide it), with least squares beside it.
import { round } from '../lib/stats.js';
import { runLoad, withoutSamples, type RunResult, type Target } from './load.js';
import type { AppProcess } from './processes.js';
import type { E2eSettings, MemorySample, ServiceMemory, SoakResult } from './settings.js';

/** Theil-Sen slope of y over x: the median of the slopes between every two points. */
export const medianSlope = (points: readonly { x: number; y: number }[]): number => {
  const slopes: number[] = [];
  points.forEach((a, i) => {
    for (const b of points.slice(i + 1))
      if (b.x !== a.x && Number.isFinite(a.y + b.y)) slopes.push((b.y - a.y) / (b.x - a.x));
  });
  if (slopes.length === 0) return Number.NaN;
  slopes.sort((p, q) => p - q);
  const mid = slopes.length >> 1;
  return slopes.length % 2 ? slopes[mid]! : (slopes[mid - 1]! + slopes[mid]!) / 2;
};

/** Least-squares slope of y over x. */
export const slope = (points: readonly { x: number; y: number }[]): number => {
  if (points.length < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / points.length;
  const my = points.reduce((s, p) => s + p.y, 0) / points.length;
  const num = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return den === 0 ? Number.NaN : num / den;
};

/** A Prometheus gauge of the text exposition (prom-client's default process metrics), in MB; NaN when absent. */
const gaugeMb = (text: string, name: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? round(Number(line.slice(name.length + 1).split(' ')[0]) / 1024 / 1024, 1) : Number.NaN;
};

/** V8 heap in use and external memory of each service, read from its GET /metrics. */
const heapOf = async (
  services: Record<string, AppProcess>,
): Promise<Pick<MemorySample, 'heapUsedMb' | 'externalMb'>> => {
  const heapUsedMb: Record<string, number> = {};
  const externalMb: Record<string, number> = {};
  await Promise.all(
    Object.entries(services).map(async ([service, process]) => {
      const text = await fetch(`${process.url}/metrics`, { signal: AbortSignal.timeout(5_000) })
        .then((r) => r.text())
        .catch(() => '');
      heapUsedMb[service] = gaugeMb(text, 'nodejs_heap_size_used_bytes');
      externalMb[service] = gaugeMb(text, 'nodejs_external_memory_bytes');
    }),
  );
  return { heapUsedMb, externalMb };
};

/** RSS of each service, MB. */
export const rssOf = (services: Record<string, AppProcess>): Record<string, number> =>
  Object.fromEntries(Object.entries(services).map(([s, p]) => [s, round(p.rssMb(), 1)]));

/** The soak: `settings.soakRate` orders/s for `settings.soakSeconds`, memory sampled; updates `memory`. */
export const soakPhase = async (
  byService: Record<string, AppProcess>,
  target: Target,
  settings: E2eSettings,
  memory: Record<string, ServiceMemory>,
  log: (line: string) => void,
): Promise<SoakResult> => {
  log(`soak ${settings.soakSeconds} s at ${settings.soakRate}/s, RSS every ${settings.sampleEverySeconds} s`);
  const samples: MemorySample[] = [];
  const soakStart = Date.now();
  const sample = async () => {
    const atSeconds = round((Date.now() - soakStart) / 1000, 1);
    const rssMb = rssOf(byService);
    const heap = await heapOf(byService);
    const afterGc = await Promise.all(Object.values(byService).map((p) => p.heapAfterGcMb()));
    const heapAfterGcMb = Object.fromEntries(Object.keys(byService).map((service, i) => [service, afterGc[i]!]));
    samples.push({ atSeconds, rssMb, ...heap, heapAfterGcMb });
    log(
      `  soak t=${atSeconds}s RSS ${JSON.stringify(rssMb)} MB, heap used ${JSON.stringify(heap.heapUsedMb)} MB, ` +
        `after GC ${JSON.stringify(heapAfterGcMb)} MB`,
    );
  };
  await sample();
  const timer = setInterval(() => void sample(), settings.sampleEverySeconds * 1000);
  let run: RunResult;
  try {
    run = withoutSamples(
      await runLoad(target, {
        pollMs: settings.clientPollMs,
        visibilityTimeoutMs: settings.visibilityTimeoutMs,
        rate: settings.soakRate,
        seconds: settings.soakSeconds,
        mode: 'server-wait',
      }),
    );
  } finally {
    clearInterval(timer);
  }
  await sample();
  for (const service of Object.keys(byService)) {
    const secondHalf = (of: (s: MemorySample) => number) =>
      samples.map((s) => ({ x: s.atSeconds / 60, y: of(s) })).filter((v) => v.x >= settings.soakSeconds / 120);
    const values = samples.map((s) => ({ x: s.atSeconds / 60, y: s.rssMb[service]! }));
    const rssSecondHalf = secondHalf((s) => s.rssMb[service]!);
    const perMin = round(medianSlope(rssSecondHalf), 2);
    memory[service] = {
      ...memory[service]!,
      soak: {
        startMb: values[0]!.y,
        endMb: values.at(-1)!.y,
        maxMb: Math.max(...values.map((v) => v.y)),
        slopeMbPerMin: perMin,
        leastSquaresSlopeMbPerMin: round(slope(rssSecondHalf), 2),
        verdict: Math.abs(perMin) < 2 ? 'flat' : perMin > 0 ? 'growing' : 'shrinking',
        heapAfterGcSlopeMbPerMin: round(medianSlope(secondHalf((s) => s.heapAfterGcMb[service]!)), 2),
        heapUsedSlopeMbPerMin: round(medianSlope(secondHalf((s) => s.heapUsedMb[service]!)), 2),
        externalSlopeMbPerMin: round(medianSlope(secondHalf((s) => s.externalMb[service]!)), 2),
      },
    };
  }
  return { rate: settings.soakRate, seconds: settings.soakSeconds, run, samples };
};

/** One line of the memory summary per service. */
export const describeMemory = (label: string, m: ServiceMemory, soak?: SoakResult): string => {
  const soakText = m.soak
    ? `, soak ${soak?.seconds} s at ${soak?.rate}/s: start ${m.soak.startMb} end ${m.soak.endMb} ` +
      `max ${m.soak.maxMb}, slope 2nd half ${m.soak.slopeMbPerMin} MB/min -> ${m.soak.verdict}, ` +
      `heap after GC ${m.soak.heapAfterGcSlopeMbPerMin} MB/min`
    : '';
  return `  ${label}: idle ${m.idleMb}, after latency runs ${m.afterRunsMb}${soakText}`;
};

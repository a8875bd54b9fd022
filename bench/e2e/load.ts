// Open-loop load and the per-order measurement of the end-to-end benchmark: POST /orders at a fixed rate
// (timer-driven, never waiting for earlier answers), then wait until the orders service reads the order as
// CONFIRMED (version 2: inventory reserved the stock and its answer came back), either with the server-side wait
// (GET /orders/{id}?minVersion=2) or by polling from the client. The whole loop: orders -> inventory -> orders.
import { performance } from 'node:perf_hooks';
import { forEachConcurrent, percentile, round, sleep } from '../lib/stats.js';

export type VisibilityMode = 'server-wait' | 'client-poll';

export interface Distribution {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export const distribution = (values: readonly number[]): Distribution => ({
  count: values.length,
  p50: round(percentile(values, 50), 1),
  p95: round(percentile(values, 95), 1),
  p99: round(percentile(values, 99), 1),
  max: round(values.length === 0 ? Number.NaN : Math.max(...values), 1),
  mean: round(values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length, 1),
});

export interface RunResult {
  readonly rate: number;
  readonly mode: VisibilityMode;
  readonly seconds: number;
  /** Commands sent, and per second over the send window (the offered rate actually achieved). */
  readonly sent: number;
  readonly offeredPerSecond: number;
  /** Latest send behind its schedule (timer lag of the load generator), ms. */
  readonly maxScheduleLagMs: number;
  /** POST /orders: send -> 201. */
  readonly acceptMs: Distribution;
  /** 201 received -> GET /orders/{id} reads the order CONFIRMED. */
  readonly visibleMs: Distribution;
  readonly failures: {
    /** POST /orders not answered 201 nor 503 with Retry-After (or a network error). */
    readonly commands: number;
    /** POST /orders refused with 503 and Retry-After (load shed: admission control, or a dependency down). */
    readonly shed: number;
    /** Not visible within the bound. */
    readonly visibilityTimeouts: number;
    /** Other errors of the GET (unexpected statuses, network). */
    readonly queryErrors: number;
    /** Server-wait only: 503 READ_MODEL_BEHIND answers retried. */
    readonly serverWaitRetries: number;
    /** Client-poll only: GETs issued in total. */
    readonly pollRequests: number;
  };
  readonly firstError?: string;
}

/** A run with its raw latencies, so that runs interleaved with others can be pooled (`pooled`). */
export type SampledRun = RunResult & {
  readonly samples: { readonly acceptMs: number[]; readonly visibleMs: number[] };
};

/** One run of several (interleaved windows at the same rate and mode): distributions over all their orders. */
export const pooled = (runs: readonly SampledRun[]): RunResult => {
  const first = runs[0]!;
  const sum = (of: (r: RunResult) => number) => runs.reduce((n, r) => n + of(r), 0);
  return {
    rate: first.rate,
    mode: first.mode,
    seconds: sum((r) => r.seconds),
    sent: sum((r) => r.sent),
    offeredPerSecond: round(sum((r) => r.offeredPerSecond * r.seconds) / sum((r) => r.seconds), 1),
    maxScheduleLagMs: Math.max(...runs.map((r) => r.maxScheduleLagMs)),
    acceptMs: distribution(runs.flatMap((r) => r.samples.acceptMs)),
    visibleMs: distribution(runs.flatMap((r) => r.samples.visibleMs)),
    failures: {
      commands: sum((r) => r.failures.commands),
      shed: sum((r) => r.failures.shed),
      visibilityTimeouts: sum((r) => r.failures.visibilityTimeouts),
      queryErrors: sum((r) => r.failures.queryErrors),
      serverWaitRetries: sum((r) => r.failures.serverWaitRetries),
      pollRequests: sum((r) => r.failures.pollRequests),
    },
    ...(runs.find((r) => r.firstError) ? { firstError: runs.find((r) => r.firstError)!.firstError! } : {}),
  };
};

/** The run without its raw latencies (what the results files keep). */
export const withoutSamples = ({ samples: _samples, ...run }: SampledRun): RunResult => run;

export interface Target {
  /** Serves POST /orders. */
  readonly ordersUrl: string;
  /** Serves GET /products/{sku}. */
  readonly inventoryUrl: string;
  readonly skus: readonly string[];
  /** Product version expected once every order placed so far on the SKU is reserved (register = 1). */
  readonly versions: Map<string, number>;
  /** Round-robin position over the SKUs. */
  next: number;
}

export interface RunOptions {
  readonly rate: number;
  readonly seconds: number;
  readonly mode: VisibilityMode;
  /** Client-poll interval, ms. */
  readonly pollMs: number;
  /** Bound for one order to become visible, ms. */
  readonly visibilityTimeoutMs: number;
}

const json = { 'content-type': 'application/json' };

/** An order's stream version once inventory's answer confirmed it (OrderPlaced 1, OrderConfirmed 2). */
const CONFIRMED_VERSION = 2;

/** Fires `total` calls of `fire` at `rate` per second from now, open loop; resolves when all have settled. */
const openLoop = async (
  rate: number,
  total: number,
  fire: () => Promise<void>,
): Promise<{ elapsedMs: number; maxLagMs: number }> => {
  const started = performance.now();
  const pending: Promise<void>[] = [];
  let maxLagMs = 0;
  for (let i = 0; i < total;) {
    const due = started + (i * 1000) / rate;
    const now = performance.now();
    if (now < due) {
      await sleep(due - now);
      continue;
    }
    // Everything due by now goes out at once (catch-up after a late timer keeps the offered rate).
    while (i < total && started + (i * 1000) / rate <= performance.now()) {
      maxLagMs = Math.max(maxLagMs, performance.now() - (started + (i * 1000) / rate));
      pending.push(fire());
      i++;
    }
  }
  const elapsedMs = performance.now() - started;
  await Promise.all(pending);
  return { elapsedMs, maxLagMs };
};

/** One measured run: `rate` orders/s for `seconds`, each followed until the other side's query shows it. */
export const runLoad = async (target: Target, options: RunOptions): Promise<SampledRun> => {
  const accept: number[] = [];
  const visible: number[] = [];
  let commands = 0;
  let shed = 0;
  let visibilityTimeouts = 0;
  let queryErrors = 0;
  let serverWaitRetries = 0;
  let pollRequests = 0;
  let firstError: string | undefined;
  const fail = (what: string): void => {
    firstError ??= what;
  };

  const readOrder = async (
    orderId: string,
    minVersion?: number,
  ): Promise<{ status: number; version?: number; state?: string }> => {
    const query = minVersion === undefined ? '' : `?minVersion=${minVersion}`;
    const response = await fetch(`${target.ordersUrl}/orders/${orderId}${query}`, {
      signal: AbortSignal.timeout(options.visibilityTimeoutMs),
    });
    if (response.status !== 200) {
      await response.arrayBuffer();
      return { status: response.status };
    }
    const body = (await response.json()) as { version: number; status: string };
    return { status: 200, version: body.version, state: body.status };
  };

  /** ms from `t0` until the order reads CONFIRMED; undefined on timeout/error. */
  const waitVisible = async (sku: string, t0: number, orderId: string): Promise<number | undefined> => {
    const deadline = t0 + options.visibilityTimeoutMs;
    const confirmed = (r: { status: number; version?: number; state?: string }): boolean =>
      r.status === 200 && r.version !== undefined && r.version >= CONFIRMED_VERSION;
    while (performance.now() < deadline) {
      try {
        if (options.mode === 'server-wait') {
          const read = await readOrder(orderId, CONFIRMED_VERSION);
          if (confirmed(read)) {
            if (read.state === 'CONFIRMED') return performance.now() - t0;
            queryErrors++;
            fail(`order ${orderId} on ${sku}: ${read.state} instead of CONFIRMED`);
            return undefined;
          }
          if (read.status === 503) serverWaitRetries++;
          else {
            queryErrors++;
            fail(`GET /orders/${orderId}?minVersion=${CONFIRMED_VERSION}: ${read.status} version ${read.version}`);
            return undefined;
          }
        } else {
          pollRequests++;
          const read = await readOrder(orderId);
          if (confirmed(read)) return performance.now() - t0;
          if (read.status !== 200 && read.status !== 404) {
            queryErrors++;
            fail(`GET /orders/${orderId}: ${read.status}`);
          }
          await sleep(options.pollMs);
        }
      } catch (error) {
        if (performance.now() >= deadline) break;
        queryErrors++;
        fail(`GET /orders/${orderId}: ${(error as Error).message}`);
        await sleep(options.pollMs);
      }
    }
    visibilityTimeouts++;
    if (firstError === undefined) {
      const order = await fetch(`${target.ordersUrl}/orders/${orderId}`)
        .then((r) => r.text())
        .catch((error: unknown) => String(error));
      const product = await fetch(`${target.inventoryUrl}/products/${sku}`)
        .then((r) => r.text())
        .catch((error: unknown) => String(error));
      fail(`order ${orderId} (SKU ${sku}) not CONFIRMED after ${options.visibilityTimeoutMs} ms: ${order} ${product}`);
    }
    return undefined;
  };

  const placeOne = async (): Promise<void> => {
    const sku = target.skus[target.next++ % target.skus.length]!;
    const sent = performance.now();
    let t0: number;
    let orderId: string;
    try {
      const response = await fetch(`${target.ordersUrl}/orders`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ customerId: 'bench-e2e', currency: 'EUR', lines: [{ sku, quantity: 1, unitPrice: 1 }] }),
        signal: AbortSignal.timeout(30_000),
      });
      t0 = performance.now();
      if (response.status === 503 && response.headers.get('retry-after')) {
        shed++;
        await response.arrayBuffer();
        return;
      }
      if (response.status !== 201) {
        commands++;
        fail(`POST /orders: ${response.status} ${(await response.text()).slice(0, 300)}`);
        return;
      }
      orderId = ((await response.json()) as { id: string }).id;
    } catch (error) {
      commands++;
      // fetch's own message is "fetch failed": the cause says which (connect timeout, reset, ...).
      const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
      fail(`POST /orders: ${(error as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''}`);
      return;
    }
    accept.push(t0 - sent);
    const expected = (target.versions.get(sku) ?? 1) + 1;
    target.versions.set(sku, expected);
    const ms = await waitVisible(sku, t0, orderId);
    if (ms !== undefined) visible.push(ms);
  };

  const total = Math.max(1, Math.round(options.rate * options.seconds));
  const { elapsedMs, maxLagMs } = await openLoop(options.rate, total, placeOne);
  return {
    rate: options.rate,
    mode: options.mode,
    seconds: options.seconds,
    sent: total,
    // Sends happen at 0, 1/rate, ... (total - 1)/rate: the achieved rate is over that window.
    offeredPerSecond: total > 1 ? round((total - 1) / (Math.max(elapsedMs, 1) / 1000), 1) : options.rate,
    maxScheduleLagMs: round(maxLagMs, 1),
    acceptMs: distribution(accept),
    visibleMs: distribution(visible),
    failures: { commands, shed, visibilityTimeouts, queryErrors, serverWaitRetries, pollRequests },
    ...(firstError === undefined ? {} : { firstError }),
    samples: { acceptMs: accept, visibleMs: visible },
  };
};

/**
 * Waits until every SKU's product reached the version its orders so far lead to (the backlog of a saturated run
 * drained), so the next run does not measure the previous one's queue. Returns how long it took and how many
 * SKUs were still behind at `timeoutMs`.
 */
export const drain = async (target: Target, timeoutMs: number): Promise<{ ms: number; behind: number }> => {
  const started = performance.now();
  let behind = [...target.versions.entries()];
  while (behind.length > 0 && performance.now() - started < timeoutMs) {
    const still: [string, number][] = [];
    await forEachConcurrent(behind, 16, async ([sku, version]) => {
      try {
        const response = await fetch(`${target.inventoryUrl}/products/${sku}`, { signal: AbortSignal.timeout(10_000) });
        const body = response.status === 200 ? ((await response.json()) as { version: number }) : undefined;
        if (response.status !== 200) await response.arrayBuffer();
        if (!body || body.version < version) still.push([sku, version]);
      } catch {
        still.push([sku, version]);
      }
    });
    behind = still;
    if (behind.length > 0) await sleep(500);
  }
  return { ms: round(performance.now() - started), behind: behind.length };
};

// Admission control: a service given more commands than it can serve refuses the surplus at the door, with 503
// OVERLOADED and Retry-After, before anything is stored, instead of queueing it until every answer is late and the
// backlog behind it (relay, consumers, other services) keeps growing. Three signals, each configurable (0: off):
// - the settle lag (HTTP_SHED_SETTLE_LAG_MS, @app/core settle-lag.ts): how long ago this process accepted the work
//   whose events its handlers get now; it sees the pipeline's backlog, downstream and in other services;
// - commands in flight in this process (HTTP_MAX_COMMANDS_IN_FLIGHT): more than the bound means they wait;
// - the event loop's delay (HTTP_SHED_EVENT_LOOP_DELAY_MS): mean delay beyond the timer's resolution, last 500 ms.
// Only the contexts' commands (POST, PUT, PATCH, DELETE) are shed: queries of accepted work should finish (their
// waits have their own bound); operators' /admin and /live/session are kept. Written here rather than taken from
// toobusy-js or overload-protection: those answer in their own format (not problem+json), see no pipeline.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { NextFunction, Request, Response } from 'express';
import { settleLag, SettleLagGate } from '@app/core';
import { Counter, Gauge } from 'prom-client';
import { sendProblem } from './send-problem.js';

export interface AdmissionOptions {
  /** Commands this process serves at once; beyond: 503 OVERLOADED. 0: no bound. */
  readonly maxCommandsInFlight: number;
  /** Mean event loop delay (ms, beyond the timer resolution) over the last 500 ms above which commands are shed. 0: off. */
  readonly maxEventLoopDelayMs: number;
  /** Age (ms) of this process's work coming back to its handlers above which commands are shed. 0: off. */
  readonly maxSettleLagMs?: number;
  /** The Retry-After of a shed command, seconds. */
  readonly retryAfterSeconds: number;
}

const COMMAND_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Never shed: operators' endpoints and the live feeds' session (not commands of a context). */
const EXEMPT = /^\/(?:admin|live)(?:[/?]|$)/;
/** Resolution of the event loop delay sampling, ms (the histogram's values include it). */
const RESOLUTION_MS = 10;
const SAMPLE_EVERY_MS = 500;

const shed = new Counter({
  name: 'http_commands_shed_total',
  help: 'Commands refused with 503 OVERLOADED by admission control, by reason',
  labelNames: ['reason'] as const,
});
const inFlightGauge = new Gauge({ name: 'http_commands_in_flight', help: 'Commands being served by this process' });
new Gauge({
  name: 'settle_lag_seconds',
  help: 'Age of the work this process accepted when its events reach its handlers (highest over the last second)',
  collect() {
    this.set(settleLag.lagMs / 1000);
  },
});

export class Admission {
  #inFlight = 0;
  #loopDelayMs = 0;
  readonly #histogram: ReturnType<typeof monitorEventLoopDelay> | undefined;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #settleGate: SettleLagGate | undefined;

  constructor(private readonly options: AdmissionOptions) {
    if (options.maxSettleLagMs) this.#settleGate = new SettleLagGate(settleLag, options.maxSettleLagMs);
    if (options.maxEventLoopDelayMs > 0) {
      const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
      histogram.enable();
      this.#histogram = histogram;
      this.#timer = setInterval(() => {
        this.#loopDelayMs = Math.max(0, histogram.mean / 1e6 - RESOLUTION_MS);
        histogram.reset();
      }, SAMPLE_EVERY_MS).unref();
    }
  }

  /** Commands being served now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Why a new command would be refused now, or undefined when it is admitted. */
  refusal(): string | undefined {
    const { maxCommandsInFlight, maxEventLoopDelayMs } = this.options;
    if (maxCommandsInFlight > 0 && this.#inFlight >= maxCommandsInFlight) {
      shed.inc({ reason: 'in-flight' });
      return `${this.#inFlight} commands are already being served by this process (at most ${maxCommandsInFlight})`;
    }
    if (maxEventLoopDelayMs > 0 && this.#loopDelayMs > maxEventLoopDelayMs) {
      shed.inc({ reason: 'event-loop-delay' });
      return `this process is behind its work (event loop delay ${Math.round(this.#loopDelayMs)} ms)`;
    }
    // Last: the gate counts what it admits.
    const settling = this.#settleGate?.refusal();
    if (settling) {
      shed.inc({ reason: 'settle-lag' });
      return settling;
    }
    return undefined;
  }

  /** Express middleware: sheds commands over the bounds, counts the admitted ones until their answer is sent. */
  readonly middleware = (req: Request, res: Response, next: NextFunction): void => {
    if (!COMMAND_METHODS.has(req.method) || EXEMPT.test(req.originalUrl)) return next();
    const refused = this.refusal();
    if (refused) {
      res.setHeader('Retry-After', String(this.options.retryAfterSeconds));
      return sendProblem(req, res, {
        status: 503,
        code: 'OVERLOADED',
        title: 'Service overloaded',
        detail: `The service is overloaded: ${refused}; retry after ${this.options.retryAfterSeconds} s`,
      });
    }
    const correlationId = res.getHeader('x-correlation-id');
    if (typeof correlationId === 'string') settleLag.started(correlationId);
    this.#inFlight++;
    inFlightGauge.inc();
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.#inFlight--;
      inFlightGauge.dec();
    };
    res.once('finish', release);
    res.once('close', release);
    next();
  };

  close(): void {
    clearInterval(this.#timer);
    this.#histogram?.disable();
  }
}

// Admission control: a service given more commands than it can serve refuses the surplus at the door, with 503
// OVERLOADED and Retry-After, instead of queueing it (for Cosmos, behind a busy event loop) until every answer is
// late and the backlog behind it (relay, consumers) keeps growing. Two signals, each configurable (0: off):
// - commands in flight in this process (HTTP_MAX_COMMANDS_IN_FLIGHT): more than the bound means they wait;
// - the event loop's delay (HTTP_SHED_EVENT_LOOP_DELAY_MS): the mean delay beyond the timer's resolution over the
//   last half second; over it, the process has more work than CPU, and new commands would only add to it.
// Only the contexts' commands (POST, PUT, PATCH, DELETE) are shed: queries of work already accepted should finish
// (their waits have their own bound, READ_YOUR_WRITES_MAX_WAITS); operators' /admin and /live/session are kept. Written here rather than taken from toobusy-js or
// overload-protection: those answer in their own format (not problem+json) and cannot tell commands from queries.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { NextFunction, Request, Response } from 'express';
import { Counter, Gauge } from 'prom-client';
import { sendProblem } from './send-problem.js';

export interface AdmissionOptions {
  /** Commands this process serves at once; beyond: 503 OVERLOADED. 0: no bound. */
  readonly maxCommandsInFlight: number;
  /** Mean event loop delay (ms, beyond the timer resolution) over the last 500 ms above which commands are shed. 0: off. */
  readonly maxEventLoopDelayMs: number;
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

export class Admission {
  #inFlight = 0;
  #loopDelayMs = 0;
  readonly #histogram: ReturnType<typeof monitorEventLoopDelay> | undefined;
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: AdmissionOptions) {
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

// Settle lag: how long ago this process accepted the work whose events it is handling now. A command accepted
// at t0 under a correlation id starts work that comes back to this process as events carrying the same id (its
// own events through its projections, the answers of other services through its policies); the age of such an
// event when a handler gets it is the time that work took to travel the whole pipeline: outbox, relay, broker,
// other services' consumers and relays, this process's consumers. Unlike commands in flight or the event loop
// delay, it sees backlogs that pile up downstream, in other processes, and it is generic: no context named.
// Admission control (libs/http admission.ts) sheds new commands while it is high. The signal is the highest
// age seen over the current and the previous window of WINDOW_MS: it lasts a second after the last slow event,
// and falls to zero when nothing of ours comes back. Since it is seen only once work comes back (the pipeline's
// latency later), SettleLagGate reopens slowly after it tripped: 1 command in the next window, then twice as many
// each window (TCP's slow start), so that the orders accepted before slow work shows again stay few.
import { performance } from 'node:perf_hooks';

const WINDOW_MS = 500;
/** Work not seen again after this long is forgotten (bounds the memory: the rate of commands times this). */
const RETAIN_MS = 120_000;

export class SettleLag {
  /** Correlation id -> when this process accepted the command, in insertion order (oldest first). */
  readonly #started = new Map<string, number>();
  #window = 0;
  #currentMaxMs = 0;
  #previousMaxMs = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** This process accepted a command that started (or continues) the work of `correlationId`. */
  started(correlationId: string): void {
    const now = this.now();
    // Delete first, so that the map stays ordered by start time (a repeated correlation id moves to the end).
    this.#started.delete(correlationId);
    this.#started.set(correlationId, now);
    for (const [id, at] of this.#started) {
      if (now - at <= RETAIN_MS) break;
      this.#started.delete(id);
    }
  }

  /** A handler of this process gets an event of `correlationId`: if this process started that work, its age counts. */
  observe(correlationId: string): void {
    const at = this.#started.get(correlationId);
    if (at === undefined) return;
    const now = this.now();
    this.#roll(now);
    this.#currentMaxMs = Math.max(this.#currentMaxMs, now - at);
  }

  /** The highest age of the work seen coming back over the last one to two windows, ms. */
  get lagMs(): number {
    this.#roll(this.now());
    return Math.max(this.#currentMaxMs, this.#previousMaxMs);
  }

  /** Work started and remembered (not yet forgotten). */
  get tracked(): number {
    return this.#started.size;
  }

  #roll(now: number): void {
    const window = Math.floor(now / WINDOW_MS);
    if (window === this.#window) return;
    this.#previousMaxMs = window === this.#window + 1 ? this.#currentMaxMs : 0;
    this.#currentMaxMs = 0;
    this.#window = window;
  }
}

/** Commands per window at which the gate stops counting (fully open). */
const OPEN_AT = 1_024;

/** Admission by settle lag: closed while it is over the bound, then reopening by doubling per window. */
export class SettleLagGate {
  #allowance = Infinity;
  #admitted = 0;
  #window = 0;

  constructor(
    private readonly lag: SettleLag,
    private readonly maxLagMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Why the next command is refused, or undefined when it is admitted (and counted). */
  refusal(): string | undefined {
    const now = this.now();
    const window = Math.floor(now / WINDOW_MS);
    const lagMs = this.lag.lagMs;
    if (lagMs > this.maxLagMs) {
      [this.#allowance, this.#admitted, this.#window] = [1, 0, window];
      return `the work it accepted takes ${Math.round(lagMs)} ms to settle (at most ${this.maxLagMs})`;
    }
    if (window !== this.#window) {
      this.#window = window;
      this.#admitted = 0;
      this.#allowance = this.#allowance * 2 >= OPEN_AT ? Infinity : this.#allowance * 2;
    }
    if (this.#admitted >= this.#allowance)
      return `it is recovering from a settle lag over ${this.maxLagMs} ms (${this.#allowance} commands per ${WINDOW_MS} ms for now)`;
    this.#admitted++;
    return undefined;
  }
}

/** The process's settle lag: commands accepted over HTTP start work, event handlers observe it coming back. */
export const settleLag = new SettleLag();

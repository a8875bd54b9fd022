// Settle lag: how long ago this process accepted the work whose events it is handling now. A command accepted
// at t0 under a correlation id starts work that comes back to this process as events carrying the same id (its
// own events through its projections, the answers of other services through its policies); the age of such an
// event when a handler gets it is the time that work took to travel the whole pipeline: outbox, relay, broker,
// other services' consumers and relays, this process's consumers. Unlike commands in flight or the event loop
// delay, it sees backlogs that pile up downstream, in other processes, and it is generic: no context named.
// Admission control (libs/http admission.ts) sheds new commands while it is high. The signal is the highest
// age seen over the current and the previous window of WINDOW_MS: it lasts a second after the last slow event,
// and falls to zero when nothing of ours comes back (then the other bounds of admission control still hold).
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

/** The process's settle lag: commands accepted over HTTP start work, event handlers observe it coming back. */
export const settleLag = new SettleLag();

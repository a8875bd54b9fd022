/**
 * Leadership of the outbox relay: which instance runs the recovery scan. A lease document in the event
 * store, taken and renewed by compare-and-swap (ETag on Cosmos DB), expiring after `ttlMs`. The holder
 * renews once a third of the TTL has passed (a cheap check on every other pass); a standby asks at most
 * once per `retryMs` (each ask is a request), so a successor takes over within the TTL plus that. Every
 * instance publishes its own appends whatever it holds; only what was left behind needs the holder.
 */
import type { EventStore } from '../store/event-store.js';

/** What `hold()` found: held or not, and whether that just changed (taken anew, or lost). */
export type LeaseState = 'held' | 'taken' | 'standby' | 'lost';

export class RelayLease {
  #validUntil = 0;
  #nextAttemptAt = 0;

  constructor(
    private readonly store: EventStore,
    private readonly lease: { readonly name: string; readonly owner: string; readonly ttlMs: number },
    private readonly retryMs: number,
  ) {}

  get held(): boolean {
    return this.#validUntil > Date.now();
  }

  /** A standby's next `hold()` asks the store even if it asked less than `retryMs` ago. */
  askNow(): void {
    this.#nextAttemptAt = 0;
  }

  /** Takes or renews the lease when due; cheap (no request) on every other call. */
  async hold(): Promise<LeaseState> {
    const { name, owner, ttlMs } = this.lease;
    const now = Date.now();
    if (this.#validUntil - now > (ttlMs * 2) / 3) return 'held';
    if (this.#validUntil <= now && now < this.#nextAttemptAt) return 'standby';
    const held = await this.store.tryAcquireLease(name, owner, ttlMs);
    const had = this.#validUntil;
    this.#validUntil = held ? now + ttlMs : 0;
    if (!held) this.#nextAttemptAt = now + this.retryMs;
    if (held) return had <= now ? 'taken' : 'held';
    return had > 0 ? 'lost' : 'standby';
  }

  /** Gives the lease up (on stop) so a successor need not wait for it to expire. */
  async release(): Promise<void> {
    if (this.#validUntil === 0) return;
    this.#validUntil = 0;
    await this.store.releaseLease(this.lease.name, this.lease.owner).catch(() => undefined); // it expires anyway
  }
}

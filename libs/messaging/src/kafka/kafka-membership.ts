/**
 * Whether this member still owns the partition of the batch it works on. kafkajs checks membership only
 * between batches, so a batch held up by a store outage would keep going after a rebalance gave its
 * partition to another member (both would apply it once the store is back). Every heartbeat answers:
 * a rebalance or an unknown member or generation means the partition is gone (kafkajs rebalances
 * eagerly: everything is revoked); heartbeats failing for a whole session timeout mean the broker has
 * evicted this member by now. Once lost, it stays lost for the batch: the batch is given up, nothing more
 * is applied or resolved, and kafkajs rejoins after it (its own heartbeat after the batch fails the same way).
 */

/** kafkajs protocol error types of a heartbeat or commit that say the assignment is revoked. */
const MEMBERSHIP_LOST = new Set([
  'REBALANCE_IN_PROGRESS',
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
  'FENCED_INSTANCE_ID',
]);

export const isMembershipLost = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && MEMBERSHIP_LOST.has(String((error as { type?: unknown }).type));

export class BatchMembership {
  #lastConfirmed: number;
  #lostBy: unknown = undefined;
  #lost = false;

  constructor(
    private readonly beat: () => Promise<void>,
    private readonly sessionTimeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.#lastConfirmed = now(); // the batch was just fetched as a member
  }

  get lost(): boolean {
    return this.#lost;
  }

  /** The heartbeat error that ended the membership (kafkajs' own, for its rejoin logic). */
  get lostBy(): unknown {
    return this.#lostBy;
  }

  /** Heartbeats (kafkajs sends one at most every heartbeatInterval); never throws, records a loss. */
  async heartbeat(): Promise<void> {
    if (this.#lost) return;
    try {
      await this.beat();
      this.#lastConfirmed = this.now();
    } catch (error) {
      if (isMembershipLost(error) || this.now() - this.#lastConfirmed >= this.sessionTimeoutMs) {
        this.#lost = true;
        this.#lostBy = error;
      }
    }
  }
}

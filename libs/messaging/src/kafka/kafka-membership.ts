// Fencing: whether this member still owns the partition of the batch it works on. kafkajs checks membership
// only between batches, so a batch held up by a store outage would keep going after a rebalance gave its
// partition to another member (both would apply it once the store is back). Every heartbeat answers: a
// rebalance or an unknown member or generation means the partition is gone (kafkajs rebalances eagerly:
// everything is revoked); heartbeats failing for a whole session timeout mean the broker has evicted this
// member by now. Once lost, it stays lost for the batch: nothing more is applied or resolved, the batch is
// given up and kafkajs rejoins after it. `whileMember` also heartbeats on a timer while the batch runs, so
// handlers slower than a session timeout do not get the member evicted. Only public kafkajs API is used
// (`heartbeat()` of `eachBatch` and the protocol error types it throws).
import type { ConsumedBatch, PartitionLane } from './kafka-consumed.js';

/** kafkajs protocol error types of a heartbeat or commit that say the assignment is revoked. */
const MEMBERSHIP_LOST = new Set([
  'REBALANCE_IN_PROGRESS',
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
  'FENCED_INSTANCE_ID',
]);

export const isMembershipLost = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && MEMBERSHIP_LOST.has(String((error as { type?: unknown }).type));

/** The member lost the partition (rebalance, eviction): the batch is left, uncommitted, to the next owner. */
export class PartitionLostError extends Error {
  override readonly name = 'PartitionLostError';
}

export const throwIfLost = (lane: PartitionLane, offset: string): void => {
  if (lane.isActive?.() === false)
    throw new PartitionLostError(`${lane.topic}[${lane.partition}]@${offset} is not ours`);
};

export class BatchMembership {
  #lastConfirmed: number;
  /** Set once lost: the heartbeat error that ended the membership. */
  #lost: { readonly by: unknown } | undefined;

  constructor(
    private readonly beat: () => Promise<void>,
    private readonly sessionTimeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.#lastConfirmed = now(); // the batch was just fetched as a member
  }

  get lost(): boolean {
    return this.#lost !== undefined;
  }

  /** The heartbeat error that ended the membership (kafkajs' own, for its rejoin logic). */
  get lostBy(): unknown {
    return this.#lost?.by;
  }

  /** Heartbeats (kafkajs sends one at most every heartbeatInterval); never throws, records a loss. */
  async heartbeat(): Promise<void> {
    if (this.#lost) return;
    try {
      await this.beat();
      this.#lastConfirmed = this.now();
    } catch (error) {
      if (isMembershipLost(error) || this.now() - this.#lastConfirmed >= this.sessionTimeoutMs) {
        this.#lost = { by: error };
      }
    }
  }
}

/**
 * Runs `work` on `fetched` as long as this member owns its partition: `work` gets the batch with a fenced
 * heartbeat, `isActive` false and `resolveOffset` a no-op once the membership is lost; a PartitionLostError
 * it throws ends it quietly. @returns the heartbeat error that ended the membership, if it ended.
 */
export const whileMember = async (
  fetched: ConsumedBatch,
  sessionTimeoutMs: number,
  work: (batch: ConsumedBatch) => Promise<void>,
): Promise<{ readonly by: unknown } | undefined> => {
  const membership = new BatchMembership(() => fetched.heartbeat(), sessionTimeoutMs);
  const batch: ConsumedBatch = {
    ...fetched,
    heartbeat: () => membership.heartbeat(),
    isActive: () => !membership.lost && fetched.isActive(),
    resolveOffset: (offset) => {
      if (!membership.lost) fetched.resolveOffset(offset); // else the next owner's to commit
    },
  };
  // A run's handlers may take longer than a session timeout under load (a fetch brings up to 1 MB per
  // partition): heartbeat on a timer meanwhile, or the broker evicts this member, the batch is given up
  // and fetched again from the same offset, again and again. kafkajs sends at most one per interval.
  const beating = setInterval(() => void membership.heartbeat(), Math.min(1_000, sessionTimeoutMs / 5));
  try {
    await work(batch);
  } catch (error) {
    if (!(error instanceof PartitionLostError)) throw error;
  } finally {
    clearInterval(beating);
  }
  return membership.lost ? { by: membership.lostBy } : undefined;
};

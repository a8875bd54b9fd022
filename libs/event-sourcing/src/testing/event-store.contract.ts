import { randomUUID } from 'node:crypto';
import { ConcurrencyError, AppendTooLargeError } from '../store/errors.js';
import type { OutboxEntry } from '../relay/outbox-source.js';
import {
  ANY,
  COMMAND_RECORDS_PER_STREAM,
  EventStore,
  NO_STREAM,
  type EventToAppend,
  type ReadStreamResult,
} from '../store/event-store.js';
import type { SnapshotPolicy } from '../store/snapshots.js';

/**
 * The behaviour every EventStore adapter must have. Run it from each adapter's spec:
 * `eventStoreContract('in-memory', async () => new InMemoryEventStore())`.
 * Every test uses fresh stream ids, so one store (one Cosmos container) can serve the whole suite.
 */
export const eventStoreContract = (adapter: string, createStore: () => Promise<EventStore>): void => {
  describe(`EventStore contract: ${adapter}`, () => {
    let store: EventStore;
    const category = `Test${randomUUID().replaceAll('-', '').slice(0, 8)}`;
    const newStream = (): string => `${category}-${randomUUID()}`;

    beforeAll(async () => {
      store = await createStore();
      await store.init();
    });

    describe('a new stream', () => {
      it('stores the events in order with their versions, schema versions and metadata', async () => {
        const streamId = newStream();
        const result = await store.appendToStream(streamId, [anEvent('A', 1), anEvent('B', 2)], {
          expectedVersion: NO_STREAM,
        });
        expect(result.nextExpectedVersion).toBe(2);

        const read = await store.readStream(streamId);
        expect(read).toMatchObject({ streamExists: true, currentVersion: 2 });
        expect(read.events.map((e) => [e.version, e.type, e.schemaVersion, e.data])).toEqual([
          [1, 'A', 1, { n: 1 }],
          [2, 'B', 2, { n: 2 }],
        ]);
        expect(read.events[0]!.metadata).toEqual(result.events[0]!.metadata);
        expect(read.events.every((e) => e.streamId === streamId)).toBe(true);
      });

      it('hands back the appended events as a read returns them: JSON values (a Date as its ISO string)', async () => {
        const streamId = newStream();
        const at = new Date('2026-12-03T09:00:00.000Z');
        const event = anEvent('Dated', 1, { at, nested: { when: at }, skipped: undefined });
        const result = await store.appendToStream(streamId, [event], { expectedVersion: NO_STREAM });
        const read = await store.readStream(streamId);
        expect(result.events[0]!.data).toEqual({ at: at.toISOString(), nested: { when: at.toISOString() } });
        expect(read.events[0]!.data).toEqual(result.events[0]!.data);
        expect(event.data).toEqual({ at, nested: { when: at }, skipped: undefined }); // the caller's, untouched
      });

      it('reads as absent before the first append', async () => {
        await expect(store.readStream(newStream())).resolves.toEqual({
          commands: [],
          streamExists: false,
          currentVersion: 0,
          events: [],
        });
      });

      it('accepts expected version 0 as "no stream"', async () => {
        const result = await store.appendToStream(newStream(), [anEvent('A')], { expectedVersion: 0 });
        expect(result.nextExpectedVersion).toBe(1);
      });

      it('accepts "any"', async () => {
        const result = await store.appendToStream(newStream(), [anEvent('A')], { expectedVersion: ANY });
        expect(result.nextExpectedVersion).toBe(1);
      });

      it('rejects an exact version above 0', async () => {
        await expect(store.appendToStream(newStream(), [anEvent('A')], { expectedVersion: 3 })).rejects.toBeInstanceOf(
          ConcurrencyError,
        );
      });
    });

    describe('an existing stream', () => {
      let streamId: string;
      beforeEach(async () => {
        streamId = newStream();
        await store.appendToStream(streamId, [anEvent('A'), anEvent('B')], { expectedVersion: NO_STREAM });
      });

      it('appends at the exact current version', async () => {
        const result = await store.appendToStream(streamId, [anEvent('C')], { expectedVersion: 2 });
        expect(result.nextExpectedVersion).toBe(3);
        expect((await store.readStream(streamId)).events.map((e) => e.type)).toEqual(['A', 'B', 'C']);
      });

      it('reads the whole stream for a replay, in order, as a stream read does', async () => {
        await store.appendToStream(streamId, [anEvent('C')], { expectedVersion: 2 });
        const replayed = await store.readStreamForReplay(streamId);
        expect(replayed.map((e) => [e.type, e.version])).toEqual([
          ['A', 1],
          ['B', 2],
          ['C', 3],
        ]);
        expect(replayed).toEqual((await store.readStream(streamId)).events);
        await expect(store.readStreamForReplay(newStream())).resolves.toEqual([]);
      });

      it('reads many streams for a replay at once, each in order, as it reads them one by one', async () => {
        // More than one query's worth of streams on Cosmos DB (100 per query), of 1 to 3 events.
        const streams = Array.from({ length: 130 }, () => newStream());
        await Promise.all(
          streams.map((id, i) =>
            store.appendToStream(
              id,
              ['A', 'B', 'C'].slice(0, 1 + (i % 3)).map((type) => anEvent(type)),
              { expectedVersion: NO_STREAM },
            ),
          ),
        );
        await store.appendToStream(streamId, [anEvent('C')], { expectedVersion: 2 });
        const asked = [...streams.slice(70), streamId, newStream(), ...streams.slice(0, 70)];
        const replayed = await store.readStreamsForReplay(asked);
        expect(replayed).toHaveLength(asked.length);
        for (const [i, id] of asked.entries()) expect(replayed[i]).toEqual(await store.readStreamForReplay(id));
        expect(replayed[60]!.map((e) => [e.type, e.version])).toEqual([
          ['A', 1],
          ['B', 2],
          ['C', 3],
        ]);
        expect(replayed[61]).toEqual([]);
      });

      it('appends with "any"', async () => {
        const result = await store.appendToStream(streamId, [anEvent('C')], { expectedVersion: ANY });
        expect(result.nextExpectedVersion).toBe(3);
      });

      it.each([
        ['"no stream"', NO_STREAM],
        ['a stale version', 1],
        ['a future version', 5],
      ] as const)('rejects %s and leaves the stream unchanged', async (_, expectedVersion) => {
        const error = await store
          .appendToStream(streamId, [anEvent('C')], { expectedVersion })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConcurrencyError);
        expect((error as ConcurrencyError).code).toBe('CONCURRENCY_CONFLICT');
        expect((await store.readStream(streamId)).currentVersion).toBe(2);
      });

      it('reads the events of outbox entries, as the relay recovers them', async () => {
        const { entry } = await store.appendToStream(streamId, [anEvent('C'), anEvent('D')], { expectedVersion: 2 });
        const after = await store.appendToStream(streamId, [anEvent('E')], { expectedVersion: 4 });
        const events = await store.outbox.readEvents([entry, after.entry]);
        expect(events.map((e) => [e.version, e.type])).toEqual([
          [3, 'C'],
          [4, 'D'],
          [5, 'E'],
        ]);
        expect(events[0]!.streamId).toBe(streamId);
      });

      it('reads from a version onwards', async () => {
        await store.appendToStream(streamId, [anEvent('C')], { expectedVersion: 2 });
        const read = await store.readStream(streamId, { fromVersion: 1 });
        expect(read.currentVersion).toBe(3);
        expect(read.events.map((e) => e.version)).toEqual([2, 3]);
      });
    });

    describe('an append that is too large', () => {
      it('is refused above the event count limit, storing nothing', async () => {
        const streamId = newStream();
        const events = Array.from({ length: EventStore.MAX_EVENTS_PER_APPEND + 1 }, () => anEvent('A'));
        await expect(store.appendToStream(streamId, events, { expectedVersion: NO_STREAM })).rejects.toBeInstanceOf(
          AppendTooLargeError,
        );
        expect((await store.readStream(streamId)).streamExists).toBe(false);
      });

      it('is refused above the size limit, storing nothing', async () => {
        const streamId = newStream();
        const big = { ...anEvent('A'), data: { blob: 'x'.repeat(EventStore.MAX_APPEND_BYTES) } };
        await expect(store.appendToStream(streamId, [big], { expectedVersion: NO_STREAM })).rejects.toBeInstanceOf(
          AppendTooLargeError,
        );
        expect((await store.readStream(streamId)).streamExists).toBe(false);
      });

      it('is refused when empty', async () => {
        await expect(store.appendToStream(newStream(), [], { expectedVersion: ANY })).rejects.toBeInstanceOf(
          AppendTooLargeError,
        );
      });

      it('takes the largest allowed append whole', async () => {
        const streamId = newStream();
        const events = Array.from({ length: EventStore.MAX_EVENTS_PER_APPEND }, () => anEvent('A'));
        await store.appendToStream(streamId, events, { expectedVersion: NO_STREAM });
        expect((await store.readStream(streamId)).currentVersion).toBe(EventStore.MAX_EVENTS_PER_APPEND);
      });
    });

    describe('the outbox', () => {
      /** Every pending entry, page by page (each page at most `limit`). */
      const allPending = async (limit = 1_000): Promise<OutboxEntry[]> => {
        const all: OutboxEntry[] = [];
        let continuation: string | undefined;
        do {
          const page = await store.outbox.pending({ limit, ...(continuation ? { continuation } : {}) });
          expect(page.entries.length).toBeLessThanOrEqual(limit);
          all.push(...page.entries);
          continuation = page.continuation;
        } while (continuation);
        return all;
      };
      const pendingOf = async (streamId: string): Promise<OutboxEntry[]> =>
        (await allPending()).filter((e) => e.streamId === streamId);

      it('hands the appended entry over with the append result', async () => {
        const streamId = newStream();
        const first = await store.appendToStream(streamId, [anEvent('A'), anEvent('B')], {
          expectedVersion: NO_STREAM,
        });
        expect(first.entry).toMatchObject({ streamId, fromVersion: 1, toVersion: 2 });
        expect(first.events.map((e) => [e.streamId, e.version])).toEqual([
          [streamId, 1],
          [streamId, 2],
        ]);
        const second = await store.appendToStream(streamId, [anEvent('C')], { expectedVersion: 2 });
        expect(second.entry).toMatchObject({ streamId, fromVersion: 3, toVersion: 3 });
        expect(Date.parse(second.entry.createdAt)).toBeGreaterThan(Date.parse(first.entry.createdAt));
      });

      it('holds one entry per append, in stream order, until completed', async () => {
        const streamId = newStream();
        await store.appendToStream(streamId, [anEvent('A'), anEvent('B')], { expectedVersion: NO_STREAM });
        await store.appendToStream(streamId, [anEvent('C')], { expectedVersion: 2 });

        const mine = await pendingOf(streamId);
        expect(mine.map((e) => [e.fromVersion, e.toVersion])).toEqual([
          [1, 2],
          [3, 3],
        ]);

        await store.outbox.complete([mine[0]!]);
        await store.outbox.complete([mine[0]!]); // completing twice is harmless (relay re-runs after a crash)
        expect((await pendingOf(streamId)).map((e) => e.fromVersion)).toEqual([3]);
      });

      it('completes several entries of a stream at once, also when some are gone already', async () => {
        const streamId = newStream();
        for (let version = 0; version < 4; version++) {
          await store.appendToStream(streamId, [anEvent('A')], { expectedVersion: version });
        }
        const mine = await pendingOf(streamId);
        expect(mine).toHaveLength(4);
        await store.outbox.complete([mine[1]!]);
        await store.outbox.complete(mine);
        expect(await pendingOf(streamId)).toEqual([]);
      });

      it('completes the entries of several streams in one call, also when some are gone already', async () => {
        const streams = [newStream(), newStream(), newStream()];
        const entries: OutboxEntry[] = [];
        for (const streamId of streams) {
          const first = await store.appendToStream(streamId, [anEvent('A'), anEvent('B')], {
            expectedVersion: NO_STREAM,
          });
          const second = await store.appendToStream(streamId, [anEvent('C')], { expectedVersion: 2 });
          entries.push(first.entry, second.entry);
        }
        await store.outbox.complete([entries[2]!]);
        await expect(store.outbox.complete(entries)).resolves.toEqual([]);
        for (const streamId of streams) expect(await pendingOf(streamId)).toEqual([]);
        await expect(store.outbox.complete(entries)).resolves.toEqual([]);
      });

      it('pages through the pending entries with continuations, every stream oldest first across pages', async () => {
        const [s1, s2] = [newStream(), newStream()];
        await store.appendToStream(s1, [anEvent('A')], { expectedVersion: NO_STREAM });
        await store.appendToStream(s2, [anEvent('A')], { expectedVersion: NO_STREAM });
        await store.appendToStream(s1, [anEvent('B'), anEvent('C')], { expectedVersion: 1 });
        await store.appendToStream(s2, [anEvent('B')], { expectedVersion: 1 });
        await store.appendToStream(s1, [anEvent('D')], { expectedVersion: 3 });

        const paged = (await allPending(2)).filter((e) => e.streamId === s1 || e.streamId === s2);
        expect(paged.filter((e) => e.streamId === s1).map((e) => [e.fromVersion, e.toVersion])).toEqual([
          [1, 1],
          [2, 3],
          [4, 4],
        ]);
        expect(paged.filter((e) => e.streamId === s2).map((e) => e.fromVersion)).toEqual([1, 2]);
        await expect(store.outbox.pending({ limit: 0 })).resolves.toEqual({ entries: [] });
      });

      it('tells whether the append that ended at a version is still pending', async () => {
        const streamId = newStream();
        const { entry } = await store.appendToStream(streamId, [anEvent('A'), anEvent('B')], {
          expectedVersion: NO_STREAM,
        });
        await expect(store.outbox.isPending(streamId, 2)).resolves.toBe(true);
        await expect(store.outbox.isPending(streamId, 0)).resolves.toBe(false);
        await store.outbox.complete([entry]);
        await expect(store.outbox.isPending(streamId, 2)).resolves.toBe(false);
        await expect(store.outbox.isPending(newStream(), 1)).resolves.toBe(false);
      });

      it("lists one stream's pending entries, oldest first, as a standby relay catches the stream up", async () => {
        const streamId = newStream();
        const first = await store.appendToStream(streamId, [anEvent('A'), anEvent('B')], { expectedVersion: 0 });
        await store.appendToStream(streamId, [anEvent('C')], { expectedVersion: 2 });
        await store.appendToStream(newStream(), [anEvent('X')], { expectedVersion: 0 });
        const versions = async () =>
          (await store.outbox.pendingOf(streamId)).map((e) => [e.streamId, e.fromVersion, e.toVersion]);
        expect(await versions()).toEqual([
          [streamId, 1, 2],
          [streamId, 3, 3],
        ]);
        await store.outbox.complete([first.entry]);
        expect(await versions()).toEqual([[streamId, 3, 3]]);
      });

      it('gets no entry from a failed append', async () => {
        const streamId = newStream();
        await store.appendToStream(streamId, [anEvent('A')], { expectedVersion: NO_STREAM });
        await expect(store.appendToStream(streamId, [anEvent('B')], { expectedVersion: 0 })).rejects.toThrow();
        expect(await pendingOf(streamId)).toHaveLength(1);
      });
    });

    describe('command records (Idempotency-Key)', () => {
      const keyed = (n: number) => ({ commandId: `command-${n}`, fingerprint: `fingerprint-${n}` });

      it('records a keyed command with the version its append reached, and hands it to the next read', async () => {
        const streamId = newStream();
        const created = await store.appendToStream(streamId, [anEvent('A'), anEvent('B')], {
          expectedVersion: NO_STREAM,
          command: keyed(1),
        });
        const record = { ...keyed(1), version: 2, recordedAt: created.entry.createdAt };
        expect(created.commands).toEqual([record]);
        expect((await store.readStream(streamId)).commands).toEqual([record]);
        // A read that asks for no event (from the current version) still carries them: the load of a cached state.
        expect((await store.readStream(streamId, { fromVersion: 2 })).commands).toEqual([record]);
      });

      it('keeps the records of earlier keyed commands through appends without a key', async () => {
        const streamId = newStream();
        await store.appendToStream(streamId, [anEvent('A')], { expectedVersion: NO_STREAM, command: keyed(1) });
        const plain = await store.appendToStream(streamId, [anEvent('B')], { expectedVersion: 1 });
        expect(plain.commands.map((c) => [c.commandId, c.version])).toEqual([['command-1', 1]]);
        const again = await store.appendToStream(streamId, [anEvent('C')], { expectedVersion: 2, command: keyed(2) });
        expect(again.commands.map((c) => [c.commandId, c.version])).toEqual([
          ['command-1', 1],
          ['command-2', 3],
        ]);
        expect((await store.readStream(streamId)).commands).toEqual(again.commands);
      });

      it(`keeps the newest ${COMMAND_RECORDS_PER_STREAM} records of a stream`, async () => {
        const streamId = newStream();
        const total = COMMAND_RECORDS_PER_STREAM + 2;
        for (let n = 1; n <= total; n++) {
          await store.appendToStream(streamId, [anEvent('A')], { expectedVersion: n - 1, command: keyed(n) });
        }
        const { commands } = await store.readStream(streamId);
        expect(commands.map((c) => c.version)).toEqual(
          Array.from({ length: COMMAND_RECORDS_PER_STREAM }, (_, i) => i + 3),
        );
      }, 60_000);

      it('records nothing for a stream without keyed commands, nor from a failed append', async () => {
        const streamId = newStream();
        const plain = await store.appendToStream(streamId, [anEvent('A')], { expectedVersion: NO_STREAM });
        expect(plain.commands).toEqual([]);
        await expect(
          store.appendToStream(streamId, [anEvent('B')], { expectedVersion: 0, command: keyed(1) }),
        ).rejects.toBeInstanceOf(ConcurrencyError);
        expect((await store.readStream(streamId)).commands).toEqual([]);
      });
    });

    describe('leases', () => {
      const lease = () => `relay-${randomUUID()}`;

      it('go to one owner at a time until they expire', async () => {
        const name = lease();
        await expect(store.tryAcquireLease(name, 'a', 60_000)).resolves.toBe(true);
        await expect(store.tryAcquireLease(name, 'b', 60_000)).resolves.toBe(false);
        await expect(store.tryAcquireLease(name, 'a', 60_000)).resolves.toBe(true); // renewal
      });

      it('can be taken over once expired', async () => {
        const name = lease();
        await store.tryAcquireLease(name, 'a', 1);
        await new Promise((resolve) => setTimeout(resolve, 20));
        await expect(store.tryAcquireLease(name, 'b', 60_000)).resolves.toBe(true);
        await expect(store.tryAcquireLease(name, 'a', 60_000)).resolves.toBe(false);
      });

      it('can be taken at once after the owner released it', async () => {
        const name = lease();
        await store.tryAcquireLease(name, 'a', 60_000);
        await store.releaseLease(name, 'b'); // not b's: no effect
        await expect(store.tryAcquireLease(name, 'b', 60_000)).resolves.toBe(false);
        await store.releaseLease(name, 'a');
        await expect(store.tryAcquireLease(name, 'b', 60_000)).resolves.toBe(true);
      });

      it('has exactly one winner among contenders for an expired lease', async () => {
        const name = lease();
        await store.tryAcquireLease(name, 'old', 1);
        await new Promise((resolve) => setTimeout(resolve, 20));
        const won = await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.tryAcquireLease(name, `c${i}`, 60_000)),
        );
        expect(won.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('stream ids by category', () => {
      it('lists every stream of the category once', async () => {
        const category2 = `Cat${randomUUID().replaceAll('-', '').slice(0, 8)}`;
        const ids = [`${category2}-1`, `${category2}-2`, `${category2}-3`];
        for (const id of ids) await store.appendToStream(id, [anEvent('A'), anEvent('B')], { expectedVersion: ANY });
        const listed: string[] = [];
        for await (const id of store.streamIds(category2)) listed.push(id);
        expect(listed.sort()).toEqual(ids);
      });
    });

    describe('snapshots in the tip', () => {
      /** A policy whose state is the version it was taken at, so a read shows which append took it. */
      const policy = (schemaVersion: number, every: number, at: () => number): SnapshotPolicy => ({
        schemaVersion,
        every,
        take: () => ({ takenAt: at() }),
      });
      let streamId: string;
      /** Appends one event at a time with the policy, `count` times. */
      const appendEach = async (count: number, snapshot?: SnapshotPolicy) => {
        for (let i = 0; i < count; i++) {
          const { currentVersion } = await store.readStream(streamId);
          await store.appendToStream(streamId, [anEvent('E')], {
            expectedVersion: currentVersion,
            ...(snapshot ? { snapshot } : {}),
          });
        }
      };
      const versions = (read: ReadStreamResult) => read.events.map((e) => e.version);
      let version = 0;
      const counting = (schemaVersion: number, every: number) => policy(schemaVersion, every, () => version);
      const appendCounted = async (count: number, schemaVersion: number, every: number) => {
        for (let i = 0; i < count; i++) {
          version++;
          await store.appendToStream(streamId, [anEvent('E')], {
            expectedVersion: version - 1,
            snapshot: counting(schemaVersion, every),
          });
        }
      };

      beforeEach(() => {
        streamId = newStream();
        version = 0;
      });

      it('writes one with the append every N events; a read of its schema starts there and reads only what follows', async () => {
        await appendCounted(7, 1, 3);
        const read = await store.readStream(streamId, { snapshotSchemaVersion: 1 });
        expect(read).toMatchObject({ streamExists: true, currentVersion: 7 });
        expect(read.snapshot).toEqual({ version: 6, schemaVersion: 1, state: { takenAt: 6 } });
        expect(versions(read)).toEqual([7]);
      });

      it('takes none before the first N events', async () => {
        await appendCounted(2, 1, 3);
        const read = await store.readStream(streamId, { snapshotSchemaVersion: 1 });
        expect(read.snapshot).toBeUndefined();
        expect(versions(read)).toEqual([1, 2]);
      });

      it('is not part of a read that does not ask for it, or that starts past it', async () => {
        await appendCounted(4, 1, 3);
        const plain = await store.readStream(streamId);
        expect(plain.snapshot).toBeUndefined();
        expect(versions(plain)).toEqual([1, 2, 3, 4]);
        const further = await store.readStream(streamId, { fromVersion: 3, snapshotSchemaVersion: 1 });
        expect(further.snapshot).toBeUndefined();
        expect(versions(further)).toEqual([4]);
      });

      it('is ignored when of another state schema version, and replaced by the next append at once', async () => {
        await appendCounted(4, 1, 3); // snapshot of schema 1 at version 3
        const newer = await store.readStream(streamId, { snapshotSchemaVersion: 2 });
        expect(newer.snapshot).toBeUndefined();
        expect(versions(newer)).toEqual([1, 2, 3, 4]);

        await appendCounted(1, 2, 100); // not due by count, but the stored one is of schema 1
        const read = await store.readStream(streamId, { snapshotSchemaVersion: 2 });
        expect(read.snapshot).toEqual({ version: 5, schemaVersion: 2, state: { takenAt: 5 } });
        expect(versions(read)).toEqual([]);
        expect((await store.readStream(streamId, { snapshotSchemaVersion: 1 })).snapshot).toBeUndefined();
      });

      it('is carried over by appends that take none (not due, no policy, or "any")', async () => {
        await appendCounted(3, 1, 3);
        await appendEach(1); // no policy
        await store.appendToStream(streamId, [anEvent('E')], { expectedVersion: ANY, snapshot: counting(1, 1) });
        const read = await store.readStream(streamId, { snapshotSchemaVersion: 1 });
        expect(read.snapshot).toEqual({ version: 3, schemaVersion: 1, state: { takenAt: 3 } });
        expect(versions(read)).toEqual([4, 5]);
      });

      it('is left out when it would make the append too large, and the events still load', async () => {
        const huge = { blob: 'x'.repeat(EventStore.MAX_APPEND_BYTES) };
        await appendEach(2, { schemaVersion: 1, every: 1, take: () => huge });
        const read = await store.readStream(streamId, { snapshotSchemaVersion: 1 });
        expect(read.snapshot).toBeUndefined();
        expect(versions(read)).toEqual([1, 2]);
      });
    });

    describe('concurrent writers on one stream', () => {
      const writers = 50;

      it('lets exactly one of them win a given version', async () => {
        const streamId = newStream();
        await store.appendToStream(streamId, [anEvent('Start')], { expectedVersion: NO_STREAM });
        const outcomes = await Promise.allSettled(
          Array.from({ length: writers }, (_, i) =>
            store.appendToStream(streamId, [anEvent('Race', 1, { writer: i })], { expectedVersion: 1 }),
          ),
        );
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost.every((o) => o.reason instanceof ConcurrencyError)).toBe(true);
        const read = await store.readStream(streamId);
        expect(read.events.map((e) => e.version)).toEqual([1, 2]);
      });

      it('loses and duplicates nothing when every writer retries until it lands', async () => {
        const streamId = newStream();
        const write = async (writer: number): Promise<number> => {
          for (let attempt = 1; ; attempt++) {
            const { currentVersion } = await store.readStream(streamId);
            try {
              await store.appendToStream(streamId, [anEvent('Write', 1, { writer })], {
                expectedVersion: currentVersion,
              });
              return attempt;
            } catch (error) {
              if (!(error instanceof ConcurrencyError)) throw error;
              await new Promise((r) => setTimeout(r, Math.random() * 20 * Math.min(attempt, 5)));
            }
          }
        };
        await Promise.all(Array.from({ length: writers }, (_, i) => write(i)));

        const read = await store.readStream(streamId);
        expect(read.events.map((e) => e.version)).toEqual(Array.from({ length: writers }, (_, i) => i + 1));
        const seen = read.events.map((e) => (e.data as { writer: number }).writer).sort((a, b) => a - b);
        expect(seen).toEqual(Array.from({ length: writers }, (_, i) => i));
        const eventIds = new Set(read.events.map((e) => e.metadata.eventId));
        expect(eventIds.size).toBe(writers);
      }, 60_000);
    });
  });
};

const anEvent = (type: string, schemaVersion = 1, data: Record<string, unknown> = {}): EventToAppend => {
  const eventId = randomUUID();
  return {
    type,
    schemaVersion,
    data: Object.keys(data).length ? data : { n: schemaVersion },
    metadata: { eventId, correlationId: eventId, causationId: eventId, occurredAt: new Date().toISOString() },
  };
};

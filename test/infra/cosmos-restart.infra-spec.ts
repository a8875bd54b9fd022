// The local Cosmos-compatible server keeps its data across restarts (infra/cosmos/journal.mjs). This suite
// runs its own copy of infra/cosmos/server.mjs (free port, temporary data folder, the certificate of
// `npm run infra:up`), so restarting it cannot disturb the suites that share the configured server; the
// whole stack going down and up under running services is test/reliability/infra-restart.reliability-spec.ts.
import { jest } from '@jest/globals';
import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Container, type OperationInput } from '@azure/cosmos';
import { freePort, haveLocalCosmosCertificate, LocalCosmos, localCosmosCert } from './support/local-cosmos.js';

jest.setTimeout(60_000);

interface Doc {
  id: string;
  streamId: string;
  kind: string;
  version: number;
  _etag?: string;
  _ts?: number;
  _rid?: string;
}

if (!haveLocalCosmosCertificate)
  console.warn(`cosmos restart suite skipped: ${localCosmosCert} missing (run \`npm run infra:up\` once)`);

(haveLocalCosmosCertificate ? describe : describe.skip)(
  'local Cosmos server (cosmosdb-server + journal) across restarts',
  () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cosmos-restart-spec-'));
    let server: LocalCosmos;
    let container: Container;
    const streamId = 'Order-restart-1';

    const batch = (ops: OperationInput[], pk = streamId) => container.items.batch(ops, pk);
    const event = (version: number, pk = streamId): OperationInput => ({
      operationType: 'Create',
      partitionKey: pk,
      resourceBody: { id: `${pk}@${version}`, streamId: pk, kind: 'event', version },
    });

    beforeAll(async () => {
      server = new LocalCosmos(await freePort(), dataDir);
      await server.start();
      container = await server.eventsContainer('restart-spec');
    });

    afterAll(async () => {
      await server?.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    });

    describe('after an orderly restart', () => {
      const before = new Map<string, Doc>();
      let tipEtagV1 = '';

      beforeAll(async () => {
        // a stream as the event store writes it: tip + events in one batch, then a second append
        const first = await batch([
          {
            operationType: 'Create',
            partitionKey: streamId,
            resourceBody: { id: `${streamId}@tip`, streamId, kind: 'tip', version: 2 },
          },
          event(1),
          event(2),
        ]);
        expect(first.result?.map((r) => r.statusCode)).toEqual([201, 201, 201]);
        tipEtagV1 = first.result![0].eTag!;
        const second = await batch([
          {
            operationType: 'Replace',
            id: `${streamId}@tip`,
            partitionKey: streamId,
            ifMatch: tipEtagV1,
            resourceBody: { id: `${streamId}@tip`, streamId, kind: 'tip', version: 3 },
          },
          event(3),
        ]);
        expect(second.result?.map((r) => r.statusCode)).toEqual([200, 201]);
        // the other mutating calls: create + delete, upsert (twice), patch
        await container.items.create({ id: 'gone', streamId, kind: 'outbox', version: 0 });
        await container.item('gone', streamId).delete();
        await container.items.upsert({ id: 'lease', streamId: 'lease', kind: 'lease', version: 1 });
        await container.items.upsert({ id: 'lease', streamId: 'lease', kind: 'lease', version: 2 });
        await container.item('patched', 'p').read(); // a miss changes nothing
        await container.items.create({ id: 'patched', streamId: 'p', kind: 'doc', version: 1 });
        await container.item('patched', 'p').patch([{ op: 'set', path: '/version', value: 7 }]);

        for (const [id, pk] of [
          [`${streamId}@tip`, streamId],
          [`${streamId}@1`, streamId],
          [`${streamId}@3`, streamId],
          ['lease', 'lease'],
          ['patched', 'p'],
        ]) {
          before.set(id, (await container.item(id, pk).read<Doc>()).resource!);
        }
        await server.restart('SIGTERM');
      });

      it('replays the journal at start-up and says so', () => {
        expect(server.readyLine).toMatch(/\d+ writes replayed \(\d+ items\) in \d+ ms/);
      });

      it('point-reads every document as it was, system properties (_etag, _ts, _rid) included', async () => {
        for (const [id, doc] of before) {
          const { resource } = await container.item(id, doc.streamId).read<Doc>();
          expect(resource).toEqual(doc);
        }
        expect(before.get('lease')?.version).toBe(2);
        expect(before.get('patched')?.version).toBe(7);
      });

      it('keeps deletes deleted', async () => {
        expect((await container.item('gone', streamId).read()).statusCode).toBe(404);
      });

      it('answers queries in the partition, ordered by version', async () => {
        const { resources } = await container.items
          .query<Doc>(
            {
              query: "SELECT * FROM c WHERE c.streamId = @s AND c.kind = 'event' ORDER BY c.version",
              parameters: [{ name: '@s', value: streamId }],
            },
            { partitionKey: streamId },
          )
          .fetchAll();
        expect(resources.map((d) => d.version)).toEqual([1, 2, 3]);
      });

      it('still lists the database and the container', async () => {
        const { resources: dbs } = await server.client!.databases.readAll().fetchAll();
        expect(dbs.map((d) => d.id)).toContain('restart-spec');
        const { resource } = await container.read();
        expect(resource?.partitionKey?.paths).toEqual(['/streamId']);
      });

      it('matches an ETag taken before the restart to the same version only', async () => {
        const tip = before.get(`${streamId}@tip`)!;
        // a stale ETag (version 2's tip) still loses ...
        const stale = await batch([
          {
            operationType: 'Replace',
            id: tip.id,
            partitionKey: streamId,
            ifMatch: tipEtagV1,
            resourceBody: { ...tip, version: 4 },
          },
          event(4),
        ]);
        expect(stale.result?.map((r) => r.statusCode)).toEqual([412, 424]);
        expect((await container.item(`${streamId}@4`, streamId).read()).statusCode).toBe(404);
        // ... and the current one, taken before the restart, still wins, once
        const fresh = await batch([
          {
            operationType: 'Replace',
            id: tip.id,
            partitionKey: streamId,
            ifMatch: tip._etag,
            resourceBody: { id: tip.id, streamId, kind: 'tip', version: 4 },
          },
          event(4),
        ]);
        expect(fresh.result?.map((r) => r.statusCode)).toEqual([200, 201]);
        const newEtag = fresh.result![0].eTag;
        expect(newEtag).not.toBe(tip._etag);
        expect(newEtag).not.toBe(tipEtagV1);
        const again = await batch([
          {
            operationType: 'Replace',
            id: tip.id,
            partitionKey: streamId,
            ifMatch: tip._etag,
            resourceBody: { id: tip.id, streamId, kind: 'tip', version: 5 },
          },
        ]);
        expect(again.result?.map((r) => r.statusCode)).toEqual([412]);
      });

      it('gives documents created after the restart ids of their own (_rid)', async () => {
        const { resource } = await container.items.create<Doc>({ id: 'new', streamId, kind: 'doc', version: 1 });
        const rids = [...before.values()].map((d) => d._rid);
        expect(rids).not.toContain(resource?._rid);
      });
    });

    describe('after a crash (SIGKILL)', () => {
      it('keeps every write that was acknowledged before the kill', async () => {
        const pk = 'Order-crash-1';
        const acknowledged: number[] = [];
        await batch(
          [
            {
              operationType: 'Create',
              partitionKey: pk,
              resourceBody: { id: `${pk}@tip`, streamId: pk, kind: 'tip', version: 20 },
            },
            ...Array.from({ length: 20 }, (_, i) => event(i + 1, pk)),
          ],
          pk,
        );
        // concurrent writers: group commits of several requests at once
        await Promise.all(
          Array.from({ length: 30 }, async (_, i) => {
            await container.items.create({ id: `crash-${i}`, streamId: pk, kind: 'doc', version: i });
            acknowledged.push(i);
          }),
        );
        await server.restart('SIGKILL');
        const { resources } = await container.items
          .query<Doc>(
            { query: 'SELECT * FROM c WHERE c.streamId = @s', parameters: [{ name: '@s', value: pk }] },
            { partitionKey: pk },
          )
          .fetchAll();
        expect(resources.filter((d) => d.kind === 'event').length).toBe(20);
        expect(
          resources
            .filter((d) => d.kind === 'doc')
            .map((d) => d.version)
            .sort((a, b) => a - b),
        ).toEqual([...acknowledged].sort((a, b) => a - b));
      });

      it('starts after a torn last journal line (a write cut short), dropping only that line', async () => {
        await container.items.create({ id: 'before-tear', streamId: 'tear', kind: 'doc', version: 1 });
        await server.stop('SIGKILL');
        appendFileSync(join(dataDir, 'journal.jsonl'), '[{"o":"s","k":"docs","db":"x');
        await server.start();
        expect(server.readyLine).toContain('dropped a torn last line');
        expect((await container.item('before-tear', 'tear').read()).statusCode).toBe(200);
        await container.items.create({ id: 'after-tear', streamId: 'tear', kind: 'doc', version: 2 });
        await server.restart('SIGTERM');
        expect((await container.item('after-tear', 'tear').read()).statusCode).toBe(200);
      });
    });

    describe('with a journal that outgrows its data', () => {
      // A server of its own that compacts once the journal passes 256 KiB (64 MiB by default).
      const compactingDir = mkdtempSync(join(tmpdir(), 'cosmos-compact-spec-'));
      let compacting: LocalCosmos;
      let docs: Container;

      beforeAll(async () => {
        compacting = new LocalCosmos(await freePort(), compactingDir, { COSMOS_JOURNAL_COMPACT_BYTES: '262144' });
        await compacting.start();
        docs = await compacting.eventsContainer('compact-spec');
      });

      afterAll(async () => {
        await compacting?.dispose();
        rmSync(compactingDir, { recursive: true, force: true });
      });

      it('compacts while serving writes, and a crash right after finds exactly what was acknowledged', async () => {
        // 8 writers: every document created, rewritten twice, every third one deleted, so that the journal
        // holds several times the live data; what each acknowledged answer left is the expected state.
        const expected = new Map<string, number>();
        await Promise.all(
          Array.from({ length: 8 }, async (_, writer) => {
            for (let i = 0; i < 150; i++) {
              const id = `w${writer}-${i}`;
              const pk = `Stream-${writer}-${i % 10}`;
              await docs.items.create({ id, streamId: pk, kind: 'doc', version: 1, pad: 'x'.repeat(200) });
              await docs.items.upsert({ id, streamId: pk, kind: 'doc', version: 2, pad: 'y'.repeat(200) });
              await docs.item(id, pk).replace({ id, streamId: pk, kind: 'doc', version: 3, pad: 'z'.repeat(200) });
              if (i % 3 === 0) await docs.item(id, pk).delete();
              else expected.set(id, 3);
            }
          }),
        );
        expect(compacting.output).toMatch(/journal compacted while serving to \d+ items \(\+\d+ writes meanwhile\)/);
        const journal = statSync(join(compactingDir, 'journal.jsonl')).size;
        await compacting.restart('SIGKILL');
        const { resources } = await docs.items
          .query<Doc>("SELECT c.id, c.version FROM c WHERE c.kind = 'doc'")
          .fetchAll();
        expect(new Map(resources.map((d) => [d.id, d.version]))).toEqual(expected);
        // about 4,800 writes of about 300 bytes each went through; the journal kept far fewer
        expect(journal).toBeLessThan(4_800 * 300);
        await docs.items.create({ id: 'after-compaction', streamId: 'x', kind: 'other', version: 1 });
        await compacting.restart('SIGTERM');
        expect((await docs.item('after-compaction', 'x').read()).statusCode).toBe(200);
      }, 120_000);
    });
  },
);

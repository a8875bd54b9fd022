// The local Cosmos-compatible server answers queries with an equality filter from indexes
// (infra/cosmos/query-index.mjs). An index changes how many documents a query looks at, never its answer:
// every query here is answered by the server (through @azure/cosmos, paged) and compared with the same
// query run by the server's query engine over every document of the container, before and after writes
// that move documents between index entries, and after a restart (journal replay). The server's engine
// also has its FROM/JOIN accumulation rewritten to appends (installLinearReduce); the engine here is the
// package's unchanged, so the comparison covers that rewrite too, JOINs included.
import { jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Container, type JSONValue, type SqlParameter } from '@azure/cosmos';
import cosmosQueryModule from '@zeit/cosmosdb-query';
import { freePort, haveLocalCosmosCertificate, LocalCosmos, localCosmosCert } from './support/local-cosmos.js';

jest.setTimeout(60_000);

// CommonJS with `exports.default`: Node's ESM import hands over `module.exports`.
const cosmosQuery = cosmosQueryModule.default;

interface Case {
  readonly query: string;
  readonly parameters?: SqlParameter[];
  /** Partition-scoped, as the event store reads a stream. */
  readonly partitionKey?: string;
}

const cases: Case[] = [
  // the queries of the event store (libs/event-sourcing/src/cosmos)
  { query: "SELECT * FROM c WHERE c.kind = 'outbox' ORDER BY c.createdAt" },
  {
    query: "SELECT * FROM c WHERE c.streamId = @s AND c.kind = 'event' AND c.version > @from ORDER BY c.version",
    parameters: [
      { name: '@s', value: 'Order-3' },
      { name: '@from', value: 2 },
    ],
    partitionKey: 'Order-3',
  },
  {
    query: "SELECT * FROM c WHERE c.streamId = @s AND c.kind = 'event' ORDER BY c.version",
    parameters: [{ name: '@s', value: 'Product-1' }],
    partitionKey: 'Product-1',
  },
  {
    query: "SELECT c.streamId FROM c WHERE c.kind = 'tip' AND STARTSWITH(c.streamId, @prefix) ORDER BY c.streamId",
    parameters: [{ name: '@prefix', value: 'Order-' }],
  },
  // the shapes the index understands, and some it leaves to the full scan
  { query: "SELECT VALUE COUNT(1) FROM c WHERE c.kind = 'event'" },
  { query: "SELECT * FROM root r WHERE r['kind'] = 'tip' ORDER BY r.streamId" },
  { query: "SELECT * FROM c WHERE 'event' = c.kind AND (c.version = 3) ORDER BY c.streamId" },
  { query: 'SELECT * FROM c WHERE c.flag = true ORDER BY c.id' },
  { query: 'SELECT * FROM c WHERE c.note = null ORDER BY c.id' },
  { query: 'SELECT * FROM c WHERE c.code = 1 ORDER BY c.id' },
  { query: "SELECT * FROM c WHERE c.code = '1' ORDER BY c.id" },
  { query: "SELECT * FROM c WHERE c.kind = 'nothing-has-this' ORDER BY c.id" },
  { query: "SELECT * FROM c WHERE c.kind = 'tip' AND c.kind = 'event'" },
  { query: "SELECT * FROM c WHERE c.kind = 'tip' OR c.kind = 'outbox' ORDER BY c.id" },
  { query: "SELECT * FROM c WHERE c.meta.kind = 'x' ORDER BY c.id" },
  { query: 'SELECT * FROM c WHERE c.kind = @missing ORDER BY c.id' },
  // IN lists (a replay reads a page of streams with one query): every value a constant or a parameter
  {
    query: "SELECT * FROM c WHERE c.streamId IN (@a, @b, 'Order-9') AND c.kind = 'event' ORDER BY c.id",
    parameters: [
      { name: '@a', value: 'Order-2' },
      { name: '@b', value: 'Product-1' },
    ],
  },
  { query: "SELECT * FROM c WHERE c.code IN (1, 'nothing') AND c.kind = 'event' ORDER BY c.id" },
  { query: "SELECT * FROM c WHERE c.kind IN ('tip', @missing) ORDER BY c.id" },
  { query: "SELECT * FROM c WHERE NOT (c.kind IN ('tip', 'event')) ORDER BY c.id" },
  { query: "SELECT * FROM c WHERE c.kind IN ('nothing-has-this') ORDER BY c.id" },
  // JOINs: the engine's accumulation over documents and their arrays, rewritten to appends on the server
  { query: "SELECT c.id, c.streamId, t FROM c JOIN t IN c.tags WHERE c.kind = 'event'" },
  { query: 'SELECT VALUE t FROM c JOIN t IN c.tags' },
  { query: "SELECT c.id, c.streamId FROM c JOIN (SELECT VALUE t FROM t IN c.tags WHERE t = 'a')" },
];

const docsOf = (streamId: string, versions: number) => [
  { id: 'tip', streamId, kind: 'tip', version: versions },
  ...Array.from({ length: versions }, (_, i) => ({
    id: `e-${i + 1}`,
    streamId,
    kind: 'event',
    version: i + 1,
    code: i % 3 === 0 ? 1 : '1',
    flag: i % 2 === 0,
    ...(i % 4 === 0 ? { note: null } : {}),
    ...(i % 5 === 0 ? { meta: { kind: 'x' } } : {}),
    ...(i % 6 === 0 ? { tags: ['a', `t${i}`] } : i % 6 === 1 ? { tags: [] } : {}),
  })),
  { id: `ob-${versions}`, streamId, kind: 'outbox', createdAt: new Date(Date.UTC(2026, 0, versions)).toISOString() },
];

if (!haveLocalCosmosCertificate)
  console.warn(`cosmos query index suite skipped: ${localCosmosCert} missing (run \`npm run infra:up\` once)`);

(haveLocalCosmosCertificate ? describe : describe.skip)('local Cosmos server: equality indexes', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cosmos-query-index-spec-'));
  let server: LocalCosmos;
  let container: Container;

  beforeAll(async () => {
    server = new LocalCosmos(await freePort(), dataDir);
    await server.start();
    container = await server.eventsContainer('query-index-spec');
    const docs = [
      ...[1, 2, 3, 4, 5, 6].flatMap((n) => docsOf(`Order-${n}`, n + 1)),
      ...docsOf('Product-1', 30),
      { id: 'no-kind', streamId: 'Other-1' },
    ];
    for (const doc of docs) await container.items.create(doc);
  });

  afterAll(async () => {
    await server?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** What the server answers, page by page (7 per page, so continuation tokens are exercised). */
  const answer = async ({ query, parameters, partitionKey }: Case): Promise<JSONValue[]> => {
    const iterator = container.items.query<JSONValue>(
      { query, parameters: parameters ?? [] },
      { maxItemCount: 7, ...(partitionKey === undefined ? {} : { partitionKey }) },
    );
    const all: JSONValue[] = [];
    while (iterator.hasMoreResults()) all.push(...(await iterator.fetchNext()).resources);
    return all;
  };

  /** The same query run by the server's engine over every document (no index). */
  const expected = async ({ query, parameters, partitionKey }: Case): Promise<JSONValue[]> => {
    const { resources } = await container.items.readAll().fetchAll();
    const scope = partitionKey === undefined ? resources : resources.filter((d) => d.streamId === partitionKey);
    return cosmosQuery(query).exec(scope, { parameters: parameters ?? [] }).result as JSONValue[];
  };

  const expectSameAnswers = async () => {
    for (const c of cases) {
      const [got, want] = await Promise.all([answer(c), expected(c)]);
      expect({ query: c.query, rows: got }).toEqual({ query: c.query, rows: want });
    }
  };

  it('answers every query as the full scan does', async () => {
    await expectSameAnswers();
    // the cases are not vacuous: the outbox and stream queries find documents
    expect(await answer(cases[0]!)).toHaveLength(7);
    expect(await answer(cases[2]!)).toHaveLength(30);
  });

  it('pages an IN query without ORDER BY with nothing lost or repeated (the event store replay query)', async () => {
    const streams = ['Order-1', 'Order-4', 'Product-1', 'Order-6'];
    const replay: Case = {
      query: `SELECT * FROM c WHERE c.streamId IN (${streams.map((_, i) => `@s${i}`).join(', ')}) AND c.kind = 'event'`,
      parameters: streams.map((value, i) => ({ name: `@s${i}`, value })),
    };
    const key = (d: JSONValue) => `${(d as { streamId: string }).streamId}/${(d as { id: string }).id}`;
    const [got, want] = await Promise.all([answer(replay), expected(replay)]);
    expect(got.map(key).sort()).toEqual(want.map(key).sort());
    expect(new Set(got.map(key)).size).toBe(got.length);
    expect(got).toHaveLength(2 + 5 + 30 + 7);
  });

  it('keeps the indexes current through replaces, upserts, deletes and batches', async () => {
    const outbox = await answer(cases[0]!);
    const first = outbox[0] as { id: string; streamId: string };
    // an outbox entry completed (deleted), another one re-kinded, a tip moved, new documents in a batch
    await container.item(first.id, first.streamId).delete();
    await container.items.upsert({ id: 'ob-7', streamId: 'Order-6', kind: 'done' });
    await container.item('tip', 'Order-2').replace({ id: 'tip', streamId: 'Order-2', kind: 'event', version: 3 });
    await container.items.batch(
      [
        { operationType: 'Create', resourceBody: { id: 'e-4', streamId: 'Order-3', kind: 'event', version: 4 } },
        { operationType: 'Create', resourceBody: { id: 'ob-4', streamId: 'Order-3', kind: 'outbox', createdAt: 'z' } },
      ],
      'Order-3',
    );
    await expectSameAnswers();
    expect((await answer(cases[0]!)).map((d) => (d as { id: string }).id)).not.toContain(first.id);
  });

  it('answers the same after a restart (the journal replays into fresh indexes)', async () => {
    await server.restart();
    await expectSameAnswers();
  });
});

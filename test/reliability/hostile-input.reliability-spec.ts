import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import supertest from 'supertest';
import { EventStore, type CosmosEventStore } from '@app/event-sourcing';
import { startMonolith, type RunningApp } from '../e2e/support/app.js';
import { fullStack } from '../e2e/support/full-stack.js';
import { contractOf, request, type OpenApiContract, type Schema } from '../e2e/support/openapi-contract.js';
import { SchemaSampler, seededRandom } from '../e2e/support/openapi-samples.js';

// Hostile HTTP input against every operation of the OpenAPI document, on the monolith wired to the real
// servers: every answer is a 4xx problem+json (never a 5xx) that the document lists for that operation,
// and nothing reaches the stores. Requests valid by the document's schemas are accepted.

jest.setTimeout(180_000);

interface HostileRequest {
  readonly label: string;
  readonly method: string;
  readonly path: string;
  readonly query?: Record<string, unknown>;
  readonly body?: unknown;
  readonly rawBody?: string;
  readonly contentType?: string;
}

const MB_STRING = 'x'.repeat(1024 * 1024);
/** Stands for the literal 1e999 in a JSON body (JSON.stringify cannot write it: Infinity becomes null). */
const RAW_1E999 = '__raw_1e999__';
const HOSTILE_IDS = [
  '../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
  '%00',
  '{"$gt":""}',
  "'; DROP TABLE--",
  'a'.repeat(300),
];
const HOSTILE_VALUES: [string, unknown][] = [
  ['null', null],
  ['true', true],
  ['a string', 'not-a-number'],
  ['"NaN"', 'NaN'],
  ['"Infinity"', 'Infinity'],
  ['1e999 (Infinity once parsed)', RAW_1E999],
  ['a huge number', 1e300],
  ['-1', -1],
  ['0.5', 0.5],
  ['an array', [1, 2]],
  ['an object', { nested: true }],
  ['a MongoDB operator', { $gt: '' }],
  ['a 1 MB string', MB_STRING],
];
/**
 * Whether a value is hostile for a field of this schema, i.e. the API must refuse it. `"NaN"` is a fine
 * customer id and 0.5 a fine price: only what breaks the schema counts.
 */
const breaks = (schema: Schema, value: unknown): boolean => {
  if (schema.enum) return !schema.enum.includes(value);
  if (schema.type === 'string') return typeof value !== 'string' || value.length > (schema.maxLength ?? 10_000);
  if (schema.type === 'integer')
    return (
      typeof value !== 'number' || !Number.isInteger(value) || value < (schema.minimum ?? -Infinity) || value > 1e6
    );
  if (schema.type === 'number')
    return typeof value !== 'number' || !Number.isFinite(value) || value < (schema.minimum ?? -Infinity) || value > 1e6;
  if (schema.type === 'array') return !Array.isArray(value);
  return true;
};
/** Query strings carry text: a value breaks a query parameter when its text does. */
const breaksQuery = (schema: Schema, value: unknown): boolean => {
  const text = String(value);
  if (schema.enum) return !schema.enum.map(String).includes(text);
  if (schema.type === 'integer' || schema.type === 'number')
    return !/^\d+$/.test(text) || Number(text) < (schema.minimum ?? 1) || Number(text) > 100;
  return text.length > (schema.maxLength ?? 10_000);
};

const deep = (levels: number): unknown => (levels === 0 ? 'bottom' : [deep(levels - 1)]);

describe('hostile HTTP input, driven from the OpenAPI document', () => {
  let running: RunningApp;
  let contract: OpenApiContract;
  let sampler: SchemaSampler;

  beforeAll(async () => {
    running = await startMonolith(fullStack.env({ READ_YOUR_WRITES_TIMEOUT_MS: '200' }));
    contract = await contractOf(running.server);
    sampler = new SchemaSampler(contract, seededRandom(1));
  });
  afterAll(() => running?.close());

  const resolve = (schema: Schema): Schema => sampler.resolve(schema);
  const sample = (schema: Schema): unknown => sampler.sample(schema);

  /** Every hostile variant of every operation. Path ids point at nothing, so no variant can change state. */
  const hostileRequests = (): HostileRequest[] => {
    const all: HostileRequest[] = [];
    for (const [template, methods] of Object.entries(contract.document.paths)) {
      if (template.startsWith('/health') || template.startsWith('/docs')) continue;
      for (const [method, operation] of Object.entries(methods)) {
        const pathParams = (operation.parameters ?? []).filter((p) => p.in === 'path');
        const queryParams = (operation.parameters ?? []).filter((p) => p.in === 'query');
        const path = (values: Record<string, string> = {}) =>
          template.replace(
            /\{(\w+)\}/g,
            (_, name: string) => values[name] ?? (name === 'id' ? randomUUID() : `NOPE-${randomUUID().slice(0, 8)}`),
          );
        const label = `${method.toUpperCase()} ${template}`;

        for (const param of pathParams) {
          for (const id of HOSTILE_IDS) {
            all.push({
              label: `${label}: path ${param.name}=${id.slice(0, 30)}`,
              method,
              path: path({ [param.name]: id }),
            });
          }
        }
        for (const param of queryParams) {
          const textual = HOSTILE_VALUES.filter(([, v]) => typeof v !== 'object' || v === null);
          for (const [name, value] of textual.filter(([, v]) => breaksQuery(resolve(param.schema), v))) {
            all.push({
              label: `${label}: query ${param.name}=${name}`,
              method,
              path: path(),
              query: { [param.name]: value },
            });
          }
          all.push({
            label: `${label}: query ${param.name} twice`,
            method,
            path: `${path()}?${param.name}=1&${param.name}=2`,
          });
          all.push({
            label: `${label}: query ${param.name} as operator`,
            method,
            path: `${path()}?${param.name}[$gt]=`,
          });
        }

        const bodySchema = operation.requestBody?.content['application/json']?.schema;
        if (!bodySchema) continue;
        const schema = resolve(bodySchema);
        const valid = sample(schema) as Record<string, unknown>;
        const body = (b: unknown) => ({ method, path: path(), body: b });
        all.push({
          label: `${label}: malformed JSON`,
          method,
          path: path(),
          rawBody: '{"a": ',
          contentType: 'application/json',
        });
        all.push({ label: `${label}: text/plain`, method, path: path(), rawBody: 'hello', contentType: 'text/plain' });
        all.push({ label: `${label}: JSON array`, ...body([valid]) });
        all.push({
          label: `${label}: JSON string`,
          method,
          path: path(),
          rawBody: '"x"',
          contentType: 'application/json',
        });
        all.push({ label: `${label}: unknown field`, ...body({ ...valid, unexpected: 1 }) });
        all.push({
          label: `${label}: __proto__ key`,
          method,
          path: path(),
          rawBody: JSON.stringify(valid).replace(/^\{/, '{"__proto__":{"admin":true},'),
          contentType: 'application/json',
        });
        all.push({
          label: `${label}: constructor key`,
          ...body({ ...valid, constructor: { prototype: { admin: true } } }),
        });
        all.push({
          label: `${label}: nested 5000 deep`,
          method,
          path: path(),
          rawBody: `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`,
          contentType: 'application/json',
        });
        all.push({ label: `${label}: nested 40 deep`, ...body({ ...valid, [Object.keys(valid)[0]!]: deep(40) }) });
        for (const field of Object.keys(schema.properties ?? {})) {
          if (schema.required?.includes(field)) {
            const { [field]: _, ...missing } = valid;
            all.push({ label: `${label}: missing ${field}`, ...body(missing) });
          }
          for (const [name, value] of HOSTILE_VALUES.filter(([, v]) =>
            breaks(resolve(schema.properties![field]!), v),
          )) {
            all.push({ label: `${label}: ${field} = ${name}`, ...body({ ...valid, [field]: value }) });
          }
        }
        const lines = valid['lines'];
        if (Array.isArray(lines)) {
          const line = lines[0] as Record<string, unknown>;
          const lineSchema = resolve(resolve(schema.properties!['lines']!).items!);
          for (const field of Object.keys(line)) {
            for (const [name, value] of HOSTILE_VALUES.filter(([, v]) =>
              breaks(resolve(lineSchema.properties![field]!), v),
            )) {
              all.push({
                label: `${label}: lines.0.${field} = ${name}`,
                ...body({ ...valid, lines: [{ ...line, [field]: value }] }),
              });
            }
          }
          all.push({
            label: `${label}: 101 lines`,
            ...body({ ...valid, lines: Array.from({ length: 101 }, () => line) }),
          });
          all.push({ label: `${label}: no lines`, ...body({ ...valid, lines: [] }) });
        }
      }
    }
    return all;
  };

  /** Sent without the checked client: this suite collects every disagreement instead of stopping at the first. */
  const send = (r: HostileRequest) => {
    let call = supertest(running.server)[r.method as 'get' | 'post'](r.path);
    if (r.query) call = call.query(r.query as Record<string, string>);
    const raw =
      r.rawBody ?? (r.body === undefined ? undefined : JSON.stringify(r.body).replaceAll(`"${RAW_1E999}"`, '1e999'));
    return raw === undefined ? call : call.set('content-type', r.contentType ?? 'application/json').send(raw);
  };

  /** What the stores hold: event documents in Cosmos, and what the read side lists. */
  const storeSnapshot = async () => {
    const store = running.app.get(EventStore) as CosmosEventStore;
    const { resources } = await store.container.items.query<number>('SELECT VALUE COUNT(1) FROM c').fetchAll();
    const orders = (await request(running.server).get('/orders?limit=100').expect(200)).body.items.length;
    const products = (await request(running.server).get('/products?limit=100').expect(200)).body.items.length;
    return { cosmosDocuments: resources[0], orders, products };
  };

  it('answers every hostile request with a documented 4xx problem+json and stores nothing', async () => {
    expect(Object.keys(contract.document.paths).length).toBeGreaterThanOrEqual(6);
    const before = await storeSnapshot();
    const requests = hostileRequests();
    expect(requests.length).toBeGreaterThan(250);

    const failures: string[] = [];
    for (const r of requests) {
      const response = await send(r);
      const problem = response.headers['content-type']?.startsWith('application/problem+json');
      const code = response.status < 500 ? (JSON.parse(response.text || '{}') as { code?: string }).code : undefined;
      if (response.status < 400 || response.status >= 500 || !problem || !code) {
        failures.push(`${r.label} -> ${response.status} ${response.text.slice(0, 160)}`);
      }
      const undocumented = contract.mismatches(r.method, r.path, response);
      if (undocumented.length > 0) failures.push(`${r.label} -> ${response.status}: ${undocumented.join('; ')}`);
    }
    expect(failures).toEqual([]);
    expect(await storeSnapshot()).toEqual(before);
  });

  it('accepts every request valid by the document (2xx, or 404/409/READ_MODEL_BEHIND), on the real stores', async () => {
    const requests = sampler.validRequests({ skip: (t) => t.startsWith('/health'), opaque: ['cursor'] });
    expect(requests.length).toBeGreaterThan(60);
    const refused: string[] = [];
    for (const r of requests) {
      let call = request(running.server)[r.method as 'get' | 'post'](r.path);
      if (r.query) call = call.query(r.query);
      const response = await (r.body === undefined ? call : call.send(r.body as object));
      const code = response.status >= 400 ? (response.body as { code?: string }).code : undefined;
      if (response.status >= 400 && ![404, 409].includes(response.status) && code !== 'READ_MODEL_BEHIND') {
        refused.push(`${r.label} -> ${response.status} ${response.text.slice(0, 200)}`);
      }
    }
    expect(refused).toEqual([]);
  });
});

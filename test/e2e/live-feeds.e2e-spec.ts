import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { startMonolith, type Env, type RunningApp } from './support/app.js';
import { jwtAuthEnv, tokenFor } from './support/auth.js';
import { eventually } from './support/eventually.js';
import { openSse, type SseClient } from './support/sse-client.js';

// Live feeds (Server-Sent Events) of the embedded monolith, over real HTTP connections.

interface Live {
  readonly running: RunningApp;
  readonly baseUrl: string;
  call(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: any }>;
}

const startLive = async (env: Env = {}): Promise<Live> => {
  const running = await startMonolith(env);
  await running.app.listen(0, '127.0.0.1');
  const { port } = (running.app.getHttpServer() as Server).address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  const call = async (method: string, path: string, body?: unknown, token?: string) => {
    const response = await fetch(new URL(path, baseUrl), {
      method,
      headers: {
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : undefined };
  };
  return { running, baseUrl, call };
};

const registerProduct = async (live: Live, stock = 100, token?: string): Promise<string> => {
  const sku = `LIVE-${randomUUID().slice(0, 8).toUpperCase()}`;
  const { status } = await live.call('POST', '/products', { sku, name: 'Live test', initialStock: stock }, token);
  expect(status).toBe(201);
  return sku;
};

const placeOrder = async (live: Live, sku: string, customerId = 'customer-1', token?: string): Promise<string> => {
  const order = { customerId, currency: 'EUR', lines: [{ sku, quantity: 1, unitPrice: 5 }] };
  const { status, json } = await live.call('POST', '/orders', order, token);
  expect(status).toBe(201);
  return json.id as string;
};

const ids = (client: SseClient): (string | undefined)[] => client.messages.map((m) => m.id);

describe('Live feeds (embedded monolith)', () => {
  let live: Live;
  const clients: SseClient[] = [];
  const open = async (path: string, headers: Record<string, string> = {}) => {
    const client = await openSse(live.baseUrl, path, headers);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    live = await startLive({ LIVE_HEARTBEAT_MS: '1000' });
  });
  afterEach(() => clients.splice(0).forEach((client) => client.close()));
  afterAll(() => live.running.close());

  describe('GET /orders/{id}/live', () => {
    it('sends the current state first, then each change, ids being the stream versions', async () => {
      const orderId = await placeOrder(live, await registerProduct(live));
      const feed = await open(`/orders/${orderId}/live`);
      expect(feed.status).toBe(200);
      expect(feed.headers['content-type']).toMatch(/^text\/event-stream/);
      const [first] = await feed.until((m) => m.some((message) => message.data.state?.status === 'CONFIRMED'));
      expect(first!.event).toBe('state');
      expect(first!.data.state.id).toBe(orderId);

      expect((await live.call('POST', `/orders/${orderId}/cancel`, { reason: 'live test' })).status).toBe(200);
      const messages = await feed.until((m) => m.at(-1)?.event === 'OrderCancelled');
      const cancelled = messages.at(-1)!;
      expect(cancelled.data.event).toMatchObject({ type: 'OrderCancelled', version: 3, data: { orderId } });
      expect(cancelled.data.state).toMatchObject({ id: orderId, status: 'CANCELLED', version: 3 });
      // Versions follow each other: no gap, no repeat.
      const versions = ids(feed).map(Number);
      versions.forEach((version, i) => i > 0 && expect(version).toBe(versions[i - 1]! + 1));
      expect(versions.at(-1)).toBe(3);
    });

    it('resumes after Last-Event-ID with exactly the events that came after it', async () => {
      const orderId = await placeOrder(live, await registerProduct(live));
      const first = await open(`/orders/${orderId}/live`);
      await first.until((m) => m.some((message) => message.data.state?.status === 'CONFIRMED'));
      first.close();
      await live.call('POST', `/orders/${orderId}/cancel`, {});

      const resumed = await open(`/orders/${orderId}/live`, { 'Last-Event-ID': '1' });
      const messages = await resumed.until((m) => m.length >= 2);
      expect(messages.map((m) => [m.id, m.event])).toEqual([
        ['2', 'OrderConfirmed'],
        ['3', 'OrderCancelled'],
      ]);
      expect(messages[0]!.data.state).toMatchObject({ status: 'CONFIRMED', version: 2 });

      const upToDate = await open(`/orders/${orderId}/live`, { 'Last-Event-ID': '3' });
      await upToDate.until(() => upToDate.comments.length > 0, 5_000); // a heartbeat, and nothing else
      expect(upToDate.messages).toEqual([]);
    });

    it('answers an unknown order with problem+json 404 before any stream starts', async () => {
      const feed = await open(`/orders/${randomUUID()}/live`);
      expect(feed.status).toBe(404);
      expect(feed.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(JSON.parse(feed.body)).toMatchObject({ code: 'ORDER_NOT_FOUND' });
    });
  });

  describe('GET /orders/live', () => {
    it('sends the first page, a position, then changes; a reconnect from a position repeats nothing', async () => {
      const sku = await registerProduct(live);
      const feed = await open('/orders/live');
      const [ready] = (await feed.until((m) => m.some((x) => x.event === 'ready'))).filter((m) => m.event === 'ready');
      expect(ready!.id).toEqual(expect.any(String));

      const orderId = await placeOrder(live, sku);
      await feed.until((m) => m.some((x) => x.event === 'OrderConfirmed' && x.data.state.id === orderId));
      const afterReady = feed.messages.slice(feed.messages.indexOf(ready!) + 1);
      expect(afterReady.map((m) => m.event)).toEqual(expect.arrayContaining(['OrderPlaced', 'OrderConfirmed']));

      // From the position of `ready`: exactly what the first connection got after it.
      const resumed = await open('/orders/live', { 'Last-Event-ID': ready!.id! });
      await resumed.until((m) => m.length >= afterReady.length);
      expect(resumed.messages.map((m) => [m.id, m.event, m.data.state.id])).toEqual(
        afterReady.map((m) => [m.id, m.event, m.data.state.id]),
      );
      // From the last position: nothing again.
      const fromLast = await open('/orders/live', { 'Last-Event-ID': afterReady.at(-1)!.id! });
      const nextOrder = await placeOrder(live, sku);
      const next = await fromLast.until((m) => m.some((x) => x.event === 'OrderConfirmed'));
      expect(next.every((m) => m.data.state.id === nextOrder)).toBe(true);
    });

    it('starts over with `reset` from a position it does not know', async () => {
      const unknown = Buffer.from(JSON.stringify({ 'local-elsewhere': 5 })).toString('base64url');
      const feed = await open('/orders/live', { 'Last-Event-ID': unknown });
      const messages = await feed.until((m) => m.some((x) => x.event === 'ready'));
      expect(messages[0]!.event).toBe('reset');
    });
  });

  describe('GET /products/{sku}/live', () => {
    it('shows the stock moving as orders reserve it', async () => {
      const sku = await registerProduct(live, 10);
      const feed = await open(`/products/${sku}/live`);
      await feed.until((m) => m.length === 1);
      await placeOrder(live, sku);
      const messages = await feed.until((m) => m.some((x) => x.event === 'ProductStockReserved'));
      expect(messages.at(-1)!.data.state).toMatchObject({ sku, available: 9, reserved: 1 });
    });
  });

  it('sends a heartbeat comment on an idle feed', async () => {
    const feed = await open(`/products/${await registerProduct(live)}/live`);
    await feed.until(() => feed.comments.includes('heartbeat'), 5_000);
  });

  it('serves the live page and its script from this origin', async () => {
    const page = await fetch(new URL('/app', live.baseUrl));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script src="/app/app.js"></script>');
    const script = await fetch(new URL('/app/app.js', live.baseUrl));
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
  });
});

describe('Live feeds: limits and shutdown', () => {
  it('refuses connections beyond the limit per caller (429) and per process (503) with problem+json', async () => {
    const live = await startLive({ LIVE_MAX_CONNECTIONS: '3', LIVE_MAX_CONNECTIONS_PER_CALLER: '2' });
    const opened: SseClient[] = [];
    try {
      const sku = await registerProduct(live);
      for (let i = 0; i < 2; i++) opened.push(await openSse(live.baseUrl, `/products/${sku}/live`));
      const tooMany = await openSse(live.baseUrl, `/products/${sku}/live`);
      expect(tooMany.status).toBe(429);
      expect(JSON.parse(tooMany.body)).toMatchObject({ code: 'LIVE_CONNECTIONS_PER_CALLER', status: 429 });
      expect(tooMany.headers['retry-after']).toBeDefined();
      // Another caller (address) gets the third connection of the process, a fourth is refused.
      const other = { 'X-Forwarded-For': '10.0.0.9' };
      opened.push(await openSse(live.baseUrl, `/products/${sku}/live`, other));
      expect(opened.map((c) => c.status)).toEqual([200, 200, expect.any(Number)]);
      const full = await openSse(live.baseUrl, `/products/${sku}/live`, other);
      expect([full.status, JSON.parse(full.body || '{}').code]).toEqual(
        opened[2]!.status === 200 ? [503, 'LIVE_CONNECTIONS_EXHAUSTED'] : [429, 'LIVE_CONNECTIONS_PER_CALLER'],
      );
      // A closed connection frees its place.
      opened.shift()!.close();
      const again = await eventually(async () => {
        const client = await openSse(live.baseUrl, `/products/${sku}/live`);
        opened.push(client);
        expect(client.status).toBe(200);
        return client;
      });
      expect(again.status).toBe(200);
    } finally {
      opened.forEach((c) => c.close());
      await live.running.close();
    }
  });

  it('closes every feed with `event: shutdown` when the application stops', async () => {
    const live = await startLive();
    const feed = await openSse(live.baseUrl, `/products/${await registerProduct(live)}/live`);
    await feed.until((m) => m.length === 1);
    const closing = live.running.close();
    await feed.ended;
    await closing;
    expect(feed.messages.at(-1)!.event).toBe('shutdown');
  });
});

describe('Live feeds under AUTH_MODE=jwt', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive(jwtAuthEnv());
  });
  afterAll(() => live.running.close());

  it("answers another customer's order as unknown, and shows a customer only its own orders", async () => {
    const admin = await tokenFor('admin', { roles: ['admin'] });
    const alice = await tokenFor('alice');
    const sku = await registerProduct(live, 100, admin);
    const bobsOrder = await placeOrder(live, sku, 'bob', admin);
    const alicesOrder = await placeOrder(live, sku, 'alice', alice);

    const unauthenticated = await openSse(live.baseUrl, `/orders/${alicesOrder}/live`);
    expect(unauthenticated.status).toBe(401);
    const foreign = await openSse(live.baseUrl, `/orders/${bobsOrder}/live`, { Authorization: `Bearer ${alice}` });
    expect(foreign.status).toBe(404);
    expect(JSON.parse(foreign.body)).toMatchObject({ code: 'ORDER_NOT_FOUND' });

    const own = await openSse(live.baseUrl, '/orders/live', { Authorization: `Bearer ${alice}` });
    try {
      await placeOrder(live, sku, 'bob', admin);
      const latest = await placeOrder(live, sku, 'alice', alice);
      const messages = await own.until((m) =>
        m.some((x) => x.data.state?.id === latest && x.event === 'OrderConfirmed'),
      );
      expect(messages.filter((m) => m.data.state).every((m) => m.data.state.customerId === 'alice')).toBe(true);
    } finally {
      own.close();
    }
  });

  it('takes the token from the cookie POST /live/session sets, for EventSource', async () => {
    const alice = await tokenFor('alice');
    const session = await fetch(new URL('/live/session', live.baseUrl), {
      method: 'POST',
      headers: { Authorization: `Bearer ${alice}` },
    });
    expect(session.status).toBe(204);
    const cookie = session.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^live_token=[^;]+;.*HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const feed = await openSse(live.baseUrl, '/orders/live', { Cookie: cookie.split(';')[0]! });
    try {
      expect(feed.status).toBe(200);
    } finally {
      feed.close();
    }
    // The cookie authorises feeds only, never a change.
    const order = { customerId: 'alice', currency: 'EUR', lines: [{ sku: 'X', quantity: 1, unitPrice: 1 }] };
    const post = await fetch(new URL('/orders', live.baseUrl), {
      method: 'POST',
      headers: { Cookie: cookie.split(';')[0]!, 'Content-Type': 'application/json' },
      body: JSON.stringify(order),
    });
    expect(post.status).toBe(401);
  });
});

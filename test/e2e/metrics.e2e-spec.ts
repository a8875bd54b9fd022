import { Api, uniqueCustomer, uniqueSku } from './support/api.js';
import { cosmosStore, startMonolith, type RunningApp } from './support/app.js';
import { sample, scrape, type Scrape } from './support/prometheus.js';

const { COSMOS_ENDPOINT: endpoint, COSMOS_KEY: key } = process.env;
if (!endpoint || !key) throw new Error('COSMOS_ENDPOINT and COSMOS_KEY must be set (the jest global setup sets them)');

// On the Cosmos event store: its appends take real time, so concurrent restocks of one product race.
describe('GET /metrics', () => {
  let app: RunningApp;
  let api: Api;
  let before: Scrape;
  let after: Scrape;
  const moved = (name: string, labels: Record<string, string> = {}): number =>
    sample(after, name, labels) - sample(before, name, labels);

  beforeAll(async () => {
    app = await startMonolith(cosmosStore(endpoint, key).env());
    api = new Api(app.server);
    before = await scrape(app.server);
    // A flow: a product, an order that reserves it, a cancel of an unknown order, racing restocks.
    const sku = uniqueSku();
    await api.registerProduct(sku, 100);
    const orderId = await api.placedOrder(uniqueCustomer(), [{ sku, quantity: 1, unitPrice: 2.5 }]);
    await api.settledOrder(orderId);
    await api.cancel('00000000-0000-4000-8000-000000000000').expect(404);
    const restocks = Array.from({ length: 20 }, () =>
      api.http().post(`/products/${sku}/restock`).send({ quantity: 1 }),
    );
    for (const response of await Promise.all(restocks)) expect(response.status).toBe(200);
    after = await scrape(app.server);
  });
  afterAll(() => app.close());

  it('times HTTP requests by route template and status', () => {
    expect(moved('http_request_duration_seconds_count', { method: 'POST', route: '/orders', status: '201' })).toBe(1);
    expect(moved('http_request_duration_seconds_count', { route: '/products/:sku/restock', status: '200' })).toBe(20);
    expect(moved('http_request_duration_seconds_count', { route: '/orders/:id/cancel', status: '404' })).toBe(1);
  });

  it('counts commands by type and outcome, and the retries of racing ones', () => {
    expect(moved('commands_total', { command: 'PlaceOrderCommand', outcome: 'accepted' })).toBe(1);
    expect(moved('commands_total', { command: 'RestockProductCommand', outcome: 'accepted' })).toBe(20);
    expect(moved('commands_total', { command: 'CancelOrderCommand', outcome: 'not_found' })).toBe(1);
    // The policies' commands go through the same bus: inventory reserved, orders settled.
    expect(moved('commands_total', { command: 'ReserveStockCommand', outcome: 'accepted' })).toBe(1);
    expect(moved('command_retries_total', { command: 'RestockProductCommand' })).toBeGreaterThan(0);
  });

  it('times event-store appends', () => {
    // register + place + reserve + settle + 20 restocks; conflicts of the race are timed as such.
    expect(moved('event_store_append_duration_seconds_count', { outcome: 'ok' })).toBeGreaterThanOrEqual(24);
    expect(moved('event_store_append_duration_seconds_count', { outcome: 'conflict' })).toBe(
      moved('command_retries_total'),
    );
  });

  it('measures projection lag per read model', () => {
    expect(moved('projection_lag_seconds_count', { collection: 'order_summaries' })).toBeGreaterThanOrEqual(2);
    expect(moved('projection_lag_seconds_count', { collection: 'product_stocks' })).toBeGreaterThanOrEqual(22);
  });

  it("serves the process' own metrics too", () => {
    expect(after.get('process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('reports the outbox backlog, empty once everything was relayed', () => {
    expect(after.get('outbox_backlog_entries')).toBe(0);
    expect(after.get('outbox_oldest_entry_age_seconds')).toBe(0);
  });
});

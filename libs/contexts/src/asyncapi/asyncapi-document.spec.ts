import { Parser } from '@asyncapi/parser';
import { EVENT_CONTRACTS, EVENT_TOPICS } from '@app/contracts';
import { CONTEXTS } from '../contexts.generated.js';
import { asyncApiDocument } from './asyncapi-document.js';

describe('the AsyncAPI document', () => {
  const document = asyncApiDocument({ title: 'Test', contexts: CONTEXTS, partitions: 3 }) as Record<string, any>;

  it('is valid AsyncAPI 3.0 for the AsyncAPI project parser', async () => {
    const { document: parsed, diagnostics } = await new Parser().parse(JSON.stringify(document));
    const errors = diagnostics.filter((d) => d.severity === 0);
    expect(errors.map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(parsed?.version()).toBe('3.0.0');
  });

  it('has one channel per topic, with its partitions, and one message per event type and schema version', () => {
    for (const topic of Object.values(EVENT_TOPICS)) {
      expect(document.channels[topic]).toMatchObject({ address: topic, bindings: { kafka: { partitions: 3 } } });
    }
    const messageIds = Object.keys(document.components.messages).filter((id) => /\.v\d+$/.test(id));
    const expected = Object.entries(EVENT_CONTRACTS).flatMap(([type, versions]) =>
      Object.keys(versions).map((v) => `${type}.v${v}`),
    );
    expect(messageIds.sort()).toEqual(expected.sort());
    expect(document.components.messages['OrderPlaced.v1'].payload.properties.data.required).toEqual(
      expect.arrayContaining(['orderId', 'customerId', 'lines', 'total']),
    );
    expect(document.components.messages['OrderPlaced.v1'].headers.properties['event-type']).toEqual({
      type: 'string',
      const: 'OrderPlaced',
    });
  });

  it('names which service publishes each topic and which consume it, and lists the live feeds', () => {
    expect(document.operations['orders.publishes.orders.order']).toMatchObject({ action: 'send' });
    expect(document.operations['inventory.receives.orders.order']).toMatchObject({ action: 'receive' });
    expect(document.operations['orders.receives.inventory.reservation']).toMatchObject({ action: 'receive' });
    const feeds = Object.values(document.channels)
      .map((channel: any) => channel.address as string)
      .filter((address) => address.endsWith('/live'));
    expect(feeds.sort()).toEqual(
      ['/orders/live', '/orders/{id}/live', '/products/live', '/products/{sku}/live', '/shipments/{id}/live'].sort(),
    );
  });
});

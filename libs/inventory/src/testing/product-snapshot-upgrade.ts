import { randomUUID } from 'node:crypto';
import { PRODUCT_EVENT_TYPES, productStream, type ProductEvent } from '@app/contracts';
import { AggregateCache, AggregateRepository, EventTypeRegistry, type EventStore } from '@app/event-sourcing';
import { fromOutside } from '@app/event-sourcing/testing';
import { Product, PRODUCT_SNAPSHOT_SCHEMA_VERSION } from '../domain/product.js';
import { productType } from '../infrastructure/inventory.repositories.js';

/**
 * A product stream whose stored snapshot is of Product's state schema 1 (reservations as `[orderId,
 * quantity]` pairs) after the deploy of schema 2: the first load ignores it and replays the events, its
 * append replaces it, and the next load starts from the new one. Run against each event store adapter.
 */
export const productSnapshotUpgrade = (storeName: string, createStore: () => Promise<EventStore>): void => {
  describe(`A product with a snapshot of state schema 1 (${storeName})`, () => {
    const eventTypes = new EventTypeRegistry();
    eventTypes.register(PRODUCT_EVENT_TYPES);
    const at = '2026-01-02T03:04:05.000Z';
    const restarted = (store: EventStore) =>
      new AggregateRepository<Product, ProductEvent>(
        store,
        eventTypes,
        productType,
        () => {},
        undefined,
        new AggregateCache(0),
      );

    it('is loaded from its events, and its next append stores a snapshot of schema 2 that loads after it', async () => {
      expect(PRODUCT_SNAPSHOT_SCHEMA_VERSION).toBe(2);
      const store = await createStore();
      const sku = `SKU-${randomUUID()}`;
      const events: ProductEvent[] = [
        { type: 'ProductRegistered', data: { sku, name: 'Pear', initialStock: 100, registeredAt: at } },
        ...Array.from({ length: 20 }, (_, i): ProductEvent => ({
          type: 'ProductStockReserved',
          data: { sku, orderId: `o-${i}`, quantity: 2, reservedAt: at },
        })),
      ];
      const schema1 = { sku, available: 60, reservations: Array.from({ length: 20 }, (_, i) => [`o-${i}`, 2]) };
      await store.appendToStream(
        productStream(sku),
        events.map(({ type, data }) => ({
          type,
          schemaVersion: 1,
          data,
          metadata: { eventId: randomUUID(), correlationId: sku, causationId: sku, occurredAt: at },
        })),
        { expectedVersion: 0, snapshot: { schemaVersion: 1, every: 20, take: () => schema1 } },
      );
      expect((await store.readStream(productStream(sku), { snapshotSchemaVersion: 1 })).snapshot?.version).toBe(21);

      await restarted(store).update(sku, (p) => p.restock(5, new Date(at)), fromOutside());
      const upgraded = await store.readStream(productStream(sku), { snapshotSchemaVersion: 2 });
      expect([upgraded.snapshot?.version, upgraded.snapshot?.schemaVersion, upgraded.events]).toEqual([22, 2, []]);
      expect(upgraded.snapshot?.state).toMatchObject({ sku, available: 65, reserved: 40 });

      const product = await restarted(store).load(sku);
      expect([product.version, product.available, product.reserved, product.reservedFor('o-7')]).toEqual([
        22, 65, 40, 2,
      ]);
      expect(product.reserve('o-7', 2, new Date(at))).toBe(true); // held already: nothing raised
      expect(product.pendingEvents).toEqual([]);
    });
  });
};

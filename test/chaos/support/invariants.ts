// What the chaos suite checks once the faults are over and the system has converged: each invariant is a
// function from what the clients sent (logical commands and their answers) and what the stores hold (the Cosmos
// event stores, read directly, and the read models, through the services' APIs) to a list of violations, empty
// when it holds. Each logical order has a customer id of its own, so that any second order of one logical
// order shows, whether the client saw an answer or not.
import type { OrderLine, OrderView } from '../../e2e/support/api.js';
import { queryDocuments, queryEvents } from '../../reliability/support/faults.js';
import type { StoredEvent } from '../../services/support/event-store.js';
import { EXPECTED_EVENTS, foldProduct, type Outcome } from '../../services/support/flows.js';
import type { HttpApi } from '../../services/support/http.js';
import type { CommandResult } from './client.js';

export const CONTAINERS = ['orders-events', 'inventory-events', 'shipping-events'] as const;

export interface LogicalOrder {
  readonly customerId: string;
  readonly lines: readonly OrderLine[];
  readonly result: CommandResult;
}

export interface LogicalRestock {
  readonly sku: string;
  readonly quantity: number;
  readonly result: CommandResult;
}

export interface StoredOrder {
  readonly id: string;
  readonly customerId: string;
  readonly lines: readonly { sku: string; quantity: number }[];
  /** Event types of the order stream, by version. */
  readonly events: string[];
  readonly outcome: Outcome | undefined;
}

/** The event stores of the three services, read directly. */
export interface Stores {
  readonly orders: Map<string, StoredOrder>;
  /** Order id -> event types of its reservation stream. */
  readonly reservations: Map<string, string[]>;
  /** SKU -> the product stream's events, by version. */
  readonly products: Map<string, StoredEvent[]>;
  /** Order id -> how many ShipmentCreated events name it. */
  readonly shipmentsCreated: Map<string, number>;
  /** Outbox entries not published yet, all containers together. */
  readonly outbox: number;
}

const OUTCOME_OF: Record<string, Outcome> = {
  OrderConfirmed: 'CONFIRMED',
  OrderRejected: 'REJECTED',
  OrderCancelled: 'CANCELLED',
};

const byStream = (events: Record<string, any>[], prefix: string): Map<string, StoredEvent[]> => {
  const streams = new Map<string, StoredEvent[]>();
  for (const event of events) {
    if (!String(event.streamId).startsWith(prefix)) continue;
    const id = String(event.streamId).slice(prefix.length);
    streams.set(id, [...(streams.get(id) ?? []), event as StoredEvent]);
  }
  for (const stream of streams.values()) stream.sort((a, b) => a.version - b.version);
  return streams;
};

export const readStores = async (): Promise<Stores> => {
  const [orderEvents, inventoryEvents, shippingEvents] = await Promise.all(CONTAINERS.map((c) => queryEvents(c)));
  const outbox = (await Promise.all(CONTAINERS.map((c) => queryDocuments(c, 'outbox')))).flat().length;
  const orders = new Map<string, StoredOrder>();
  for (const [id, events] of byStream(orderEvents, 'Order-')) {
    const placed = events.find((e) => e.type === 'OrderPlaced');
    orders.set(id, {
      id,
      customerId: placed?.data.customerId,
      lines: placed?.data.lines ?? [],
      events: events.map((e) => e.type),
      outcome: OUTCOME_OF[events.at(-1)!.type],
    });
  }
  const reservations = new Map(
    [...byStream(inventoryEvents, 'Reservation-')].map(([id, events]) => [id, events.map((e) => e.type)]),
  );
  const shipmentsCreated = new Map<string, number>();
  for (const event of shippingEvents.filter((e) => e.type === 'ShipmentCreated')) {
    shipmentsCreated.set(event.data.orderId, (shipmentsCreated.get(event.data.orderId) ?? 0) + 1);
  }
  return { orders, reservations, products: byStream(inventoryEvents, 'Product-'), shipmentsCreated, outbox };
};

/** Every item of a paginated list endpoint (`items` + `nextCursor`). */
export const listAll = async <T>(api: HttpApi, path: string): Promise<T[]> => {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const response = await api
      .http()
      .get(path)
      .query({ limit: 100, ...(cursor ? { cursor } : {}) });
    if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${response.text}`);
    items.push(...(response.body.items as T[]));
    cursor = response.body.nextCursor as string | null;
  } while (cursor);
  return items;
};

/** What is still moving: orders not final, outbox entries, confirmed orders without a shipment. Empty: converged. */
export const stillMoving = (stores: Stores): string[] => [
  ...[...stores.orders.values()].filter((o) => !o.outcome).map((o) => `order ${o.id} still ${o.events.at(-1)}`),
  ...(stores.outbox > 0 ? [`${stores.outbox} outbox entries not published`] : []),
  ...[...stores.orders.values()]
    .filter((o) => o.outcome === 'CONFIRMED' && !stores.shipmentsCreated.has(o.id))
    .map((o) => `confirmed order ${o.id} has no shipment yet`),
];

/**
 * Every order a client was told was accepted is in the event store, and every stored order is final: its order
 * and reservation streams hold exactly the events of its outcome, and its read model shows that outcome.
 */
export const acceptedOrdersFinal = (logical: readonly LogicalOrder[], stores: Stores, views: OrderView[]): string[] => {
  const violations: string[] = [];
  for (const { result } of logical) {
    for (const id of result.answeredIds)
      if (!stores.orders.has(id)) violations.push(`order ${id} answered 201 but not stored`);
  }
  const viewOf = new Map(views.map((view) => [view.id, view]));
  for (const order of stores.orders.values()) {
    if (order.outcome !== 'CONFIRMED' && order.outcome !== 'REJECTED') {
      violations.push(`order ${order.id} not final: ${order.events.join(', ')}`);
      continue;
    }
    const expected = EXPECTED_EVENTS[order.outcome];
    const reservation = stores.reservations.get(order.id) ?? [];
    if (order.events.join() !== expected.order.join() || reservation.join() !== expected.reservation.join()) {
      violations.push(`order ${order.id} ${order.outcome}: events ${order.events} / reservation ${reservation}`);
    }
    const view = viewOf.get(order.id);
    if (view?.status !== order.outcome || view.version !== order.events.length) {
      violations.push(
        `order ${order.id} ${order.outcome} v${order.events.length}: read model ${view?.status} v${view?.version}`,
      );
    }
  }
  return violations;
};

/**
 * Per product, from its stream: never negative at any version; available + reserved = initial + accepted
 * restocks; reserved = the quantities of the confirmed orders' lines for it.
 */
export const stockBalanced = (
  initial: Readonly<Record<string, number>>,
  restocks: readonly LogicalRestock[],
  stores: Stores,
): string[] => {
  const violations: string[] = [];
  for (const [sku, start] of Object.entries(initial)) {
    const events = stores.products.get(sku) ?? [];
    for (let version = 1; version <= events.length; version++) {
      const { available, reserved } = foldProduct(events.slice(0, version));
      if (available < 0 || reserved < 0)
        violations.push(`${sku}@${version}: available ${available}, reserved ${reserved}`);
    }
    const { available, reserved } = foldProduct(events);
    const restocked = restocks.filter((r) => r.sku === sku && r.result.accepted).reduce((n, r) => n + r.quantity, 0);
    if (available + reserved !== start + restocked) {
      violations.push(
        `${sku}: available ${available} + reserved ${reserved} != initial ${start} + restocks ${restocked}`,
      );
    }
    const confirmed = [...stores.orders.values()]
      .filter((o) => o.outcome === 'CONFIRMED')
      .flatMap((o) => o.lines.filter((line) => line.sku === sku))
      .reduce((n, line) => n + line.quantity, 0);
    if (reserved !== confirmed) violations.push(`${sku}: reserved ${reserved} != confirmed quantities ${confirmed}`);
  }
  return violations;
};

/** One shipment per confirmed order, none for a rejected one: in the shipping event store and its read model. */
export const oneShipmentPerConfirmedOrder = (stores: Stores, shipments: { orderId: string }[]): string[] => {
  const violations: string[] = [];
  const listed = new Map<string, number>();
  for (const { orderId } of shipments) listed.set(orderId, (listed.get(orderId) ?? 0) + 1);
  for (const order of stores.orders.values()) {
    const expected = order.outcome === 'CONFIRMED' ? 1 : 0;
    const created = stores.shipmentsCreated.get(order.id) ?? 0;
    const views = listed.get(order.id) ?? 0;
    if (created !== expected || views !== expected) {
      violations.push(`order ${order.id} ${order.outcome}: ${created} ShipmentCreated, ${views} in the read model`);
    }
  }
  for (const orderId of [...stores.shipmentsCreated.keys(), ...listed.keys()]) {
    if (!stores.orders.has(orderId)) violations.push(`shipment of unknown order ${orderId}`);
  }
  return violations;
};

/**
 * No logical order placed twice: at most one stored order and one read-model order per logical order (its
 * customer), every successful answer of it naming that one order, and no stored order of an unknown customer.
 */
export const noOrderTwice = (logical: readonly LogicalOrder[], stores: Stores, views: OrderView[]): string[] => {
  const violations: string[] = [];
  const group = <T>(items: T[], key: (item: T) => string) => {
    const groups = new Map<string, T[]>();
    for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
    return groups;
  };
  const stored = group([...stores.orders.values()], (o) => o.customerId);
  const listed = group(views, (o) => o.customerId);
  for (const { customerId, result } of logical) {
    const ids = (stored.get(customerId) ?? []).map((o) => o.id);
    const answered = [...new Set(result.answeredIds)];
    const viewCount = listed.get(customerId)?.length ?? 0;
    if (ids.length > 1 || viewCount > 1 || answered.length > 1 || answered.some((id) => !ids.includes(id))) {
      violations.push(
        `${customerId}: stored ${ids.length} (${ids.join(', ')}), read model ${viewCount}, answered ${answered.join(', ') || 'none'} ` +
          `after attempts ${result.attempts.join(' ')}`,
      );
    }
  }
  const known = new Set(logical.map((o) => o.customerId));
  for (const customerId of stored.keys())
    if (!known.has(customerId)) violations.push(`stored order of unknown ${customerId}`);
  return violations;
};

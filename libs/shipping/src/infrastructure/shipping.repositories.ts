import type { Provider } from '@nestjs/common';
import {
  SHIPMENT_CATEGORY,
  SHIPMENT_EVENT_TYPES,
  SHIPPING_ORDER_CATEGORY,
  SHIPPING_ORDER_EVENT_TYPES,
  type ShipmentEvent,
  type ShippingOrderEvent,
} from '@app/contracts';
import {
  AggregateRepositories,
  deterministicUuid,
  type AggregateRepository,
  type AggregateType,
} from '@app/event-sourcing';
import { Shipment } from '../domain/shipment.js';
import { ShippingOrder } from '../domain/shipping-order.js';
import { shipmentNotFound, shippingOrderNotFound } from '../domain/shipping.errors.js';

export type ShipmentRepository = AggregateRepository<Shipment, ShipmentEvent>;
export type ShippingOrderRepository = AggregateRepository<ShippingOrder, ShippingOrderEvent>;
export const SHIPMENT_REPOSITORY = Symbol('ShipmentRepository');
export const SHIPPING_ORDER_REPOSITORY = Symbol('ShippingOrderRepository');

export const shipmentType: AggregateType<Shipment> = {
  category: SHIPMENT_CATEGORY,
  create: () => new Shipment(),
  notFound: shipmentNotFound,
};
export const shippingOrderType: AggregateType<ShippingOrder> = {
  category: SHIPPING_ORDER_CATEGORY,
  create: () => new ShippingOrder(),
  notFound: shippingOrderNotFound,
};

/** The one shipment of an order: a name-based UUID of the order id, so every redelivery finds the same one. */
export const shipmentIdOf = (orderId: string): string => deterministicUuid(`shipment:${orderId}`);

export const shippingRepositoryProviders: Provider[] = [
  {
    provide: SHIPMENT_REPOSITORY,
    inject: [AggregateRepositories],
    useFactory: (repositories: AggregateRepositories): ShipmentRepository =>
      repositories.for<Shipment, ShipmentEvent>(shipmentType, SHIPMENT_EVENT_TYPES),
  },
  {
    provide: SHIPPING_ORDER_REPOSITORY,
    inject: [AggregateRepositories],
    useFactory: (repositories: AggregateRepositories): ShippingOrderRepository =>
      repositories.for<ShippingOrder, ShippingOrderEvent>(shippingOrderType, SHIPPING_ORDER_EVENT_TYPES),
  },
];

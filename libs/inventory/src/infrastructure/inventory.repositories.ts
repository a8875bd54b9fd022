import type { Provider } from '@nestjs/common';
import {
  PRODUCT_CATEGORY,
  PRODUCT_EVENT_TYPES,
  RESERVATION_CATEGORY,
  RESERVATION_EVENT_TYPES,
  type ProductEvent,
  type ReservationEvent,
} from '@app/contracts';
import { AggregateRepositories, type AggregateRepository, type AggregateType } from '@app/event-sourcing';
import { productNotFound, reservationNotFound } from '../domain/inventory.errors.js';
import { Product, PRODUCT_SNAPSHOT_SCHEMA_VERSION } from '../domain/product.js';
import { Reservation } from '../domain/reservation.js';

export type ProductRepository = AggregateRepository<Product, ProductEvent>;
export type ReservationRepository = AggregateRepository<Reservation, ReservationEvent>;
export const PRODUCT_REPOSITORY = Symbol('ProductRepository');
export const RESERVATION_REPOSITORY = Symbol('ReservationRepository');

export const productType: AggregateType<Product> = {
  category: PRODUCT_CATEGORY,
  create: () => new Product(),
  notFound: productNotFound,
  // A product's stream grows by one event per reservation: loads start from the tip's snapshot.
  snapshot: {
    schemaVersion: PRODUCT_SNAPSHOT_SCHEMA_VERSION,
    toSnapshot: (product) => product.toSnapshot(),
    fromSnapshot: Product.fromSnapshot,
  },
};
export const reservationType: AggregateType<Reservation> = {
  category: RESERVATION_CATEGORY,
  create: () => new Reservation(),
  notFound: reservationNotFound,
};

export const inventoryRepositoryProviders: Provider[] = [
  {
    provide: PRODUCT_REPOSITORY,
    inject: [AggregateRepositories],
    useFactory: (repositories: AggregateRepositories): ProductRepository =>
      repositories.for<Product, ProductEvent>(productType, PRODUCT_EVENT_TYPES),
  },
  {
    provide: RESERVATION_REPOSITORY,
    inject: [AggregateRepositories],
    useFactory: (repositories: AggregateRepositories): ReservationRepository =>
      repositories.for<Reservation, ReservationEvent>(reservationType, RESERVATION_EVENT_TYPES),
  },
];

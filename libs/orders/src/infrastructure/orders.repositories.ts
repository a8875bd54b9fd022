import type { Provider } from '@nestjs/common';
import { ORDER_CATEGORY, ORDER_EVENT_TYPES, type OrderEvent } from '@app/contracts';
import { AggregateRepositories, type AggregateRepository, type AggregateType } from '@app/event-sourcing';
import { Order } from '../domain/order.js';
import { orderNotFound } from '../domain/order.errors.js';

export type OrderRepository = AggregateRepository<Order, OrderEvent>;
export const ORDER_REPOSITORY = Symbol('OrderRepository');

export const orderType: AggregateType<Order> = {
  category: ORDER_CATEGORY,
  create: () => new Order(),
  notFound: orderNotFound,
};

export const ordersRepositoryProviders: Provider[] = [
  {
    provide: ORDER_REPOSITORY,
    inject: [AggregateRepositories],
    useFactory: (repositories: AggregateRepositories): OrderRepository =>
      repositories.for<Order, OrderEvent>(orderType, ORDER_EVENT_TYPES),
  },
];

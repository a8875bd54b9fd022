import { Injectable, Module, type DynamicModule } from '@nestjs/common';
import type { RecordedEvent } from '@app/core';
import { ORDER_CATEGORY, PRODUCT_CATEGORY } from '@app/contracts';
import { HandlesEvents, type EventHandler } from '@app/event-sourcing';
import { subscribedCategories, type ContextModule } from './bootstrap.js';

class Noop implements EventHandler {
  async handle(_event: RecordedEvent): Promise<void> {}
}

@Injectable()
@HandlesEvents({ name: 'spec.order-view', kind: 'projection', categories: [ORDER_CATEGORY], events: ['OrderPlaced'] })
class OrderView extends Noop {}

@Injectable()
@HandlesEvents({
  name: 'spec.stock-policy',
  kind: 'policy',
  categories: [PRODUCT_CATEGORY],
  events: ['ProductRestocked'],
})
class StockPolicy extends Noop {}

@Injectable()
@HandlesEvents({ name: 'spec.parcel-view', kind: 'projection', categories: ['Parcel'], events: ['ParcelSent'] })
class ParcelView extends Noop {}

const contextOf = (...providers: (new () => EventHandler)[]): ContextModule => {
  @Module({ providers })
  class SpecContextModule {
    static register(): DynamicModule {
      return { module: SpecContextModule };
    }
  }
  return SpecContextModule;
};

describe('subscribedCategories', () => {
  it('follows the categories of the handlers a context declares, per role', () => {
    const context = contextOf(OrderView, StockPolicy);
    expect(subscribedCategories([context], 'all')).toEqual([ORDER_CATEGORY, PRODUCT_CATEGORY]);
    expect(subscribedCategories([context], 'query')).toEqual([ORDER_CATEGORY]);
    expect(subscribedCategories([context], 'command')).toEqual([PRODUCT_CATEGORY]);
  });

  it('lists each category once across contexts', () => {
    expect(subscribedCategories([contextOf(OrderView), contextOf(OrderView, StockPolicy)], 'all')).toEqual([
      ORDER_CATEGORY,
      PRODUCT_CATEGORY,
    ]);
  });

  it('refuses to start when a handler follows a category with no topic, naming the handler', () => {
    expect(() => subscribedCategories([contextOf(OrderView, ParcelView)], 'all')).toThrow(
      /SpecContextModule handler spec.parcel-view follows stream category "Parcel", which has no topic/,
    );
  });
});

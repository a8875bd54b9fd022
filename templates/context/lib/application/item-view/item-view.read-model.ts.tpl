import type { __Item__Event } from '@app/contracts';
import type { CollectionDefinition } from '@app/read-models';
import type { __Item__Status } from '../../domain/__item__.js';

/** What `GET /__item__s/{id}` and `GET /__item__s` return: one document per __item__, built only from events. */
export interface __Item__View {
  readonly id: string;
  readonly title: string;
  readonly status: __Item__Status;
  readonly openedAt: string;
  readonly updatedAt: string;
  /** Version of the __item__ stream this document reflects. */
  readonly version: number;
}

export const __ITEM___VIEWS: CollectionDefinition<__Item__View> = {
  name: '__context_snake___views',
  sort: { field: 'openedAt', direction: 'desc' },
  filterFields: ['status'],
};

export const __ITEM___VIEW_EVENTS = ['__Item__Opened', '__Item__Closed'] as const satisfies readonly __Item__Event['type'][];

/** How each event changes the view. */
export const evolve__Item__View = (current: __Item__View | undefined, event: __Item__Event): Omit<__Item__View, 'version'> => {
  if (event.type === '__Item__Opened') {
    const { __itemCamel__Id, title, openedAt } = event.data;
    return { id: __itemCamel__Id, title, status: 'OPEN', openedAt, updatedAt: openedAt };
  }
  if (!current) throw new Error(`${event.type} for __item__ ${event.data.__itemCamel__Id} before __Item__Opened`);
  return { ...current, status: 'CLOSED', updatedAt: event.data.closedAt };
};

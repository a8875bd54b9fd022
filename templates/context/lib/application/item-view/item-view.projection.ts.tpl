import { Injectable } from '@nestjs/common';
import { eventOfTypes, type RecordedEvent } from '@app/core';
import { __ITEM___CATEGORY, type __Item__Event } from '@app/contracts';
import { HandlesEvents, type EventHandler } from '@app/event-sourcing';
import { DocumentProjectionHandler, ReadModelStore } from '@app/read-models';
import { evolve__Item__View, __ITEM___VIEW_EVENTS, __ITEM___VIEWS, type __Item__View } from './__item__-view.read-model.js';

/** A recorded __item__ event as the evolve function takes it. */
const __itemCamel__Event = (event: RecordedEvent): __Item__Event =>
  eventOfTypes<__Item__Event>(event, __ITEM___VIEW_EVENTS);

@Injectable()
@HandlesEvents({
  name: '__context__.__item__-view',
  kind: 'projection',
  categories: [__ITEM___CATEGORY],
  events: __ITEM___VIEW_EVENTS,
})
export class __Item__ViewProjection extends DocumentProjectionHandler<__Item__View> implements EventHandler {
  constructor(store: ReadModelStore) {
    super(store, __ITEM___VIEWS, {
      documentId: (event) => __itemCamel__Event(event).data.__itemCamel__Id,
      evolve: (current, event) => evolve__Item__View(current, __itemCamel__Event(event)),
    });
  }
}

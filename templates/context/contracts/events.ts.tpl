import { z } from 'zod';
import type { DomainEvent } from '@app/core';
import { defineEventTypes } from './event-schemas.js';

/**
 * Events the __context__ context publishes (topic `__context__.__item__`, key = stream id `__Item__-<id>`).
 * Public contract: change a shape only by adding a new schema version with an upcaster.
 */
export const __ITEM___CATEGORY = '__Item__';
export const __itemCamel__Stream = (__itemCamel__Id: string): string => `${__ITEM___CATEGORY}-${__itemCamel__Id}`;

export type __Item__Opened = DomainEvent<
  '__Item__Opened',
  { readonly __itemCamel__Id: string; readonly title: string; readonly openedAt: string }
>;
export type __Item__Closed = DomainEvent<
  '__Item__Closed',
  { readonly __itemCamel__Id: string; readonly closedAt: string }
>;
export type __Item__Event = __Item__Opened | __Item__Closed;

/** The published contract of each __context__ event: the store writes it, consumers validate the data against it. */
export const __ITEM___EVENT_TYPES = defineEventTypes<__Item__Event>()({
  __Item__Opened: {
    schemas: {
      1: z.object({
        __itemCamel__Id: z.string().min(1).max(128),
        title: z.string().min(1).max(200),
        openedAt: z.iso.datetime({ offset: true }),
      }),
    },
  },
  __Item__Closed: {
    schemas: {
      1: z.object({ __itemCamel__Id: z.string().min(1).max(128), closedAt: z.iso.datetime({ offset: true }) }),
    },
  },
});

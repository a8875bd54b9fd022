import type { z } from 'zod';

/**
 * Everything the code base knows about one event type, declared once (by `defineEventTypes` in the
 * contracts, next to the events): the published zod schema of each version still readable, the current
 * version (the highest), and how older data is lifted to it. The event store writes at `schemaVersion`
 * and upcasts on read (EventTypeRegistry); Kafka consumers validate data against `schemas` before any
 * handler runs; the AsyncAPI document publishes them.
 */
export interface EventTypeDefinition<Type extends string = string> {
  readonly type: Type;
  readonly schemaVersion: number;
  readonly schemas: Readonly<Record<number, z.ZodType>>;
  /** Turns data stored at `fromSchemaVersion` into the current shape. Required when schemaVersion > 1. */
  readonly upcast?: (data: Record<string, unknown>, fromSchemaVersion: number) => Record<string, unknown>;
}

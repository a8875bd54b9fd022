import { z } from 'zod';
import type { DomainEvent, EventTypeDefinition } from '@app/core';

// The one definition of every event type (EventTypeDefinition): each context declares its events' zod
// schemas, per version, and their upcaster next to the events (`<context>.events.ts`) with
// `defineEventTypes`. The same objects serve the event store (EventTypeRegistry: current version, upcast
// on read), every Kafka consumer (`assertEventContract` before any handler runs), the AsyncAPI document
// and JSON Schema (`eventContractsAsJsonSchema`). The compiler checks that the latest schema of each type
// describes exactly the data type its event file declares.

type Upcast = NonNullable<EventTypeDefinition['upcast']>;

/** What a context writes for one event type: its schemas by version (the highest is current), its upcaster. */
interface EventTypeSpec {
  readonly schemas: Readonly<Record<number, z.ZodType>>;
  readonly upcast?: Upcast;
}

/** Every published event type's schemas, per version (the `schemas` of its definition). */
export const EVENT_CONTRACTS: Record<string, Readonly<Record<number, z.ZodType>>> = {};

/** Every published event type's definition: what a consumer of another context's events upcasts with. */
export const PUBLISHED_EVENT_TYPES: EventTypeDefinition[] = [];

// Compile-time agreement of a type's latest schema with its event's data type.
type DeepMutable<T> = T extends readonly (infer U)[]
  ? DeepMutable<U>[]
  : T extends object
    ? { -readonly [K in keyof T]: DeepMutable<T[K]> }
    : T;
type DataOf<E extends DomainEvent, T extends string> =
  E extends DomainEvent<infer Type, infer Data> ? (T extends Type ? Data : never) : never;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** The highest version key of a type's schemas (up to 9 versions; beyond, 1 is checked). */
type Latest<K> = [9] extends [K]
  ? 9
  : [8] extends [K]
    ? 8
    : [7] extends [K]
      ? 7
      : [6] extends [K]
        ? 6
        : [5] extends [K]
          ? 5
          : [4] extends [K]
            ? 4
            : [3] extends [K]
              ? 3
              : [2] extends [K]
                ? 2
                : 1;
type Schemas = Readonly<Record<number, z.ZodType>>;
type Agreeing<E extends DomainEvent, S extends { readonly [T in E['type']]: Schemas }> = {
  readonly [T in E['type']]: S[T][Latest<keyof S[T]>] extends z.ZodType<infer Data>
    ? Same<Data, DeepMutable<DataOf<E, T>>> extends true
      ? unknown
      : { readonly mismatch: `the latest schema of ${T} does not describe its data type` }
    : { readonly mismatch: `${T} has no schema for its latest version` };
};

/**
 * Defines the event types of a context, one entry per type of the union `E`, and publishes them:
 *
 *   export const ORDER_EVENT_TYPES = defineEventTypes<OrderEvent>()({
 *     OrderConfirmed: { schemas: { 1: z.object({ orderId, confirmedAt: timestamp }) } },
 *   });
 *
 * A new shape is a new version with an upcaster from the older ones. A type defined twice fails at start-up.
 */
export const defineEventTypes =
  <E extends DomainEvent>() =>
  <const S extends { readonly [T in E['type']]: Schemas }>(
    specs: { readonly [T in keyof S]: { readonly schemas: S[T]; readonly upcast?: Upcast } } & Agreeing<E, NoInfer<S>>,
  ): readonly EventTypeDefinition<E['type']>[] =>
    Object.entries<EventTypeSpec>(specs).map(([type, { schemas, upcast }]) => {
      const schemaVersion = Math.max(...Object.keys(schemas).map(Number));
      if (EVENT_CONTRACTS[type]) throw new Error(`The contract of event type ${type} is defined twice`);
      if (schemaVersion > 1 && !upcast)
        throw new Error(`${type} v${schemaVersion} needs an upcaster from older versions`);
      EVENT_CONTRACTS[type] = schemas;
      const definition = { type: type as E['type'], schemaVersion, schemas, ...(upcast ? { upcast } : {}) };
      PUBLISHED_EVENT_TYPES.push(definition);
      return definition;
    });

/** The data of an event broke its published contract (or there is none for its type and version). */
export class ContractViolationError extends Error {
  override readonly name = 'ContractViolationError';
}

/** Checks an event's data against the contract of its type and schema version; throws what is wrong. */
export const assertEventContract = (event: { type: string; schemaVersion: number; data: unknown }): void => {
  const schema = EVENT_CONTRACTS[event.type]?.[event.schemaVersion];
  if (!schema) throw new ContractViolationError(`No published contract for ${event.type} v${event.schemaVersion}`);
  const result = schema.safeParse(event.data);
  if (result.success) return;
  const issues = result.error.issues
    .slice(0, 10)
    .map((issue) => `${issue.path.join('.') || '(data)'}: ${issue.message}`)
    .join('; ');
  throw new ContractViolationError(`${event.type} v${event.schemaVersion} breaks its contract: ${issues}`);
};

/** The contracts as JSON Schema (draft 2020-12), `{ "<type>": { "<version>": schema } }`, for documentation. */
export const eventContractsAsJsonSchema = (): Record<string, Record<string, unknown>> =>
  Object.fromEntries(
    Object.entries(EVENT_CONTRACTS).map(([type, versions]) => [
      type,
      Object.fromEntries(Object.entries(versions).map(([version, schema]) => [version, z.toJSONSchema(schema)])),
    ]),
  );

import { z } from 'zod';
import type { DomainEvent, RecordedEvent } from '@app/core';
import { EventTypeRegistry } from '@app/event-sourcing';
import { assertEventContract, ContractViolationError, defineEventTypes, EVENT_CONTRACTS } from './event-schemas.js';
import { ORDER_EVENT_TYPES } from './orders.events.js';

type Renamed = DomainEvent<'SpecRenamed', { readonly name: string }>;

describe('an event type definition', () => {
  it('is what the store registers and what consumers validate against: one object per type', () => {
    for (const definition of ORDER_EVENT_TYPES) {
      expect(EVENT_CONTRACTS[definition.type]).toBe(definition.schemas);
      expect(definition.schemaVersion).toBe(Math.max(...Object.keys(definition.schemas).map(Number)));
    }
  });

  describe('with a second version', () => {
    const [renamed] = defineEventTypes<Renamed>()({
      SpecRenamed: {
        schemas: { 1: z.object({ title: z.string() }), 2: z.object({ name: z.string() }) },
        upcast: ({ title, ...rest }) => ({ ...rest, name: title }),
      },
    });
    const stored = (schemaVersion: number, data: object): RecordedEvent => ({
      streamId: 'Spec-1',
      version: 1,
      type: 'SpecRenamed',
      schemaVersion,
      data,
      metadata: { eventId: 'e', correlationId: 'c', causationId: 'c', occurredAt: '2026-01-01T00:00:00.000Z' },
    });

    it('writes the highest version and upcasts older data on read with its upcaster', () => {
      expect(renamed!.schemaVersion).toBe(2);
      const registry = new EventTypeRegistry();
      registry.register([renamed!]);
      expect(registry.schemaVersionOf('SpecRenamed')).toBe(2);
      expect(registry.upcast(stored(1, { title: 'x' })).data).toEqual({ name: 'x' });
    });

    it('validates each version against its own schema', () => {
      expect(() => assertEventContract(stored(1, { title: 'x' }))).not.toThrow();
      expect(() => assertEventContract(stored(2, { name: 'x' }))).not.toThrow();
      expect(() => assertEventContract(stored(2, { title: 'x' }))).toThrow(ContractViolationError);
      expect(() => assertEventContract(stored(3, { name: 'x' }))).toThrow('No published contract for SpecRenamed v3');
    });
  });

  it('refuses a second version without an upcaster, and a type defined twice', () => {
    type Grown = DomainEvent<'SpecGrown', { readonly n: number }>;
    expect(() =>
      defineEventTypes<Grown>()({
        SpecGrown: { schemas: { 1: z.object({ n: z.string() }), 2: z.object({ n: z.number() }) } },
      }),
    ).toThrow('SpecGrown v2 needs an upcaster from older versions');
    expect(() =>
      defineEventTypes<Renamed>()({ SpecRenamed: { schemas: { 1: z.object({ name: z.string() }) } } }),
    ).toThrow('The contract of event type SpecRenamed is defined twice');
  });
});

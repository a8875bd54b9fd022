import type { EventTypeDefinition, RecordedEvent } from '@app/core';

/**
 * What the store needs of an event type's definition (`EventTypeDefinition` in @app/core, declared once in
 * the contracts): its current schema version and how to lift stored older versions to it. Events are
 * written at their current version and upcast on read, so the domain only ever sees the latest shape.
 */
export type StoredEventType = Pick<EventTypeDefinition, 'type' | 'schemaVersion' | 'upcast'>;

/** The event types this application reads and writes: the contracts' definitions its repositories register. */
export class EventTypeRegistry {
  readonly #types = new Map<string, StoredEventType>();

  register(definitions: readonly StoredEventType[]): void {
    for (const definition of definitions) {
      const known = this.#types.get(definition.type);
      if (known && known.schemaVersion !== definition.schemaVersion) {
        throw new Error(`Event type ${definition.type} registered with two schema versions`);
      }
      this.#types.set(definition.type, definition);
    }
  }

  schemaVersionOf(type: string): number {
    const definition = this.#types.get(type);
    if (!definition) throw new Error(`Unknown event type ${type}: register it with its schema version`);
    return definition.schemaVersion;
  }

  isKnown(type: string): boolean {
    return this.#types.has(type);
  }

  /** Brings a stored event to the current schema version of its type. Unknown types pass through. */
  upcast(event: RecordedEvent): RecordedEvent {
    const definition = this.#types.get(event.type);
    if (!definition || event.schemaVersion === definition.schemaVersion) return event;
    if (event.schemaVersion > definition.schemaVersion || !definition.upcast) {
      throw new Error(
        `Cannot read ${event.type} v${event.schemaVersion} (current v${definition.schemaVersion}) ` +
          `at ${event.streamId}@${event.version}`,
      );
    }
    return {
      ...event,
      schemaVersion: definition.schemaVersion,
      data: definition.upcast(event.data as Record<string, unknown>, event.schemaVersion),
    };
  }
}

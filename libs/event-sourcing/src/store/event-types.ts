import type { RecordedEvent } from '@app/core';

/**
 * Current schema version of each event type and how to lift stored older versions to it. Events are
 * written at their current version and upcast on read, so the domain only ever sees the latest shape.
 */
export interface EventTypeDefinition {
  readonly type: string;
  readonly schemaVersion: number;
  /** Turns data stored at `fromSchemaVersion` into the current shape. Required when schemaVersion > 1. */
  readonly upcast?: (data: Record<string, unknown>, fromSchemaVersion: number) => Record<string, unknown>;
}

export class EventTypeRegistry {
  readonly #types = new Map<string, EventTypeDefinition>();

  register(definitions: readonly EventTypeDefinition[]): void {
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

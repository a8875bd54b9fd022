import { hash as digestOf, randomUUID } from 'node:crypto';
import type { RecordedEvent } from '@app/core';

/** Who asked for a change: copied into the metadata of the events it produces. */
export interface CommandContext {
  /** Unique per command; event ids are derived from it, so a re-run command writes the same ids. */
  readonly commandId: string;
  readonly correlationId: string;
  readonly causationId: string;
}

/** A command from outside (HTTP): fresh id, correlation from the caller if it sent one. */
export const externalCommand = (correlationId?: string): CommandContext => {
  const commandId = randomUUID();
  return { commandId, correlationId: correlationId ?? commandId, causationId: commandId };
};

/**
 * A command triggered by an event: its id is derived from the event and the reacting handler, so a
 * redelivered event issues the same command and the resulting events collide instead of doubling.
 */
export const commandCausedBy = (event: RecordedEvent, handler: string): CommandContext => ({
  commandId: deterministicUuid(`${handler}:${event.metadata.eventId}`),
  correlationId: event.metadata.correlationId,
  causationId: event.metadata.eventId,
});

/** A name-based UUID (version 5 layout over SHA-1), stable for the same input. */
export const deterministicUuid = (name: string): string => {
  const hash = digestOf('sha1', name, 'buffer'); // one-shot: no Hash object per id
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

import { hash as digestOf, randomUUID } from 'node:crypto';
import type { RecordedEvent } from '@app/core';

/** Who asked for a change: copied into the metadata of the events it produces. */
export interface CommandContext {
  /** Unique per command; event ids are derived from it, so a re-run command writes the same ids. */
  readonly commandId: string;
  readonly correlationId: string;
  readonly causationId: string;
  /**
   * Set when the caller sent an Idempotency-Key (see `keyedCommand`): a hash of its request. The append
   * then records the command on its stream, and a repeat is answered from that record.
   */
  readonly fingerprint?: string;
}

/** A command from outside (HTTP): fresh id, correlation from the caller if it sent one. */
export const externalCommand = (correlationId?: string): CommandContext => {
  const commandId = randomUUID();
  return { commandId, correlationId: correlationId ?? commandId, causationId: commandId };
};

/**
 * A command from outside that carries an Idempotency-Key: its id is derived from the caller's scope and
 * the key, so a repeat is the same command (same id, same event ids, same new aggregate id).
 */
export const keyedCommand = (
  idempotency: { scope: string; key: string; fingerprint: string },
  correlationId?: string,
): CommandContext => {
  const commandId = deterministicUuid(`idempotency-key:${idempotency.scope}:${idempotency.key}`);
  return {
    commandId,
    correlationId: correlationId ?? commandId,
    causationId: commandId,
    fingerprint: idempotency.fingerprint,
  };
};

/**
 * The id of the aggregate a create command starts: random, or derived from a keyed command's id, so
 * that its repeat addresses the stream the first one created (whose record then answers it).
 */
export const newAggregateId = (context: CommandContext): string =>
  context.fingerprint === undefined ? randomUUID() : deterministicUuid(`${context.commandId}:new-aggregate`);

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

/**
 * What one live connection follows, as SSE messages (`id`, `event`, `data`), on top of a LiveFeed:
 * - one document: its current state first (`event: state`, `id:` its stream version), then each change; a
 *   reconnect with `Last-Event-ID: n` gets the events after version n from the event store, then live ones;
 *   a gap in the live changes is filled from the event store too: no gap, no repeat;
 * - many documents: the first page of the matching documents (`event: state`, no id) closed by
 *   `event: ready` whose id is the feed's position, then each matching change, its id the position after
 *   it (per partition: the last offset, base64url JSON); a reconnect resumes from the retained changes, or,
 *   when they no longer reach back that far, starts over (`event: reset`, then the first page again).
 */
import type { RecordedEvent } from '@app/core';
import type { ReadModelDocument } from '../document-collection.js';
import { viewOf, type LiveChange, type LiveEventView, type LiveFeed } from './live-feed.js';

/** One Server-Sent Event. Without `id` the client keeps the last one it had. */
export interface FeedMessage {
  readonly id?: string;
  readonly event: string;
  readonly data: unknown;
}

export type FeedSink = (message: FeedMessage) => void;

/** A connection's subscription; `close` stops it (idempotent). */
export interface Following {
  close(): void;
}

const changeMessage = (id: string, event: LiveEventView, state: unknown): FeedMessage => ({
  id,
  event: event.type,
  data: { event, state },
});

/**
 * Follows one document. `visible` is the ownership check: a document it refuses is `notFound()`, exactly
 * like one that does not exist (so ids do not leak).
 */
export const followDocument = async <T extends ReadModelDocument>(
  feed: LiveFeed<T>,
  request: {
    readonly id: string;
    readonly lastEventId?: string;
    readonly visible: (document: T) => boolean;
    readonly notFound: () => Error;
  },
  sink: FeedSink,
): Promise<Following> => {
  const { id } = request;
  const streamId = feed.streamIdOf(id);
  let sent = 0;
  let state: T | undefined;
  let closed = false;
  const send = (event: RecordedEvent | LiveEventView, next: T): void => {
    const view = 'metadata' in event ? viewOf(event) : event;
    sent = view.version;
    state = next;
    if (!closed) sink(changeMessage(String(sent), view, next));
  };
  /** Sends the stream's events after `sent` (up to `to`) from the event store. */
  const fill = async (to = Number.MAX_SAFE_INTEGER): Promise<void> => {
    const exact = state?.version === sent;
    const events = exact
      ? (await feed.store.readStream(streamId, { fromVersion: sent })).events
      : await feed.store.readStreamForReplay(streamId);
    let current = exact ? state : undefined;
    for (const event of events) {
      if (event.version > to) break;
      current = feed.evolve(current, event);
      if (event.version > sent) send(event, current);
    }
  };
  // Listen first, read second: a change made between the two is buffered, not lost.
  const buffered: LiveChange<T>[] = [];
  let chain: Promise<void> | undefined;
  const deliver = async (change: LiveChange<T>): Promise<void> => {
    if (closed || change.version <= sent) return;
    if (change.version > sent + 1) await fill(change.version - 1);
    if (change.version === sent + 1) send(change.event, change.state);
  };
  const stop = feed.onDocument(id, (change) => {
    if (!chain) buffered.push(change);
    else chain = chain.then(() => deliver(change)).catch(() => undefined);
  });
  try {
    const document = await feed.definition.collection.get(id);
    if (!document || !request.visible(document)) throw request.notFound();
    const last = parseVersion(request.lastEventId);
    if (last === undefined) {
      sent = document.version;
      state = document;
      sink({ id: String(sent), event: 'state', data: { state: document } });
    } else {
      sent = last;
      if (last < document.version) await fill();
    }
  } catch (error) {
    stop();
    throw error;
  }
  chain = buffered.reduce((previous, change) => previous.then(() => deliver(change)), Promise.resolve());
  chain = chain.catch(() => undefined);
  return {
    close: () => {
      closed = true;
      stop();
    },
  };
};

const parseVersion = (lastEventId: string | undefined): number | undefined =>
  lastEventId !== undefined && /^\d{1,15}$/.test(lastEventId) ? Number(lastEventId) : undefined;

export const encodePosition = (position: Readonly<Record<string, number>>): string =>
  Buffer.from(JSON.stringify(position)).toString('base64url');

/** A position this API handed out, or undefined for anything else (then the feed starts over). */
export const decodePosition = (id: string | undefined): Record<string, number> | undefined => {
  if (!id) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(id, 'base64url').toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    const entries = Object.entries(parsed as Record<string, unknown>);
    if (!entries.every(([, offset]) => Number.isSafeInteger(offset) && (offset as number) >= 0)) return undefined;
    return Object.fromEntries(entries) as Record<string, number>;
  } catch {
    return undefined;
  }
};

/** Follows every document `matches` accepts; `firstPage` lists the current ones (newest first). */
export const followMany = async <T extends ReadModelDocument>(
  feed: LiveFeed<T>,
  request: {
    readonly lastEventId?: string;
    readonly matches: (document: T) => boolean;
    readonly firstPage: () => Promise<readonly T[]>;
  },
  sink: FeedSink,
): Promise<Following> => {
  let closed = false;
  let position: Record<string, number> = {};
  /** Versions the first page showed: changes up to them are in it already. */
  const shown = new Map<string, number>();
  const deliver = (change: LiveChange<T>): void => {
    const { partition, offset } = change.position;
    if (closed || offset <= (position[partition] ?? -1)) return;
    position = { ...position, [partition]: offset };
    if (!request.matches(change.state) || change.version <= (shown.get(change.documentId) ?? 0)) return;
    sink(changeMessage(encodePosition(position), change.event, change.state));
  };
  const buffered: LiveChange<T>[] = [];
  let live = false;
  const stop = feed.onAll((change) => (live ? deliver(change) : buffered.push(change)));
  try {
    const from = decodePosition(request.lastEventId);
    const retained = from && feed.changesAfter(from);
    if (from && retained) {
      position = { ...from };
      for (const change of retained) deliver(change);
    } else {
      if (request.lastEventId) sink({ event: 'reset', data: { reason: 'the position is no longer retained here' } });
      position = feed.latest();
      for (const document of await request.firstPage()) {
        shown.set(document.id, document.version);
        sink({ event: 'state', data: { state: document } });
      }
      sink({ id: encodePosition(position), event: 'ready', data: {} });
    }
  } catch (error) {
    stop();
    throw error;
  }
  live = true;
  for (const change of buffered) deliver(change);
  return {
    close: () => {
      closed = true;
      stop();
    },
  };
};

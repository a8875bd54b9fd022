import { LiveEvents } from './live-events.js';
import type { RecordedEvent } from '@app/core';

const event = (version: number): RecordedEvent => ({
  streamId: 'Counter-1',
  version,
  type: 'Bumped',
  schemaVersion: 1,
  data: {},
  metadata: { eventId: `e${version}`, correlationId: 'c', causationId: 'c', occurredAt: new Date(0).toISOString() },
});

describe('LiveEvents', () => {
  it('listens only while a feed is subscribed, so sources can skip decoding for nobody', () => {
    const live = new LiveEvents();
    expect(live.listening).toBe(false);
    const unsubscribe = live.subscribe(() => undefined);
    expect(live.listening).toBe(true);
    unsubscribe();
    expect(live.listening).toBe(false);
  });

  it('numbers in-process deliveries only while someone listens, in delivery order', () => {
    const live = new LiveEvents();
    live.publishLocal([event(1)]); // nobody listens: dropped, no position taken
    const seen: number[] = [];
    live.subscribe((events) => seen.push(...events.map((e) => e.position.offset)));
    live.publishLocal([event(2), event(3)]);
    expect(seen).toEqual([1, 2]);
  });
});

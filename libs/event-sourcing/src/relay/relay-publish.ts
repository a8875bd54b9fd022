/**
 * The relay's hand-over to the transport: the runs of a whole pass (every stream it carries) in ONE
 * publish call; when that call fails, one call per stream, so that one bad stream cannot hold back the
 * others. Each call is a span that continues the trace of the first event's command and links the
 * others (a pass carries the appends of many commands); the Kafka produce spans are its children.
 */
import { inSpanOfBatch, type RecordedEvent, concurrently } from '@app/core';
import type { EventPublisher } from './event-publisher.js';
import type { Run } from './relay-lanes.js';

export interface Published {
  readonly published: readonly Run[];
  readonly failed: readonly { readonly run: Run; readonly error: unknown }[];
}

export const publishRuns = async (
  publisher: EventPublisher,
  runs: readonly Run[],
  concurrency: number,
): Promise<Published> => {
  if (runs.length === 0) return { published: [], failed: [] };
  try {
    await publishInSpan(
      publisher,
      runs.flatMap((r) => r.events),
    );
    return { published: runs, failed: [] };
  } catch (error) {
    if (runs.length === 1) return { published: [], failed: [{ run: runs[0]!, error }] };
  }
  const published: Run[] = [];
  const failed: { run: Run; error: unknown }[] = [];
  await concurrently(runs, concurrency, async (run) => {
    try {
      await publishInSpan(publisher, run.events);
      published.push(run);
    } catch (error) {
      failed.push({ run, error });
    }
  });
  return { published, failed };
};

const publishInSpan = (publisher: EventPublisher, events: readonly RecordedEvent[]): Promise<void> =>
  inSpanOfBatch(
    'outbox-relay publish',
    events.map((event) => event.metadata),
    { attributes: { 'outbox.events': events.length } },
    () => publisher.publish(events),
  );

import type { RecordedEvent } from '@app/core';

/** The document of the read-model contract suites. */
export interface Item {
  readonly id: string;
  readonly owner: string;
  readonly state: string;
  readonly rank: number;
  readonly version: number;
}

/** The event of the contract suites' projections: version `version` of stream `Thing-<stream>`, bumping item `stream`. */
export const bumped = (stream: string, version: number): RecordedEvent => ({
  streamId: `Thing-${stream}`,
  version,
  type: 'Bumped',
  schemaVersion: 1,
  data: { id: stream },
  metadata: {
    eventId: `${stream}-${version}`,
    correlationId: 'c',
    causationId: 'c',
    occurredAt: '2026-01-01T00:00:00Z',
  },
});

import { Histogram } from 'prom-client';

export const projectionLagSeconds = new Histogram({
  name: 'projection_lag_seconds',
  help: 'Time from an event (occurredAt) to its read-model write, by read-model collection',
  labelNames: ['collection'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
});

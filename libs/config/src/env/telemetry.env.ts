import { z } from 'zod';
import { boolean, oneOf } from './variables.js';

const url = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/**
 * The OpenTelemetry variables this starter relies on (read by the SDK itself, see
 * libs/platform/src/tracing.ts): checked here so that a typo stops start-up like any other.
 */
export const telemetryEnv = z.object({
  OTEL_EXPORTER_OTLP_ENDPOINT: url.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url.optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: oneOf(['grpc', 'http/protobuf', 'http/json']).optional(),
  OTEL_SDK_DISABLED: boolean().optional(),
});

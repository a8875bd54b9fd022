import { SpanKind, SpanStatusCode, trace, type Attributes, type Link, type Span } from '@opentelemetry/api';

/**
 * The starter's own spans (OpenTelemetry API only: without a registered SDK every call is a no-op, so
 * tracing costs nothing unless configured). Used where no instrumentation library sees the work: the
 * command handler, the event-store batch, the outbox relay, Kafka produce/consume, the read-model write.
 */
export const tracer = trace.getTracer('nest-cqrs-es-starter');

export interface SpanOptions {
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
  readonly links?: Link[];
}

/** Runs `fn` in a new active span (child of the active one); an exception is recorded and rethrown. */
export const inSpan = <T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> =>
  tracer.startActiveSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes, links: options.links },
    async (span) => {
      try {
        return await fn(span);
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    },
  );

export { SpanKind };

import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';

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

/** W3C trace context of the active span (`traceparent`, `tracestate`); empty when tracing is off. */
export const traceHeaders = (): Record<string, string> => {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
};

/** The context a `traceparent` (carried by an event or a message) continues. */
export const contextFrom = (carrier: { traceparent?: unknown; tracestate?: unknown }): Context => {
  const headers: Record<string, string> = {};
  if (typeof carrier.traceparent === 'string') headers.traceparent = carrier.traceparent;
  if (typeof carrier.tracestate === 'string') headers.tracestate = carrier.tracestate;
  return propagation.extract(context.active(), headers);
};

/** Runs `fn` with `parent` as the active context (a span started inside becomes its child). */
export const withContext = <T>(parent: Context, fn: () => T): T => context.with(parent, fn);

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

/**
 * A span over work on several items that each carry a trace context (a relay pass, a consumed batch):
 * the child of the first item's trace, linked to the others' (those of another trace).
 */
export const inSpanOfBatch = <T>(
  name: string,
  carriers: readonly { traceparent?: unknown; tracestate?: unknown }[],
  options: Omit<SpanOptions, 'links'>,
  fn: (span: Span) => Promise<T>,
): Promise<T> => {
  const [first, ...rest] = carriers.map(contextFrom);
  const firstTrace = first && trace.getSpanContext(first)?.traceId;
  const links = rest
    .map((c) => trace.getSpanContext(c))
    .filter((c) => c !== undefined && c.traceId !== firstTrace)
    .map((c) => ({ context: c! }));
  return withContext(first ?? context.active(), () => inSpan(name, { ...options, links }, fn));
};

export { SpanKind, trace };

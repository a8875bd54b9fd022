import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { loadEnvFile } from '@app/config/env-file';

/**
 * OpenTelemetry tracing, started before anything else is loaded (the first import of every `main.ts`),
 * so that the http and express instrumentations see those modules load. Off unless
 * OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, in the environment or in
 * `.env` (loaded here, once, see loadEnvFile); everything else comes from the standard OTEL_* variables (OTEL_SERVICE_NAME, defaulting to the
 * app's service; OTEL_EXPORTER_OTLP_PROTOCOL; OTEL_TRACES_SAMPLER; OTEL_SDK_DISABLED...). The spans of
 * our own (commands, appends, relay, Kafka, read-model writes) use the OpenTelemetry API only.
 */
export const startTracing = (service: string): NodeSDK | undefined => {
  loadEnvFile(); // the one load of .env: readAppConfig finds it done
  const { OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_SDK_DISABLED } = process.env;
  if (!(OTEL_EXPORTER_OTLP_ENDPOINT || OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) || OTEL_SDK_DISABLED === 'true') return;
  process.env.OTEL_SERVICE_NAME ??= service;
  const sdk = new NodeSDK({
    instrumentations: [
      // Probes and scrapes are not worth a trace each.
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => /^\/(health|metrics)/.test(req.url ?? '') }),
      new ExpressInstrumentation(),
    ],
  });
  sdk.start();
  const stop = () => void sdk.shutdown().catch(() => undefined);
  process.once('beforeExit', stop);
  return sdk;
};

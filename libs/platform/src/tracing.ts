import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';

/**
 * OpenTelemetry tracing, started before anything else is loaded (the first import of every `main.ts`),
 * so that the http and express instrumentations see those modules load. Off unless
 * OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, in the environment or in
 * `.env`; everything else comes from the standard OTEL_* variables (OTEL_SERVICE_NAME, defaulting to the
 * app's service; OTEL_EXPORTER_OTLP_PROTOCOL; OTEL_TRACES_SAMPLER; OTEL_SDK_DISABLED...). The spans of
 * our own (commands, appends, relay, Kafka, read-model writes) use the OpenTelemetry API only.
 */
export const startTracing = (service: string): NodeSDK | undefined => {
  const envFile = process.env.ENV_FILE;
  const file = resolve(envFile || '.env');
  if (envFile !== '' && existsSync(file)) process.loadEnvFile(file); // the real environment wins
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

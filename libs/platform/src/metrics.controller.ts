import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { collectDefaultMetrics, register } from 'prom-client';

// The process' own (CPU, memory, event-loop lag, GC, handles), next to the application's metrics.
collectDefaultMetrics();

/**
 * Prometheus metrics of this process (prom-client's default registry), in the text exposition format,
 * for a scraper: not part of the API, so not in the OpenAPI document. See README "Metrics".
 */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  @Get()
  @Header('Content-Type', register.contentType)
  @Header('Cache-Control', 'no-store')
  metrics(): Promise<string> {
    return register.metrics();
  }
}

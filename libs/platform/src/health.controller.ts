import { Controller, Get, Inject, Optional, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { ApplicationError } from '@app/core';
import { ApiProblems, NoRateLimit } from '@app/http';
import { EventStore } from '@app/event-sourcing';
import { TransportHealth, TransportNotReadyError } from '@app/messaging';
import { ReadModelStore } from '@app/read-models';

const PROBE_TIMEOUT_MS = 2_000;

/**
 * Liveness: the process answers. Readiness: every dependency answers (event store, read-model store,
 * event transport including the consumer's connection), each within a bounded time, and the consumer has
 * caught up with its topics (while it replays them, `eventTransport` shows the lag per topic); 503 otherwise.
 */
@ApiTags('health')
// Orchestrators probe often and from one address: probes never count against the rate limit.
@NoRateLimit()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly eventStore: EventStore,
    private readonly readModels: ReadModelStore,
    @Optional() @Inject(TransportHealth) private readonly transport?: TransportHealth,
  ) {}

  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process is up' })
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  // Terminus documents its own 503 body; this API answers problem+json (with terminus' report inside).
  @ApiProblems({ 503: ['NOT_READY'] })
  @HealthCheck()
  @ApiOperation({
    summary:
      'Readiness: event store, read-model store and event transport answer, and the consumer caught up (its lag per topic while not)',
  })
  async ready() {
    const probe = (key: string, fn: () => Promise<unknown>) => () =>
      this.indicators
        .check(key)
        .attempt(async () => {
          await fn();
        })
        .withTimeout(PROBE_TIMEOUT_MS);
    try {
      return await this.health.check([
        probe('eventStore', () => this.eventStore.ping()),
        probe('readModels', () => this.readModels.ping()),
        ...(this.transport ? [() => this.transportProbe(this.transport!)] : []),
      ]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      // Answered like every other error (problem+json 503), with terminus' per-dependency report.
      const { info, error: down } = error.getResponse() as { info?: object; error?: object };
      const names = Object.keys(down ?? {}).join(', ');
      throw new ApplicationError('NOT_READY', 'unavailable', `Not ready: ${names} unavailable`, { info, error: down });
    }
  }

  /** The transport's check with its details: up with what it reports, down with the reason (and the lag). */
  private async transportProbe(transport: TransportHealth) {
    const session = this.indicators.check('eventTransport');
    let timer: NodeJS.Timeout | undefined;
    try {
      const details = await Promise.race([
        transport.check(),
        new Promise<never>((_, fail) => {
          timer = setTimeout(() => fail(new Error(`timeout of ${PROBE_TIMEOUT_MS} ms exceeded`)), PROBE_TIMEOUT_MS);
        }),
      ]);
      return session.up({ ...(details ?? {}) });
    } catch (error) {
      const details = error instanceof TransportNotReadyError ? error.details : {};
      return session.down({ message: (error as Error).message, ...details });
    } finally {
      clearTimeout(timer);
    }
  }
}

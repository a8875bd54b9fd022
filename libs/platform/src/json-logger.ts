import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import { currentCorrelationId } from '@app/event-sourcing';

/**
 * One JSON object per line on stdout: time, level, service, context, message, the correlation id of
 * the request or event being handled, and the stack for errors. For log shippers; `LOG_FORMAT=pretty`
 * keeps Nest's coloured console output for humans.
 */
export class JsonLogger extends ConsoleLogger {
  constructor(
    private readonly service: string,
    levels: LogLevel[],
  ) {
    super({ logLevels: levels });
  }

  protected override printMessages(
    messages: unknown[],
    context = '',
    logLevel: LogLevel = 'log',
    _writeStreamType?: 'stdout' | 'stderr',
    errorStack?: unknown,
  ): void {
    for (const message of messages) {
      const line: Record<string, unknown> = {
        time: new Date().toISOString(),
        level: logLevel,
        service: this.service,
        context: context || undefined,
        msg: message instanceof Error ? message.message : message,
        correlationId: currentCorrelationId(),
      };
      const stack = errorStack ?? (message instanceof Error ? message.stack : undefined);
      if (stack) line.stack = stack;
      process.stdout.write(`${JSON.stringify(line)}\n`);
    }
  }
}

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** `LOG_LEVEL=debug` -> every level up to debug. */
export const levelsUpTo = (level: LogLevel): LogLevel[] => LEVELS.slice(0, LEVELS.indexOf(level) + 1);

import type { CommandBus, ICommand } from '@nestjs/cqrs';
import { ApplicationError, inSpan } from '@app/core';
import { runInCommand } from './command-scope.js';
import { commandsTotal } from './metrics.js';

const INSTRUMENTED = Symbol('instrumented');

/** What became of a command: accepted, or the kind of the ApplicationError it ended with (failed: anything else). */
const outcomeOf = (error: unknown): string => (error instanceof ApplicationError ? error.kind : 'failed');

/**
 * Every command of the application goes through the CommandBus (HTTP controllers and policies alike):
 * its `execute` is wrapped once, here, with a `command <Type>` span (the handler's load, decide and
 * append are its children), the `commands_total` counter and the scope the repository's retries are
 * counted in.
 */
export const instrumentCommandBus = (bus: CommandBus): void => {
  const target = bus as CommandBus & { [INSTRUMENTED]?: true };
  if (target[INSTRUMENTED]) return;
  target[INSTRUMENTED] = true;
  const execute = bus.execute.bind(bus) as (command: ICommand, ...rest: unknown[]) => Promise<unknown>;
  (bus as { execute: unknown }).execute = (command: ICommand, ...rest: unknown[]): Promise<unknown> => {
    const type = command.constructor.name;
    return runInCommand(type, () =>
      inSpan(`command ${type}`, { attributes: { 'command.type': type } }, async () => {
        try {
          const result = await execute(command, ...rest);
          commandsTotal.inc({ command: type, outcome: 'accepted' });
          return result;
        } catch (error) {
          commandsTotal.inc({ command: type, outcome: outcomeOf(error) });
          throw error;
        }
      }),
    );
  };
};

import type { CommandBus } from '@nestjs/cqrs';

/** A command class and the handler that executes it. */
export type CommandRoute = readonly [
  abstract new (...args: never[]) => object,
  { execute(command: never): Promise<unknown> },
];

/**
 * A CommandBus for handler and policy specs: sends each command to the handler given for its class, as
 * Nest's bus does once the module has started, and throws for any other command (a policy sending one
 * the spec did not expect is a bug to see):
 *
 *   new StockAnswerPolicy(commandBusFor([SettleOrderCommand, settleHandler]))
 */
export const commandBusFor = (...routes: readonly CommandRoute[]): CommandBus => {
  const execute = (command: object): Promise<unknown> => {
    const route = routes.find(([type]) => command instanceof type);
    if (!route) throw new Error(`no handler for ${command.constructor.name}`);
    return route[1].execute(command as never);
  };
  return { execute } as unknown as CommandBus;
};

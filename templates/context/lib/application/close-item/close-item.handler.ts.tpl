import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { Clock } from '@app/core';
import { CLOCK } from '@app/event-sourcing';
import { __ITEM___REPOSITORY, type __Item__Repository } from '../../infrastructure/__context__.repositories.js';
import { Close__Item__Command } from './close-__item__.command.js';

@CommandHandler(Close__Item__Command)
export class Close__Item__Handler implements ICommandHandler<Close__Item__Command> {
  constructor(
    @Inject(__ITEM___REPOSITORY) private readonly __itemCamel__s: __Item__Repository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  execute({ __itemCamel__Id, context }: Close__Item__Command) {
    return this.__itemCamel__s.update(__itemCamel__Id, (__itemCamel__) => __itemCamel__.close(this.clock.now()), context);
  }
}

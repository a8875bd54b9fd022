import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { Clock } from '@app/core';
import { CLOCK } from '@app/event-sourcing';
import { __Item__ } from '../../domain/__item__.js';
import { __ITEM___REPOSITORY, type __Item__Repository } from '../../infrastructure/__context__.repositories.js';
import { Open__Item__Command } from './open-__item__.command.js';

@CommandHandler(Open__Item__Command)
export class Open__Item__Handler implements ICommandHandler<Open__Item__Command> {
  constructor(
    @Inject(__ITEM___REPOSITORY) private readonly __itemCamel__s: __Item__Repository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  execute({ __itemCamel__Id, title, context }: Open__Item__Command) {
    return this.__itemCamel__s.create(
      __itemCamel__Id,
      () => {
        const __itemCamel__ = new __Item__();
        __itemCamel__.open(__itemCamel__Id, title, this.clock.now());
        return __itemCamel__;
      },
      context,
    );
  }
}

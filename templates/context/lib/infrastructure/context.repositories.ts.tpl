import type { Provider } from '@nestjs/common';
import { __ITEM___CATEGORY, __ITEM___EVENT_TYPES, type __Item__Event } from '@app/contracts';
import { AggregateRepositories, type AggregateRepository, type AggregateType } from '@app/event-sourcing';
import { __Item__ } from '../domain/__item__.js';
import { __itemCamel__NotFound } from '../domain/__context__.errors.js';

export type __Item__Repository = AggregateRepository<__Item__, __Item__Event>;
export const __ITEM___REPOSITORY = Symbol('__Item__Repository');

export const __itemCamel__Type: AggregateType<__Item__> = {
  category: __ITEM___CATEGORY,
  create: () => new __Item__(),
  notFound: __itemCamel__NotFound,
};

export const __contextCamel__RepositoryProviders: Provider[] = [
  {
    provide: __ITEM___REPOSITORY,
    inject: [AggregateRepositories],
    useFactory: (repositories: AggregateRepositories): __Item__Repository =>
      repositories.for<__Item__, __Item__Event>(__itemCamel__Type, __ITEM___EVENT_TYPES),
  },
];

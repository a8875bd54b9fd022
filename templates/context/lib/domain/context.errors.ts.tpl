import { BusinessRuleViolation, NotFound } from '@app/core';

export const __itemCamel__NotFound = (__itemCamel__Id: string): NotFound =>
  new NotFound('__ITEM___NOT_FOUND', `__Item__ ${__itemCamel__Id} does not exist`, { __itemCamel__Id });

export const __itemCamel__AlreadyClosed = (__itemCamel__Id: string): BusinessRuleViolation =>
  new BusinessRuleViolation('__ITEM___ALREADY_CLOSED', `__Item__ ${__itemCamel__Id} is closed already`, {
    __itemCamel__Id,
  });

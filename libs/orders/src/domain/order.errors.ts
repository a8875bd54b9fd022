import { BusinessRuleViolation, InvalidCommand, NotFound } from '@app/core';

export const orderNotFound = (orderId: string): NotFound =>
  new NotFound('ORDER_NOT_FOUND', `Order ${orderId} does not exist`, { orderId });

export const orderNotCancellable = (orderId: string, status: string): BusinessRuleViolation =>
  new BusinessRuleViolation('ORDER_NOT_CANCELLABLE', `Order ${orderId} is ${status} and cannot be cancelled`, {
    orderId,
    orderStatus: status,
  });

export const orderAlreadyPlaced = (orderId: string): BusinessRuleViolation =>
  new BusinessRuleViolation('ORDER_ALREADY_PLACED', `Order ${orderId} was already placed`, { orderId });

export const invalidOrder = (message: string, details?: Record<string, unknown>): InvalidCommand =>
  new InvalidCommand('ORDER_INVALID', message, details);

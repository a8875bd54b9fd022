import { BusinessRuleViolation, InvalidCommand, NotFound } from '@app/core';

export const productNotFound = (sku: string): NotFound =>
  new NotFound('PRODUCT_NOT_FOUND', `Product ${sku} does not exist`, { sku });

export const productAlreadyRegistered = (sku: string): BusinessRuleViolation =>
  new BusinessRuleViolation('PRODUCT_ALREADY_REGISTERED', `Product ${sku} is already registered`, { sku });

export const invalidStockChange = (message: string, details?: Record<string, unknown>): InvalidCommand =>
  new InvalidCommand('STOCK_QUANTITY_INVALID', message, details);

export const reservationNotFound = (orderId: string): NotFound =>
  new NotFound('RESERVATION_NOT_FOUND', `No reservation for order ${orderId}`, { orderId });

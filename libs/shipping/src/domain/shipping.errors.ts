import { BusinessRuleViolation, NotFound } from '@app/core';

export const shipmentNotFound = (shipmentId: string): NotFound =>
  new NotFound('SHIPMENT_NOT_FOUND', `Shipment ${shipmentId} does not exist`, { shipmentId });

/** Shipping never saw the order placed (it needs its lines to create the shipment). */
export const shippingOrderNotFound = (orderId: string): NotFound =>
  new NotFound('SHIPPING_ORDER_NOT_FOUND', `Shipping has no lines for order ${orderId}`, { orderId });

export const shipmentTransitionRefused = (shipmentId: string, status: string, action: string): BusinessRuleViolation =>
  new BusinessRuleViolation(
    'SHIPMENT_TRANSITION_INVALID',
    `Shipment ${shipmentId} is ${status} and cannot be ${action}`,
    {
      shipmentId,
      shipmentStatus: status,
    },
  );

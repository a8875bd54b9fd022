import { ORDER_CATEGORY } from './orders.events.js';
import { PRODUCT_CATEGORY, RESERVATION_CATEGORY } from './inventory.events.js';
import { SHIPMENT_CATEGORY, SHIPPING_ORDER_CATEGORY } from './shipping.events.js';

/**
 * Kafka topic of each stream category: `<context>.<aggregate>`. Message key = stream id, so one
 * stream's events stay in one partition, in order. Part of the public contract.
 */
export const EVENT_TOPICS: Readonly<Record<string, string>> = {
  [ORDER_CATEGORY]: 'orders.order',
  [PRODUCT_CATEGORY]: 'inventory.product',
  [RESERVATION_CATEGORY]: 'inventory.reservation',
  [SHIPPING_ORDER_CATEGORY]: 'shipping.order',
  [SHIPMENT_CATEGORY]: 'shipping.shipment',
};

/** Where messages that failed every attempt go, with the error in their headers. */
export const deadLetterTopic = (topic: string): string => `${topic}.dlq`;

export const topicOfCategory = (category: string): string => {
  const topic = EVENT_TOPICS[category];
  if (!topic) throw new Error(`No Kafka topic for stream category ${category}: add it to EVENT_TOPICS`);
  return topic;
};

import { z } from 'zod';
import { SKU_PATTERN } from './identifiers.js';

/** Field schemas the published events of several contexts share. */
export const field = {
  id: z.string().min(1).max(128),
  orderId: z.uuid(),
  sku: z.string().regex(SKU_PATTERN),
  timestamp: z.iso.datetime({ offset: true }),
  quantity: z.number().int().positive().max(1_000_000_000),
  amount: z.number().nonnegative().finite(),
  reason: z.string().max(2_000),
};

import { z } from 'zod';
import { numeric, record, refId, text } from './fields.ts';

/** Price lists and stock: price types, prices, warehouses, stock levels. */

export const priceTypeSchema = record({
  name: text(),
  currency: z.string().trim().optional(),
  vatIncluded: z.boolean().optional(),
  deleted: z.boolean().optional(),
});

export const priceSchema = record({
  productId: refId(),
  priceTypeId: refId(),
  value: numeric((n) => n.min(0)),
  currency: z.string().trim().optional(),
  unitId: refId().optional(),
  coefficient: numeric((n) => n.positive())
    .optional()
    .meta({ description: 'Units of base unit per price unit' }),
});

export const warehouseSchema = record({
  name: text(),
  address: z.string().optional(),
  deleted: z.boolean().optional(),
});

export const stockSchema = record({
  productId: refId(),
  warehouseId: refId().optional().meta({ description: 'Absent for the total over all warehouses' }),
  // 1C allows negative balances when posting without control; they must reach targets as they are.
  quantity: numeric(),
  reserved: numeric().optional(),
});

export type PriceType = z.infer<typeof priceTypeSchema>;
export type Price = z.infer<typeof priceSchema>;
export type Warehouse = z.infer<typeof warehouseSchema>;
export type Stock = z.infer<typeof stockSchema>;

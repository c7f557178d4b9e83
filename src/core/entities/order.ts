import { z } from 'zod';
import { isoDate, numeric, record, refId, text, vatRate } from './fields.ts';

/** Customer orders with their lines, totals and payment/shipment state. */

export const orderLineSchema = record({
  lineNo: numeric((n) => n.int().positive()).optional(),
  productId: refId(),
  name: z.string().optional(),
  quantity: numeric(),
  price: numeric((n) => n.min(0)),
  discount: numeric().optional().meta({ description: 'Discount amount for the line' }),
  discountPercent: numeric((n) => n.min(0).max(100)).optional(),
  vatRate: vatRate().optional(),
  vatAmount: numeric().optional(),
  amount: numeric(),
});

export const orderSchema = record({
  number: text(),
  date: isoDate(),
  customerId: refId(),
  contactId: refId().optional(),
  warehouseId: refId().optional(),
  currency: z.string().trim().optional(),
  lines: z.array(orderLineSchema),
  totals: record({
    amount: numeric(),
    vatAmount: numeric().optional(),
    discount: numeric().optional(),
  }).optional(),
  status: z.string().optional(),
  paid: z.boolean().default(false),
  paymentDate: isoDate().optional(),
  paymentNumber: z.string().optional(),
  shipped: z.boolean().default(false),
  shipmentDate: isoDate().optional(),
  shipmentNumber: z.string().optional(),
  cancelled: z.boolean().default(false),
  comment: z.string().optional(),
  source: z.string().optional().meta({ description: 'Where the order came from: a site or deal label' }),
  deleted: z.boolean().optional(),
});

export type OrderLine = z.infer<typeof orderLineSchema>;
export type Order = z.infer<typeof orderSchema>;

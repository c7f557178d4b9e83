import { z } from 'zod';
import { isoDate, numeric, record, refId, text, vatRate } from './fields.ts';

/**
 * Customer orders with their lines, totals and payment/shipment state, and the state of an order
 * as the system that fulfils it reports it (order_status).
 *
 * `status` holds one of ORDER_STATUSES wherever a connector knows its system's statuses (each
 * connector maps them both ways through a table the user can override); a system-specific
 * value passes through unchanged.
 */

/** The order lifecycle in the hub's words (seed 004: Новый, Подтвержден, Отгружен, Отменен). */
export const ORDER_STATUSES = ['new', 'confirmed', 'paid', 'shipped', 'completed', 'cancelled'] as const;

/** Payment, shipment and cancellation: what an order says of itself and its status repeats. */
const fulfilment = {
  paid: z.boolean().default(false),
  paymentDate: isoDate().optional(),
  paymentNumber: z.string().optional(),
  shipped: z.boolean().default(false),
  shipmentDate: isoDate().optional(),
  shipmentNumber: z.string().optional(),
  cancelled: z.boolean().default(false),
};

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
  ...fulfilment,
  comment: z.string().optional(),
  source: z.string().optional().meta({ description: 'Where the order came from: a site or deal label' }),
  deleted: z.boolean().optional(),
});

/**
 * The state of an order in the system that fulfils it (1C): its status, payment and shipment.
 * A record of its own, read only from that system and written only to the systems the order
 * came from (deal stage, site order status): the status travels back without the order's
 * content, so nothing can bounce between the systems.
 */
export const orderStatusSchema = record({
  orderId: refId().meta({ description: 'The order this state is of' }),
  status: text().meta({ description: `One of ${ORDER_STATUSES.join(', ')}` }),
  ...fulfilment,
  number: z.string().optional().meta({ description: "The fulfilling system's own document number" }),
  changedAt: isoDate().optional().meta({ description: 'When the state last changed there' }),
});

export type OrderLine = z.infer<typeof orderLineSchema>;
export type OrderStatus = z.infer<typeof orderStatusSchema>;
export type Order = z.infer<typeof orderSchema>;

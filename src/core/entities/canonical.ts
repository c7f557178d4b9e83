import type { z } from 'zod';
import { productGroupSchema, productSchema, propertySchema, unitSchema } from './catalog.ts';
import { orderSchema, orderStatusSchema } from './order.ts';
import { contactSchema, counterpartySchema } from './parties.ts';
import { priceSchema, priceTypeSchema, stockSchema, warehouseSchema } from './pricing.ts';

/** How a canonical entity is declared: its schema and every field that holds another object's id. */
export interface CanonicalEntity {
  name: string;
  title: { ru: string; en: string };
  schema: z.ZodType;
  refs: Record<string, string>;
  /**
   * References to the object this one is about (an order status's order). A target that does
   * not hold that object has nothing to apply it to: delivery skips the item there instead of
   * waiting for the object or parking the item.
   */
  subjects?: readonly string[];
}

export const CANONICAL: readonly CanonicalEntity[] = [
  {
    name: 'product',
    title: { ru: 'товар', en: 'product' },
    schema: productSchema,
    refs: {
      groupId: 'product_group',
      baseUnitId: 'unit',
      'properties[].propertyId': 'property',
      parentProductId: 'product',
    },
  },
  {
    name: 'product_group',
    title: { ru: 'группа товаров', en: 'product group' },
    schema: productGroupSchema,
    refs: { parentId: 'product_group' },
  },
  { name: 'property', title: { ru: 'свойство', en: 'property' }, schema: propertySchema, refs: {} },
  { name: 'unit', title: { ru: 'единица измерения', en: 'unit of measure' }, schema: unitSchema, refs: {} },
  { name: 'price_type', title: { ru: 'вид цены', en: 'price type' }, schema: priceTypeSchema, refs: {} },
  {
    name: 'price',
    title: { ru: 'цена', en: 'price' },
    schema: priceSchema,
    refs: { productId: 'product', priceTypeId: 'price_type', unitId: 'unit' },
  },
  { name: 'warehouse', title: { ru: 'склад', en: 'warehouse' }, schema: warehouseSchema, refs: {} },
  {
    name: 'stock',
    title: { ru: 'остаток', en: 'stock' },
    schema: stockSchema,
    refs: { productId: 'product', warehouseId: 'warehouse' },
  },
  {
    name: 'counterparty',
    title: { ru: 'контрагент', en: 'counterparty' },
    schema: counterpartySchema,
    refs: {},
  },
  {
    name: 'contact',
    title: { ru: 'контактное лицо', en: 'contact person' },
    schema: contactSchema,
    refs: { counterpartyId: 'counterparty' },
  },
  {
    name: 'order',
    title: { ru: 'заказ', en: 'order' },
    schema: orderSchema,
    refs: {
      customerId: 'counterparty',
      contactId: 'contact',
      warehouseId: 'warehouse',
      'lines[].productId': 'product',
    },
  },
  {
    name: 'order_status',
    title: { ru: 'состояние заказа', en: 'order status' },
    schema: orderStatusSchema,
    refs: { orderId: 'order' },
    subjects: ['orderId'],
  },
];

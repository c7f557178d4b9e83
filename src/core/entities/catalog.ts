import { z } from 'zod';
import { numeric, record, refId, text, vatRate } from './fields.ts';

/** Catalog entities: products (with offers/variants), their groups, properties and units. */

export const PROPERTY_TYPES = ['string', 'number', 'boolean', 'date', 'dictionary'] as const;

export const unitSchema = record({
  code: z.string().trim().optional().meta({ description: 'OKEI code as given, e.g. "796"' }),
  name: text(),
  shortName: z.string().optional(),
  international: z.string().optional().meta({ description: 'International abbreviation, e.g. "PCE"' }),
});

export const productGroupSchema = record({
  name: text(),
  parentId: refId().optional(),
  code: z.string().trim().optional(),
  deleted: z.boolean().optional(),
});

export const propertySchema = record({
  name: text(),
  type: z.enum(PROPERTY_TYPES).optional(),
  values: z
    .array(record({ id: text(), value: z.string() }))
    .optional()
    .meta({ description: 'Dictionary values; their ids are plain strings, not hub references' }),
  forProducts: z.boolean().optional(),
  forOffers: z.boolean().optional(),
  deleted: z.boolean().optional(),
});

const productPropertySchema = record({
  propertyId: refId(),
  valueId: z.string().trim().optional().meta({ description: 'Id of a dictionary value of the property' }),
  value: z
    .union([z.string(), z.number(), z.boolean()], { error: 'expected a string, a number or true/false' })
    .optional(),
});

export const productSchema = record({
  article: z.string().trim().optional(),
  name: text(),
  fullName: z.string().optional(),
  description: z.string().optional(),
  groupId: refId().optional(),
  baseUnitId: refId().optional(),
  baseUnit: record({
    code: z.string().trim().optional(),
    name: z.string().optional(),
    shortName: z.string().optional(),
  }).optional(),
  barcodes: z.array(text()).optional(),
  properties: z.array(productPropertySchema).optional(),
  vatRate: vatRate().optional().meta({ description: 'Percent; null for "без НДС"' }),
  weight: record({ value: numeric((n) => n.min(0)), unit: text() }).optional(),
  images: z.array(text()).optional().meta({ description: 'Paths or URLs' }),
  attributes: z
    .record(z.string(), z.string())
    .optional()
    .meta({ description: '1C ЗначенияРеквизитов: requisite name → value' }),
  characteristics: z.array(record({ name: text(), value: z.string() })).optional(),
  parentProductId: refId()
    .optional()
    .meta({ description: 'For offers/variants: the product they belong to' }),
  manufacturer: z.string().optional(),
  deleted: z.boolean().optional(),
});

export type Unit = z.infer<typeof unitSchema>;
export type ProductGroup = z.infer<typeof productGroupSchema>;
export type Property = z.infer<typeof propertySchema>;
export type Product = z.infer<typeof productSchema>;

import { z } from 'zod';

/**
 * The mapping language as it is written in obmen.yaml (inline under sources[].mapping /
 * routes[].mapping) or in a YAML file that the mapping string names. One way to do each thing:
 *  - a field is an expression string, or an object with exactly one of `expr` / `lookup`;
 *  - constants are expressions too ("'NEW'", "17");
 *  - a lookup table is `{ map: {...} }` or `{ file: groups.csv }`.
 */

export const MISSING_POLICIES = ['hold', 'default', 'create'] as const;
export type MissingPolicy = (typeof MISSING_POLICIES)[number];

const expression = (what: string) =>
  z.string().min(1, { message: `${what} must be a JSONata expression, not empty` });

export const fieldRuleSchema = z
  .object({
    expr: expression('expr')
      .optional()
      .meta({
        description: 'JSONata expression over the canonical record',
        examples: ['weight.value', "'order-' & number"],
      }),
    lookup: z.string().optional().meta({ description: 'Name of a lookup table (under lookups:)' }),
    from: expression('from')
      .optional()
      .meta({ description: 'With lookup: the expression giving the key to look up', examples: ['groupId'] }),
    reverse: z.boolean().optional().meta({
      description: 'With lookup: read the table backwards (value → key); its values must be unique',
    }),
    convert: z
      .string()
      .optional()
      .meta({
        description: 'Unit conversion applied to the value, e.g. "kg->g"',
        examples: ['kg->g', 'm->mm'],
      }),
    when: expression('when').optional().meta({
      description: 'Condition: the field is set only when it is true (else the default conversion stays)',
    }),
    default: z.unknown().optional().meta({
      description:
        'Value used when the result is empty (and with missing: default, when the value is unknown)',
    }),
    missing: z.enum(MISSING_POLICIES).optional().meta({
      description:
        'What to do when the target lacks the value (not in the lookup table / directory): hold the item, use default, or create it',
    }),
    directory: z
      .string()
      .optional()
      .meta({
        description: 'The target directory checked for the value, shown in messages',
        examples: ['Цвет'],
      }),
    system: z
      .string()
      .optional()
      .meta({
        description: 'How the target is named in hold messages (default: the route target)',
        examples: ['1C:Розница'],
      }),
  })
  .strict();

export const fieldSpecSchema = z.union([expression('a field'), fieldRuleSchema]);

export const lookupTableSchema = z
  .object({
    map: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: 'key → value pairs', examples: [{ new: 'NEW', paid: 'PREPAYMENT_INVOICE' }] }),
    file: z.string().optional().meta({
      description: 'A .csv (key,value per line), .json or .yaml file with the pairs, relative to obmen.yaml',
    }),
  })
  .strict();

const mappingObject = {
  extends: z.enum(['default', 'none']).default('default').meta({
    description:
      "'default': the connector's built-in conversion, user fields override it field by field; 'none': only these fields",
  }),
  filter: expression('filter')
    .optional()
    .meta({
      description: 'JSONata boolean: which records this mapping lets through',
      examples: ['active and groupId in ["g1"]'],
    }),
  fields: z.record(z.string(), fieldSpecSchema).default({}).meta({ description: 'Field name → rule' }),
  externalId: expression('externalId')
    .optional()
    .meta({ description: 'Computed external id', examples: ["'order-' & number"] }),
  lookups: z.record(z.string(), lookupTableSchema).default({}).meta({ description: 'Lookup tables by name' }),
};

/** A route mapping: canonical record → target fields. */
export const routeMappingSchema = z.object(mappingObject).strict();
/** A source mapping: source item (canonical `data` + system `raw`) → canonical fields (dot paths). */
export const sourceMappingSchema = z.object(mappingObject).strict();

/** What obmen.yaml holds under `mapping:`: the mapping itself, or a path to a YAML file with it. */
export const mappingRefSchema = z.union([z.string().min(1), routeMappingSchema]);

export type FieldRule = z.infer<typeof fieldRuleSchema>;
export type FieldSpec = z.infer<typeof fieldSpecSchema>;
export type LookupTableSpec = z.infer<typeof lookupTableSchema>;
export type MappingSpec = z.infer<typeof routeMappingSchema>;
/** The spec as written (before defaults). */
export type MappingSpecInput = z.input<typeof routeMappingSchema>;

import type { SystemConfig } from '../../config/schema.ts';
import type { DefaultField, TargetDefaults } from '../../core/connector.ts';
import { type Bitrix24Options, bitrix24OptionsSchema } from './spec.ts';

/**
 * The Bitrix24 connector's default conversion (canonical → Bitrix24 fields) as data: what
 * `obmen mapping show` prints and what `extends: none` leaves out. The conversions themselves
 * live in resources/*.ts; test/mapping-defaults.test.ts runs them on a probe record and checks
 * that they write exactly these fields, each from exactly these canonical paths.
 */

const field = (name: string, from: string[], rule: string, required?: true): DefaultField =>
  required ? { field: name, from, rule, required } : { field: name, from, rule };

/**
 * Fields kept with `extends: none`: the ones obmen finds its objects by again (ORIGIN_ID,
 * xmlId…), without which every write would create a new object, and the active flag a deletion
 * is written with.
 */
export function requiredFields(options: Pick<Bitrix24Options, 'idField'>): string[] {
  return ['ORIGINATOR_ID', 'ORIGIN_ID', options.idField, 'xmlId', 'XML_ID', 'iblockId', 'active', 'ACTIVE'];
}

function crmIdentity(options: Bitrix24Options): DefaultField[] {
  return [
    field('ORIGINATOR_ID', [], `"${options.originatorId}" (options.originatorId)`, true),
    field('ORIGIN_ID', [], "obmen's record id", true),
    field(options.idField, [], "obmen's record id (options.idField)", true),
  ];
}

function requisiteFields(options: Bitrix24Options): DefaultField[] {
  if (options.requisites !== 'userfield') return [];
  return [
    field(options.innField, ['inn'], 'inn (options.requisites: userfield)'),
    field(options.kppField, ['kpp'], 'kpp (options.requisites: userfield)'),
  ];
}

const multi = (name: string, from: string) =>
  field(
    name,
    [from],
    `${from} as [{VALUE, VALUE_TYPE}] (type WORK unless given); on an update only while Bitrix24 holds none`,
  );

function contactFields(options: Bitrix24Options): DefaultField[] {
  return [
    field(
      'NAME',
      ['firstName', 'name'],
      'firstName; without it the second word of name (1C writes the surname first)',
    ),
    field('LAST_NAME', ['lastName', 'name'], 'lastName; without it the first word of name'),
    field('SECOND_NAME', ['middleName', 'name'], 'middleName; without it the rest of name'),
    field('POST', ['position'], 'position'),
    field('COMMENTS', ['comment'], 'comment'),
    multi('PHONE', 'phones'),
    multi('EMAIL', 'emails'),
    field('COMPANY_ID', ['counterpartyId'], 'the company of counterpartyId (company:<id>)'),
    ...requisiteFields(options),
    ...crmIdentity(options),
  ];
}

function companyFields(options: Bitrix24Options): DefaultField[] {
  return [
    field('TITLE', ['name'], 'name'),
    field('COMPANY_TYPE', [], '"CUSTOMER"'),
    field('COMMENTS', ['comment'], 'comment'),
    field('ADDRESS', ['addresses'], 'the value of the first legal or actual address'),
    multi('PHONE', 'phones'),
    multi('EMAIL', 'emails'),
    ...requisiteFields(options),
    ...crmIdentity(options),
  ];
}

function dealFields(options: Bitrix24Options): DefaultField[] {
  return [
    field('TITLE', ['number'], '"Заказ " & number (obmen\'s record id without a number)'),
    field('CATEGORY_ID', [], `${options.dealCategoryId} (options.dealCategoryId)`),
    field(
      'STAGE_ID',
      ['status', 'cancelled'],
      'status through the stage table (options.stageMap over seed 004); cancelled → LOSE',
    ),
    field('CURRENCY_ID', ['currency'], `currency, else "${options.currency}" (options.currency)`),
    field('OPPORTUNITY', ['totals.amount'], 'totals.amount'),
    field('IS_MANUAL_OPPORTUNITY', ['totals.amount'], '"Y" when totals.amount is given'),
    field('BEGINDATE', ['date'], 'date'),
    field('COMMENTS', ['comment'], 'comment'),
    field('SOURCE_DESCRIPTION', ['source'], 'source'),
    field('COMPANY_ID', ['customerId'], 'customerId when it is a company (company:<id>, or a plain id)'),
    field('CONTACT_IDS', ['customerId', 'contactId'], 'contactId, else customerId when it is a contact'),
    ...crmIdentity(options),
  ];
}

/**
 * crm.deal.productrows.set: not deal fields, so a mapping cannot override them and they are sent
 * with `extends: none` too (required).
 */
const DEAL_ROWS: DefaultField[] = (
  [
    field('PRODUCT_ID', ['lines[].productId'], "the product's Bitrix24 id"),
    field('PRODUCT_NAME', ['lines[].name'], 'lines[].name'),
    field(
      'PRICE',
      ['lines[].price', 'lines[].discount', 'lines[].quantity'],
      'price per unit after discount: price − discount / quantity',
    ),
    field('QUANTITY', ['lines[].quantity'], 'lines[].quantity (1 when absent)'),
    field('DISCOUNT_TYPE_ID', [], '1 (an amount)'),
    field('DISCOUNT_SUM', ['lines[].discount', 'lines[].quantity'], 'discount / quantity'),
    field('TAX_RATE', ['lines[].vatRate'], 'lines[].vatRate'),
    field('TAX_INCLUDED', ['lines[].vatRate'], '"Y" when vatRate is given'),
    field('SORT', [], '10, 20, 30… in line order'),
  ] as DefaultField[]
).map((row) => ({ ...row, required: true }));

/** The catalog.product table; a 1C-Bitrix site's REST writes the same, with its own iblock and xmlId rules. */
export function catalogProductFields(
  options: Pick<Bitrix24Options, 'productCode'>,
  rules: { iblockId: string; xmlId: string } = {
    iblockId: 'the catalogue (options.iblockId, else catalog.catalog.list)',
    xmlId: "obmen's record id",
  },
): DefaultField[] {
  return [
    field('iblockId', [], rules.iblockId, true),
    field('name', ['name'], 'name'),
    field('xmlId', [], rules.xmlId, true),
    ...(options.productCode === 'article'
      ? [field('code', ['article'], 'article (options.productCode: article)')]
      : []),
    field('active', ['deleted'], '"N" when deleted (or left the route\'s filter), else "Y"', true),
    field('previewText', ['description'], 'description'),
    field('weight', ['weight'], 'weight in grams (kg and t converted)'),
    field(
      'vatId',
      ['vatRate'],
      "the portal's id of that VAT rate (catalog.vat.list; a missing rate parks the product)",
    ),
    field('vatIncluded', [], '"Y"'),
  ];
}

function legacyProductFields(options: Bitrix24Options): DefaultField[] {
  return [
    field('NAME', ['name'], 'name'),
    field('XML_ID', [], "obmen's record id", true),
    field('ACTIVE', ['deleted'], '"N" when deleted (or left the route\'s filter), else "Y"', true),
    field('DESCRIPTION', ['description'], 'description'),
    field('CURRENCY_ID', [], `"${options.currency}" (options.currency)`),
  ];
}

const NO_ACTIVE_FLAG =
  'none: Bitrix24 CRM objects have no active flag and obmen never deletes them, so a deletion is written as an ordinary update and a record leaving the filter stays as it is';

export function bitrix24Defaults(entity: string, system: SystemConfig): TargetDefaults | undefined {
  const parsed = bitrix24OptionsSchema.safeParse(system.options ?? {});
  if (!parsed.success) return undefined;
  const options = parsed.data;
  switch (entity) {
    case 'counterparty':
      return {
        objects: [
          { object: 'crm.company', when: 'kind is not "person"', fields: companyFields(options) },
          { object: 'crm.contact', when: 'kind is "person"', fields: contactFields(options) },
        ],
        deletion: NO_ACTIVE_FLAG,
        deactivates: false,
        withoutDefaults: true,
      };
    case 'contact':
      return {
        objects: [{ object: 'crm.contact', fields: contactFields(options) }],
        deletion: NO_ACTIVE_FLAG,
        deactivates: false,
        withoutDefaults: true,
      };
    case 'order':
      return {
        objects: [
          { object: 'crm.deal', fields: dealFields(options) },
          {
            object: 'crm.deal.productrows',
            when: 'from lines[]; mapping fields do not reach them',
            fields: DEAL_ROWS,
          },
        ],
        deletion: NO_ACTIVE_FLAG,
        deactivates: false,
        withoutDefaults: true,
      };
    case 'product':
      return options.legacyProducts
        ? {
            objects: [{ object: 'crm.product', fields: legacyProductFields(options) }],
            deletion: 'ACTIVE = "N" (deactivated, never deleted: deals refer to it)',
            deactivates: true,
            withoutDefaults: true,
          }
        : {
            objects: [{ object: 'catalog.product', fields: catalogProductFields(options) }],
            deletion: 'active = "N" (deactivated, never deleted: deals refer to it)',
            deactivates: true,
            withoutDefaults: true,
          };
    case 'warehouse':
      return {
        objects: [],
        deletion: 'active = "N" on the store',
        deactivates: true,
        withoutDefaults: 'the bitrix24 connector has no published default table for warehouse',
      };
    case 'price':
    case 'price_type':
    case 'stock':
      return {
        objects: [],
        deletion: `none: a deletion of ${entity} is written as an ordinary update, and a record leaving the filter stays as it is`,
        deactivates: false,
        withoutDefaults: `the bitrix24 connector has no published default table for ${entity}`,
      };
    default:
      return undefined;
  }
}

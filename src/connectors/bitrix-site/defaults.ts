import type { SystemConfig } from '../../config/schema.ts';
import type { DefaultField, TargetDefaults } from '../../core/connector.ts';
import { catalogProductFields } from '../bitrix24/defaults.ts';
import { bitrixSiteOptionsSchema } from './spec.ts';

/**
 * The site connector's default conversion as data. A site is fed CommerceML built from the
 * canonical record, so a route mapping overrides canonical fields (`name`, `description`…) and
 * each of them becomes an element of the <Товар>; `XML_ID` sets the Ид. The writer is
 * formats/commerceml/write-catalog.ts; test/mapping-defaults.test.ts builds a package from a probe
 * product and checks that it holds exactly these elements, each from exactly these paths.
 */

const row = (field: string, key: string, from: string[], rule: string, required?: true): DefaultField => ({
  field,
  ...(key === field ? {} : { key }),
  from,
  rule,
  ...(required ? { required } : {}),
});

function productFields(version: string): DefaultField[] {
  const deletion =
    version === '3.1'
      ? row(
          'ПометкаУдаления',
          'deleted',
          ['deleted'],
          '"true" when deleted (or left the route\'s filter)',
          true,
        )
      : row(
          'Статус',
          'deleted',
          ['deleted'],
          'attribute "Удален" when deleted (or left the route\'s filter)',
          true,
        );
  return [
    row(
      'Ид',
      'XML_ID',
      [],
      "the site's id: its link, else the mapping's XML_ID, else the id in options.xmlIdFrom, else obmen's record id",
      true,
    ),
    deletion,
    row('Штрихкод', 'barcodes', ['barcodes'], 'one element per barcode'),
    row('Артикул', 'article', ['article'], 'article'),
    row('Наименование', 'name', ['name'], 'name'),
    row(
      'БазоваяЕдиница',
      'baseUnit',
      ['baseUnit', 'baseUnitId'],
      version === '3.1'
        ? "the unit's site id (baseUnitId), else baseUnit"
        : 'baseUnit (Код = code, НаименованиеПолное = name, text = shortName), else the unit id',
    ),
    row('Группы', 'groupId', ['groupId'], "the group's site id"),
    row('Описание', 'description', ['description'], 'description'),
    row('Картинка', 'images', ['images'], 'one element per image path'),
    row('Изготовитель', 'manufacturer', ['manufacturer'], 'manufacturer as Ид and Наименование'),
    row('ХарактеристикиТовара', 'characteristics', ['characteristics'], 'characteristics (name, value)'),
    row('ЗначенияСвойств', 'properties', ['properties'], "properties: the property's site id and the value"),
    row('СтавкиНалогов', 'vatRate', ['vatRate'], 'НДС at vatRate ("Без налога" for null)'),
    row(
      'ЗначенияРеквизитов',
      'attributes',
      ['attributes', 'fullName'],
      'attributes as name/value pairs, plus «Полное наименование» from fullName',
    ),
    row('Вес', 'weight', ['weight.value'], 'weight.value as given'),
  ];
}

export function bitrixSiteDefaults(entity: string, system: SystemConfig): TargetDefaults | undefined {
  const parsed = bitrixSiteOptionsSchema.safeParse(system.options ?? {});
  if (!parsed.success) return undefined;
  const { version } = parsed.data;
  // options.rest.catalog: goods are written with catalog.product (rest-catalog.ts), as to Bitrix24.
  if (entity === 'product' && parsed.data.rest?.catalog)
    return {
      objects: [
        {
          object: 'catalog.product',
          when: 'a variant (parentProductId) goes through the feed as the offer product#id',
          fields: [
            ...catalogProductFields(
              { productCode: 'none' },
              {
                iblockId: 'the goods catalog (options.rest.iblockId, else catalog.catalog.list)',
                xmlId:
                  "the site's XML_ID: its link, else the mapping's XML_ID, else the id in options.xmlIdFrom, else obmen's record id",
              },
            ),
            {
              field: 'iblockSectionId',
              from: ['groupId'],
              rule: "the site's section with the group's XML_ID (catalog.section.list); none when the site has no such section",
            },
          ],
        },
      ],
      deletion: 'active = "N" on the element (deactivated, never deleted: orders refer to it)',
      deactivates: true,
      withoutDefaults: true,
    };
  const mark = version === '3.1' ? 'ПометкаУдаления' : 'Статус="Удален"';
  switch (entity) {
    case 'product':
      return {
        objects: [
          {
            object: 'import.xml Товар',
            when: 'a variant (parentProductId) goes as the offer product#id',
            fields: productFields(version),
          },
        ],
        deletion: `${mark} on the Товар: the site deactivates the element (ACTIVE=N)`,
        deactivates: true,
        withoutDefaults: true,
      };
    case 'product_group':
      return {
        objects: [],
        deletion: `${mark} on the Группа: the site deactivates the section`,
        deactivates: true,
        withoutDefaults: 'the bitrix-site connector has no published default table for product_group',
      };
    case 'property':
      return {
        objects: [],
        deletion:
          version === '3.1'
            ? 'ПометкаУдаления on the Свойство (a record leaving the filter stays as it is: the property may still be in use)'
            : 'none: CommerceML 2.x has no deletion mark for a Свойство, so the property stays on the site',
        deactivates: false,
        withoutDefaults: 'the bitrix-site connector has no published default table for property',
      };
    case 'price_type':
    case 'warehouse':
    case 'price':
    case 'stock':
      return {
        objects: [],
        deletion: `none: the exchange has no way to remove ${entity === 'price' ? 'a price' : entity === 'stock' ? 'stock' : `a ${entity.replace('_', ' ')}`}, so a record leaving the filter stays as it is`,
        deactivates: false,
        withoutDefaults: `the bitrix-site connector has no published default table for ${entity}`,
      };
    case 'order':
      return {
        objects: [],
        deletion: "none: only status changes of the site's own orders are sent back",
        deactivates: false,
        withoutDefaults:
          'orders go back to the site as the CommerceML document of the order; mapping fields do not apply to it',
      };
    default:
      return undefined;
  }
}

import iconv from 'iconv-lite';
import type { OnecCommercemlSettings } from './spec.ts';

/**
 * The `type=sale&mode=info` answer as 1C-Bitrix gives it: a `Справочник` of order statuses,
 * payment systems and delivery services, which 1C shows when the exchange node maps its own
 * statuses. Bitrix's language file spells the statuses element with a Latin "C" (`Cтатусы`);
 * 1C looks for exactly that name, so it is kept.
 */
export function infoXml(settings: OnecCommercemlSettings): Buffer {
  const list = (tag: string, entries: ReadonlyArray<{ id: string; name: string }>, extra = '') =>
    `<${tag}>${entries
      .map(
        (e) =>
          `<Элемент><Ид>${escapeXml(e.id)}</Ид><Название>${escapeXml(e.name)}</Название>${extra}</Элемент>`,
      )
      .join('')}</${tag}>`;
  const xml =
    `<?xml version="1.0" encoding="${settings.encoding}"?>\n<Справочник>` +
    list('Cтатусы', settings.statuses) +
    list('ПлатежныеСистемы', settings.paymentSystems, '<ТипОплаты></ТипОплаты>') +
    list('СлужбыДоставки', settings.deliveryServices) +
    '</Справочник>\n';
  return iconv.encode(xml, settings.encoding);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

import { parseNumeric } from '../../core/entities/index.ts';

/** How 1C and Bitrix write simple values, turned into canonical ones. */

export { parseNumeric };

const TRUE = new Set(['true', 'истина', 'да', '1', 'y']);
const FALSE = new Set(['false', 'ложь', 'нет', '0', 'n']);

/** true / false as 1C ("true", "Истина") and Bitrix ("Y") write them; undefined when neither. */
export function parseBool(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const lower = value.trim().toLowerCase();
  if (TRUE.has(lower)) return true;
  if (FALSE.has(lower)) return false;
  return undefined;
}

/**
 * A VAT rate from СтавкаНалога/Ставка: "18", "20%", "10/110" → percent; "Без налога", "Без НДС"
 * → null (not subject to VAT, which differs from unknown); anything else → undefined.
 */
export function parseVatRate(value: string | undefined): number | null | undefined {
  if (value === undefined) return undefined;
  const lower = value.trim().toLowerCase();
  if (lower.startsWith('без')) return null;
  const match = lower.match(/^(\d+(?:[.,]\d+)?)\s*(?:%|\/\s*1\d\d)?$/);
  if (!match) return undefined;
  return Number(match[1]!.replace(',', '.'));
}

const ISO = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)([+-]\d{2}:?\d{2}|Z)?)?$/;
const RUSSIAN = /^(\d{2})\.(\d{2})\.(\d{4})(?:\s+(\d{1,2}:\d{2}(?::\d{2})?))?$/;

/**
 * A date as 1C and Bitrix write it ("2021-02-11", "2007-10-16 15:44:47", "11.02.2021 18:45:21",
 * "2017-08-04T12:22:01") in ISO form (local time, no zone added); undefined when unreadable.
 * 1C writes "0001-01-01" for "no date": that is undefined too.
 */
export function toIsoDate(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  let iso: string | undefined;
  const isoMatch = trimmed.match(ISO);
  if (isoMatch) {
    iso = isoMatch[2] === undefined ? isoMatch[1]! : `${isoMatch[1]}T${isoMatch[2]}${isoMatch[3] ?? ''}`;
  } else {
    const ru = trimmed.match(RUSSIAN);
    if (!ru) return undefined;
    const date = `${ru[3]}-${ru[2]}-${ru[1]}`;
    iso = ru[4] === undefined ? date : `${date}T${ru[4].replace(/^(\d):/, '0$1:')}`;
  }
  return iso.startsWith('0001-01-01') ? undefined : iso;
}

/** Документ/Дата + Документ/Время → one ISO date-time. */
export function joinDateTime(date: string | undefined, time: string | undefined): string | undefined {
  const day = toIsoDate(date);
  if (day === undefined) return undefined;
  if (time === undefined || day.includes('T') || !/^\d{2}:\d{2}(:\d{2})?$/.test(time.trim())) return day;
  return `${day}T${time.trim()}`;
}

/** 1C offer ids are `<product Ид>#<characteristic Ид>`; a trailing `#` means no characteristic. */
export function splitOfferId(id: string): { productId: string; characteristicId: string | undefined } {
  const hash = id.indexOf('#');
  if (hash < 0) return { productId: id, characteristicId: undefined };
  const characteristicId = id.slice(hash + 1);
  return {
    productId: id.slice(0, hash),
    characteristicId: characteristicId === '' ? undefined : characteristicId,
  };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a value is shaped like a 1C reference (a dictionary value's ИдЗначения). */
export function isGuid(value: string): boolean {
  return GUID.test(value);
}

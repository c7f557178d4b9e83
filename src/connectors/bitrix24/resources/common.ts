import type { DeliveryItem, ItemOutcome } from '../../../core/connector.ts';
import { ObmenError, permanentError } from '../../../core/errors.ts';
import type { BatchCommand, BatchOutcome, Bitrix24Client } from '../client.ts';
import { MAX_BATCH } from '../client.ts';
import type { Bitrix24Options } from '../spec.ts';
import type { UserFields } from './userfield.ts';
import type { VatRates } from './vat.ts';

/**
 * What the catalogue writers (product, price, price type, stock, warehouse) need. A 1C-Bitrix
 * site's REST serves the same catalog.* module, so the site connector builds one of these over
 * its own client (connectors/bitrix-site/rest-catalog.ts).
 */
export interface CatalogContext {
  client: Bitrix24Client;
  system: string;
  options: Pick<
    Bitrix24Options,
    'legacyProducts' | 'productCode' | 'currency' | 'defaultStoreId' | 'responsibleId' | 'idField'
  >;
  /** The portal's VAT rates (catalog.vat.list), read once: canonical rate → vatId. */
  vatRates: VatRates;
  /** The product catalogue's iblockId (option or catalog.catalog.list), looked up once. */
  iblockId(): Promise<number>;
  /**
   * The xmlId an object (product, price type, store) is found by and written with. Bitrix24 keeps
   * obmen's record id there; a site keeps its XML_ID (1C's Ид), which its CommerceML feed uses too.
   */
  xmlIdOf?(item: DeliveryItem): string;
}

/** What every resource writer gets. */
export interface ResourceContext extends CatalogContext {
  options: Bitrix24Options;
  userFields: UserFields;
}

/** The xmlId of an object in the target: the context's rule, else obmen's record id. */
export const xmlIdOf = (ctx: CatalogContext, item: DeliveryItem): string =>
  ctx.xmlIdOf ? ctx.xmlIdOf(item) : item.recordId;

export const ok = (item: DeliveryItem, externalId: string | number): ItemOutcome => ({
  recordId: item.recordId,
  ok: true,
  externalId: String(externalId),
});

export const failed = (item: DeliveryItem, error: ObmenError): ItemOutcome => ({
  recordId: item.recordId,
  ok: false,
  error,
});

/** The portal's own message, prefixed with the object it was about. */
export function itemError(
  ctx: Pick<CatalogContext, 'system'>,
  item: DeliveryItem,
  error: ObmenError,
): ObmenError {
  const object = `${item.entity} ${item.recordId}`;
  if (error.message.includes(object)) return error;
  return new ObmenError(
    error.errorClass,
    error.message.replace(`${ctx.system}: `, `${ctx.system}: ${object}: `),
    {
      system: ctx.system,
      ...(error.code === undefined ? {} : { code: error.code }),
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
      ...(error.detail === undefined ? {} : { detail: error.detail }),
    },
  );
}

export function invalid(ctx: Pick<CatalogContext, 'system'>, item: DeliveryItem, what: string): ObmenError {
  return permanentError(`${ctx.system}: ${item.entity} ${item.recordId}: ${what}`, {
    system: ctx.system,
    code: 'INVALID_DATA',
  });
}

/**
 * Packs command groups into batches of at most 50 commands, never splitting a group: a group's
 * later commands refer to its first one with $result[…], which only works inside one batch.
 */
export function pack(groups: BatchCommand[][]): BatchCommand[][] {
  const batches: BatchCommand[][] = [];
  let current: BatchCommand[] = [];
  for (const group of groups) {
    if (group.length > MAX_BATCH)
      throw new Error(`a command group of ${group.length} does not fit one batch`);
    if (current.length + group.length > MAX_BATCH) {
      batches.push(current);
      current = [];
    }
    current.push(...group);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

export async function runGroups(
  ctx: Pick<CatalogContext, 'client'>,
  groups: BatchCommand[][],
): Promise<Map<string, BatchOutcome>> {
  const all = new Map<string, BatchOutcome>();
  for (const batch of pack(groups)) for (const [k, v] of await ctx.client.batch(batch)) all.set(k, v);
  return all;
}

/**
 * Route-mapping overrides (DeliveryItem.fields) win over the default conversion, field by field.
 * With `extends: none` (item.withoutDefaults) only the `required` fields of the defaults stay
 * (defaults.ts: the ids obmen finds the object by again, the active flag).
 */
export function merged(
  defaults: Record<string, unknown>,
  item: DeliveryItem,
  required?: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keep = item.withoutDefaults && required ? new Set(required) : undefined;
  for (const [k, v] of Object.entries(defaults)) if (v !== undefined && (!keep || keep.has(k))) out[k] = v;
  return { ...out, ...(item.fields ?? {}) };
}

export const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v.trim() ? v.trim() : typeof v === 'number' ? String(v) : undefined;
export const num = (v: unknown): number | undefined => {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
};

/** The numeric id from a result that may be `12`, `"12"`, `{element:{id:12}}`… */
export function idFrom(result: unknown, ...path: string[]): string | undefined {
  let value: unknown = result;
  for (const key of path)
    value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  if (typeof value === 'number' || (typeof value === 'string' && value !== '')) return String(value);
  return undefined;
}

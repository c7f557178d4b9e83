import type { DeliveryItem, ItemOutcome } from '../../../core/connector.ts';
import { type ObmenError, transientError } from '../../../core/errors.ts';
import type { BatchCommand } from '../client.ts';
import { ref } from '../query.ts';
import { fieldsToAdd, fieldsToUpdate } from './changes.ts';
import { failed, idFrom, itemError, ok, type ResourceContext, runGroups, str } from './common.ts';
import { MULTI_FIELDS } from './multifield.ts';

/** A contact or company ready to write: Bitrix24 fields plus what duplicate search and requisites need. */
export interface PartyWrite {
  item: DeliveryItem;
  fields: Record<string, unknown>;
  phones: string[];
  emails: string[];
  inn?: string;
  kpp?: string;
}

const TYPE_ID = { contact: 3, company: 4 } as const;

/**
 * Writes contacts or companies: find each object (known id → ORIGIN_ID → duplicate search by
 * phone/e-mail), then add or update in batches, with its requisite (INN/KPP) in the same batch
 * through a $result reference. An update sends only what differs from the object as the portal
 * holds it (changes.ts): phones and e-mails as by-ID changes, since Bitrix24 ADDS values sent
 * without an ID; an object that already holds everything gets no write at all.
 */
export async function writeParties(
  ctx: ResourceContext,
  entity: 'contact' | 'company',
  writes: PartyWrite[],
  externalIdOf: (id: string) => string,
): Promise<ItemOutcome[]> {
  const { client, options } = ctx;
  const outcomes = new Map<string, ItemOutcome>();
  const idOf = new Map<string, string>();
  for (const w of writes) {
    if (w.item.externalId) idOf.set(w.item.recordId, w.item.externalId.replace(/^(contact|company):/, ''));
  }

  // 1. Objects obmen created before but whose outcome was never recorded (crash): ORIGIN_ID.
  const unknown = writes.filter((w) => !idOf.has(w.item.recordId));
  if (unknown.length > 0) {
    const found = await client.listAll(
      `crm.${entity}.list`,
      {
        filter: { ORIGINATOR_ID: options.originatorId, '@ORIGIN_ID': unknown.map((w) => w.item.recordId) },
        select: ['ID', 'ORIGIN_ID'],
      },
      (r) => (Array.isArray(r) ? r : []) as Array<{ ID: string; ORIGIN_ID: string }>,
    );
    for (const row of found) idOf.set(String(row.ORIGIN_ID), String(row.ID));
  }

  // 2. The same person/company entered by hand in Bitrix24: duplicate search by phone/e-mail.
  const existing = new Map<string, Record<string, unknown>>();
  const searchable = writes.filter(
    (w) => !idOf.has(w.item.recordId) && (w.phones.length > 0 || w.emails.length > 0),
  );
  if (options.findDuplicates && searchable.length > 0) {
    const commands: BatchCommand[] = [];
    for (const [i, w] of searchable.entries()) {
      if (w.phones.length > 0)
        commands.push({
          key: `p${i}`,
          method: 'crm.duplicate.findbycomm',
          params: { type: 'PHONE', values: w.phones.slice(0, 20), entity_type: entity.toUpperCase() },
        });
      if (w.emails.length > 0)
        commands.push({
          key: `e${i}`,
          method: 'crm.duplicate.findbycomm',
          params: { type: 'EMAIL', values: w.emails.slice(0, 20), entity_type: entity.toUpperCase() },
        });
    }
    const results = await client.batchAll(commands);
    for (const [i, w] of searchable.entries()) {
      for (const key of [`p${i}`, `e${i}`]) {
        const r = results.get(key);
        if (!r?.ok || !r.result || Array.isArray(r.result)) continue;
        const ids = (r.result as Record<string, unknown>)[entity.toUpperCase()];
        if (Array.isArray(ids) && ids.length > 0 && !idOf.has(w.item.recordId))
          idOf.set(w.item.recordId, String(Math.min(...ids.map(Number))));
      }
    }
  }

  // Fields Bitrix24 owns (`ownership:`) stay as they are there: updates leave them out.
  for (const [i, w] of writes.entries())
    if (w.item.ownedFields && idOf.has(w.item.recordId)) writes[i] = withoutOwnedFields(ctx, entity, w);

  // Objects we update, as the portal holds them (with the IDs of their multi-field values).
  const toUpdate = writes.filter((w) => idOf.has(w.item.recordId));
  if (toUpdate.length > 0) {
    const rows = await client.listAll(
      `crm.${entity}.list`,
      {
        filter: { '@ID': toUpdate.map((w) => idOf.get(w.item.recordId)) },
        select: ['*', 'UF_*', ...MULTI_FIELDS],
      },
      (r) => (Array.isArray(r) ? r : []) as Array<Record<string, unknown>>,
    );
    for (const row of rows) existing.set(String(row['ID']), row);
  }

  // Requisites of objects that already exist, to update instead of adding a second one.
  const requisiteOf = new Map<string, Record<string, unknown>>();
  const withRequisites = options.requisites === 'requisite' ? writes.filter((w) => w.inn || w.kpp) : [];
  const knownIds = withRequisites
    .map((w) => idOf.get(w.item.recordId))
    .filter((id): id is string => Boolean(id));
  if (knownIds.length > 0) {
    const rows = await client.listAll(
      'crm.requisite.list',
      {
        filter: { ENTITY_TYPE_ID: TYPE_ID[entity], '@ENTITY_ID': knownIds },
        select: ['ID', 'ENTITY_ID', 'RQ_INN', 'RQ_KPP'],
      },
      (r) => (Array.isArray(r) ? r : []) as Array<Record<string, unknown>>,
    );
    for (const row of rows)
      if (!requisiteOf.has(String(row['ENTITY_ID']))) requisiteOf.set(String(row['ENTITY_ID']), row);
  }

  await ctx.userFields.ensure(
    entity,
    writes.flatMap((w) => Object.keys(w.fields)),
  );

  const groups: BatchCommand[][] = [];
  for (const [i, w] of writes.entries()) {
    const id = idOf.get(w.item.recordId);
    const fields = id ? fieldsToUpdate(existing.get(id), w.fields) : fieldsToAdd(w.fields);
    const group: BatchCommand[] = [];
    if (!id) group.push({ key: `w${i}`, method: `crm.${entity}.add`, params: { fields } });
    else if (Object.keys(fields).length > 0)
      group.push({ key: `w${i}`, method: `crm.${entity}.update`, params: { id, fields } });
    if (withRequisites.includes(w)) {
      const rq: Record<string, unknown> = { RQ_INN: w.inn ?? '', RQ_KPP: w.kpp ?? '' };
      const existingRq = id ? requisiteOf.get(id) : undefined;
      if (existingRq) {
        const changed = fieldsToUpdate(existingRq, rq);
        if (Object.keys(changed).length > 0)
          group.push({
            key: `r${i}`,
            method: 'crm.requisite.update',
            params: { id: String(existingRq['ID']), fields: changed },
          });
      } else {
        group.push({
          key: `r${i}`,
          method: 'crm.requisite.add',
          params: {
            fields: {
              ...rq,
              ENTITY_TYPE_ID: TYPE_ID[entity],
              ENTITY_ID: id ?? ref(`w${i}`),
              PRESET_ID: options.requisitePresetId,
              NAME: str(w.fields['TITLE']) ?? str(w.fields['LAST_NAME']) ?? 'Реквизит',
            },
          },
        });
      }
    }
    if (group.length > 0) groups.push(group);
  }
  const results = await runGroups(ctx, groups);
  for (const [i, w] of writes.entries()) {
    const known = idOf.get(w.item.recordId);
    // An object that already held everything was not written: its outcome is its id.
    const main = results.get(`w${i}`) ?? (known ? { ok: true as const, result: true } : undefined);
    if (!main || !main.ok) {
      outcomes.set(
        w.item.recordId,
        failed(w.item, itemError(ctx, w.item, main && !main.ok ? main.error : noResult(ctx))),
      );
      continue;
    }
    const rq = results.get(`r${i}`);
    if (rq && !rq.ok) {
      outcomes.set(w.item.recordId, failed(w.item, itemError(ctx, w.item, rq.error)));
      continue;
    }
    const id = idOf.get(w.item.recordId) ?? idFrom(main.result);
    outcomes.set(w.item.recordId, id ? ok(w.item, externalIdOf(id)) : failed(w.item, noResult(ctx)));
  }
  return writes.map((w) => outcomes.get(w.item.recordId)!);
}

/** Bitrix24 fields written from each canonical field, per object type. */
const TARGET_FIELDS: Record<'contact' | 'company', Record<string, readonly string[]>> = {
  company: {
    name: ['TITLE'],
    comment: ['COMMENTS'],
    addresses: ['ADDRESS'],
    phones: ['PHONE'],
    emails: ['EMAIL'],
  },
  contact: {
    name: ['NAME', 'LAST_NAME', 'SECOND_NAME'],
    firstName: ['NAME'],
    lastName: ['LAST_NAME'],
    middleName: ['SECOND_NAME'],
    position: ['POST'],
    comment: ['COMMENTS'],
    counterpartyId: ['COMPANY_ID'],
    phones: ['PHONE'],
    emails: ['EMAIL'],
  },
};

/**
 * An update without the fields Bitrix24 owns (DeliveryItem.ownedFields), so a value changed in
 * the portal while obmen's write was under way is not overwritten. INN and KPP live in one
 * requisite: owning either keeps the requisite as it is. Route-mapping fields are sent as written.
 */
export function withoutOwnedFields(
  ctx: ResourceContext,
  entity: 'contact' | 'company',
  write: PartyWrite,
): PartyWrite {
  const owned = new Set(write.item.ownedFields ?? []);
  if (owned.size === 0) return write;
  const leftOut = new Set<string>();
  for (const field of owned) for (const target of TARGET_FIELDS[entity][field] ?? []) leftOut.add(target);
  if (owned.has('inn')) leftOut.add(ctx.options.innField);
  if (owned.has('kpp')) leftOut.add(ctx.options.kppField);
  const mapped = write.item.fields ?? {};
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(write.fields))
    if (!leftOut.has(key) || key in mapped) fields[key] = value;
  const { inn, kpp, ...rest } = write;
  const requisite =
    owned.has('inn') || owned.has('kpp') ? {} : { ...(inn ? { inn } : {}), ...(kpp ? { kpp } : {}) };
  return { ...rest, fields, ...requisite };
}

function noResult(ctx: ResourceContext): ObmenError {
  return transientError(`${ctx.system}: Bitrix24 returned no id for the object; it will be sent again`, {
    system: ctx.system,
    code: 'NO_RESULT',
  });
}

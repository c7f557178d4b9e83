import type { SourceConfig } from '../../config/schema.ts';
import type { SourceItem } from '../../core/connector.ts';
import { ingest } from '../../engine/ingest.ts';
import { mapSourceItems } from '../../engine/route-mapping.ts';
import type { Runtime } from '../../engine/runtime.ts';
import type { ResourceContext } from './resources/common.ts';
import { fetchByIds, kindOf, type SourceKind, toSourceItems } from './source.ts';

export const INBOX_KIND = 'bitrix24.event';

/** The CRM events obmen binds (event.bind) and accepts. */
export const CRM_EVENTS = [
  'ONCRMCONTACTADD',
  'ONCRMCONTACTUPDATE',
  'ONCRMCONTACTDELETE',
  'ONCRMCOMPANYADD',
  'ONCRMCOMPANYUPDATE',
  'ONCRMCOMPANYDELETE',
  'ONCRMDEALADD',
  'ONCRMDEALUPDATE',
  'ONCRMDEALDELETE',
];

/** Catalog product events (api-reference/catalog/product/events): the id and the product TYPE. */
export const CATALOG_EVENTS = [
  'CATALOG.PRODUCT.ON.ADD',
  'CATALOG.PRODUCT.ON.UPDATE',
  'CATALOG.PRODUCT.ON.DELETE',
];

export const EVENTS = [...CRM_EVENTS, ...CATALOG_EVENTS];

/** An event as the inbox keeps it: what Bitrix24 posted, less the auth block. */
export interface StoredEvent {
  event: string;
  id: string;
  ts?: string | null;
  /** data[FIELDS][TYPE] of catalog events: 1 simple product, 3/6 parent, 4/5 variation, 7 service. */
  type?: string | null;
}

export function eventKind(event: string): { kind: SourceKind; deleted: boolean } | undefined {
  const name = event.toUpperCase();
  const crm = /^ONCRM(CONTACT|COMPANY|DEAL)(ADD|UPDATE|DELETE)$/.exec(name);
  if (crm) return { kind: crm[1]!.toLowerCase() as SourceKind, deleted: crm[2] === 'DELETE' };
  const catalog = /^CATALOG\.PRODUCT\.ON\.(ADD|UPDATE|DELETE)$/.exec(name);
  if (catalog) return { kind: 'product', deleted: catalog[1] === 'DELETE' };
  return undefined;
}

const OTHER_PRODUCT_TYPES: Record<string, string> = {
  '3': 'a parent product with variations',
  '4': 'a variation',
  '5': 'a variation without a product',
  '6': 'a parent product without variations',
  '7': 'a service',
};

/** Why an event is not ingested although it is valid; undefined when it is. */
function ignoredBecause(kind: SourceKind, type: string | null | undefined): string | undefined {
  if (kind !== 'product' || !type || type === '1') return undefined;
  return `ignored: product TYPE ${type} is ${OTHER_PRODUCT_TYPES[type] ?? 'not a simple product'}; obmen reads simple products (TYPE 1)`;
}

/** What became of one inbox row. */
export interface EventOutcome {
  state: 'processed' | 'failed';
  /** Why it failed, or why it was ignored. */
  note: string | null;
}

interface PendingObject {
  deleted: boolean;
  rows: number[];
}

/**
 * Processes stored events (oldest first): per object the newest event decides — the object is
 * fetched as it is now (events carry only the id), or deleted — and objects of one kind are
 * fetched 50 per batch call, so a burst of events (obmen's own writes echoing back) costs a
 * fraction of the calls. Each fetched object goes through the source's mapping, exactly as a
 * pull does, and is ingested into every source of the system reading that kind. Rows of a kind
 * whose fetch hit transient trouble get no outcome: they stay for the next pass.
 */
export async function processEventRows(
  runtime: Runtime,
  system: string,
  resources: ResourceContext,
  rows: Array<{ id: number; payload: string }>,
): Promise<Map<number, EventOutcome>> {
  const outcomes = new Map<number, EventOutcome>();
  const byKind = new Map<SourceKind, Map<string, PendingObject>>();
  for (const row of rows) {
    const stored = JSON.parse(row.payload) as StoredEvent;
    const what = eventKind(stored.event);
    if (!what) {
      outcomes.set(row.id, { state: 'failed', note: `unsupported event ${stored.event}` });
      continue;
    }
    const ignored = ignoredBecause(what.kind, stored.type);
    if (ignored) {
      outcomes.set(row.id, { state: 'processed', note: ignored });
      continue;
    }
    const objects = byKind.get(what.kind) ?? new Map<string, PendingObject>();
    byKind.set(what.kind, objects);
    const object = objects.get(stored.id) ?? { deleted: false, rows: [] };
    object.deleted = what.deleted;
    object.rows.push(row.id);
    objects.set(stored.id, object);
  }
  for (const [kind, objects] of byKind) {
    let notes: Map<string, EventOutcome>;
    try {
      notes = await ingestObjects(runtime, system, resources, kind, objects);
    } catch (caught) {
      const message = (caught as Error).message;
      // Transient trouble (network, limits): the rows stay "received" for the next pass.
      if ((caught as { retryable?: boolean }).retryable) {
        runtime.log.warn({ system, kind, err: message }, 'bitrix24 events will be retried');
        continue;
      }
      notes = new Map([...objects.keys()].map((id) => [id, { state: 'failed', note: message }]));
    }
    for (const [id, object] of objects)
      for (const rowId of object.rows)
        outcomes.set(rowId, notes.get(id) ?? { state: 'processed', note: null });
  }
  return outcomes;
}

/** Deletions carry the same external id as reads: companies and person counterparties are prefixed. */
function externalIdOf(kind: SourceKind, source: SourceConfig, id: string): string {
  if (kind === 'company') return `company:${id}`;
  if (kind === 'contact' && source.entity === 'counterparty') return `contact:${id}`;
  return id;
}

async function ingestObjects(
  runtime: Runtime,
  system: string,
  resources: ResourceContext,
  kind: SourceKind,
  objects: Map<string, PendingObject>,
): Promise<Map<string, EventOutcome>> {
  const notes = new Map<string, EventOutcome>();
  const sources = runtime.sources.filter((s) => {
    if (s.system !== system) return false;
    try {
      return kindOf(s.entity, s.options) === kind;
    } catch {
      return false;
    }
  });
  if (sources.length === 0) {
    const note = `ignored: no source reads Bitrix24 ${kind} from system ${system}`;
    for (const id of objects.keys()) notes.set(id, { state: 'processed', note });
    return notes;
  }
  const changed = [...objects].filter(([, o]) => !o.deleted).map(([id]) => id);
  const deleted = [...objects].filter(([, o]) => o.deleted).map(([id]) => id);
  const { found, missing } =
    changed.length > 0 ? await fetchByIds(resources, kind, changed) : { found: [], missing: [] };
  for (const id of missing)
    notes.set(id, { state: 'processed', note: `ignored: ${kind} ${id} no longer exists in Bitrix24` });

  for (const source of sources) {
    const read = await toSourceItems(resources, kind, source.entity, found);
    const items: SourceItem[] = [
      ...deleted.map((id) => ({ externalId: externalIdOf(kind, source, id), data: {}, deleted: true })),
      ...read,
    ];
    if (items.length === 0) continue;
    const mapping = runtime.sourceMappings.get(source.name);
    const mapped = mapping ? await mapSourceItems(mapping, items) : { items, skipped: 0, invalid: [] };
    const result =
      mapped.items.length > 0
        ? await ingest(runtime.ingest, { system, entity: source.entity, items: mapped.items })
        : { invalid: [] };
    const problems = [
      ...mapped.invalid,
      ...result.invalid.map((bad) => ({
        externalId: bad.externalId,
        message: `${bad.externalId}: ${bad.message}`,
      })),
    ];
    for (const bad of problems) {
      const id = bad.externalId.replace(/^(company|contact):/, '');
      // A mapping may compute another external id: then the message goes to every object.
      const owners = objects.has(id) ? [id] : [...objects.keys()];
      for (const owner of owners) {
        const previous = notes.get(owner)?.note;
        notes.set(owner, { state: 'failed', note: previous ? `${previous}; ${bad.message}` : bad.message });
      }
    }
  }
  return notes;
}

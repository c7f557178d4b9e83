import type { ReadRequest, SourceBatch, SourceItem } from '../../core/connector.ts';
import type { OnecODataClient } from './client.ts';
import { andFilters, datetimeLiteral, guidLiteral, stringLiteral } from './query.ts';
import { type OnecResource, resourceFor, setBase } from './resources/index.ts';
import { date } from './resources/values.ts';
import { type OnecSourceOptions, onecSourceOptionsSchema, parseOptions } from './spec.ts';
import { fingerprint, KeyList, VersionSet, versionToken } from './versions.ts';

const DATE_CURSOR = 'dt1:';

/**
 * Reads one entity set page by page ($top/$skip with a stable $orderby: 1C sends no next link).
 *
 * Change detection:
 * - with `dateField`: only objects with dateField ≥ the last date seen (the boundary second is
 *   read again: several objects share a second; ingest drops the ones already stored);
 * - otherwise every poll walks the set and compares each object's DataVersion with the
 *   fingerprints kept in the cursor; unchanged objects are dropped before conversion, so a
 *   re-poll of an unchanged catalog builds no canonical data and creates no versions (after
 *   the first poll, pages are listed as Ref_Key + DataVersion and only changed objects are
 *   fetched in full). The cursor also keeps the ids listed, so what the next poll no longer
 *   lists is noticed: a stock row gone to zero, an object deleted physically in 1C. That
 *   cursor is saved once, with the last batch: a poll cut short starts over (nothing is lost,
 *   changed objects are simply read again, and nothing is taken for deleted).
 */
export async function* readOnec(
  client: OnecODataClient,
  systemName: string,
  request: ReadRequest,
): AsyncGenerator<SourceBatch> {
  const { source } = request;
  const options = parseOptions(onecSourceOptionsSchema, source.options, `sources.${source.name}`, systemName);
  const resource = resourceFor(source.entity, options.entitySet, systemName);
  const path = readPath(options.entitySet ?? resource.entitySet, options);
  const entitySet = setBase(path);
  const pageSize = options.pageSize ?? source.batchSize;
  const select = selectList(options, resource);
  const cursor = request.full ? undefined : request.cursor;

  if (options.dateField) {
    const field = options.dateField;
    let since = cursor?.startsWith(DATE_CURSOR) ? cursor.slice(DATE_CURSOR.length) : undefined;
    const filter = andFilters(
      resource.filter,
      options.filter,
      since ? `${field} ge ${datetimeLiteral(since)}` : undefined,
    );
    const orderBy = `${field} asc,${resource.orderBy}`;
    for (let skip = 0; ; ) {
      const page = await client.list(path, { select, filter, orderBy, top: pageSize, skip }, entitySet);
      const items = page.value.map((raw) => toItem(resource, raw));
      for (const raw of page.value) {
        const seen = date(raw[field]);
        if (seen && (!since || seen > since)) since = seen;
      }
      yield { items, ...(since ? { cursor: DATE_CURSOR + since } : {}) };
      if (page.value.length < pageSize) return;
      skip += page.value.length;
    }
  }

  const known = VersionSet.decode(cursor);
  const seen = new VersionSet();
  const filter = andFilters(resource.filter, options.filter);
  const page = { select, filter, orderBy: resource.orderBy, top: pageSize };
  // With versions from a previous poll and a Ref_Key-keyed set, each page is first listed as
  // Ref_Key + DataVersion only (≈ 100 bytes per object instead of kilobytes; 1C builds full
  // objects slowly) and only changed objects are fetched in full.
  const keyed = known.size > 0 && resource.orderBy === 'Ref_Key';
  // Every id this poll lists goes into the cursor, so the next poll can tell which are gone:
  // objects (by Ref_Key) and Balance rows; a SliceLast price row needs no such memory.
  const tracksKeys = resource.vanished !== undefined || resource.orderBy === 'Ref_Key';
  const listedKeys = new KeyList();
  let pending: SourceItem[] = [];
  for (let skip = 0; ; ) {
    const listed = keyed
      ? await client.list(path, { ...page, select: ['Ref_Key', 'DataVersion'], skip }, entitySet)
      : await client.list(path, { ...page, skip }, entitySet);
    if (pending.length > 0) yield { items: pending };
    pending = [];
    const changed: Array<Record<string, unknown>> = [];
    for (const raw of listed.value) {
      const id = resource.externalId(raw) ?? '';
      if (tracksKeys && id !== '') listedKeys.add(id);
      const print = fingerprint(id, versionToken(raw));
      if (id !== '' && known.has(print)) seen.add(print);
      else changed.push(raw);
    }
    const full = keyed
      ? await fetchChanged(client, path, entitySet, page, skip, changed, listed.value.length)
      : changed;
    for (const raw of full) {
      seen.add(fingerprint(resource.externalId(raw) ?? '', versionToken(raw)));
      pending.push(toItem(resource, raw));
    }
    if (listed.value.length < pageSize) break;
    skip += listed.value.length;
  }
  if (!tracksKeys) {
    yield { items: pending, cursor: seen.encode() };
    return;
  }
  // The whole set was walked without an error (an error ends the read above, and with it any
  // idea of what is gone): ids the last poll listed and this one did not.
  const missing = listedKeys.missingFrom(cursor);
  if (resource.vanished) {
    // Rows of the last poll missing now (stock gone to zero) are reported with their zero value.
    for (const id of missing) {
      const data = resource.vanished(id);
      if (data) pending.push({ externalId: id, data, deleted: false });
    }
  } else {
    // Objects deleted physically in 1C (not just marked): each is confirmed by asking for its
    // Ref_Key, so a short list (an object that left options.filter, a page 1C cut) deletes nothing.
    for (const id of await confirmGone(client, path, entitySet, missing)) {
      pending.push({ externalId: id, data: {}, deleted: true });
    }
  }
  yield { items: pending, cursor: seen.encode(listedKeys.storable ? listedKeys : undefined) };
}

/**
 * The ids 1C no longer has: asked by `Ref_Key eq guid'…' or …` without the source's filters;
 * what 1C does not return is gone.
 */
async function confirmGone(
  client: OnecODataClient,
  path: string,
  entitySet: string,
  ids: string[],
): Promise<string[]> {
  const gone: string[] = [];
  for (let i = 0; i < ids.length; i += REFS_PER_REQUEST) {
    const part = ids.slice(i, i + REFS_PER_REQUEST);
    const chain = part.map((ref) => `Ref_Key eq ${guidLiteral(ref)}`).join(' or ');
    const found = await client.list(
      path,
      { select: ['Ref_Key'], filter: chain, orderBy: 'Ref_Key', top: undefined },
      entitySet,
    );
    const present = new Set(found.value.map((raw) => String(raw['Ref_Key']).toLowerCase()));
    for (const id of part) if (!present.has(id.toLowerCase())) gone.push(id);
  }
  return gone;
}

/** Ref_Keys per `or` chain: ≈ 60 characters each keeps the URL near 3 KB, as 1C clients do. */
const REFS_PER_REQUEST = 40;

/**
 * Full objects for the changed rows of a keys-only page: the same page again when much of it
 * changed, otherwise `Ref_Key eq guid'…' or …` chains.
 */
async function fetchChanged(
  client: OnecODataClient,
  path: string,
  entitySet: string,
  page: { select: string[] | undefined; filter: string | undefined; orderBy: string; top: number },
  skip: number,
  changed: Array<Record<string, unknown>>,
  listed: number,
): Promise<Array<Record<string, unknown>>> {
  if (changed.length === 0) return [];
  const wanted = new Set(changed.map((raw) => String(raw['Ref_Key'])));
  if (changed.length > Math.max(REFS_PER_REQUEST, listed / 4)) {
    const again = await client.list(path, { ...page, skip }, entitySet);
    return again.value.filter((raw) => wanted.has(String(raw['Ref_Key'])));
  }
  const rows: Array<Record<string, unknown>> = [];
  const refs = [...wanted];
  for (let i = 0; i < refs.length; i += REFS_PER_REQUEST) {
    const chain = refs
      .slice(i, i + REFS_PER_REQUEST)
      .map((ref) => `Ref_Key eq ${guidLiteral(ref)}`)
      .join(' or ');
    const found = await client.list(
      path,
      { ...page, filter: andFilters(page.filter, chain), top: undefined },
      entitySet,
    );
    rows.push(...found.value);
  }
  return rows;
}

function toItem(resource: OnecResource, raw: Record<string, unknown>): SourceItem {
  const { data, deleted } = resource.toCanonical(raw);
  return { externalId: resource.externalId(raw) ?? '', data, deleted, raw };
}

/** The fields the reader itself needs are always selected: the key, DataVersion, DeletionMark. */
function selectList(options: OnecSourceOptions, resource: OnecResource): string[] | undefined {
  if (options.select === undefined) return undefined;
  const fields = (Array.isArray(options.select) ? options.select : options.select.split(','))
    .map((field) => field.trim())
    .filter(Boolean);
  const needed = resource.orderBy.split(',').map((field) => field.trim());
  if (resource.orderBy === 'Ref_Key') needed.push('DataVersion', 'DeletionMark');
  if (options.dateField) needed.push(options.dateField);
  for (const field of needed) if (!fields.includes(field)) fields.push(field);
  return fields;
}

/** Adds Period/Condition to a virtual table (`…/SliceLast` → `…/SliceLast(Period=…,Condition='…')`). */
function readPath(entitySet: string, options: OnecSourceOptions): string {
  if (!entitySet.includes('/') || entitySet.endsWith(')')) return entitySet;
  const params: string[] = [];
  if (options.period) params.push(`Period=${datetimeLiteral(options.period)}`);
  if (options.condition) params.push(`Condition=${stringLiteral(options.condition)}`);
  return `${entitySet}(${params.join(',')})`;
}

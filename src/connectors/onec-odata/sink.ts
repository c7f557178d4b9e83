import type { RouteConfig } from '../../config/schema.ts';
import type { DeliveryItem, ItemOutcome } from '../../core/connector.ts';
import { classify, ObmenError } from '../../core/errors.ts';
import type { OnecODataClient } from './client.ts';
import { entityPath, equalsAll, isGuid } from './query.ts';
import { type OnecResource, resourceFor } from './resources/index.ts';
import { type OnecRouteOptions, onecRouteOptionsSchema, parseOptions } from './spec.ts';

/**
 * Writes items one by one (1C takes one object per request): PATCH when the object's Ref_Key
 * is known, otherwise look it up by the route's match fields and PATCH what an earlier attempt
 * created, else POST; documents are then posted with /Post. A create that timed out may have
 * happened in 1C: the next attempt finds it by the match fields instead of creating it twice.
 *
 * A refusal of one object (1C business error, bad data) is that item's outcome and the batch
 * goes on. When 1C itself is unwell (timeout, 5xx, credentials) the remaining items are not
 * tried and get the same error, so a down server costs one timeout, not one per item.
 */
export async function writeOnec(
  client: OnecODataClient,
  systemName: string,
  route: RouteConfig,
  items: DeliveryItem[],
): Promise<ItemOutcome[]> {
  const options = parseOptions(onecRouteOptionsSchema, route.options, `routes.${route.name}`, systemName);
  const resource = resourceFor(route.entity, options.entitySet, systemName);
  const entitySet = options.entitySet ?? resource.entitySet;
  const post = options.post ?? entitySet.startsWith('Document_');
  const outcomes: ItemOutcome[] = [];
  let halted: ObmenError | undefined;
  for (const item of items) {
    if (halted) {
      outcomes.push({ recordId: item.recordId, ok: false, error: halted });
      continue;
    }
    try {
      const externalId = await writeOne(client, resource, entitySet, options, post, item);
      outcomes.push({ recordId: item.recordId, ok: true, externalId });
    } catch (caught) {
      const error = classify(caught, systemName);
      const object = `${item.entity} ${item.recordId}`;
      const itemError = new ObmenError(error.errorClass, `${object}: ${error.message}`, {
        system: systemName,
        code: error.code,
        detail: error.detail,
        retryAfterMs: error.retryAfterMs,
        cause: error,
      });
      outcomes.push({ recordId: item.recordId, ok: false, error: itemError });
      if (error.errorClass !== 'permanent') {
        halted = new ObmenError(
          error.errorClass,
          `not sent: 1C failed on an earlier object of the batch (${error.message})`,
          { system: systemName, code: error.code, retryAfterMs: error.retryAfterMs },
        );
      }
    }
  }
  return outcomes;
}

async function writeOne(
  client: OnecODataClient,
  resource: OnecResource,
  entitySet: string,
  options: OnecRouteOptions,
  post: boolean,
  item: DeliveryItem,
): Promise<string> {
  if (!resource.toOnec) {
    throw new ObmenError(
      'config',
      `1C entity set ${entitySet} is read-only in obmen (registers are written by documents)`,
    );
  }
  // Route defaults under the built-in conversion, the mapping's fields over both.
  const body: Record<string, unknown> = {
    ...(options.defaults ?? {}),
    ...resource.toOnec(item.data),
    ...(item.fields ?? {}),
  };
  let ref = isGuid(item.externalId) ? item.externalId : undefined;
  if (!ref) ref = await lookup(client, resource, entitySet, options, body);
  const update = withoutOwned(resource, item, body);

  if (item.deleted) {
    // DELETE in 1C removes the object physically; a deletion mark is what 1C users expect.
    if (!ref) return item.externalId ?? `absent:${item.recordId}`;
    await client.save('PATCH', entityPath(entitySet, ref), { DeletionMark: true }, entitySet);
    return ref;
  }
  // When every field written is 1C's own, an update has nothing to send: no request at all.
  if (ref && Object.keys(update).length > 0) {
    try {
      await client.save('PATCH', entityPath(entitySet, ref), update, entitySet);
    } catch (error) {
      // Deleted in 1C for good (DELETE, or "Удаление помеченных"): write it anew.
      if (!(error instanceof ObmenError) || error.code !== 'ODATA_9') throw error;
      ref = undefined;
    }
  }
  if (!ref) {
    const created = await client.save(
      'POST',
      entitySet,
      { ...resource.onCreate?.(item.data), ...body },
      entitySet,
    );
    const createdRef = created['Ref_Key'];
    if (!isGuid(createdRef)) {
      throw new ObmenError(
        'transient',
        `1C created the object in ${entitySet} but returned no Ref_Key; it will be looked up again`,
      );
    }
    ref = createdRef;
  }
  if (post) {
    await client.action(
      `${entityPath(entitySet, ref)}/Post`,
      { PostingModeOperational: String(options.postingModeOperational) },
      entitySet,
    );
  }
  return ref;
}

/**
 * The update body without the fields 1C owns (DeliveryItem.ownedFields), so a change made in 1C
 * while this write was under way is not overwritten; a create still sends the whole body. The
 * mapping's own fields are sent as written.
 */
function withoutOwned(
  resource: OnecResource,
  item: DeliveryItem,
  body: Record<string, unknown>,
): Record<string, unknown> {
  if (!item.ownedFields?.length || !resource.onecFieldsOf) return body;
  const kept = { ...(item.fields ?? {}) };
  const update = { ...body };
  for (const field of resource.onecFieldsOf(item.ownedFields, item.data))
    if (!(field in kept)) delete update[field];
  return update;
}

/** The Ref_Key of an object an earlier attempt (or a person) already made, by the match fields. */
async function lookup(
  client: OnecODataClient,
  resource: OnecResource,
  entitySet: string,
  options: OnecRouteOptions,
  body: Record<string, unknown>,
): Promise<string | undefined> {
  const fields = options.matchBy ?? resource.matchBy?.(body);
  if (!fields || fields.length === 0) return undefined;
  const values = fields.map((field): [string, unknown] => [field, body[field]]);
  // No value to match on: nothing can be found, and an empty match would find the wrong object.
  if (values.some(([, value]) => value === undefined || value === null || value === '')) return undefined;
  const page = await client.list(
    entitySet,
    { select: ['Ref_Key'], filter: equalsAll(values), orderBy: 'Ref_Key', top: 1 },
    entitySet,
  );
  const found = page.value[0]?.['Ref_Key'];
  return isGuid(found) ? found : undefined;
}

import type { RouteConfig } from '../../config/schema.ts';
import type { DeliveryItem, ItemOutcome } from '../../core/connector.ts';
import { ObmenError } from '../../core/errors.ts';
import type { HttpProtocolClient } from './client.ts';
import { batchResponseSchema, type WireItem } from './protocol.ts';
import { collectionPath } from './spec.ts';

/**
 * Writes one batch and reports one outcome per input item, in input order. Whole-request
 * failures (network, 429, 5xx, credentials) are thrown as one ObmenError: the engine treats
 * every item of the batch alike then.
 */
export async function writeBatch(
  client: HttpProtocolClient,
  systemName: string,
  route: RouteConfig,
  items: DeliveryItem[],
): Promise<ItemOutcome[]> {
  if (items.length === 0) return [];
  const path = `${collectionPath(route.entity, route.options)}/batch`;
  const body = { items: items.map(toWire) };
  const response = await client.postJson(path, body, batchResponseSchema);
  const byId = new Map(response.results.map((result) => [result.id, result]));

  return items.map((item): ItemOutcome => {
    const result = byId.get(item.recordId);
    const object = `${item.entity} ${item.recordId}`;
    if (!result) {
      return {
        recordId: item.recordId,
        ok: false,
        error: new ObmenError(
          'transient',
          `${systemName}: no result for item ${object} in the answer to POST ${path}; it will be sent again`,
          { system: systemName, code: 'NO_RESULT' },
        ),
      };
    }
    if (!result.ok) {
      const { code, message, retryable } = result.error;
      return {
        recordId: item.recordId,
        ok: false,
        error: new ObmenError(
          retryable ? 'transient' : 'permanent',
          `${systemName} rejected ${object}: ${message}` +
            (retryable ? '; it will be retried' : '; fix the data or the mapping, then retry'),
          { system: systemName, code },
        ),
      };
    }
    const externalId = result.externalId ?? item.externalId;
    if (!externalId) {
      return {
        recordId: item.recordId,
        ok: false,
        error: new ObmenError(
          'permanent',
          `${systemName}: accepted ${object} but returned no externalId; the target must return the id it holds the object under`,
          { system: systemName, code: 'NO_EXTERNAL_ID' },
        ),
      };
    }
    return { recordId: item.recordId, ok: true, externalId };
  });
}

function toWire(item: DeliveryItem): WireItem {
  return {
    id: item.recordId,
    externalId: item.externalId ?? null,
    version: item.version,
    hash: item.hash,
    deleted: item.deleted,
    // The route mapping's fields override the canonical ones, field by field (or replace them
    // all with `extends: none`).
    data: item.withoutDefaults
      ? (item.fields ?? {})
      : item.fields
        ? { ...item.data, ...item.fields }
        : item.data,
  };
}

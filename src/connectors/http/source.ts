import type { ReadRequest, SourceBatch, SourceItem } from '../../core/connector.ts';
import { ObmenError } from '../../core/errors.ts';
import type { HttpProtocolClient } from './client.ts';
import { type PageResponse, pageResponseSchema } from './protocol.ts';
import { collectionPath } from './spec.ts';

/**
 * Reads pages until the system says `next: null`. Each batch carries the cursor to resume
 * after it: `next`, else the page's own `cursor` (protocol extension), else the cursor the
 * page was asked with, so a resumed read re-reads at most the last page (ingest drops
 * unchanged objects by hash).
 */
export async function* readPages(
  client: HttpProtocolClient,
  systemName: string,
  request: ReadRequest,
): AsyncGenerator<SourceBatch> {
  const { source } = request;
  const path = collectionPath(source.entity, source.options);
  let since = request.full ? undefined : request.cursor;
  for (;;) {
    const page = await client.getJson(path, pageResponseSchema, { since, limit: source.batchSize });
    const next = page.next ?? null;
    const cursor = next ?? page.cursor ?? since;
    yield {
      items: page.items.map((item) => toSourceItem(item, systemName, path)),
      ...(cursor ? { cursor } : {}),
    };
    if (next === null) return;
    if (next === since) {
      throw new ObmenError(
        'permanent',
        `${systemName}: GET ${path} returned next cursor "${next}" equal to the one asked with; ` +
          'the system must move the cursor forward, or paging never ends',
        { system: systemName, code: 'CURSOR_STUCK' },
      );
    }
    since = next;
  }
}

function toSourceItem(item: PageResponse['items'][number], systemName: string, path: string): SourceItem {
  const result: SourceItem = { externalId: item.id, data: item.data, deleted: item.deleted ?? false };
  if (item.updatedAt !== undefined) {
    const at = Date.parse(item.updatedAt);
    if (!Number.isFinite(at)) {
      throw new ObmenError(
        'permanent',
        `${systemName}: object ${item.id} from GET ${path} has updatedAt "${item.updatedAt}", not an ISO date`,
        { system: systemName, code: 'PROTOCOL' },
      );
    }
    result.sourceUpdatedAt = at;
  }
  return result;
}

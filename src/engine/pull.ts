import type { SourceConfig } from '../config/schema.ts';
import { configError } from '../core/errors.ts';
import { readWithAuthRefresh } from './auth-refresh.ts';
import { ingest, loadCursor } from './ingest.ts';
import { mapSourceItems } from './route-mapping.ts';
import type { Runtime } from './runtime.ts';
import { inSession } from './session-scope.ts';
import { finishSession, startSession } from './sessions.ts';

export interface PullStats {
  read: number;
  created: number;
  updated: number;
  unchanged: number;
  /** Older than the hub's state from another system (last-writer-wins): ignored. */
  stale: number;
  invalid: number;
  /** Left out by the source mapping's filter. */
  filtered: number;
  /** Matched to an existing record from another system (linked, not created). */
  matched: number;
  /** Held as possible duplicates until a person decides. */
  held: number;
  batches: number;
}

/**
 * Whether a source is read on its schedule: not when its system pushes its data to obmen (1C's
 * exchange; the connector has no reader), where the source only maps what arrives.
 */
export function isPulledSource(runtime: Pick<Runtime, 'connectors'>, source: SourceConfig): boolean {
  return runtime.connectors.get(source.system)?.read !== undefined;
}

/**
 * Reads one source into the hub as an exchange session. The cursor is saved with each batch's
 * ingest, in the same transaction, so a crash resumes after the last stored batch and never
 * skips one. Invalid items are reported in the session, the rest of the batch goes on.
 */
export async function runPull(
  runtime: Runtime,
  sourceName: string,
  options: { full?: boolean; onBatch?: (stats: PullStats) => void } = {},
): Promise<{ sessionId: number; stats: PullStats; errors: string[] }> {
  const source = runtime.sources.find((s) => s.name === sourceName);
  if (!source) {
    throw configError(
      `unknown source "${sourceName}"; configured: ${runtime.sources.map((s) => s.name).join(', ') || 'none'}`,
    );
  }
  const connector = runtime.connectors.get(source.system);
  if (!connector?.read) {
    throw configError(
      connector?.passive
        ? `source ${source.name}: system ${source.system} pushes its data to obmen and is never read; the source only maps what it pushes`
        : `system ${source.system} cannot be read from (its connector has no reader)`,
    );
  }
  const stats: PullStats = {
    read: 0,
    created: 0,
    updated: 0,
    unchanged: 0,
    stale: 0,
    invalid: 0,
    filtered: 0,
    matched: 0,
    held: 0,
    batches: 0,
  };
  const errors: string[] = [];
  const sessionId = await startSession(
    runtime.store,
    { kind: 'pull', system: source.system, name: source.name, owner: runtime.owner },
    runtime.clock.now(),
  );
  const mapping = runtime.sourceMappings.get(source.name);
  const read = connector.read.bind(connector);
  try {
    // Everything the connector requests during this pull is logged under the session. Expired
    // credentials: refreshed, and the read goes on from the cursor the batches saved so far.
    const readAll = () =>
      inSession(sessionId, async () => {
        const cursor = options.full ? undefined : await loadCursor(runtime.store, source.name);
        for await (const batch of read({ source, cursor, full: options.full === true })) {
          let items = batch.items;
          if (mapping) {
            const mapped = await mapSourceItems(mapping, items);
            items = mapped.items;
            stats.read += mapped.skipped + mapped.invalid.length;
            stats.filtered += mapped.skipped;
            stats.invalid += mapped.invalid.length;
            for (const bad of mapped.invalid) if (errors.length < 100) errors.push(bad.message);
          }
          for (const related of batch.related ?? []) {
            const stored = await ingest(runtime.ingest, {
              system: source.system,
              entity: related.entity,
              items: related.items,
            });
            stats.invalid += stored.invalid.length;
            for (const bad of stored.invalid) if (errors.length < 100) errors.push(bad.message);
          }
          const result = await ingest(runtime.ingest, {
            system: source.system,
            entity: source.entity,
            items,
            ...(batch.cursor === undefined ? {} : { cursor: { source: source.name, value: batch.cursor } }),
          });
          stats.batches++;
          stats.read += result.received;
          stats.created += result.created;
          stats.updated += result.updated;
          stats.unchanged += result.unchanged;
          stats.stale += result.stale;
          stats.invalid += result.invalid.length;
          stats.matched += result.matched;
          stats.held += result.held.length;
          for (const bad of result.invalid) if (errors.length < 100) errors.push(bad.message);
          options.onBatch?.(stats);
        }
      });
    await readWithAuthRefresh(connector, source.system, readAll);
    await finishSession(
      runtime.store,
      sessionId,
      {
        status: stats.invalid > 0 || stats.held > 0 ? 'partial' : 'ok',
        counts: { ...stats },
        ...(errors.length > 0 ? { error: errors.slice(0, 20).join('\n') } : {}),
      },
      runtime.clock.now(),
    );
    return { sessionId, stats, errors };
  } catch (error) {
    await finishSession(
      runtime.store,
      sessionId,
      { status: 'failed', counts: { ...stats }, error: (error as Error).message },
      runtime.clock.now(),
    );
    throw error;
  }
}

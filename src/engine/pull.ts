import { configError } from '../core/errors.ts';
import { ingest, loadCursor } from './ingest.ts';
import type { Runtime } from './runtime.ts';
import { finishSession, startSession } from './sessions.ts';

export interface PullStats {
  read: number;
  created: number;
  updated: number;
  unchanged: number;
  invalid: number;
  batches: number;
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
  if (!connector?.read)
    throw configError(`system ${source.system} cannot be read from (its connector has no reader)`);
  const stats: PullStats = { read: 0, created: 0, updated: 0, unchanged: 0, invalid: 0, batches: 0 };
  const errors: string[] = [];
  const sessionId = await startSession(
    runtime.store,
    { kind: 'pull', system: source.system, name: source.name, owner: runtime.owner },
    runtime.clock.now(),
  );
  try {
    const cursor = options.full ? undefined : await loadCursor(runtime.store, source.name);
    for await (const batch of connector.read({ source, cursor, full: options.full === true })) {
      const result = await ingest(runtime.ingest, {
        system: source.system,
        entity: source.entity,
        items: batch.items,
        ...(batch.cursor === undefined ? {} : { cursor: { source: source.name, value: batch.cursor } }),
      });
      stats.batches++;
      stats.read += result.received;
      stats.created += result.created;
      stats.updated += result.updated;
      stats.unchanged += result.unchanged;
      stats.invalid += result.invalid.length;
      for (const bad of result.invalid) if (errors.length < 100) errors.push(bad.message);
      options.onBatch?.(stats);
    }
    await finishSession(
      runtime.store,
      sessionId,
      {
        status: stats.invalid > 0 ? 'partial' : 'ok',
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

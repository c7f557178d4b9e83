import { configSchema, type ObmenConfig } from '../../src/config/schema.ts';
import { type Clock, ManualClock } from '../../src/core/clock.ts';
import type { SourceItem } from '../../src/core/connector.ts';
import { ingest } from '../../src/engine/ingest.ts';
import { createRuntime, type Runtime } from '../../src/engine/runtime.ts';
import { drainRoute } from '../../src/engine/worker.ts';
import type { Store } from '../../src/store/store.ts';

/**
 * A hub wired to emulated systems over real HTTP: a config whose systems point at the given
 * URLs, a runtime on the test database, and short-hands to ingest and deliver.
 */
export interface TestHub {
  runtime: Runtime;
  store: Store;
  clock: Clock;
  ingest(system: string, entity: string, items: SourceItem[]): ReturnType<typeof ingest>;
  deliver(route: string): ReturnType<typeof drainRoute>;
  outbox(route: string): Promise<
    Array<{
      record_id: string;
      state: string;
      attempts: number;
      last_error: string | null;
      last_error_class: string | null;
      next_attempt_at: number;
    }>
  >;
  close(): Promise<void>;
}

export function hubConfig(overrides: Record<string, unknown>): ObmenConfig {
  return configSchema.parse({
    retry: { maxAttempts: 3, baseDelay: '1s', maxDelay: '10s' },
    worker: { leaseTime: '30s', pollInterval: '50ms', concurrency: 2 },
    ...overrides,
  });
}

export async function createTestHub(
  store: Store,
  config: ObmenConfig,
  options: { clock?: Clock; owner?: string } = {},
): Promise<TestHub> {
  const clock = options.clock ?? new ManualClock(Date.now());
  const runtime = createRuntime({ config, store, owner: options.owner ?? 'test-worker', clock });
  return {
    runtime,
    store,
    clock,
    ingest: (system, entity, items) => ingest(runtime.ingest, { system, entity, items }),
    deliver: (route) => drainRoute(runtime, route),
    outbox: (route) =>
      store.db
        .selectFrom('outbox')
        .select(['record_id', 'state', 'attempts', 'last_error', 'last_error_class', 'next_attempt_at'])
        .where('route', '=', route)
        .orderBy('record_id')
        .execute(),
    close: () => runtime.close(),
  };
}

export function product(id: string, name: string, extra: Record<string, unknown> = {}): SourceItem {
  return { externalId: id, data: { name, article: `A-${id}`, ...extra } };
}

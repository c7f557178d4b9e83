import { holdsRoutes } from '../api/routes/holds.ts';
import { buildApi } from '../api/server.ts';
import { dashboardRoutes } from '../api/static.ts';
import type { SecretBox } from '../core/secrets.ts';
import { isPulledSource } from '../engine/pull.ts';
import type { Runtime } from '../engine/runtime.ts';
import { createScheduler } from '../engine/scheduler.ts';
import { runWorker } from '../engine/worker.ts';
import { createMappingApi } from '../mapping/api.ts';
import { runAlertsLoop } from '../ops/alerts/evaluator.ts';
import { holdsFromStore } from '../ops/alerts/holds.ts';

export type HubRole = 'api' | 'worker' | 'scheduler';

export interface RunningHub {
  /** Address of the API and dashboard, when the api role runs. */
  address: string | undefined;
  /** Stops the worker and alerts, then the scheduler, then the API (it may still be answering). */
  stop(): Promise<void>;
}

/**
 * Starts the roles of one obmen process on a runtime — the API with the dashboard and the
 * connectors' inbound endpoints, the scheduler with the alerts it leads, the delivery worker.
 * `obmen start` and the demo both run the hub through here.
 */
export async function startHub(
  runtime: Runtime,
  options: { roles: ReadonlySet<HubRole>; box: SecretBox; configDir: string },
): Promise<RunningHub> {
  const { store, config, log } = runtime;
  const controller = new AbortController();
  const tasks: Array<Promise<unknown>> = [];
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    controller.abort();
    await Promise.all(tasks);
    for (const s of stops.reverse()) await s();
  };
  try {
    let address: string | undefined;
    if (options.roles.has('api')) {
      const app = await buildApi({
        store,
        config,
        logger: false,
        secretBox: options.box,
        runtime,
        extraRoutes: [holdsRoutes],
        mapping: createMappingApi({ config, store, configDir: options.configDir }),
      });
      for (const connector of runtime.connectors.values()) await connector.mountInbound?.(app, runtime);
      await dashboardRoutes(app);
      address = await app.listen({ host: config.api.host, port: config.api.port });
      stops.push(() => app.close());
    }
    if (options.roles.has('scheduler')) {
      const scheduler = createScheduler({
        store,
        config,
        owner: runtime.owner,
        logger: log,
        isPulled: (source) => isPulledSource(runtime, source),
      });
      scheduler.start();
      stops.push(() => scheduler.stop());
      const holds = holdsFromStore(store);
      tasks.push(
        runAlertsLoop({ store, config, holds, logger: log, isLeader: scheduler.isLeader }, controller.signal),
      );
    }
    if (options.roles.has('worker')) {
      tasks.push(
        runWorker(runtime, {
          signal: controller.signal,
          onError: (error, where) => log.error({ err: error, where }, 'worker error'),
        }),
      );
    }
    return { address, stop };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

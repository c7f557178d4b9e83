import type { Logger } from 'pino';
import { holdsRoutes } from '../api/routes/holds.ts';
import { buildApi } from '../api/server.ts';
import { dashboardRoutes } from '../api/static.ts';
import type { ObmenConfig } from '../config/schema.ts';
import { newOwnerId } from '../core/ids.ts';
import type { SecretBox } from '../core/secrets.ts';
import { createRuntime, type Runtime } from '../engine/runtime.ts';
import { createScheduler } from '../engine/scheduler.ts';
import { runWorker } from '../engine/worker.ts';
import { createMappingApi } from '../mapping/api.ts';
import { runAlertsLoop } from '../ops/alerts/evaluator.ts';
import { holdsFromStore } from '../ops/alerts/holds.ts';
import type { Store } from '../store/store.ts';

export interface DemoHub {
  runtime: Runtime;
  /** The dashboard and API, e.g. http://127.0.0.1:8080 */
  url: string;
  stop(): Promise<void>;
}

/**
 * One obmen process with every role, as `obmen start` runs it: API with the dashboard and the
 * inbound endpoints (1C's CommerceML exchange), scheduler, alerts and the delivery worker.
 */
export async function startDemoHub(options: {
  config: ObmenConfig;
  store: Store;
  box: SecretBox;
  log: Logger;
  configDir: string;
}): Promise<DemoHub> {
  const { config, store, box, log } = options;
  const runtime = createRuntime({ config, store, owner: newOwnerId('demo'), log });
  const controller = new AbortController();
  const tasks: Array<Promise<unknown>> = [];
  const stops: Array<() => Promise<void>> = [];
  try {
    const app = await buildApi({
      store,
      config,
      logger: false,
      secretBox: box,
      runtime,
      extraRoutes: [holdsRoutes],
      mapping: createMappingApi({ config, store, configDir: options.configDir }),
    });
    for (const connector of runtime.connectors.values()) await connector.mountInbound?.(app, runtime);
    await dashboardRoutes(app);
    const address = await app.listen({ host: config.api.host, port: config.api.port });
    stops.push(() => app.close());

    const scheduler = createScheduler({ store, config, owner: runtime.owner, logger: log });
    scheduler.start();
    stops.push(() => scheduler.stop());
    tasks.push(
      runAlertsLoop({ store, config, holds: holdsFromStore(store), logger: log }, controller.signal),
    );
    tasks.push(
      runWorker(runtime, {
        signal: controller.signal,
        onError: (error, where) => log.error({ err: error, where }, 'worker error'),
      }),
    );
    return {
      runtime,
      url: address.replace('0.0.0.0', '127.0.0.1'),
      async stop() {
        controller.abort();
        await Promise.all(tasks);
        // The API goes last: the scheduler and worker may still be finishing a write.
        for (const stop of stops.reverse()) await stop();
        await runtime.close();
      },
    };
  } catch (error) {
    controller.abort();
    await Promise.all(tasks).catch(() => {});
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await runtime.close();
    throw error;
  }
}

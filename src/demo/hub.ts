import type { Logger } from 'pino';
import { startHub } from '../cli/hub.ts';
import type { ObmenConfig } from '../config/schema.ts';
import { newOwnerId } from '../core/ids.ts';
import type { SecretBox } from '../core/secrets.ts';
import { createRuntime, type Runtime } from '../engine/runtime.ts';
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
  try {
    const hub = await startHub(runtime, {
      roles: new Set(['api', 'scheduler', 'worker']),
      box,
      configDir: options.configDir,
    });
    return {
      runtime,
      url: (hub.address ?? '').replace('0.0.0.0', '127.0.0.1'),
      async stop() {
        await hub.stop();
        await runtime.close();
      },
    };
  } catch (error) {
    await runtime.close();
    throw error;
  }
}

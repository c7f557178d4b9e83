import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { bitrixSiteConnector } from '../connectors/bitrix-site/index.ts';
import { onecCommercemlConnector } from '../connectors/onec-commerceml/index.ts';
import { registerConnector } from '../connectors/registry.ts';
import { createSecretBox, loadInstallationKey } from '../core/secrets.ts';
import { upsertUser } from '../ops/auth/accounts.ts';
import { openStore, type Store } from '../store/store.ts';
import { DEFAULT_TIMING, type DemoTiming, demoConfig } from './config.ts';
import { type DemoEmulators, startDemoEmulators } from './emulators.ts';
import { type DemoHub, startDemoHub } from './hub.ts';
import { pushCommercemlCatalog, startOnecManager, startOrderTraffic } from './traffic.ts';

// The demo wires every connector it shows, whether or not this build's registry lists them yet.
registerConnector(bitrixSiteConnector);
registerConnector(onecCommercemlConnector);

export interface DemoOptions {
  /** Dashboard port (0: any free port). */
  port: number;
  /** Goods in the emulated 1C (OData). */
  goods: number;
  /** Goods in the CommerceML catalog the 1C exchange client pushes once. */
  exchangeGoods: number;
  /** Folder of demo.db and the received exchange files (default ./data). */
  dataDir: string;
  /** A storefront order every this many ms. */
  orderEveryMs: number;
  timing: DemoTiming;
  faults: boolean;
  /** Admin login and password; a random password is made when none is given. */
  adminLogin: string;
  adminPassword?: string;
  say: (text: string) => void;
}

export const DEFAULT_DEMO_OPTIONS: DemoOptions = {
  port: 8080,
  goods: 5000,
  exchangeGoods: 50,
  dataDir: 'data',
  orderEveryMs: 25_000,
  timing: DEFAULT_TIMING,
  faults: true,
  adminLogin: 'admin',
  say: (text) => process.stdout.write(`${text}\n`),
};

export interface RunningDemo {
  url: string;
  login: string;
  password: string;
  hub: DemoHub;
  emulators: DemoEmulators;
  store: Store;
  stop(): Promise<void>;
}

/** Removes the previous run: the emulators start empty, so old links would point at nothing. */
async function freshDatabase(path: string, exchangeDir: string): Promise<void> {
  for (const file of [path, `${path}-wal`, `${path}-shm`, exchangeDir]) {
    await rm(file, { recursive: true, force: true });
  }
}

/**
 * Starts the whole demo in this process: emulators, a fresh embedded store, obmen with every
 * role, the 1C exchange client's catalog push, and orders (shops) and deals (Bitrix24) over time.
 */
export async function runDemo(partial: Partial<DemoOptions> = {}): Promise<RunningDemo> {
  const options: DemoOptions = { ...DEFAULT_DEMO_OPTIONS, ...partial };
  const say = options.say;
  const dataDir = resolve(options.dataDir);
  const databasePath = join(dataDir, 'demo.db');
  const exchangeDir = join(dataDir, 'demo-exchange');
  await freshDatabase(databasePath, exchangeDir);

  const emulators = await startDemoEmulators({
    goods: options.goods,
    counterparties: Math.max(20, Math.round(options.goods / 50)),
    faults: options.faults,
  });
  let store: Store | undefined;
  let hub: DemoHub | undefined;
  try {
    const config = demoConfig(emulators.endpoints, databasePath, options.port, exchangeDir, options.timing);
    store = await openStore({ url: databasePath });
    const key = loadInstallationKey(dataDir);
    // Connectors that keep secrets of their own (Bitrix24 tokens) read the key from the environment.
    process.env.OBMEN_SECRET_KEY ??= key.toString('hex');
    const password = options.adminPassword ?? randomBytes(9).toString('base64url');
    await upsertUser(store, { login: options.adminLogin, password, role: 'admin' }, Date.now());

    // The dashboard is where the demo's failures are meant to be read; the console stays for
    // the banner and the storefront (OBMEN_LOG_LEVEL=info shows the JSON logs).
    const log = pino({ level: process.env.OBMEN_LOG_LEVEL ?? 'fatal' }, pino.destination(2));
    hub = await startDemoHub({ config, store, box: createSecretBox(key), log, configDir: dataDir });
    const running = hub;
    const openStoreRef = store;

    const stopOrders = startOrderTraffic(
      [
        { name: 'shop', site: emulators.shop },
        { name: 'outlet', site: emulators.outlet },
      ],
      emulators.bitrix24,
      options.orderEveryMs,
      say,
    );
    // 1C's side of the order lifecycle: orders obmen wrote get agreed, paid and shipped.
    const stopManager = startOnecManager(emulators.onec, options.orderEveryMs, say);
    const pushAborter = new AbortController();
    // 1C's exchange node pushes its catalog through the standard protocol while OData is polled.
    const pushed = pushCommercemlCatalog(
      `${hub.url}/bitrix/admin/1c_exchange.php`,
      emulators.endpoints.exchangeLogin,
      emulators.endpoints.exchangePassword,
      options.exchangeGoods,
      pushAborter.signal,
    ).then(
      (result) => say(`1C exchange: CommerceML catalog of ${result.goods} goods pushed to obmen`),
      (error: Error) => {
        if (!pushAborter.signal.aborted) say(`1C exchange: the catalog push failed: ${error.message}`);
      },
    );

    let stopped = false;
    return {
      url: running.url,
      login: options.adminLogin,
      password,
      hub: running,
      emulators,
      store: openStoreRef,
      async stop() {
        if (stopped) return;
        stopped = true;
        stopOrders();
        stopManager();
        pushAborter.abort();
        await pushed;
        await running.stop();
        await openStoreRef.close();
        await emulators.close();
      },
    };
  } catch (error) {
    await hub?.stop().catch(() => {});
    await store?.close().catch(() => {});
    await emulators.close();
    throw error;
  }
}

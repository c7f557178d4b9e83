import { randomBytes } from 'node:crypto';
import { type BitrixSite, startBitrixSite } from '../../emulators/bitrix-site/index.ts';
import { type Bitrix24Emulator, startBitrix24Emulator } from '../../emulators/bitrix24/index.ts';
import {
  DEFAULT_USER,
  type OnecOdataEmulator,
  startOnecOdataEmulator,
} from '../../emulators/onec-odata/index.ts';
import type { DemoEndpoints } from './config.ts';

export interface DemoEmulatorOptions {
  /** Goods in 1C's Catalog_Номенклатура. */
  goods: number;
  /** Counterparties in 1C's Catalog_Контрагенты. */
  counterparties: number;
  /** false turns the injected faults off (tests of the happy path, screenshots). */
  faults: boolean;
}

export interface DemoEmulators {
  onec: OnecOdataEmulator;
  bitrix24: Bitrix24Emulator;
  shop: BitrixSite;
  outlet: BitrixSite;
  endpoints: DemoEndpoints;
  close(): Promise<void>;
}

const SITE_LOGIN = 'obmen';
const WEBHOOK_CODE = 'demowebhook';

/**
 * Starts the four emulated systems on free ports of 127.0.0.1. The faults are mild on purpose:
 * enough for a few retries, a parked failure and an alert in the first minutes, not so many
 * that the demo looks broken.
 */
export async function startDemoEmulators(options: DemoEmulatorOptions): Promise<DemoEmulators> {
  const started: Array<{ close(): Promise<void> }> = [];
  const closeAll = async () => {
    for (const emulator of started.reverse()) await emulator.close().catch(() => {});
  };
  // The passwords are per run: the demo's emulators listen on real ports of this machine.
  const sitePassword = randomBytes(9).toString('base64url');
  try {
    const onec = await startOnecOdataEmulator({
      port: 0,
      items: options.goods,
      counterparties: options.counterparties,
      faults: options.faults ? { errorRate: 0.03, latencyMs: 5 } : {},
    });
    started.push(onec);
    const bitrix24 = await startBitrix24Emulator({
      port: 0,
      webhook: { userId: 1, code: WEBHOOK_CODE },
      faults: options.faults ? { errorRate: 0.02, latencyMs: 5 } : {},
    });
    started.push(bitrix24);
    const siteOptions = { port: 0, login: SITE_LOGIN, password: sitePassword, importStepMs: 2000 };
    const shop = await startBitrixSite(siteOptions);
    started.push(shop);
    // The outlet is the flaky one: its host answers 503 now and then. One exchange is about ten
    // requests and any 503 fails it, so 4 % already fails a third of the exchanges (retried).
    const outlet = await startBitrixSite({
      ...siteOptions,
      faults: options.faults ? { errorRate: 0.04, latencyMs: 20 } : {},
    });
    started.push(outlet);
    return {
      onec,
      bitrix24,
      shop,
      outlet,
      endpoints: {
        onecOdataUrl: onec.publicationUrl,
        onecLogin: DEFAULT_USER.login,
        onecPassword: DEFAULT_USER.password,
        bitrix24Url: bitrix24.url,
        bitrix24WebhookCode: WEBHOOK_CODE,
        site1Url: shop.url,
        site2Url: outlet.url,
        siteLogin: SITE_LOGIN,
        sitePassword,
        exchangeLogin: 'exchange',
        exchangePassword: randomBytes(9).toString('base64url'),
      },
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

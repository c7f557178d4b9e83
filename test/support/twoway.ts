import Fastify, { type FastifyInstance } from 'fastify';
import { type Bitrix24Emulator, startBitrix24Emulator } from '../../emulators/bitrix24/index.ts';
import { type OnecOdataEmulator, startOnecOdataEmulator } from '../../emulators/onec-odata/index.ts';
import { bitrix24Connector } from '../../src/connectors/bitrix24/index.ts';
import { onecOdataConnector } from '../../src/connectors/onec-odata/index.ts';
import { registerConnector } from '../../src/connectors/registry.ts';
import { systemClock } from '../../src/core/clock.ts';
import { runPull } from '../../src/engine/pull.ts';
import type { Store } from '../../src/store/store.ts';
import { createTestHub, hubConfig, type TestHub } from './hub.ts';
import { waitUntil } from './processes.ts';
import type { TestDatabase } from './stores.ts';

registerConnector(onecOdataConnector);
registerConnector(bitrix24Connector);

const APP_TOKEN = 'twoway-application-token';
const CODE = 'twowaywebhookcode';

/** The counterparty rules of the two-way scenarios: 1C owns the requisites, Bitrix24 the contacts. */
export const COUNTERPARTY_OWNERSHIP = {
  owners: {
    ut: ['kind', 'name', 'fullName', 'inn', 'kpp', 'ogrn', 'addresses'],
    crm: ['phones', 'emails'],
  },
};

/**
 * 1C's contact information, which obmen's default conversion does not write (УТ keeps it in the
 * КонтактнаяИнформация section, replaced whole on PATCH): written by a route mapping, as an
 * integrator would, so Bitrix24's phones reach 1C.
 */
const ONEC_CONTACT_INFO =
  "$append([phones.{'Тип': 'Телефон', 'Представление': value, 'НомерТелефона': value}], " +
  "[emails.{'Тип': 'АдресЭлектроннойПочты', 'Представление': value, 'АдресЭП': value}])";

/**
 * A hub between УТ 11 (OData emulator, polled) and Bitrix24 (emulator, events to the hub's
 * webhook plus the catch-up poll), with counterparties flowing both ways under ownership rules.
 */
export interface TwoWay {
  onec: OnecOdataEmulator;
  b24: Bitrix24Emulator;
  hub: TestHub;
  store: Store;
  /** Polls УТ's counterparties (DataVersion change detection). */
  pullUt(full?: boolean): ReturnType<typeof runPull>;
  /** Bitrix24's catch-up poll of companies, or of contacts read as person counterparties. */
  pullCrm(kind: 'companies' | 'people', full?: boolean): ReturnType<typeof runPull>;
  /** Waits until every event Bitrix24 sent was answered and ingested. */
  settleEvents(): Promise<void>;
  /** A REST call to the portal as a person using Bitrix24 would make it (inbound webhook). */
  rest<T = unknown>(method: string, params: unknown): Promise<T>;
  close(): Promise<void>;
}

export async function startTwoWay(
  db: () => TestDatabase,
  options: { counterparties?: number; ownership?: boolean } = {},
): Promise<TwoWay> {
  const onec = await startOnecOdataEmulator({ items: 0, counterparties: options.counterparties ?? 1 });
  const b24 = await startBitrix24Emulator({ webhook: { userId: 1, code: CODE } });
  const store = await db().open();
  const config = hubConfig({
    systems: {
      ut: {
        kind: 'onec-odata',
        url: onec.publicationUrl,
        credentials: { login: 'Обмен', password: 'секрет' },
      },
      crm: {
        kind: 'bitrix24',
        url: b24.url,
        credentials: { webhookUserId: '1', webhookCode: CODE, applicationToken: APP_TOKEN },
      },
    },
    sources: [
      { name: 'ut-counterparties', system: 'ut', entity: 'counterparty' },
      { name: 'crm-companies', system: 'crm', entity: 'counterparty' },
      { name: 'crm-people', system: 'crm', entity: 'counterparty', options: { bitrixEntity: 'contact' } },
    ],
    routes: [
      { name: 'counterparties-to-crm', entity: 'counterparty', target: 'crm' },
      {
        name: 'counterparties-to-ut',
        entity: 'counterparty',
        target: 'ut',
        mapping: { fields: { КонтактнаяИнформация: ONEC_CONTACT_INFO } },
      },
    ],
    ...(options.ownership === false ? {} : { ownership: { counterparty: COUNTERPARTY_OWNERSHIP } }),
  });
  const hub = await createTestHub(store, config, { clock: systemClock });
  const app: FastifyInstance = Fastify({ logger: false });
  await hub.runtime.connectors.get('crm')!.mountInbound!(app, hub.runtime);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  for (const event of ['ONCRMCOMPANYADD', 'ONCRMCOMPANYUPDATE', 'ONCRMCONTACTADD', 'ONCRMCONTACTUPDATE'])
    b24.bindOutgoing(event, `${address}/webhooks/bitrix24/crm`, APP_TOKEN);

  const unprocessed = async () =>
    (
      await store.db
        .selectFrom('inbox')
        .select('id')
        .where('system', '=', 'crm')
        .where('state', '=', 'received')
        .execute()
    ).length;
  return {
    onec,
    b24,
    hub,
    store,
    pullUt: (full = false) => runPull(hub.runtime, 'ut-counterparties', { full }),
    pullCrm: (kind, full = false) =>
      runPull(hub.runtime, kind === 'companies' ? 'crm-companies' : 'crm-people', { full }),
    async settleEvents() {
      await b24.settleEvents();
      await waitUntil(async () => (await unprocessed()) === 0, 10_000, 'every Bitrix24 event is ingested');
    },
    async rest<T>(method: string, params: unknown): Promise<T> {
      const res = await fetch(`${b24.webhookUrl}${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(params),
      });
      const body = (await res.json()) as { result?: T; error_description?: string };
      if (!res.ok) throw new Error(`${method}: ${res.status} ${body.error_description ?? ''}`);
      return body.result as T;
    },
    async close() {
      await app.close();
      await hub.close();
      await store.close();
      await b24.close();
      await onec.close();
    },
  };
}

/** The hub's counterparty records with their links per system. */
export async function counterparties(
  store: Store,
): Promise<
  Array<{ id: string; version: number; data: Record<string, unknown>; links: Record<string, string> }>
> {
  const rows = await store.db
    .selectFrom('records')
    .select(['id', 'version', 'data'])
    .where('entity', '=', 'counterparty')
    .orderBy('id')
    .execute();
  const links = await store.db
    .selectFrom('links')
    .select(['record_id', 'system', 'external_id'])
    .where('entity', '=', 'counterparty')
    .execute();
  return rows.map((row) => ({
    id: row.id,
    version: row.version,
    data: JSON.parse(row.data) as Record<string, unknown>,
    links: Object.fromEntries(
      links.filter((l) => l.record_id === row.id).map((l) => [l.system, l.external_id]),
    ),
  }));
}

/**
 * Versions written for counterparties so far (past ones in history, current ones in records),
 * to prove an echo made none.
 */
export async function counterpartyVersions(store: Store): Promise<number> {
  let n = 0;
  for (const table of ['record_history', 'records'] as const) {
    const row = await store.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('entity', '=', 'counterparty')
      .executeTakeFirstOrThrow();
    n += Number(row.n);
  }
  return n;
}

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { type Bitrix24Emulator, startBitrix24Emulator } from '../emulators/bitrix24/index.ts';
import { type OnecOdataEmulator, startOnecOdataEmulator } from '../emulators/onec-odata/index.ts';
import type { RouteConfig } from '../src/config/schema.ts';
import { bitrix24Connector } from '../src/connectors/bitrix24/index.ts';
import { onecOdataConnector } from '../src/connectors/onec-odata/index.ts';
import { ManualClock } from '../src/core/clock.ts';
import type { Connector, DeliveryItem } from '../src/core/connector.ts';
import { createHttpClient } from '../src/http/client.ts';

/**
 * The connectors' side of field ownership, over HTTP with the emulators: an update leaves the
 * fields the target owns (DeliveryItem.ownedFields) as the target has them; a create sends all.
 */

const log = pino({ level: 'silent' });
const CODE = 'ownershipcode';
const closing: Array<() => Promise<void>> = [];
after(() => Promise.all(closing.map((close) => close())));

const route = (target: string): RouteConfig => ({
  name: `counterparties-to-${target}`,
  entity: 'counterparty',
  target,
  schedule: 'on-change',
  batchSize: 50,
});

function counterparty(
  data: Record<string, unknown>,
  externalId?: string,
  ownedFields?: string[],
): DeliveryItem {
  return {
    recordId: 'cp-1',
    entity: 'counterparty',
    version: 1,
    hash: 'h1',
    data,
    deleted: false,
    externalId,
    ...(ownedFields ? { ownedFields } : {}),
  };
}

async function bitrix24(): Promise<{ e: Bitrix24Emulator; c: Connector }> {
  const e = await startBitrix24Emulator({ webhook: { userId: 1, code: CODE } });
  closing.push(() => e.close());
  const c = bitrix24Connector.create({
    systemName: 'crm',
    system: { kind: 'bitrix24', url: e.url, credentials: { webhookUserId: '1', webhookCode: CODE } },
    http: createHttpClient({ system: 'crm', maxRetries: 0, secrets: [CODE] }),
    log,
    signal: new AbortController().signal,
  });
  return { e, c };
}

async function onec(): Promise<{ e: OnecOdataEmulator; c: Connector }> {
  const e = await startOnecOdataEmulator({ items: 0, counterparties: 1 });
  closing.push(() => e.close());
  const c = onecOdataConnector.create({
    systemName: 'ut',
    system: {
      kind: 'onec-odata',
      url: e.publicationUrl,
      credentials: { login: 'Обмен', password: 'секрет' },
    },
    http: createHttpClient({ system: 'ut', clock: new ManualClock(), maxRetries: 0 }),
    log,
    signal: new AbortController().signal,
  });
  return { e, c };
}

describe('Bitrix24 leaves the fields it owns out of updates', () => {
  it('companies: title, phones and the requisite stay as the portal has them; a create sends all', async () => {
    const { e, c } = await bitrix24();
    const data = {
      kind: 'company',
      name: 'ООО Ромашка',
      inn: '7707083893',
      phones: [{ value: '+7 495 000-00-01' }],
    };
    const owned = ['name', 'inn', 'phones'];
    const [created] = await c.write!(route('crm'), [counterparty(data, undefined, owned)]);
    assert.ok(created?.ok, 'created');
    const id = Number(created.externalId.split(':')[1]);
    const company = () => e.state.table('company').get(id)!;
    assert.equal(company()['TITLE'], 'ООО Ромашка', 'a create sends the owned fields too');
    assert.equal(e.state.table('requisite').size, 1);

    // The portal's users change the title, remove the phone and fix the INN meanwhile.
    company()['TITLE'] = 'Ромашка (CRM)';
    company()['PHONE'] = [];
    const requisite = [...e.state.table('requisite').values()][0]!;
    requisite['RQ_INN'] = '7707083894';
    e.resetStats();

    const [updated] = await c.write!(route('crm'), [
      counterparty({ ...data, comment: 'из 1С' }, created.externalId, owned),
    ]);
    assert.ok(updated?.ok);
    assert.equal(company()['TITLE'], 'Ромашка (CRM)');
    assert.deepEqual(company()['PHONE'], [], 'no phone added back');
    assert.equal(requisite['RQ_INN'], '7707083894');
    assert.equal(company()['COMMENTS'], 'из 1С', 'fields the portal does not own are written');
    assert.deepEqual(e.stats().writesByMethod, { 'crm.company.update': 1 }, 'no requisite write');

    // Without ownership the same update overwrites the title and adds the phone back.
    await c.write!(route('crm'), [counterparty(data, created.externalId)]);
    assert.equal(company()['TITLE'], 'ООО Ромашка');
    assert.equal((company()['PHONE'] as unknown[]).length, 1);
  });

  it('people become contacts: the name parts it owns are left out, route-mapping fields are sent as written', async () => {
    const { e, c } = await bitrix24();
    const data = { kind: 'person', name: 'Кузнецов Пётр Ильич', comment: 'клиент' };
    const [created] = await c.write!(route('crm'), [counterparty(data)]);
    assert.ok(created?.ok);
    const id = Number(created.externalId.split(':')[1]);
    const contact = () => e.state.table('contact').get(id)!;
    contact()['NAME'] = 'Петя';

    const item = counterparty({ ...data, comment: 'постоянный клиент' }, created.externalId, ['name']);
    await c.write!(route('crm'), [{ ...item, fields: { LAST_NAME: 'Кузнецов-Сибиряк' } }]);
    assert.equal(contact()['NAME'], 'Петя');
    assert.equal(contact()['SECOND_NAME'], 'Ильич');
    assert.equal(contact()['LAST_NAME'], 'Кузнецов-Сибиряк', 'the mapping asked for it explicitly');
    assert.equal(contact()['COMMENTS'], 'постоянный клиент');
  });
});

describe('1C leaves the fields it owns out of updates', () => {
  const SET = 'Catalog_Контрагенты';

  it('an update sends only what 1C does not own; one with nothing left sends no request', async () => {
    const { e, c } = await onec();
    const ref = e.catalog.refs.counterparty(0);
    const owned = ['kind', 'name', 'fullName', 'inn', 'kpp'];
    const data = { kind: 'company', name: 'Ромашка (из CRM)', inn: '0000000000', comment: 'из CRM' };
    const innBefore = e.catalog.get(SET, ref)!['ИНН'];
    assert.match(String(innBefore), /^77\d{8}$/, "the emulator's counterparty carries 1C's own ИНН");
    const before = e.stats().writes;
    const [outcome] = await c.write!(route('ut'), [counterparty(data, ref, owned)]);
    assert.ok(outcome?.ok && outcome.externalId === ref);
    const object = e.catalog.get(SET, ref)!;
    assert.equal(object['Description'], 'ООО "Ромашка 1"');
    assert.equal(object['НаименованиеПолное'], 'Общество с ограниченной ответственностью "Ромашка 1"');
    assert.equal(object['ИНН'], innBefore, '1C keeps the ИНН it owns');
    assert.equal(object['ДополнительнаяИнформация'], 'из CRM');
    assert.equal(e.stats().writes - before, 1);

    const [again] = await c.write!(route('ut'), [counterparty({ name: 'x', inn: '0000000000' }, ref, owned)]);
    assert.ok(again?.ok);
    assert.equal(e.stats().writes - before, 1, 'everything left was 1C’s own: no PATCH');
  });

  it('a create sends everything, owned or not', async () => {
    const { e, c } = await onec();
    const [created] = await c.write!(route('ut'), [
      counterparty({ kind: 'company', name: 'ООО Новая', inn: '7707083893' }, undefined, ['name', 'inn']),
    ]);
    assert.ok(created?.ok);
    const object = e.catalog.get(SET, created.externalId)!;
    assert.equal(object['Description'], 'ООО Новая');
    assert.equal(object['ИНН'], '7707083893');
  });
});

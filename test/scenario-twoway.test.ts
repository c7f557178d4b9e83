import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { forEachDialect } from './support/stores.ts';
import { counterparties, counterpartyVersions, startTwoWay, type TwoWay } from './support/twoway.ts';

/**
 * Counterparties flow both ways between УТ 11 (OData, polled) and Bitrix24 (events plus the
 * catch-up poll), over HTTP with both emulators. 1C owns the requisites (kind, name, full name,
 * INN, KPP, addresses), Bitrix24 the phones and e-mails. Every write either emulator received
 * is counted.
 */

const COUNTERPARTIES = 'Catalog_Контрагенты';
type Row = Record<string, unknown>;

/** First sync of 1C's counterparty to Bitrix24, and Bitrix24's echo of it. */
async function syncFirst(t: TwoWay): Promise<void> {
  const pulled = await t.pullUt();
  assert.equal(pulled.stats.created, 1);
  await t.hub.deliver('counterparties-to-crm');
  await t.settleEvents();
  // The company obmen created comes back as an event: no new version, nothing to write to 1C.
  assert.equal(await counterpartyVersions(t.store), 1, 'the echo of the create made no version');
  assert.equal((await t.hub.deliver('counterparties-to-ut')).delivered, 0);
  assert.equal(t.onec.stats().writes, 0);
}

/** Everything the hub would do next: polls, events, both routes; returns once nothing moves. */
async function runIdleRound(t: TwoWay): Promise<void> {
  await t.pullUt();
  await t.pullCrm('companies');
  await t.settleEvents();
  await t.hub.deliver('counterparties-to-crm');
  await t.hub.deliver('counterparties-to-ut');
  await t.settleEvents();
}

const companyOf = (t: TwoWay, id: number) => t.b24.state.table('company').get(id)!;
const phonesOf = (row: Row) => ((row['PHONE'] as Row[] | undefined) ?? []).map((m) => m['VALUE']);
const requisiteOf = (t: TwoWay, companyId: number) =>
  [...t.b24.state.table('requisite').values()].find(
    (r) => r['ENTITY_TYPE_ID'] === '4' && r['ENTITY_ID'] === String(companyId),
  )!;
const contactRows = (row: Row | undefined) =>
  ((row?.['КонтактнаяИнформация'] as Row[] | undefined) ?? []).map((r) => [r['Тип'], r['Представление']]);

forEachDialect('two-way sync between 1C and Bitrix24', (db) => {
  let t: TwoWay | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  test('a counterparty edited on both sides at once ends with the owner’s values on both sides', async () => {
    t = await startTwoWay(db);
    await syncFirst(t);
    const ref = t.onec.catalog.refs.counterparty(0);
    const companyId = 1;
    const phoneId = (companyOf(t, companyId)['PHONE'] as Row[])[0]!['ID'];

    // At once: a 1C user changes the name and INN; a Bitrix24 user changes the name and the
    // phone, and that event is still on its way (lost here), so obmen writes without knowing it.
    t.onec.catalog.edit(COUNTERPARTIES, ref, { Description: 'ООО "Ромашка" (из 1С)', ИНН: '7700000099' });
    t.b24.setFaults({ dropEvents: 1 });
    await t.rest('crm.company.update', {
      id: companyId,
      fields: { TITLE: 'Ромашка (из CRM)', PHONE: [{ ID: phoneId, VALUE: '+7 495 111-11-11' }] },
    });
    t.b24.setFaults({ dropEvents: 0 });
    t.b24.resetStats();
    const onecWritesBefore = t.onec.stats().writes;

    assert.equal((await t.pullUt()).stats.updated, 1);
    await t.hub.deliver('counterparties-to-crm');
    // obmen's update fires an event: Bitrix24's phone reaches the hub with it.
    await t.settleEvents();
    assert.deepEqual((await counterparties(t.store))[0]!.data['phones'], [{ value: '+7 495 111-11-11' }]);

    // The same race on 1C's side: the name changes again in 1C before obmen writes the phone there.
    t.onec.catalog.edit(COUNTERPARTIES, ref, { Description: 'ООО "Ромашка" (из 1С, ред. 2)' });
    await t.hub.deliver('counterparties-to-ut');
    assert.equal(t.onec.catalog.get(COUNTERPARTIES, ref)!['Description'], 'ООО "Ромашка" (из 1С, ред. 2)');
    for (let round = 0; round < 2; round++) await runIdleRound(t);

    const [hubRecord] = await counterparties(t.store);
    assert.equal(hubRecord!.data['name'], 'ООО "Ромашка" (из 1С, ред. 2)');
    assert.equal(hubRecord!.data['inn'], '7700000099');
    assert.deepEqual(hubRecord!.data['phones'], [{ value: '+7 495 111-11-11' }]);

    // Bitrix24: 1C's name and INN, its own phone (not overwritten by the hub's old one).
    const company = companyOf(t, companyId);
    assert.equal(company['TITLE'], 'ООО "Ромашка" (из 1С, ред. 2)');
    assert.equal(requisiteOf(t, companyId)['RQ_INN'], '7700000099');
    assert.deepEqual(phonesOf(company), ['+7 495 111-11-11']);

    // 1C: its own name and INN, Bitrix24's phone (the e-mail row kept).
    const inOnec = t.onec.catalog.get(COUNTERPARTIES, ref)!;
    assert.equal(inOnec['Description'], 'ООО "Ромашка" (из 1С, ред. 2)');
    assert.equal(inOnec['ИНН'], '7700000099');
    assert.equal(
      inOnec['НаименованиеПолное'],
      'Общество с ограниченной ответственностью "Ромашка 1"',
      'the full name only 1C has is untouched',
    );
    assert.deepEqual(contactRows(inOnec), [
      ['Телефон', '+7 495 111-11-11'],
      ['АдресЭлектроннойПочты', 'info1@romashka.example'],
    ]);

    // Writes: two updates to Bitrix24 (the requisite only with the first: the second changed the
    // name alone, and an unchanged requisite is not rewritten), one PATCH to 1C, then silence.
    assert.deepEqual(t.b24.stats().writesByMethod, { 'crm.company.update': 2, 'crm.requisite.update': 1 });
    assert.equal(t.onec.stats().writes - onecWritesBefore, 1);
    assert.equal(
      await counterpartyVersions(t.store),
      4,
      'first sync, 1C’s change, Bitrix24’s phone, 1C’s second change',
    );
  });

  test('loop test: an update ping-pongs at most once; every write on both sides is counted', async () => {
    t = await startTwoWay(db);
    await syncFirst(t);
    const ref = t.onec.catalog.refs.counterparty(0);
    const companyId = 1;
    t.b24.resetStats();
    const onecBase = t.onec.stats().writes;
    const onecWrites = () => t!.onec.stats().writes - onecBase;

    // 1. A change in 1C goes to Bitrix24 once; Bitrix24's event of obmen's own write makes no
    //    version and no write back to 1C.
    t.onec.catalog.edit(COUNTERPARTIES, ref, { Description: 'ООО "Ромашка-2"' });
    await t.pullUt();
    await t.hub.deliver('counterparties-to-crm');
    await t.settleEvents();
    assert.equal(t.b24.stats().eventsSent, 1, 'obmen’s write came back as an event');
    assert.equal(await counterpartyVersions(t.store), 2, 'the echo made no version');
    for (let round = 0; round < 3; round++) await runIdleRound(t);
    // The name alone changed: the requisite (INN/KPP) is left as it is.
    assert.deepEqual(t.b24.stats().writesByMethod, { 'crm.company.update': 1 });
    assert.equal(onecWrites(), 0, 'nothing went back to 1C');
    assert.equal(await counterpartyVersions(t.store), 2);

    // 2. A change in Bitrix24 goes to 1C once; 1C's next poll returns obmen's own write, which
    //    makes no version and no write back to Bitrix24.
    const phoneId = (companyOf(t, companyId)['PHONE'] as Row[])[0]!['ID'];
    await t.rest('crm.company.update', {
      id: companyId,
      fields: { PHONE: [{ ID: phoneId, VALUE: '+7 495 222-22-22' }] },
    });
    t.b24.resetStats();
    await t.settleEvents();
    await t.hub.deliver('counterparties-to-ut');
    assert.equal(onecWrites(), 1);
    const echo = await t.pullUt();
    assert.deepEqual(
      [echo.stats.read, echo.stats.unchanged],
      [1, 1],
      '1C’s poll sees obmen’s write, unchanged',
    );
    for (let round = 0; round < 3; round++) await runIdleRound(t);
    assert.equal(onecWrites(), 1, 'one write to 1C in all');
    assert.deepEqual(t.b24.stats().writesByMethod, {}, 'nothing went back to Bitrix24');
    assert.equal(await counterpartyVersions(t.store), 3);
    assert.deepEqual(contactRows(t.onec.catalog.get(COUNTERPARTIES, ref))[0], [
      'Телефон',
      '+7 495 222-22-22',
    ]);
  });
});

forEachDialect('two-way sync without ownership rules (why they are needed)', (db) => {
  let t: TwoWay | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  test('Bitrix24’s echo lacks the full name: 1C’s is overwritten and the object never settles', async () => {
    t = await startTwoWay(db, { ownership: false });
    const ref = t.onec.catalog.refs.counterparty(0);
    await t.pullUt();
    await t.hub.deliver('counterparties-to-crm');
    await t.settleEvents();
    const writes: number[] = [];
    for (let round = 0; round < 3; round++) {
      await runIdleRound(t);
      writes.push(t.onec.stats().writes + t.b24.stats().writes);
    }
    assert.equal(
      t.onec.catalog.get(COUNTERPARTIES, ref)!['НаименованиеПолное'],
      'ООО "Ромашка 1"',
      '1C’s full name was replaced by the short one',
    );
    assert.ok(
      writes[2]! > writes[1]! && writes[1]! > writes[0]!,
      `writes keep growing: ${writes.join(', ')}`,
    );
  });
});

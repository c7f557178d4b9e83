import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { listHolds, resolveHold } from '../src/matching/holds.ts';
import { forEachDialect } from './support/stores.ts';
import { counterparties, startTwoWay, type TwoWay } from './support/twoway.ts';

/**
 * The same person entered by hand in Bitrix24 and kept in 1C, with the phone written
 * differently on each side: matched into one hub object, never a second contact in Bitrix24;
 * when several Bitrix24 contacts could be the one, a person decides.
 */

const COUNTERPARTIES = 'Catalog_Контрагенты';
type Row = Record<string, unknown>;

/** 1C's counterparty 0 turned into a private person with a phone in 1C's spelling. */
function personInOnec(t: TwoWay): string {
  const ref = t.onec.catalog.refs.counterparty(0);
  t.onec.catalog.edit(COUNTERPARTIES, ref, {
    Description: 'Кузнецов Пётр Ильич',
    НаименованиеПолное: 'Кузнецов Пётр Ильич',
    ЮрФизЛицо: 'ФизЛицо',
    ИНН: '770000000012',
    КПП: '',
    КонтактнаяИнформация: [
      {
        Ref_Key: ref,
        LineNumber: '1',
        Тип: 'Телефон',
        Представление: '+7 912 345 67 89',
        НомерТелефона: '+7 912 345 67 89',
      },
    ],
  });
  return ref;
}

/** A contact a person types into Bitrix24 (the event brings it to the hub). */
async function contactInCrm(t: TwoWay, lastName: string, phone: string): Promise<number> {
  return t.rest<number>('crm.contact.add', {
    fields: { NAME: 'Пётр', LAST_NAME: lastName, PHONE: [{ VALUE: phone, VALUE_TYPE: 'MOBILE' }] },
  });
}

const contacts = (t: TwoWay) => [...t.b24.state.table('contact').values()];
const phonesOf = (row: Row) => ((row['PHONE'] as Row[] | undefined) ?? []).map((m) => m['VALUE']);

forEachDialect('duplicate matching across phone formats through Bitrix24', (db) => {
  let t: TwoWay | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  test('a Bitrix24 contact and a 1C counterparty with the phone in other formats end as one object', async () => {
    t = await startTwoWay(db);
    const contactId = await contactInCrm(t, 'Кузнецов', '8 (912) 345-67-89');
    await t.settleEvents();
    assert.equal((await counterparties(t.store)).length, 1, 'the contact reached the hub by its event');

    const ref = personInOnec(t);
    const pulled = await t.pullUt();
    assert.deepEqual([pulled.stats.matched, pulled.stats.created, pulled.stats.held], [1, 0, 0]);
    t.b24.resetStats();
    const onecWrites = t.onec.stats().writes;

    await t.hub.deliver('counterparties-to-crm');
    await t.hub.deliver('counterparties-to-ut');
    await t.settleEvents();

    const all = await counterparties(t.store);
    assert.equal(all.length, 1);
    assert.deepEqual(all[0]!.links, { crm: `contact:${contactId}`, ut: ref });
    assert.equal(all[0]!.data['inn'], '770000000012', '1C owns the INN');
    assert.deepEqual(
      all[0]!.data['phones'],
      [{ value: '8 (912) 345-67-89', type: 'mobile' }],
      'Bitrix24 owns phones',
    );

    // Bitrix24: still one contact, updated with 1C's name and INN, its phone as typed there.
    assert.equal(contacts(t).length, 1);
    const contact = t.b24.state.table('contact').get(contactId)!;
    assert.deepEqual(
      [contact['LAST_NAME'], contact['NAME'], contact['SECOND_NAME']],
      ['Кузнецов', 'Пётр', 'Ильич'],
    );
    assert.deepEqual(phonesOf(contact), ['8 (912) 345-67-89']);
    const writes = t.b24.stats().writesByMethod;
    assert.equal(writes['crm.contact.add'], undefined, 'no second contact');
    assert.equal(writes['crm.contact.update'], 1);
    assert.equal(t.onec.stats().writes, onecWrites, '1C already holds what the hub has');
  });

  test('before the hub has read the contact, the writer finds it by phone in Bitrix24 instead of adding one', async () => {
    t = await startTwoWay(db);
    t.b24.setFaults({ dropEvents: 1 }); // the event is lost: the hub does not know the contact yet
    const contactId = await contactInCrm(t, 'Кузнецов', '8 (912) 345-67-89');
    t.b24.setFaults({ dropEvents: 0 });
    const ref = personInOnec(t);
    assert.equal((await t.pullUt()).stats.created, 1);
    await t.hub.deliver('counterparties-to-crm');
    await t.settleEvents();
    await t.pullCrm('people');

    assert.equal(contacts(t).length, 1, 'no second contact');
    const all = await counterparties(t.store);
    assert.equal(all.length, 1);
    assert.deepEqual(all[0]!.links, { crm: `contact:${contactId}`, ut: ref });
  });

  test('an ambiguous match is held for a person, nothing is written; linking it updates the chosen contact', async () => {
    t = await startTwoWay(db);
    const first = await contactInCrm(t, 'Кузнецов', '8 (912) 345-67-89');
    const second = await contactInCrm(t, 'Кузнецов (склад)', '+7(912)345-67-89');
    await t.settleEvents();
    assert.equal((await counterparties(t.store)).length, 2, 'two contacts of one system stay two objects');

    const ref = personInOnec(t);
    t.b24.resetStats();
    const pulled = await t.pullUt();
    assert.deepEqual([pulled.stats.held, pulled.stats.created, pulled.stats.matched], [1, 0, 0]);
    const session = await t.store.db
      .selectFrom('sessions')
      .select('status')
      .where('id', '=', pulled.sessionId)
      .executeTakeFirstOrThrow();
    assert.equal(session.status, 'partial');
    await t.hub.deliver('counterparties-to-crm');
    assert.deepEqual(t.b24.stats().writesByMethod, {}, 'nothing written while a person decides');
    assert.equal(contacts(t).length, 2);

    const holds = await listHolds(t.store, { kind: 'possible_duplicate' });
    assert.equal(holds.total, 1);
    const hold = holds.items[0]!;
    assert.equal(hold.externalId, ref);
    const byContact = new Map((await counterparties(t.store)).map((r) => [r.links['crm'], r.id]));
    assert.deepEqual(
      hold.candidates.map((c) => c.recordId).sort(),
      [byContact.get(`contact:${first}`), byContact.get(`contact:${second}`)].sort(),
    );

    // The person picks the first contact. 1C's object comes again with the next full read
    // (its DataVersion did not change, so a regular poll would not bring it).
    await resolveHold(t.store, hold.id, { link: byContact.get(`contact:${first}`)! }, 'manager');
    const after = await t.pullUt(true);
    assert.deepEqual([after.stats.held, after.stats.updated, after.stats.created], [0, 1, 0]);
    await t.hub.deliver('counterparties-to-crm');
    await t.settleEvents();

    assert.equal(contacts(t).length, 2, 'no contact added');
    assert.equal(t.b24.stats().writesByMethod['crm.contact.update'], 1);
    assert.equal(
      t.b24.state.table('contact').get(first)!['SECOND_NAME'],
      'Ильич',
      'the chosen one got 1C’s name',
    );
    assert.equal(
      t.b24.state.table('contact').get(second)!['LAST_NAME'],
      'Кузнецов (склад)',
      'the other is untouched',
    );
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configJsonSchema } from '../src/config/json-schema.ts';
import { ConfigError, parseConfig } from '../src/config/load.ts';
import {
  canonicalFields,
  compileOwnership,
  type EntityOwnership,
  fieldsOwnedBy,
  mergeOwned,
  type StoredState,
} from '../src/engine/ownership.ts';

const OWNERS: EntityOwnership = compileOwnership({
  counterparty: {
    owners: { ut: ['name', 'inn', 'kpp', 'addresses'], crm: ['phones', 'emails'] },
    unowned: 'any',
  },
}).get('counterparty')!;

const NEWEST: EntityOwnership = compileOwnership({
  counterparty: { owners: { ut: ['inn'] }, unowned: 'newest' },
}).get('counterparty')!;

const stored = (data: Record<string, unknown>, origin: string, at: number | null = null): StoredState => ({
  data,
  origin,
  sourceUpdatedAt: at,
});

describe('mergeOwned: what is stored when a system sends an object the hub holds', () => {
  const hub = {
    name: 'ООО Ромашка',
    inn: '7707083893',
    phones: [{ value: '+7 495 000-00-01' }],
    comment: 'из 1С',
  };
  const cases: Array<{
    title: string;
    rules: EntityOwnership;
    system: string;
    incoming: Record<string, unknown>;
    incomingAt?: number;
    stored: StoredState;
    data: Record<string, unknown>;
    stale?: boolean;
    at?: number;
  }> = [
    {
      title: "a non-owner's values of owned fields are ignored; its own and unowned fields are taken",
      rules: OWNERS,
      system: 'crm',
      incoming: {
        name: 'Ромашка (CRM)',
        inn: '0000000000',
        phones: [{ value: '+7 900 000-00-02' }],
        comment: 'из CRM',
      },
      stored: stored(hub, 'ut'),
      data: {
        name: 'ООО Ромашка',
        inn: '7707083893',
        phones: [{ value: '+7 900 000-00-02' }],
        comment: 'из CRM',
      },
    },
    {
      title: 'the owner changes its fields; the phones it does not own stay as the hub has them',
      rules: OWNERS,
      system: 'ut',
      incoming: { name: 'ООО Ромашка-2', inn: '7707083894', phones: [{ value: '8 495 000-00-01' }] },
      stored: stored(hub, 'crm'),
      data: { name: 'ООО Ромашка-2', inn: '7707083894', phones: [{ value: '+7 495 000-00-01' }] },
    },
    {
      title: 'an owner that sends no value clears its field; a non-owner that sends none leaves it',
      rules: OWNERS,
      system: 'crm',
      incoming: { name: 'x' },
      stored: stored(hub, 'ut'),
      data: { name: 'ООО Ромашка', inn: '7707083893' },
    },
    {
      title: 'a system no rule names owns nothing: it changes only unowned fields',
      rules: OWNERS,
      system: 'site',
      incoming: { name: 'Сайт', comment: 'с сайта', phones: [] },
      stored: stored(hub, 'ut'),
      data: {
        name: 'ООО Ромашка',
        inn: '7707083893',
        phones: [{ value: '+7 495 000-00-01' }],
        comment: 'с сайта',
      },
    },
    {
      title: 'newest: an older change from another system is ignored and reported stale',
      rules: NEWEST,
      system: 'crm',
      incoming: { name: 'Старое имя', inn: '0000000000', comment: 'из 1С' },
      incomingAt: 1_000,
      stored: stored(hub, 'ut', 2_000),
      data: hub,
      stale: true,
      at: 2_000,
    },
    {
      title: 'newest: a newer change wins and moves the time',
      rules: NEWEST,
      system: 'crm',
      incoming: { name: 'Новое имя', inn: '0000000000' },
      incomingAt: 3_000,
      stored: stored(hub, 'ut', 2_000),
      data: { name: 'Новое имя', inn: '7707083893' },
      at: 3_000,
    },
    {
      title: "newest: a system's own older re-read is its current state, not stale",
      rules: NEWEST,
      system: 'crm',
      incoming: { name: 'Снова', inn: '7707083893' },
      incomingAt: 1_000,
      stored: stored(hub, 'crm', 2_000),
      data: { name: 'Снова', inn: '7707083893' },
      at: 2_000,
    },
    {
      title: 'newest: an item without a change time cannot be judged and counts as newest',
      rules: NEWEST,
      system: 'crm',
      incoming: { name: 'Без времени', inn: '7707083893' },
      stored: stored(hub, 'ut', 2_000),
      data: { name: 'Без времени', inn: '7707083893' },
      at: 2_000,
    },
    {
      title: 'newest: an older item equal in the unowned fields is not stale',
      rules: NEWEST,
      system: 'crm',
      incoming: { ...hub, inn: '0000000000' },
      incomingAt: 1_000,
      stored: stored(hub, 'ut', 2_000),
      data: hub,
      at: 2_000,
    },
  ];
  for (const c of cases) {
    test(c.title, () => {
      const merged = mergeOwned(c.rules, c.system, c.incoming, c.incomingAt, c.stored);
      assert.deepEqual(merged.data, c.data);
      assert.equal(merged.stale, c.stale ?? false);
      assert.equal(merged.sourceUpdatedAt, c.at);
    });
  }
});

describe('compiled ownership', () => {
  test('fieldsOwnedBy lists what a target owns; entities without rules cost nothing', () => {
    const ownership = compileOwnership({
      counterparty: { owners: { ut: ['name', 'inn'], crm: ['phones'] }, unowned: 'any' },
      contact: { owners: {}, unowned: 'any' },
      product: { owners: {}, unowned: 'newest' },
    });
    assert.deepEqual(fieldsOwnedBy(ownership, 'counterparty', 'ut'), ['name', 'inn']);
    assert.deepEqual(fieldsOwnedBy(ownership, 'counterparty', 'crm'), ['phones']);
    assert.equal(fieldsOwnedBy(ownership, 'counterparty', 'site'), undefined);
    assert.equal(ownership.has('contact'), false, 'no owners and "any": the rules change nothing');
    assert.equal(ownership.get('product')?.unowned, 'newest');
  });

  test('canonical fields are read from the entity schema', () => {
    assert.ok(canonicalFields('counterparty')!.includes('phones'));
    assert.ok(canonicalFields('contact')!.includes('counterpartyId'));
    assert.equal(canonicalFields('no-such-entity'), undefined);
  });
});

const SYSTEMS = `
systems:
  ut: { kind: onec-odata, url: "https://1c.example.ru/ut" }
  crm: { kind: bitrix24, url: "https://firm.bitrix24.ru" }
`;

function issuesOf(text: string): string[] {
  try {
    parseConfig(text, { env: {} });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.issues;
  }
  assert.fail('the config was accepted');
}

describe('ownership: in obmen.yaml', () => {
  test('a valid section is accepted with its defaults', () => {
    const config = parseConfig(
      `${SYSTEMS}
ownership:
  counterparty:
    owners:
      ut: [name, fullName, inn, kpp, addresses]
      crm: [phones, emails]
  contact:
    unowned: newest
`,
      { env: {} },
    );
    assert.deepEqual(config.ownership['counterparty']?.owners['crm'], ['phones', 'emails']);
    assert.equal(config.ownership['counterparty']?.unowned, 'any');
    assert.deepEqual(config.ownership['contact'], { owners: {}, unowned: 'newest' });
  });

  const cases: Array<[string, string, string[]]> = [
    [
      'unknown system, misspelt field, nested path and a field with two owners',
      `ownership:
  counterparty:
    owners:
      ut: [name, inn, phones]
      crm: [phone, phones, addresses.city]
      bitrix: [emails]`,
      [
        'ownership.counterparty.owners.crm[0]: counterparty has no field "phone"; did you mean "phones"? (fields: kind, name, fullName, inn, kpp, ogrn, phones, emails, addresses, comment, deleted)',
        'ownership.counterparty.owners.crm[1]: "phones" is already owned by ut; a field has one owner, so remove it from one of the two lists',
        'ownership.counterparty.owners.crm[2]: "addresses.city" is a nested path; ownership is per top-level field, so write "addresses" (it covers everything inside)',
        'ownership.counterparty.owners.bitrix: system "bitrix" is not declared under systems (declared: ut, crm)',
      ],
    ],
    [
      'unknown entity',
      `ownership:
  counterparti:
    owners: { ut: [name] }`,
      [
        'ownership.counterparti: unknown entity "counterparti"; did you mean "counterparty"? (known: product, product_group, property, unit, price_type, price, warehouse, stock, counterparty, contact, order, order_status); declare custom ones under entities',
      ],
    ],
  ];
  for (const [title, text, expected] of cases) {
    test(title, () => assert.deepEqual(issuesOf(`${SYSTEMS}${text}`), expected));
  }

  test('a wrong policy and an empty owner list are refused by the schema', () => {
    const issues = issuesOf(`${SYSTEMS}
ownership:
  counterparty:
    owners: { ut: [] }
    unowned: latest
`);
    assert.deepEqual(issues, [
      'ownership.counterparty.owners.ut: is too short, at least 1 needed',
      'ownership.counterparty.unowned: a string ("latest") is not allowed; use one of "any", "newest"',
    ]);
  });

  test('the JSON Schema describes the section', () => {
    const schema = configJsonSchema() as { properties: Record<string, { description?: string }> };
    assert.match(schema.properties['ownership']?.description ?? '', /which system owns which fields/);
  });
});

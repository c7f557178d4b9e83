import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  innProblem,
  normalizeArticle,
  normalizeBarcode,
  normalizeEmail,
  normalizeInn,
  normalizeKpp,
  normalizePhone,
  parsePhone,
} from '../src/matching/normalize.ts';
import { keysFor, matchKeysOf } from '../src/matching/rules.ts';

describe('normalizePhone', () => {
  const cases: Array<[unknown, string | undefined]> = [
    ['+7 (912) 345-67-89', '+79123456789'],
    ['+79123456789', '+79123456789'],
    ['8 912 345 67 89', '+79123456789'],
    ['89123456789', '+79123456789'],
    ['8(912)345-67-89', '+79123456789'],
    ['7 912 345-67-89', '+79123456789'],
    ['9123456789', '+79123456789'],
    ['(912) 345 67 89', '+79123456789'],
    ['8 (495) 123-45-67 доб. 123', '+74951234567'],
    ['+7 495 123 45 67 ext. 12', '+74951234567'],
    ['+7 495 123-45-67 #9', '+74951234567'],
    ['+8 912 345 67 89', '+79123456789'],
    ['  +7\u00a0912\u00a0345\u00a067\u00a089  ', '+79123456789'],
    [89123456789, '+79123456789'],
    ['+375 29 123-45-67', '+375291234567'],
    ['810 375 29 1234567', '+375291234567'],
    ['00 49 30 1234567', '+49301234567'],
    ['12345', undefined],
    ['', undefined],
    ['позвонить вечером', undefined],
    ['ivan@example.ru', undefined],
    [null, undefined],
    [{}, undefined],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} → ${expected}`, () => assert.equal(normalizePhone(input), expected));
  }
  test('the extension is kept apart', () => {
    assert.deepEqual(parsePhone('8 (495) 123-45-67 доб. 123'), { e164: '+74951234567', extension: '123' });
  });
});

describe('normalizeEmail', () => {
  const cases: Array<[unknown, string | undefined]> = [
    ['  Ivan.Petrov@Example.RU ', 'ivan.petrov@example.ru'],
    ['i.ivanov@yandex.ru', 'i.ivanov@yandex.ru'],
    ['I.Ivanov+shop@Company.ru', 'i.ivanov+shop@company.ru'],
    ['Ivan.Petrov+crm@gmail.com', 'ivanpetrov@gmail.com'],
    ['ivan.petrov@googlemail.com', 'ivanpetrov@gmail.com'],
    ['mailto:sales@firm.ru', 'sales@firm.ru'],
    ['Иван Петров <Ivan@Firm.ru>', 'ivan@firm.ru'],
    ['not an email', undefined],
    ['ivan@localhost', undefined],
    ['', undefined],
    [42, undefined],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} → ${expected}`, () => assert.equal(normalizeEmail(input), expected));
  }
});

describe('INN and KPP', () => {
  const inns: Array<[unknown, string | undefined]> = [
    ['7707083893', '7707083893'],
    ['7707 083 893', '7707083893'],
    [7736050003, '7736050003'],
    ['500100732259', '500100732259'],
    ['7707083894', undefined],
    ['500100732258', undefined],
    ['770708389', undefined],
    ['77070838931', undefined],
    ['77O7083893', undefined],
    ['', undefined],
  ];
  for (const [input, expected] of inns) {
    test(`INN ${JSON.stringify(input)} → ${expected}`, () => assert.equal(normalizeInn(input), expected));
  }
  test('INN problems say what is wrong', () => {
    assert.match(innProblem('7707083894')!, /check digit/);
    assert.match(innProblem('123')!, /10 digits .* or 12/);
    assert.match(innProblem('77O7083893')!, /digits only/);
    assert.equal(innProblem('7707083893'), undefined);
  });
  const kpps: Array<[unknown, string | undefined]> = [
    ['773601001', '773601001'],
    [' 7736 01 001 ', '773601001'],
    ['7736ab001', '7736AB001'],
    ['77360100', undefined],
    ['7736-01-001x', undefined],
  ];
  for (const [input, expected] of kpps) {
    test(`KPP ${JSON.stringify(input)} → ${expected}`, () => assert.equal(normalizeKpp(input), expected));
  }
});

describe('articles, barcodes and match keys', () => {
  test('articles ignore case and spacing', () => {
    assert.equal(normalizeArticle(' ab-12  x '), 'AB-12 X');
    assert.equal(normalizeArticle('   '), undefined);
  });
  test('barcodes drop spaces', () => {
    assert.equal(normalizeBarcode('4 600000 000017'), '4600000000017');
    assert.equal(normalizeBarcode(''), undefined);
  });
  test('counterparty keys: INN/KPP, every e-mail and phone, normalised and deduplicated', () => {
    const keys = matchKeysOf('counterparty', {
      inn: '7707083893',
      kpp: '773601001',
      emails: ['Sales@Firm.ru', 'sales@firm.ru '],
      phones: ['8 912 345-67-89', '+7 912 3456789', 'nonsense'],
    });
    assert.deepEqual(keys, [
      { rule: 'inn_kpp', key: '7707083893/773601001' },
      { rule: 'email', key: 'sales@firm.ru' },
      { rule: 'phone', key: '+79123456789' },
    ]);
  });
  test('canonical phones and e-mails are { value, type } objects', () => {
    assert.deepEqual(
      matchKeysOf('contact', {
        emails: [{ value: 'Ivan@Firm.ru', type: 'work' }],
        phones: [{ value: '8 (912) 345-67-89', type: 'mobile' }, { value: '+7 912 345 67 89' }],
      }),
      [
        { rule: 'email', key: 'ivan@firm.ru' },
        { rule: 'phone', key: '+79123456789' },
      ],
    );
  });
  test('a person has INN without KPP; an invalid INN gives no key', () => {
    assert.deepEqual(keysFor('inn_kpp', { inn: '500100732259' }), ['500100732259']);
    assert.deepEqual(keysFor('inn_kpp', { inn: '7707083894', kpp: '773601001' }), []);
  });
  test('product keys: article and barcodes', () => {
    assert.deepEqual(matchKeysOf('product', { name: 'x', article: 'a-1', barcodes: ['460 1', '4601'] }), [
      { rule: 'article', key: 'A-1' },
      { rule: 'barcode', key: '4601' },
    ]);
  });
});

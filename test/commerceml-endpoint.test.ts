import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import iconv from 'iconv-lite';
import { generatePackage, runCatalogExchange } from '../emulators/onec-exchange/index.ts';
import { resolveOnecCommercemlSystem } from '../src/connectors/onec-commerceml/index.ts';
import { basicAuthHeader, ExchangeClientError } from '../src/exchange/commerceml/index.ts';
import type { Store } from '../src/store/store.ts';
import { LOGIN, type ObmenUnderTest, PASSWORD, rawCall, startObmen } from './commerceml-endpoint.harness.ts';

const win = (bytes: Buffer) => iconv.decode(bytes, 'windows-1251');

describe('CommerceML endpoint: checkauth, sessions, init', () => {
  let obmen: ObmenUnderTest;
  before(async () => {
    obmen = await startObmen({ fileLimit: 65536 });
  });
  after(() => obmen.close());

  test('checkauth with a Cyrillic UTF-8 login answers the five Bitrix lines in windows-1251', async () => {
    const reply = await rawCall(
      obmen.url,
      { type: 'catalog', mode: 'checkauth' },
      { headers: { authorization: basicAuthHeader(LOGIN, PASSWORD) } },
    );
    assert.equal(reply.status, 200);
    assert.equal(reply.contentType, 'text/html; charset=windows-1251');
    const lines = win(reply.bytes).split('\n');
    assert.equal(lines[0], 'success');
    assert.equal(lines[1], 'PHPSESSID');
    assert.match(lines[2]!, /^[0-9a-f]{32}$/);
    assert.match(lines[3]!, /^sessid=[0-9a-f]{32}$/);
    assert.match(lines[4]!, /^timestamp=\d{10}$/);
    assert.equal(lines[5], '');
    // The cookie is stored only as a hash.
    const rows = await obmen.store.db.selectFrom('exchange_sessions').selectAll().execute();
    assert.ok(rows.length >= 1);
    for (const row of rows) assert.notEqual(row.cookie_hash, lines[2]);
    assert.ok(rows.some((row) => row.cookie_hash === createHash('sha256').update(lines[2]!).digest('hex')));
  });

  test('sale checkauth answers four lines (no timestamp), like sale.export.1c', async () => {
    const reply = await rawCall(
      obmen.url,
      { type: 'sale', mode: 'checkauth' },
      { headers: { authorization: basicAuthHeader(LOGIN, PASSWORD) } },
    );
    const lines = win(reply.bytes).trimEnd().split('\n');
    assert.equal(lines.length, 4);
    assert.equal(lines[0], 'success');
    assert.match(lines[3]!, /^sessid=/);
  });

  test('wrong password, missing header and an unknown type fail with a Russian reason', async () => {
    const wrong = await rawCall(
      obmen.url,
      { type: 'catalog', mode: 'checkauth' },
      { headers: { authorization: basicAuthHeader(LOGIN, 'nope') } },
    );
    const text = win(wrong.bytes);
    assert.match(text, /^failure\n/);
    assert.match(text, /неверный логин или пароль/);
    assert.ok(!text.includes('nope'));
    const none = await rawCall(obmen.url, { type: 'catalog', mode: 'checkauth' });
    assert.match(win(none.bytes), /^failure\n/);
    const other = await rawCall(obmen.url, { type: 'get_catalog', mode: 'checkauth' });
    assert.equal(win(other.bytes), 'failure\nUnknown command type.\n');
    await assert.rejects(obmen.client(LOGIN, 'bad').checkauth('catalog'), ExchangeClientError);
  });

  test('a call without a valid cookie, or with a wrong sessid, is refused', async () => {
    const noCookie = await rawCall(obmen.url, { type: 'catalog', mode: 'init' });
    assert.match(win(noCookie.bytes), /^failure\nСеанс обмена не найден/);
    const badCookie = await rawCall(
      obmen.url,
      { type: 'catalog', mode: 'init' },
      { headers: { cookie: 'PHPSESSID=0123456789abcdef0123456789abcdef' } },
    );
    assert.match(win(badCookie.bytes), /^failure\n/);

    const auth = win(
      (
        await rawCall(
          obmen.url,
          { type: 'catalog', mode: 'checkauth' },
          { headers: { authorization: basicAuthHeader(LOGIN, PASSWORD) } },
        )
      ).bytes,
    ).split('\n');
    const cookie = `${auth[1]}=${auth[2]}`;
    const wrongSessid = await rawCall(
      obmen.url,
      { type: 'catalog', mode: 'init', sessid: 'ffffffffffffffffffffffffffffffff' },
      { headers: { cookie } },
    );
    assert.match(win(wrongSessid.bytes), /^failure\nОшибка проверки источника запроса/);
    const good = await rawCall(
      obmen.url,
      { type: 'catalog', mode: 'init', sessid: auth[3]!.slice('sessid='.length), version: '2.08' },
      { headers: { cookie: `other=1; ${cookie}` } },
    );
    // init answers its settings without a leading "success", byte for byte in windows-1251.
    assert.deepEqual(good.bytes, Buffer.from('zip=yes\nfile_limit=65536\n', 'latin1'));
  });

  test('unsafe upload names are refused and nothing is written outside the exchange folder', async () => {
    const client = obmen.client();
    await client.checkauth('catalog');
    await client.init('catalog');
    const unsafe = [
      '../escape.xml',
      'a/../../escape.xml',
      '..\\escape.xml',
      '/etc/passwd',
      'C:\\Windows\\x.xml',
      'shell.php',
      'import_files/x.php.jpg',
      'run.sh',
      'app.js',
      '.htaccess',
      'a//b.xml',
      '',
    ];
    for (const name of unsafe) {
      await assert.rejects(
        client.sendChunk('catalog', name, Buffer.from('<?php echo 1; ?>')),
        (error: unknown) =>
          error instanceof ExchangeClientError && /^failure\nФайл не принят|^failure\n/.test(error.reply),
        `"${name}" must be refused`,
      );
    }
    assert.ok(!existsSync(join(obmen.dir, 'exchange', 'escape.xml')));
    assert.ok(!existsSync(join(obmen.dir, 'escape.xml')));
    await client.sendChunk('catalog', 'import_files/ab/ab12.jpg', Buffer.from([0xff, 0xd8, 0xff]));
    assert.deepEqual(
      readFileSync(join(obmen.dir, 'exchange', 'catalog', 'import_files', 'ab', 'ab12.jpg')),
      Buffer.from([0xff, 0xd8, 0xff]),
    );
  });

  test('file chunks are appended in order and recorded in the inbox before the answer', async () => {
    const work = await mkdtemp(join(tmpdir(), 'cml-chunks-'));
    try {
      const [importXml] = await generatePackage(work, { goods: 120, propertiesPerGood: 3, offers: false });
      const original = readFileSync(importXml!.path);
      assert.ok(original.length > 3 * 65536, 'the file must need several chunks');
      const client = obmen.client();
      await client.checkauth('catalog');
      const init = await client.init('catalog');
      const before = client.requests;
      await client.uploadFile('catalog', 'import.xml', importXml!.path, init.fileLimit);
      assert.equal(client.requests - before, Math.ceil(original.length / 65536));
      const stored = readFileSync(join(obmen.dir, 'exchange', 'catalog', 'import.xml'));
      assert.ok(stored.equals(original));
      const inbox = await obmen.store.db
        .selectFrom('inbox')
        .selectAll()
        .where('system', '=', 'erp')
        .orderBy('id', 'desc')
        .execute();
      const row = inbox.find((r) => JSON.parse(r.payload).filename === 'import.xml');
      assert.ok(row, 'inbox row for import.xml');
      const payload = JSON.parse(row.payload) as { size: number; sha256: string; path: string };
      assert.equal(payload.size, original.length);
      assert.equal(payload.sha256, createHash('sha256').update(original).digest('hex'));
      assert.ok(!row.payload.includes('<Товар>'), 'the inbox keeps the path and hash, not the content');
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});

describe('CommerceML endpoint: import', () => {
  let obmen: ObmenUnderTest;
  let work: string;
  before(async () => {
    obmen = await startObmen({ importStepSeconds: 0.05, fileLimit: 1024 * 1024, batchSize: 100 });
    work = await mkdtemp(join(tmpdir(), 'cml-import-'));
  });
  after(async () => {
    await obmen.close();
    await rm(work, { recursive: true, force: true });
  });

  test('a zipped package is imported over several bounded import calls, then re-imported without changes', async () => {
    const files = await generatePackage(join(work, 'gen'), { goods: 1500, propertiesPerGood: 4, seed: 7 });
    const text = readFileSync(files[0]!.path, 'utf8');
    const goods = (text.match(/<Товар>/g) ?? []).length;
    const progress: string[] = [];
    const result = await runCatalogExchange({
      client: obmen.client(),
      files,
      onProgress: (line) => progress.push(line),
      finish: true,
    });
    assert.equal(result.zipped, true);
    assert.ok(
      result.importCalls > files.length,
      `expected progress answers, got ${result.importCalls} calls`,
    );
    assert.ok(progress.some((line) => line.startsWith('progress: ')));
    assert.equal(await obmen.recordCount('product'), goods);
    assert.equal(await obmen.recordCount('product_group'), (text.match(/<Группа>/g) ?? []).length);
    const offers = readFileSync(files[1]!.path, 'utf8');
    assert.equal(await obmen.recordCount('price'), (offers.match(/<Цена>/g) ?? []).length);

    const sessions = await obmen.store.db
      .selectFrom('sessions')
      .selectAll()
      .where('kind', '=', 'exchange')
      .execute();
    const importSession = sessions.find((s) => s.name === 'commerceml catalog import.xml');
    assert.equal(importSession?.status, 'ok');
    assert.equal(JSON.parse(importSession!.counts).product, goods);

    const versionsBefore = await obmen.store.db
      .selectFrom('records')
      .select((eb) => eb.fn.sum<number>('version').as('v'))
      .executeTakeFirstOrThrow();
    await runCatalogExchange({ client: obmen.client(), files, zip: 'never' });
    const versionsAfter = await obmen.store.db
      .selectFrom('records')
      .select((eb) => eb.fn.sum<number>('version').as('v'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(versionsAfter.v), Number(versionsBefore.v), 'the same package again changes nothing');
  });

  test('malformed XML answers failure naming the file and the line', async () => {
    const path = join(work, 'broken.xml');
    writeFileSync(
      path,
      '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация ВерсияСхемы="2.08">\n<Каталог>\n<Товары>\n<Товар><Ид>x1</Ид><Наименование>Стол</Наименование></Товар>\n<Товар><Ид>x2</Ид>\n',
    );
    const client = obmen.client();
    await client.checkauth('catalog');
    await client.init('catalog');
    await client.uploadFile('catalog', 'import.xml', path, 1 << 20);
    const error = await client.importUntilDone('catalog', 'import.xml').then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof ExchangeClientError, 'import must fail');
    assert.match(error.reply, /^failure\n/);
    assert.match(error.reply, /import\.xml/);
    assert.match(error.reply, /строк[аеи]\s*\d+/);
  });

  test('a bad item is reported with its line and the rest of the package loads', async () => {
    const good = (id: string, name: string) =>
      `<Товар><Ид>${id}</Ид><Артикул>A-${id}</Артикул><Наименование>${name}</Наименование></Товар>\n`;
    const path = join(work, 'partial.xml');
    writeFileSync(
      path,
      iconv.encode(
        '<?xml version="1.0" encoding="windows-1251"?>\n<КоммерческаяИнформация ВерсияСхемы="2.05">\n<Каталог СодержитТолькоИзменения="false">\n<Ид>cat</Ид>\n<Товары>\n' +
          good('p-1', 'Стул') +
          '<Товар><Ид>p-bad</Ид><Артикул>A-bad</Артикул></Товар>\n' +
          good('p-2', 'Шкаф') +
          good('p-3', 'Лампа') +
          '</Товары>\n</Каталог>\n</КоммерческаяИнформация>\n',
        'windows-1251',
      ),
    );
    const client = obmen.client();
    await client.checkauth('catalog');
    await client.init('catalog');
    await client.uploadFile('catalog', 'partial.xml', path, 1 << 20);
    const done = await client.importUntilDone('catalog', 'partial.xml');
    assert.match(done.message, /с ошибками 1/);
    for (const id of ['p-1', 'p-2', 'p-3']) {
      const link = await obmen.store.db
        .selectFrom('links')
        .select('record_id')
        .where('system', '=', 'erp')
        .where('entity', '=', 'product')
        .where('external_id', '=', id)
        .executeTakeFirst();
      assert.ok(link, `${id} loaded`);
    }
    const session = await obmen.store.db
      .selectFrom('sessions')
      .selectAll()
      .where('name', '=', 'commerceml catalog partial.xml')
      .executeTakeFirstOrThrow();
    assert.equal(session.status, 'partial');
    assert.match(session.error ?? '', /partial\.xml, строка 7/);
    assert.match(session.error ?? '', /p-bad/);
  });

  test('import of a file never uploaded fails with a clear message', async () => {
    const client = obmen.client();
    await client.checkauth('catalog');
    await client.init('catalog');
    await assert.rejects(client.importStep('catalog', 'offers.xml'), (error: unknown) => {
      assert.ok(error instanceof ExchangeClientError);
      assert.match(error.reply, /Файл offers\.xml не найден/);
      return true;
    });
  });
});

describe('onec-commerceml configuration', () => {
  const cases: Array<{ system: Record<string, unknown>; error: RegExp }> = [
    { system: { kind: 'onec-commerceml' }, error: /systems\.erp\.credentials: set "login" and "password"/ },
    {
      system: {
        kind: 'onec-commerceml',
        credentials: { login: 'a', password: 'b' },
        options: { encoding: 'koi8-r' },
      },
      error: /systems\.erp\.options\.encoding: use one of windows-1251, utf-8/,
    },
    {
      system: {
        kind: 'onec-commerceml',
        credentials: { login: 'a', password: 'b' },
        options: { fileLimit: 10 },
      },
      error: /systems\.erp\.options\.fileLimit: must be at least 65536/,
    },
    {
      system: {
        kind: 'onec-commerceml',
        credentials: { login: 'a', password: 'b' },
        options: { zipp: true },
      },
      error: /unknown setting "zipp"/,
    },
  ];
  for (const { system, error } of cases) {
    test(`refuses ${JSON.stringify(system.options ?? system.credentials ?? {})}`, () => {
      assert.throws(() => resolveOnecCommercemlSystem('erp', system as never), error);
    });
  }

  test('check() is passive-friendly: it only needs a writable exchange folder', async () => {
    const { onecCommercemlConnector } = await import('../src/connectors/onec-commerceml/index.ts');
    const pino = (await import('pino')).default;
    const make = (dataDir: string) =>
      onecCommercemlConnector.create({
        systemName: 'erp',
        system: { kind: 'onec-commerceml', credentials: { login: 'a', password: 'b' }, options: { dataDir } },
        http: {
          request: () => Promise.reject(new Error('no outbound calls expected')),
          stream: () => Promise.reject(new Error('no outbound calls expected')),
        },
        log: pino({ level: 'silent' }),
        signal: new AbortController().signal,
      });
    const dir = await mkdtemp(join(tmpdir(), 'cml-check-'));
    try {
      const good = make(join(dir, 'exchange'));
      assert.equal(good.passive, true);
      await good.check();
      assert.ok(existsSync(join(dir, 'exchange')));
      writeFileSync(join(dir, 'file'), '');
      const bad = make(join(dir, 'file', 'sub'));
      await assert.rejects(bad.check(), /systems\.erp\.options\.dataDir/);
      await good.close();
      await good.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the password never appears in a config error', () => {
    assert.throws(
      () =>
        resolveOnecCommercemlSystem('erp', {
          kind: 'onec-commerceml',
          credentials: { login: 'a', password: 'super-secret', extra: 'x' },
        } as never),
      (error: Error) => !error.message.includes('super-secret'),
    );
  });
});

describe('CommerceML endpoint: archives, restarts, encodings', () => {
  test('an archive with an unsafe entry or over the unpacked limit fails without writing outside', async () => {
    const { zipSync } = await import('fflate');
    const obmen = await startObmen({ maxUnpackedBytes: 100_000 });
    try {
      const client = obmen.client();
      await client.checkauth('catalog');
      await client.init('catalog');
      const evil = zipSync({ '../evil.xml': new TextEncoder().encode('<x/>') });
      await client.sendChunk('catalog', 'import.zip', evil);
      await assert.rejects(client.importUntilDone('catalog', 'import.xml'), (error: unknown) => {
        assert.ok(error instanceof ExchangeClientError);
        assert.match(error.reply, /^failure\nархив содержит недопустимый файл/);
        return true;
      });
      assert.ok(!existsSync(join(obmen.dir, 'exchange', 'evil.xml')));

      await client.init('catalog');
      // 1 MB of zeros packs into ~1 KB: the unpacked size is counted, not trusted.
      const bomb = zipSync({ 'import.xml': new Uint8Array(1_000_000) }, { level: 9 });
      assert.ok(bomb.length < 10_000);
      await client.sendChunk('catalog', 'import.zip', bomb);
      await assert.rejects(client.importUntilDone('catalog', 'import.xml'), (error: unknown) => {
        assert.ok(error instanceof ExchangeClientError);
        assert.match(error.reply, /распакованный архив больше 100000 байт/);
        return true;
      });
    } finally {
      await obmen.close();
    }
  });

  test('after a restart the same cookie goes on and the import runs again from the start', async () => {
    const first = await startObmen({ importStepSeconds: 0.05, batchSize: 50 }, { keepDir: true });
    const work = await mkdtemp(join(tmpdir(), 'cml-restart-'));
    const client = first.client();
    let second: ObmenUnderTest | undefined;
    try {
      const [importXml] = await generatePackage(work, { goods: 600, propertiesPerGood: 2, offers: false });
      await client.checkauth('catalog');
      const init = await client.init('catalog');
      await client.uploadFile('catalog', 'import.xml', importXml!.path, init.fileLimit);
      const step = await client.importStep('catalog', 'import.xml');
      assert.equal(step.state, 'progress');
      await first.close();
      second = await startObmen(
        { importStepSeconds: 0.05 },
        { dir: first.dir, port: Number(new URL(first.base).port) },
      );
      // Same client, same cookie: the session lives in the database.
      const done = await client.importUntilDone('catalog', 'import.xml');
      assert.match(done.message, /завершён/);
      assert.equal(await second.recordCount('product'), 600);
    } finally {
      await second?.close();
      await rm(work, { recursive: true, force: true });
    }
  });

  test('a package read on the parser thread (prepared) and again in this thread (as sent) is one version', async () => {
    // With prepareOnParserThread the parser thread validates and writes items out for ingest
    // (engine/prepared.ts); an obmen with parseThread: false takes them as the parser gives them.
    // The hub must not tell them apart.
    const first = await startObmen(
      { importStepSeconds: 0.05, batchSize: 100, prepareOnParserThread: true },
      { keepDir: true },
    );
    const work = await mkdtemp(join(tmpdir(), 'cml-prepared-'));
    let second: ObmenUnderTest | undefined;
    try {
      const files = await generatePackage(work, { goods: 700, propertiesPerGood: 4, seed: 11 });
      await runCatalogExchange({ client: first.client(), files, zip: 'never' });
      const versions = async (store: Store) =>
        Number(
          (
            await store.db
              .selectFrom('records')
              .select((eb) => eb.fn.sum<number>('version').as('v'))
              .executeTakeFirstOrThrow()
          ).v,
        );
      const before = await versions(first.store);
      assert.equal(await first.recordCount('product'), 700);
      await first.close();
      second = await startObmen(
        { importStepSeconds: 0.05, batchSize: 100, parseThread: false },
        { dir: first.dir },
      );
      const result = await runCatalogExchange({ client: second.client(), files, zip: 'never' });
      assert.equal(await versions(second.store), before, 'the same package as sent changes nothing');
      for (const message of Object.values(result.messages))
        assert.match(message, /записано 0, без изменений/);
      assert.equal(Object.keys(result.messages).length, files.length);
    } finally {
      await second?.close();
      rmSync(first.dir, { recursive: true, force: true });
      await rm(work, { recursive: true, force: true });
    }
  });

  test('utf-8 replies when configured', async () => {
    const obmen = await startObmen({ encoding: 'utf-8' });
    try {
      const reply = await rawCall(obmen.url, { type: 'catalog', mode: 'checkauth' });
      assert.equal(reply.contentType, 'text/html; charset=utf-8');
      assert.equal(reply.bytes.toString('utf8').split('\n')[0], 'failure');
      assert.ok(reply.bytes.toString('utf8').includes('неверный логин или пароль'));
    } finally {
      await obmen.close();
    }
  });
});

describe('CommerceML endpoint: several 1C systems in one obmen', () => {
  test('/exchange/1c/<system> reaches each system; the short paths serve the first one', async () => {
    const obmen = await startObmen(
      {},
      {
        systems: {
          shop2: {
            kind: 'onec-commerceml',
            credentials: { login: 'second', password: 'second-pass' },
            options: { encoding: 'utf-8' },
          },
        },
      },
    );
    try {
      const auth = (login: string, password: string) => ({
        headers: { authorization: basicAuthHeader(login, password) },
      });
      const q = { type: 'catalog', mode: 'checkauth' };
      const second = await rawCall(`${obmen.base}/exchange/1c/shop2`, q, auth('second', 'second-pass'));
      assert.equal(second.contentType, 'text/html; charset=utf-8');
      assert.match(second.bytes.toString('utf8'), /^success\n/);
      const wrongSystem = await rawCall(`${obmen.base}/exchange/1c/erp`, q, auth('second', 'second-pass'));
      assert.match(win(wrongSystem.bytes), /^failure\n/);
      for (const path of ['/exchange/1c', '/bitrix/admin/1c_exchange.php']) {
        const first = await rawCall(`${obmen.base}${path}`, q, auth(LOGIN, PASSWORD));
        assert.match(win(first.bytes), /^success\n/, path);
      }
      const unknown = await rawCall(`${obmen.base}/exchange/1c/nope`, q, auth(LOGIN, PASSWORD));
      assert.equal(unknown.status, 404);
    } finally {
      await obmen.close();
    }
  });
});

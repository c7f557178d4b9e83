import assert from 'node:assert/strict';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { classifyOnecResponse, parseOnecError } from '../src/connectors/onec-odata/errors.ts';
import { onecOdataConnector } from '../src/connectors/onec-odata/index.ts';
import { readMetadata } from '../src/connectors/onec-odata/metadata.ts';
import type { SourceItem } from '../src/core/connector.ts';
import { createHttpClient } from '../src/http/client.ts';
import type { HttpResponse } from '../src/http/types.ts';

/**
 * Conformance with what real 1C bases sent (../shared/fixtures/onec-odata, see its README):
 * JSON responses, odata.error bodies, and real УТ 11 $metadata excerpts. Read from there,
 * never copied; skipped with a message where the folder is absent (a fresh clone).
 */
const DIR = fileURLToPath(new URL('../../shared/fixtures/onec-odata/', import.meta.url));
const JSON_FILE = `${DIR}custom_config_odata_json_2016.json`;
const ERRORS_FILE = `${DIR}odata_error_samples.json`;
const METADATA_FILE = `${DIR}ut11_real_metadata_excerpts.xml`;
const skip = existsSync(DIR)
  ? false
  : `real 1C fixtures not found at ${DIR} (they live in ../shared, outside this repository)`;

function response(status: number, body: string, type = 'application/json'): HttpResponse {
  const bytes = new TextEncoder().encode(body);
  return {
    status,
    headers: new Headers({ 'content-type': type }),
    body: bytes,
    durationMs: 1,
    text: () => body,
    json: <T>() => JSON.parse(body) as T,
  };
}

describe('onec-odata: real 1C responses', { skip }, () => {
  const samples = skip
    ? {}
    : (JSON.parse(readFileSync(JSON_FILE, 'utf8')) as Record<string, Record<string, unknown>>);
  const servers: Array<() => Promise<void>> = [];
  after(() => Promise.all(servers.map((close) => close())));

  /** Serves a recorded answer for any GET, as the 1C base it came from did. */
  async function serve(body: unknown): Promise<string> {
    assert.ok(body, 'the recorded answer is in the fixture file');
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json;charset=utf-8' });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(() => new Promise((resolve) => server.close(() => resolve())));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/Test`;
  }

  async function read(url: string, entity: string, entitySet: string): Promise<SourceItem[]> {
    const connector = onecOdataConnector.create({
      systemName: 'moon',
      system: { kind: 'onec-odata', url, credentials: { login: 'Администратор', password: '' } },
      http: createHttpClient({ system: 'moon', maxRetries: 0 }),
      log: pino({ level: 'silent' }),
      signal: new AbortController().signal,
    });
    const items: SourceItem[] = [];
    const source = {
      name: 's',
      system: 'moon',
      entity,
      schedule: '5m',
      batchSize: 100,
      options: { entitySet },
    };
    for await (const batch of connector.read!({ source, cursor: undefined, full: true }))
      items.push(...batch.items);
    return items;
  }

  it('a document with tabular sections: empty refs and dates dropped, padding trimmed, Int64 strings kept', async () => {
    const body = samples['GET Document_ПриходныйОрдер?$format=application/json'];
    const [item] = await read(await serve(body), 'receipt_order', 'Document_ПриходныйОрдер');
    assert.ok(item);
    assert.equal(item.externalId, 'f8c956e5-cdad-11e6-aede-5404a6b4b8ed');
    const data = item.data;
    for (const absent of [
      'Контрагент_Key',
      'ДатаКонтракта',
      'НомерКонтракта',
      'Комментарий',
      'Склад@navigationLinkUrl',
    ]) {
      assert.ok(!(absent in data), `${absent} must be absent`);
    }
    assert.equal(data['Number'], '000000002');
    const rows = data['Товары'] as Array<Record<string, unknown>>;
    assert.equal(rows[0]?.['LineNumber'], '1');
    assert.equal(rows[0]?.['ШтрихКод'], '1');
    assert.equal(rows[0]?.['Количество'], 2);
    assert.deepEqual(
      item.raw,
      (body as { value: unknown[] }).value[0],
      'raw is the object exactly as 1C sent it',
    );
  });

  it('a units catalog (Code, Owner_Key, Int64 "Коэффициент") converts to canonical units', async () => {
    const body = samples['GET Catalog_ЕдиницыИзмерения?$format=application/json (first item)'];
    const [unit] = await read(await serve(body), 'unit', 'Catalog_ЕдиницыИзмерения');
    assert.deepEqual(unit?.data, { code: '000000001', name: 'шт', shortName: 'шт' });
  });

  it('a single-entity answer (@Element, properties at top level) has the product fields', async () => {
    const body =
      samples[
        "GET Catalog_Номенклатура(guid'f8c956ea-cdad-11e6-aede-5404a6b4b8ed')?$format=application/json"
      ];
    const [product] = await read(await serve({ value: [body] }), 'product', 'Catalog_Номенклатура');
    assert.deepEqual(product?.data, {
      name: 'НеЖенскаяНеСумка',
      article: '412',
      groupId: 'f8c956e9-cdad-11e6-aede-5404a6b4b8ed',
    });
  });
});

describe('onec-odata: real odata.error bodies', { skip }, () => {
  const samples = skip ? {} : (JSON.parse(readFileSync(ERRORS_FILE, 'utf8')) as Record<string, unknown>);
  const body = (key: string) => {
    const value = samples[key];
    return typeof value === 'string' ? value : JSON.stringify(value);
  };
  const ctx = {
    system: 'ut',
    what: 'GET Catalog_Поставщики',
    entitySet: 'Catalog_Поставщики',
    expect: 'json' as const,
  };

  it('reads code and message from every JSON and XML sample', () => {
    for (const [key, value] of Object.entries(samples)) {
      if (key.startsWith('_')) continue;
      const parsed = parseOnecError(typeof value === 'string' ? value : JSON.stringify(value));
      assert.ok(parsed?.code, `${key}: code`);
      assert.ok(parsed?.message, `${key}: message`);
    }
    assert.deepEqual(parseOnecError(body('xml_default_format')), {
      code: '9',
      message: 'Экземпляр сущности "НакладнаяОтгрузки" не найден по переданному ключу.',
    });
  });

  it('maps them into the taxonomy: -1 permanent with 1C text, 8 config naming the set, 9 permanent, 14 config', () => {
    const business = classifyOnecResponse(
      response(500, body('xml_business_error_http500'), 'application/xml'),
      {
        ...ctx,
        what: "POST Document_X(guid'…')/Post",
        phase: 'write',
      },
    );
    assert.equal(business?.errorClass, 'permanent');
    assert.match(business?.message ?? '', /Error running processor — 'ОбработкаУдаленияПроведения'/);
    const notPublished = classifyOnecResponse(response(404, body('json_entity_type_not_found_code_8')), {
      ...ctx,
      phase: 'read',
    });
    assert.equal(notPublished?.errorClass, 'config');
    assert.match(
      notPublished?.message ?? '',
      /"Catalog_Поставщики".*Установка стандартного интерфейса OData/,
    );
    const gone = classifyOnecResponse(response(404, body('xml_default_format'), 'application/xml'), {
      ...ctx,
      phase: 'write',
    });
    assert.equal(gone?.errorClass, 'permanent');
    assert.match(gone?.message ?? '', /НакладнаяОтгрузки/);
    const badFilter = classifyOnecResponse(response(400, body('json_filter_parse_error_code_14')), {
      ...ctx,
      phase: 'read',
    });
    assert.equal(badFilter?.errorClass, 'config');
    assert.equal(badFilter?.code, 'ODATA_14');
    const badSegment = classifyOnecResponse(response(400, body('json_bad_path_segment_code_6_http400')), {
      ...ctx,
      phase: 'write',
    });
    assert.equal(badSegment?.errorClass, 'permanent');
    assert.match(badSegment?.message ?? '', /Сегмент пути Owner2 не найден!/);
    const down = classifyOnecResponse(response(503, body('json_method_not_found_code_6')), {
      ...ctx,
      phase: 'read',
    });
    assert.equal(down?.errorClass, 'transient');
  });
});

describe('onec-odata: discover on real УТ 11 $metadata excerpts', { skip }, () => {
  it('streams the file and lists sets, fields, tabular sections and virtual tables', async () => {
    const sets = await readMetadata(createReadStream(METADATA_FILE, { highWaterMark: 4096 }));
    const byName = new Map(sets.map((set) => [set.name, set]));
    const counterparties = byName.get('Catalog_Контрагенты');
    assert.ok(counterparties?.fields.some((f) => f.name === 'ИНН' && f.type === 'Edm.String'));
    assert.ok('КонтактнаяИнформация' in (counterparties?.tabularSections ?? {}));
    const products = byName.get('Catalog_Номенклатура');
    assert.ok(products, 'entity types without a container line are listed under their own name');
    assert.ok(products.fields.length > 100, `${products.fields.length} fields`);
    assert.ok(products.fields.some((f) => f.name === 'СрокГодности' && f.type === 'Edm.Int64'));
    assert.ok(
      byName.get('Document_РеализацияТоваровУслуг')?.fields.some((f) => f.name === 'ЗаказКлиента_Type'),
    );
    assert.equal(byName.get('InformationRegister_КурсыВалют/SliceLast')?.kind, 'virtual-table');
    assert.ok(
      byName
        .get('AccumulationRegister_ДвиженияДенежныеСредстваКонтрагент/Turnovers')
        ?.fields.some((f) => f.name === 'СуммаОплатыTurnover'),
    );
    assert.ok(!sets.some((set) => set.name.endsWith('/Post')), 'actions are not tables');
  });
});

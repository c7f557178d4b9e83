import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configSchema } from '../src/config/schema.ts';
import { createMappingApi, routeMappingName } from '../src/mapping/api.ts';
import { compileRouteMapping } from '../src/mapping/route.ts';
import { formatMappingTest, runMappingTest } from '../src/mapping/test-run.ts';
import {
  affectedRecords,
  diffSpecs,
  formatMappingVersions,
  listMappingVersions,
  recordMappingVersion,
} from '../src/mapping/versions.ts';
import type { Store } from '../src/store/store.ts';
import { forEachDialect } from './support/stores.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

async function addRecord(
  store: Store,
  id: string,
  data: Record<string, unknown>,
  links: Record<string, string> = {},
) {
  await store.db
    .insertInto('records')
    .values({
      entity: 'product',
      id,
      version: 1,
      hash: `h-${id}`,
      data: JSON.stringify(data),
      origin: 'onec',
      deleted: 0,
      source_updated_at: null,
      created_at: T0,
      updated_at: T0,
    })
    .execute();
  for (const [system, externalId] of Object.entries(links)) {
    await store.db
      .insertInto('links')
      .values({
        entity: 'product',
        record_id: id,
        system,
        external_id: externalId,
        last_hash: null,
        updated_at: T0,
      })
      .execute();
  }
}

test('diffSpecs names each changed path', () => {
  const before = { fields: { STAGE_ID: { lookup: 's', from: 'status', default: 'NEW' }, NAME: 'name' } };
  const after = { fields: { STAGE_ID: { lookup: 's', from: 'status', default: 'LOSE' }, CODE: 'article' } };
  assert.equal(
    diffSpecs(before, after),
    ['+ fields.CODE: "article"', '- fields.NAME: "name"', '~ fields.STAGE_ID.default: "NEW" → "LOSE"'].join(
      '\n',
    ),
  );
  assert.equal(diffSpecs(after, after), '');
});

forEachDialect('mapping store', (db) => {
  test('versions: recorded on change only, with actor and diff; listed newest first', async () => {
    const store = await db().open();
    try {
      const v1 = { fields: { NAME: 'name' } };
      const v2 = { fields: { NAME: 'name', CODE: "'p-' & article" } };
      assert.deepEqual(await recordMappingVersion(store, 'route:b24-products', v1, 'startup', T0), {
        changed: true,
        version: 1,
        diff: null,
      });
      // The same content in another key order is the same mapping.
      assert.equal(
        (
          await recordMappingVersion(
            store,
            'route:b24-products',
            { fields: { NAME: 'name' } },
            'startup',
            T0 + 1,
          )
        ).changed,
        false,
      );
      const second = await recordMappingVersion(store, 'route:b24-products', v2, 'user:anna', T0 + 2);
      assert.deepEqual(second, { changed: true, version: 2, diff: `+ fields.CODE: "'p-' & article"` });
      const versions = await listMappingVersions(store, 'route:b24-products');
      assert.deepEqual(
        versions.map((v) => [v.version, v.actor, v.createdAt]),
        [
          [2, 'user:anna', T0 + 2],
          [1, 'startup', T0],
        ],
      );
      assert.deepEqual(versions[0]!.spec, v2);
      assert.match(
        formatMappingVersions(versions),
        /^v2 {2}2026-01-01T12:00:00.002Z {2}user:anna .*\n {4}\+ fields.CODE/,
      );
      assert.deepEqual(await listMappingVersions(store, 'route:other'), []);
    } finally {
      await store.close();
    }
  });

  test('affectedRecords: the records of a route, optionally those the new filter lets through', async () => {
    const store = await db().open();
    try {
      for (const [id, active] of [
        ['p-1', true],
        ['p-2', false],
        ['p-3', true],
      ] as const) {
        await addRecord(store, id, { name: id, active });
        await store.db
          .insertInto('outbox')
          .values({
            route: 'site-products',
            record_id: id,
            entity: 'product',
            state: 'delivered',
            want_version: 1,
            attempts: 0,
            next_attempt_at: T0,
            lease_owner: null,
            lease_expires_at: null,
            lease_version: null,
            last_error: null,
            last_error_class: null,
            waiting_for: null,
            force: 0,
            delivered_hash: 'h',
            delivered_version: 1,
            delivered_at: T0,
            created_at: T0,
            updated_at: T0,
          })
          .execute();
      }
      await addRecord(store, 'p-4', { name: 'not on the route', active: true });
      const route = { name: 'site-products', entity: 'product' };
      assert.deepEqual(await affectedRecords(store, route, { batch: 2 }), ['p-1', 'p-2', 'p-3']);
      const mapping = compileRouteMapping({ name: 'site-products', target: 'site' }, { filter: 'active' });
      assert.deepEqual(await affectedRecords(store, route, { filter: (data) => mapping.filter(data) }), [
        'p-1',
        'p-3',
      ]);
    } finally {
      await store.close();
    }
  });

  test('mapping test: a hub record or a sample file, with trace, writing nothing', async () => {
    const store = await db().open();
    try {
      const dir = mkdtempSync(join(tmpdir(), 'obmen-maptest-'));
      writeFileSync(
        join(dir, 'site-products.yaml'),
        [
          'filter: "active"',
          'fields:',
          '  XML_ID: "$externalId(\'onec\')"',
          '  IBLOCK_SECTION_ID: { lookup: groups, from: groupId }',
          '  PROPERTY_WEIGHT: { expr: weight.value, convert: "kg->g" }',
          '  PROPERTY_COLOR: { expr: color, missing: create, directory: "Цвет" }',
          'lookups:',
          '  groups: { file: groups.csv }',
        ].join('\n'),
      );
      writeFileSync(join(dir, 'groups.csv'), 'g1,17\n');
      writeFileSync(
        join(dir, 'sample.json'),
        JSON.stringify([{ active: false, groupId: 'g9', color: 'red' }]),
      );
      const config = configSchema.parse({
        systems: { site: { kind: 'bitrix-site' } },
        routes: [{ name: 'site-products', entity: 'product', target: 'site', mapping: 'site-products.yaml' }],
      });
      await addRecord(
        store,
        'p-1',
        { name: 'Стол', active: true, groupId: 'g1', weight: { value: 1.2, unit: 'kg' }, color: 'красный' },
        { onec: 'guid-1' },
      );
      const before = await store.db.selectFrom('links').select('external_id').execute();

      const [fromRecord] = await runMappingTest({
        config,
        store,
        route: 'site-products',
        recordId: 'p-1',
        configDir: dir,
        directoryHas: (_directory, value) => value !== 'красный',
      });
      assert.deepEqual(fromRecord!.filter, { passed: true });
      assert.deepEqual(fromRecord!.output, {
        kind: 'ok',
        fields: {
          XML_ID: 'guid-1',
          IBLOCK_SECTION_ID: '17',
          PROPERTY_WEIGHT: 1200,
          PROPERTY_COLOR: '(new «красный»)',
        },
      });
      assert.ok(fromRecord!.notes.some((n) => n.includes('would create «красный» in «Цвет» of site')));
      assert.deepEqual(
        fromRecord!.trace.map((t) => [t.field, t.outcome]),
        [
          ['XML_ID', 'set'],
          ['IBLOCK_SECTION_ID', 'set'],
          ['PROPERTY_WEIGHT', 'set'],
          ['PROPERTY_COLOR', 'created'],
        ],
      );

      const [fromFile] = await runMappingTest({
        config,
        store,
        route: 'site-products',
        file: join(dir, 'sample.json'),
        configDir: dir,
      });
      assert.deepEqual(fromFile!.filter, { passed: false });
      assert.ok(fromFile!.notes.some((n) => n.includes('directories of the target were not checked')));
      assert.equal(fromFile!.output.kind, 'error');
      const text = formatMappingTest('site-products', [fromFile!]);
      assert.match(text, /filter: does NOT pass/);
      assert.match(text, /IBLOCK_SECTION_ID +error +— \(key "g9"\)/);
      assert.match(
        text,
        /output: ERROR route site-products, field IBLOCK_SECTION_ID: «g9» is not in lookup table "groups"/,
      );

      await assert.rejects(
        runMappingTest({ config, store, route: 'nope', recordId: 'p-1' }),
        /no route "nope" in the config; configured routes: site-products/,
      );
      await assert.rejects(
        runMappingTest({ config, store, route: 'site-products', recordId: 'p-9', configDir: dir }),
        /product p-9 is not in the hub/,
      );
      await assert.rejects(
        runMappingTest({ config, store, route: 'site-products', configDir: dir }),
        /--record <hub id>, --file <sample.json> or a sample record/,
      );
      assert.deepEqual(
        await store.db.selectFrom('links').select('external_id').execute(),
        before,
        'nothing written',
      );
      assert.equal((await store.db.selectFrom('mapping_versions').selectAll().execute()).length, 0);
    } finally {
      await store.close();
    }
  });
});

forEachDialect('mapping API adapter', (db) => {
  test('get returns the spec and versions; test runs a sample or a hub record', async () => {
    const store = await db().open();
    try {
      const config = configSchema.parse({
        systems: { b24: { kind: 'bitrix24' } },
        routes: [{ name: 'b24-products', entity: 'product', target: 'b24' }],
      });
      // The config schema still types mapping as a string; the inline form arrives with the lead's change.
      (config.routes[0] as { mapping?: unknown }).mapping = { fields: { TITLE: "'№' & article" } };
      await recordMappingVersion(
        store,
        routeMappingName('b24-products'),
        config.routes[0]!.mapping,
        'startup',
        T0,
      );
      const api = createMappingApi({ config, store });
      const found = await api.get('b24-products');
      assert.deepEqual(found?.spec, { fields: { TITLE: "'№' & article" } });
      assert.equal(found?.versions.length, 1);
      assert.equal(await api.get('nope'), undefined);

      const sample = await api.test('b24-products', { sample: { name: 'Стол', article: 'ST-1' } });
      assert.deepEqual(sample.output, { kind: 'ok', fields: { TITLE: '№ST-1' } });
      await addRecord(store, 'p-1', { name: 'Стул', article: 'SU-1' });
      const fromHub = await api.test('b24-products', { recordId: 'p-1' });
      assert.deepEqual(fromHub.input, { name: 'Стул', article: 'SU-1' });
      assert.deepEqual(fromHub.output, { kind: 'ok', fields: { TITLE: '№SU-1' } });
      assert.deepEqual(
        (fromHub.trace as { fields: Array<{ field: string; outcome: string }> }).fields.map((f) => [
          f.field,
          f.outcome,
        ]),
        [['TITLE', 'set']],
      );
      await assert.rejects(api.test('b24-products', { sample: 'text' }), /the sample must be a JSON object/);
    } finally {
      await store.close();
    }
  });
});

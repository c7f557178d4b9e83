import assert from 'node:assert/strict';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { CANONICAL } from '../src/core/entities/canonical.ts';
import { createEntityRegistry } from '../src/core/entities/index.ts';
import { formatIssues } from '../src/core/entities/issues.ts';
import { stableStringify } from '../src/core/hash.ts';
import { generateCatalog, generateOffers } from '../src/formats/commerceml/generate.ts';
import { parseCommerceMl } from '../src/formats/commerceml/parser.ts';

/**
 * The registry validates with zod's compiled parsers (z.compile). They must give exactly what the
 * runtime parser gives — the same normalised content (hence the same hash) and the same issues —
 * and every canonical schema must compile, or its validation would quietly stay on the slow path.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES =
  process.env.OBMEN_SHARED_FIXTURES ?? join(HERE, '..', '..', 'shared', 'fixtures', 'commerceml');
const registry = createEntityRegistry();
const schemaOf = (entity: string) => CANONICAL.find((e) => e.name === entity)!.schema;

/** What the runtime parser says, in the registry's words. */
function runtime(entity: string, data: unknown) {
  const result = schemaOf(entity).safeParse(data, { reportInput: true });
  return result.success
    ? { ok: true as const, data: result.data as Record<string, unknown> }
    : { ok: false as const, issues: formatIssues(entity, result.error.issues) };
}

function assertSameAsRuntime(entity: string, data: unknown, label: string): boolean {
  const fast = registry.validate(entity, data);
  const slow = runtime(entity, data);
  assert.deepEqual(fast, slow, `${label}: compiled and runtime validation differ`);
  if (fast.ok && slow.ok) assert.equal(stableStringify(fast.data), stableStringify(slow.data), label);
  return fast.ok;
}

/** Items of a CommerceML file as the parser gives them. */
async function itemsOf(path: string): Promise<Array<{ entity: string; data: Record<string, unknown> }>> {
  const items: Array<{ entity: string; data: Record<string, unknown> }> = [];
  for await (const event of parseCommerceMl(path)) {
    if (event.kind === 'item') items.push({ entity: event.entity, data: event.item.data });
  }
  return items;
}

async function written(path: string, generate: (out: Writable) => Promise<unknown>): Promise<void> {
  const out = createWriteStream(path);
  await generate(out);
  out.end();
  await finished(out);
}

/** Ways sources get a field wrong (or right but not yet normalised), applied to a valid object. */
const VARIANTS: Array<[string, (data: Record<string, unknown>) => Record<string, unknown>]> = [
  ['as is', (data) => data],
  ['padded text', (data) => ({ ...data, name: `  ${String(data.name ?? 'x')} ` })],
  ['empty name', (data) => ({ ...data, name: ' ' })],
  ['unknown field', (data) => ({ ...data, colour: 'red' })],
  ['null and "" optional fields', (data) => ({ ...data, article: '', description: null, code: '' })],
  ['numbers as Russian text', (data) => ({ ...data, vatRate: '18', value: '1 234,50', quantity: '12,5' })],
  ['a number that is not one', (data) => ({ ...data, vatRate: 'двадцать', value: 'abc' })],
  ['wrong types', (data) => ({ ...data, barcodes: ['1', 2], deleted: 'yes', values: 'none' })],
];

describe('validation runs on zod compiled parsers', () => {
  it('every canonical schema compiles (none falls back to the runtime parser)', () => {
    for (const { name, schema } of CANONICAL) {
      assert.doesNotThrow(() => z.compile(schema, { strict: true }), `${name} does not compile`);
    }
  });

  it('gives the runtime parser’s content and issues for a generated catalog and offers, and broken copies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'obmen-compiled-'));
    try {
      const spec = { goods: 60, propertiesPerGood: 4, seed: 7 };
      const catalog = join(dir, 'import.xml');
      const offers = join(dir, 'offers.xml');
      await written(catalog, (out) => generateCatalog(spec, out));
      await written(offers, (out) => generateOffers(spec, out));
      const items = [...(await itemsOf(catalog)), ...(await itemsOf(offers))];
      const entities = new Set(items.map((item) => item.entity));
      for (const wanted of [
        'product',
        'product_group',
        'property',
        'price_type',
        'price',
        'warehouse',
        'stock',
      ])
        assert.ok(entities.has(wanted), `the generated files hold no ${wanted}`);
      let valid = 0;
      let invalid = 0;
      for (const { entity, data } of items) {
        for (const [variant, change] of VARIANTS) {
          if (assertSameAsRuntime(entity, change(data), `${entity} ${variant}`)) valid++;
          else invalid++;
        }
      }
      // Both sides were exercised: the comparison is not only over rejections or only over passes.
      assert.ok(valid > items.length && invalid > items.length, `${valid} valid, ${invalid} invalid`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives the runtime parser’s content for every object of the real 1C files', async (t) => {
    if (!existsSync(FIXTURES)) {
      t.skip(`no fixtures at ${FIXTURES}`);
      return;
    }
    let compared = 0;
    for (const name of readdirSync(FIXTURES).filter((file) => file.endsWith('.xml'))) {
      for (const { entity, data } of await itemsOf(join(FIXTURES, name))) {
        assertSameAsRuntime(entity, data, `${name} ${entity}`);
        compared++;
      }
    }
    assert.ok(compared > 0, `no objects in ${FIXTURES}`);
  });
});

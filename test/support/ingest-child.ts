// Child process for crash tests: ingests N generated products in batches, printing progress,
// so the parent can kill it mid-run with SIGKILL.
import { configSchema } from '../../src/config/schema.ts';
import { ingest } from '../../src/engine/ingest.ts';
import { createRuntime } from '../../src/engine/runtime.ts';
import { openStore } from '../../src/store/store.ts';

const [url, countText, batchText] = process.argv.slice(2);
const count = Number(countText);
const batch = Number(batchText ?? 1000);
const store = await openStore({ url: url! });
const config = configSchema.parse({
  systems: {
    onec: { kind: 'http', url: 'http://127.0.0.1:9' },
    site: { kind: 'http', url: 'http://127.0.0.1:9' },
  },
  routes: [{ name: 'products-to-site', entity: 'product', target: 'site' }],
});
const runtime = createRuntime({ config, store, owner: 'ingest-child' });
for (let start = 0; start < count; start += batch) {
  const items = Array.from({ length: Math.min(batch, count - start) }, (_, i) => ({
    externalId: `p${start + i}`,
    data: {
      name: `Товар ${start + i}`,
      article: `A${start + i}`,
      barcodes: [`46${String(start + i).padStart(11, '0')}`],
    },
  }));
  await ingest(runtime.ingest, { system: 'onec', entity: 'product', items });
  process.stdout.write(`ingested ${start + items.length}\n`);
}
process.stdout.write('done\n');
await runtime.close();
await store.close();
